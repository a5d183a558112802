package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Stage is a hidden directory where files are written before it is known
// where they go, or whether they go anywhere: repo add copies each archive
// while it verifies it, before the chain check decides which are placed.
// Its files are synced as they are closed and join a Batch with
// AdoptDurable, which renames them into place; whatever is left is
// removed with the stage. A Stage holds a flock
// on its directory for its lifetime, so the directory of a process that
// died (kill -9, a power cut) can be told from one in use: NewStage
// removes such leftovers, and a crash never leaves more than one stage's
// files behind for long.
type Stage struct {
	dir  string
	lock *os.File
}

// NewStage creates a stage in parent, named prefix + a random suffix
// (prefix should start with a dot so that listings skip it), after
// removing the stages of the same prefix that no live process holds.
func NewStage(parent, prefix string) (*Stage, error) {
	if err := removeStaleStages(parent, prefix); err != nil {
		return nil, err
	}
	for range 3 {
		dir, err := os.MkdirTemp(parent, prefix)
		if err != nil {
			return nil, fmt.Errorf("create staging directory: %w", err)
		}
		lock, err := lockDir(dir, 0)
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		// Another process's cleanup may have taken the new directory for
		// a stale one between MkdirTemp and the lock: then make another.
		if fi, err := os.Stat(dir); err == nil {
			if li, lerr := lock.Stat(); lerr == nil && os.SameFile(fi, li) {
				return &Stage{dir: dir, lock: lock}, nil
			}
		}
		lock.Close()
	}
	return nil, fmt.Errorf("create staging directory in %s: removed by a concurrent cleanup three times", parent)
}

// lockDir opens dir and takes an exclusive flock on it (flags may add
// LOCK_NB). The kernel releases it when the process dies.
func lockDir(dir string, flags int) (*os.File, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|flags); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return f, nil
}

// removeStaleStages removes parent's stages of prefix whose lock nobody
// holds: those of processes that died before removing their stage. It is
// garbage collection, best effort: a leftover it cannot lock or remove
// (another owner's, say) stays, and the new stage is made all the same.
// Only a parent it cannot list is an error.
func removeStaleStages(parent, prefix string) error {
	ents, err := os.ReadDir(parent)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		lock, err := lockDir(dir, unix.LOCK_NB)
		if err != nil {
			continue // in use, removed by another cleanup, or not ours
		}
		os.RemoveAll(dir)
		lock.Close()
	}
	return nil
}

// Dir is the stage's directory.
func (s *Stage) Dir() string { return s.dir }

// Create creates the stage's file name, with mode perm, for writing (see
// StagedFile); once closed it is durable, for Batch.AdoptDurable.
func (s *Stage) Create(name string, perm os.FileMode) (*StagedFile, error) {
	return createStaged(filepath.Join(s.dir, name), perm, true)
}

// Path is the path of the stage's file name.
func (s *Stage) Path(name string) string { return filepath.Join(s.dir, name) }

// Remove removes the stage and what is left in it, and releases its lock.
func (s *Stage) Remove() error {
	err := os.RemoveAll(s.dir)
	s.lock.Close()
	return err
}
