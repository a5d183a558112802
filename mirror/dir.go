package mirror

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/hotfix-project/hotfix/internal/beneath"
)

// The mirror's directory is reached through a beneath.Root, as a
// directory publish reaches its destination: every path in DIR is
// resolved beneath it without following a symbolic link, so a link
// planted inside DIR (DIR/acme -> /etc, DIR/keys -> /root/.ssh,
// DIR/.mirror -> /var/lib) can never make a run write, remove or read
// outside it; the run stops with an error naming the link. DIR's own
// path may hold links: it is configuration.

// openDir opens DIR as the run's root. A lock file that is not a
// regular file (a link planted to make the lock record overwrite another
// file) is refused before the lock is taken.
func (m *mirror) openDir() error {
	root, err := beneath.Open(m.opts.Dir)
	if err != nil {
		return fmt.Errorf("mirror: %w", err)
	}
	if fi, err := root.Lstat(lockName); err == nil && !fi.Mode().IsRegular() {
		root.Close()
		return fmt.Errorf("mirror: %s is not a regular file (%s): remove it and run the mirror again", root.Join(lockName), fi.Mode().Type())
	}
	m.root = root
	return nil
}

// linkAdvice adds the fix to an error that met a link in DIR.
func (m *mirror) linkAdvice(err error) error {
	if errors.Is(err, beneath.ErrLink) {
		return fmt.Errorf("%w: a mirror writes only beneath %s, never through a symbolic link; put a real directory or file in place of the link and run the mirror again", err, m.opts.Dir)
	}
	return err
}

// readLocal reads the mirror's file rel, at most limit bytes. A missing
// file is an error wrapping fs.ErrNotExist, a link one wrapping
// beneath.ErrLink.
func (m *mirror) readLocal(rel string, limit int64) ([]byte, error) {
	f, err := m.root.Open(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", f.Name(), err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", f.Name(), limit)
	}
	return data, nil
}

// holds reports whether the mirror's file rel holds data already.
func (m *mirror) holds(rel string, data []byte) bool {
	old, err := m.readLocal(rel, int64(len(data)))
	return err == nil && bytes.Equal(old, data)
}

// writeLocal replaces the mirror's file rel with data: a synced
// temporary beside it, renamed into place, its directory synced. A
// temporary that a killed run left is removed first (one run at a time
// holds DIR's lock).
func (m *mirror) writeLocal(rel string, data []byte) error {
	f, trel, err := m.createTemp(rel)
	if err != nil {
		return err
	}
	defer m.root.Remove(trel) // a no-op once renamed
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = beneath.Rename(m.root, trel, m.root, rel)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", m.root.Join(rel), err)
	}
	return m.root.SyncDir(path.Dir(rel))
}

// createTemp makes rel's directory and a new temporary beside rel.
func (m *mirror) createTemp(rel string) (*os.File, string, error) {
	if err := m.root.MkdirAll(path.Dir(rel), 0o755); err != nil {
		return nil, "", err
	}
	if err := m.root.RemoveTemps(rel); err != nil {
		return nil, "", err
	}
	return m.root.CreateTemp(rel)
}

// stagedRel is the path in DIR of rel's copy in the staging directory.
func stagedRel(rel string) string { return stagingName + "/" + rel }

// prepareDownload makes the staging directory of rel, reached without
// links, and removes what is not a regular file where the download and
// its partial file go: a link planted there (staging is the run's own,
// under DIR's lock) would otherwise be written through. It returns the
// path the download writes: the file's name in that directory opened
// beneath DIR, through /proc/self/fd, so that no directory on the way is
// looked up again (a link swapped in meanwhile is not followed); without
// /proc, the plain path checked here. Call done when the download ends.
func (m *mirror) prepareDownload(rel string) (dest string, done func(), err error) {
	srel := stagedRel(rel)
	if err := m.root.MkdirAll(path.Dir(srel), 0o755); err != nil {
		return "", nil, err
	}
	for _, p := range []string{srel, srel + ".part"} {
		fi, err := m.root.Lstat(p)
		if err == nil && !fi.Mode().IsRegular() {
			err = m.root.Remove(p)
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", nil, err
		}
	}
	d, err := m.root.OpenDir(path.Dir(srel))
	if err != nil {
		return "", nil, err
	}
	byFD := fmt.Sprintf("/proc/self/fd/%d", d.Fd())
	if fi, err := os.Stat(byFD); err != nil || !fi.IsDir() {
		d.Close()
		return m.root.Join(srel), func() {}, nil
	}
	return byFD + "/" + path.Base(srel), func() { d.Close() }, nil
}

// stagedFile is an archive of a bundle written into the staging
// directory beneath DIR (a bundle.Sink): a temporary, renamed to its
// staged name by Commit.
type stagedFile struct {
	m          *mirror
	f          *os.File
	trel, srel string
}

func (m *mirror) createStaged(rel string) (*stagedFile, error) {
	srel := stagedRel(rel)
	f, trel, err := m.createTemp(srel)
	if err != nil {
		return nil, err
	}
	return &stagedFile{m: m, f: f, trel: trel, srel: srel}, nil
}

func (s *stagedFile) Write(p []byte) (int, error) { return s.f.Write(p) }

// Commit syncs the file and renames it to its staged name.
func (s *stagedFile) Commit() error {
	err := s.f.Chmod(0o644)
	if err == nil {
		err = s.f.Sync()
	}
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = beneath.Rename(s.m.root, s.trel, s.m.root, s.srel)
	}
	if err != nil {
		s.m.root.Remove(s.trel)
		return fmt.Errorf("write %s: %w", s.m.root.Join(s.srel), err)
	}
	return nil
}

// Abort removes the temporary (after Commit, a no-op).
func (s *stagedFile) Abort() {
	s.f.Close()
	s.m.root.Remove(s.trel)
}

// checkLocal checks the mirror's regular file rel against a size and a
// sha256.
func (m *mirror) checkLocal(rel string, size int64, sum string) error {
	f, err := m.root.Open(rel)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(f, size+1))
	switch {
	case err != nil:
		return fmt.Errorf("read %s: %w", f.Name(), err)
	case n != size:
		return fmt.Errorf("size %d, the index says %d", n, size)
	case hex.EncodeToString(h.Sum(nil)) != sum:
		return fmt.Errorf("sha256 %s, the index says %s", hex.EncodeToString(h.Sum(nil)), sum)
	}
	return nil
}

// readDir lists the mirror's directory rel, sorted by name.
func (m *mirror) readDir(rel string) ([]fs.DirEntry, error) {
	d, err := m.root.OpenDir(rel)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	ents, err := d.ReadDir(-1)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", d.Name(), err)
	}
	slices.SortFunc(ents, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return ents, nil
}
