package mirror

import (
	"context"
	"errors"
	"fmt"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/repo/yum"
)

// maxRepoMD bounds repomd.xml, a list of a few data files.
const maxRepoMD = 1 << 20

// repodata fetches a channel's yum repodata when its index lists RPMs:
// repomd.xml verified against the keyring, then every data file it names
// against its size and sha256, into the staging directory.
func (r *remote) repodata(ctx context.Context, cp *channelPlan) error {
	hasRPM := false
	for _, f := range archivesOf(cp.ix) {
		hasRPM = hasRPM || isRPM(f.name)
	}
	if !hasRPM {
		return nil
	}
	rel := cp.rel() + "/" + yum.Dir + "/" + yum.RepoMDName
	md, sig, err := r.signed(ctx, rel, maxRepoMD)
	if err != nil {
		return err
	}
	if _, err := r.m.opts.Keyring.Verify(md, sig, r.m.opts.Now()); err != nil {
		return &client.TrustError{What: rel, Err: err}
	}
	files, errs := yum.ParseRepoMD(md)
	if len(errs) > 0 {
		return &client.TrustError{What: rel, Err: errors.Join(errs...), Hint: "the vendor signed repodata the mirror cannot copy safely"}
	}
	for _, d := range files {
		f := fileRef{name: d.Href(), size: d.Size, sha256: d.SHA256}
		keep, err := r.m.have(cp, f)
		if err != nil {
			return err
		}
		if keep {
			continue
		}
		drel := cp.rel() + "/" + f.name
		if err := r.f.Download(ctx, drel, r.m.stagedPath(drel), f.size, f.sha256, nil); err != nil {
			return fmt.Errorf("mirror: %s: %w", drel, err)
		}
		cp.staged = append(cp.staged, f.name)
	}
	cp.repomd, cp.repomdSig = md, sig
	return nil
}

func isRPM(name string) bool { return len(name) > 4 && name[len(name)-4:] == ".rpm" }
