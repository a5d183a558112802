package mirror

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
	"github.com/hotfix-project/hotfix/repo"
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
	path := m.local(cp.rel() + "/" + f.name)
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := repo.CheckFile(path, f.size, f.sha256); err != nil || !fi.Mode().IsRegular() {
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
// repomd.xml and its signature, the customers' indexes and the channel's,
// each before its signature, keys/, then
// repo.json and its signature. Metadata is rewritten only when it changed.
func (m *mirror) place(p *plan) error {
	dirs := map[string]bool{}
	for _, cp := range p.channels {
		for _, name := range cp.staged {
			rel := cp.rel() + "/" + name
			dst := m.local(rel)
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			if err := os.Rename(m.stagedPath(rel), dst); err != nil {
				return fmt.Errorf("mirror: %w", err)
			}
			dirs[filepath.Dir(dst)] = true
			m.res.Fetched++
		}
	}
	if err := atomicfile.SyncDirs(dirs); err != nil {
		return err
	}
	for _, cp := range p.channels {
		if cp.repomd != nil {
			if err := m.writeSigned(cp.rel()+"/repodata/repomd.xml", cp.repomd, cp.repomdSig); err != nil {
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
	for _, k := range p.keys {
		if err := m.write("keys/"+k.name, k.data); err != nil {
			return err
		}
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
	path := m.local(rel)
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("mirror: %w", err)
	}
	m.res.Updated++
	return nil
}
