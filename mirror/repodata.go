package mirror

import (
	"context"
	"errors"

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
	md, sig, err := r.signed(ctx, cp.rel()+"/"+yum.Dir+"/"+yum.RepoMDName, maxRepoMD)
	if err != nil {
		return err
	}
	files, err := r.m.verifyRepoMD(cp, md, sig)
	if err != nil {
		return err
	}
	if err := r.fetch(ctx, cp, files); err != nil {
		return err
	}
	cp.repomd, cp.repomdSig = md, sig
	return nil
}

// verifyRepoMD checks repomd.xml's signature with the key that signs the
// channel's index (a signing key of the key list the index was verified
// under, or the keyring) and returns the data files it names.
func (m *mirror) verifyRepoMD(cp *channelPlan, md, sig []byte) ([]fileRef, error) {
	rel := cp.rel() + "/" + yum.Dir + "/" + yum.RepoMDName
	check := client.IndexCheck{Keyring: m.opts.Keyring, Keys: m.keys, Now: m.opts.Now(), TrustedKeys: m.trustedKeysName()}
	if err := client.VerifySignature(rel, md, sig, check); err != nil {
		return nil, err
	}
	files, errs := yum.ParseRepoMD(md)
	if len(errs) > 0 {
		return nil, &client.TrustError{What: rel, Err: errors.Join(errs...), Hint: "the vendor signed repodata the mirror cannot copy safely"}
	}
	out := make([]fileRef, 0, len(files))
	for _, d := range files {
		out = append(out, fileRef{name: d.Href(), size: d.Size, sha256: d.SHA256})
	}
	return out, nil
}

func isRPM(name string) bool { return len(name) > 4 && name[len(name)-4:] == ".rpm" }
