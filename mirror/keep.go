package mirror

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path"
	"regexp"
	"strings"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/internal/beneath"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/yum"
	"github.com/hotfix-project/hotfix/sign"
)

// fileRef is a file an index or repomd.xml names, with what it says of it.
type fileRef struct {
	name   string // relative to the channel
	size   int64
	sha256 string
}

// archivesOf lists the archives of an index: each fix's file, then its RPM.
func archivesOf(ix *repo.Index) []fileRef {
	var out []fileRef
	for _, f := range ix.Fixes {
		out = append(out, fileRef{f.File, f.Size, f.SHA256})
		if f.RPM != nil {
			out = append(out, fileRef{f.RPM.File, f.RPM.Size, f.RPM.SHA256})
		}
	}
	return out
}

// have reports whether the mirror holds f already, byte for byte (it is
// then kept and not fetched). A file of that name with other content is
// refused: a published archive never changes, so either the source is
// not the vendor's repository or someone changed the mirror by hand.
func (m *mirror) have(cp *channelPlan, f fileRef) (bool, error) {
	rel := cp.rel() + "/" + f.name
	path := m.local(rel)
	fi, err := m.root.Lstat(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return false, fmt.Errorf("mirror: %s is a symbolic link: a mirror holds its archives itself and never writes through a link; remove the link and run the mirror again", path)
	}
	if err := m.checkLocal(rel, f.size, f.sha256); err != nil || !fi.Mode().IsRegular() {
		return false, fmt.Errorf("mirror: %s is not the file the signed index of %s %s names (%v): a published archive never changes; "+
			"if the mirror was changed by hand, remove the file and run the mirror again, otherwise the source is not the vendor's repository", path, cp.product, cp.base, err)
	}
	m.res.Kept++
	return true, nil
}

// keyListName is a key list version or its signature: kept as files (the
// client verifies them against its root keys).
var keyListName = regexp.MustCompile(`^[1-9][0-9]*\.root\.json(\.asc)?$`)

// keyFileOK decides whether a keys/ file is kept: key lists as they are,
// public key files only when they hold public keys and no secret one;
// anything else is left out.
func keyFileOK(name string, data []byte) (bool, error) {
	switch {
	case keyListName.MatchString(name):
		return true, nil
	case strings.HasSuffix(name, ".asc"):
		if bytes.Contains(data, []byte("PRIVATE KEY BLOCK")) {
			return false, errors.New("holds a SECRET key: refusing to copy it; tell the vendor at once")
		}
		if _, err := sign.ParseKeyring(data); err != nil {
			return false, fmt.Errorf("not a public key: %w", err)
		}
		return true, nil
	}
	return false, nil
}

// place puts a verified plan into the mirror in the safe order:
// archives and repodata data files (renamed from the staging directory),
// keys/ (key lists before the indexes signed under them), repomd.xml and
// its signature (then the data files it no longer names go), the
// customers' indexes and the channel's, each before its signature, then
// repo.json and its signature. Metadata is rewritten only when it changed.
func (m *mirror) place(p *plan) error {
	dirs := map[string]bool{}
	for _, cp := range p.channels {
		for _, name := range cp.staged {
			rel := cp.rel() + "/" + name
			if err := m.root.MkdirAll(path.Dir(rel), 0o755); err != nil {
				return err
			}
			if err := beneath.Rename(m.root, stagedRel(rel), m.root, rel); err != nil {
				return fmt.Errorf("mirror: %w", err)
			}
			dirs[path.Dir(rel)] = true
			m.res.Fetched++
		}
	}
	for dir := range dirs {
		if err := m.root.SyncDir(dir); err != nil {
			return err
		}
	}
	// The key lists go before the indexes signed under them: a client
	// that reads a new index finds the list version it names.
	for _, k := range p.keys {
		if err := m.write("keys/"+k.name, k.data); err != nil {
			return err
		}
	}
	for _, cp := range p.channels {
		if cp.repomd != nil {
			if err := m.writeSigned(cp.rel()+"/repodata/repomd.xml", cp.repomd, cp.repomdSig); err != nil {
				return err
			}
			if err := m.pruneRepodata(cp); err != nil {
				return err
			}
		}
		for _, cc := range cp.customs {
			if err := m.writeSigned(repo.CustomIndexPath(cp.product, cp.base, cc.customer)+"/"+repo.IndexName, cc.index, cc.sig); err != nil {
				return err
			}
		}
		if err := m.writeSigned(cp.rel()+"/"+repo.IndexName, cp.index, cp.sig); err != nil {
			return err
		}
		m.res.Channels = append(m.res.Channels, ChannelResult{Product: cp.product, Base: cp.base, Serial: cp.ix.Serial, Fixes: len(cp.ix.Fixes)})
	}
	if p.root != nil {
		return m.writeSigned(repo.RootIndexName, p.root, p.rootSig)
	}
	return nil
}

// writeSigned writes a file, then its signature.
func (m *mirror) writeSigned(rel string, data, sig []byte) error {
	if err := m.write(rel, data); err != nil {
		return err
	}
	return m.write(rel+repo.SigSuffix, sig)
}

// write replaces a file atomically unless it holds data already.
func (m *mirror) write(rel string, data []byte) error {
	if m.holds(rel, data) {
		return nil
	}
	if err := m.writeLocal(rel, data); err != nil {
		return fmt.Errorf("mirror: %w", err)
	}
	m.res.Updated++
	return nil
}

// pruneRepodata removes the files of the channel's repodata/ that the
// repomd.xml just put in place no longer names, as createrepo_c and
// reposync do: data files are named by their checksum, so each build
// leaves the previous ones behind. It runs only once the new repomd.xml
// and its signature are in place; a dnf that read the old repomd.xml an
// instant before may miss a file and retries, as against the vendor's.
func (m *mirror) pruneRepodata(cp *channelPlan) error {
	files, errs := yum.ParseRepoMD(cp.repomd)
	if len(errs) > 0 {
		return errors.Join(errs...) // verified before: not reached
	}
	keep := map[string]bool{yum.RepoMDName: true, yum.RepoMDName + repo.SigSuffix: true}
	for _, f := range files {
		keep[f.Name] = true
	}
	dir := cp.rel() + "/" + yum.Dir
	ents, err := m.readDir(dir)
	if err != nil {
		return fmt.Errorf("mirror: %w", err)
	}
	for _, e := range ents {
		if keep[e.Name()] || !e.Type().IsRegular() || !repo.IsPlainFileName(e.Name()) {
			continue
		}
		if err := m.root.Remove(dir + "/" + e.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("mirror: remove stale %s: %w", m.local(dir+"/"+e.Name()), err)
		}
		m.res.Removed++
	}
	return nil
}

// checkKeyLists verifies every key list version the source carries, not
// only those its indexes needed (a client walks to the newest), and
// refuses a source whose key list is behind the mirror's or differs from
// it: a key list version never changes, and a mirror never goes back.
func (m *mirror) checkKeyLists(ctx context.Context, p *plan) error {
	if _, err := m.keysFor(ctx, math.MaxInt64); err != nil {
		return err
	}
	carried := map[string][]byte{}
	for _, k := range p.keys {
		carried[k.name] = k.data
	}
	ents, err := m.readDir(repo.KeysDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, e := range ents {
		if !keyListName.MatchString(e.Name()) {
			continue
		}
		have, err := m.readLocal(repo.KeysDir+"/"+e.Name(), repo.MaxKeyListSize)
		if err != nil {
			return err
		}
		got, ok := carried[e.Name()]
		switch {
		case !ok:
			return fmt.Errorf("%w: the source has no %s/%s, which the mirror holds: its key list is older than the mirror's", ErrRollback, repo.KeysDir, e.Name())
		case !bytes.Equal(got, have):
			return &client.TrustError{What: repo.KeysDir + "/" + e.Name(), Err: fmt.Errorf("%w: the source's differs from the mirror's", repo.ErrKeyListVersion),
				Hint: "a published key list version never changes: the source is not the vendor's repository, or the mirror was changed by hand"}
		}
	}
	return nil
}
