package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Stage is a hidden directory where files are written before it is known
// where they go, or whether they go anywhere: repo add copies each archive
// while it verifies it, before the chain check decides which are placed.
// Its files are made durable all at once by Sync, one syncfs instead of an
// fsync and a disk cache flush per file (git's core.fsyncMethod=batch has
// the same idea), and join a Batch with Place, which renames them into
// place; whatever is left is removed with the stage. A Stage holds a flock
// on its directory for its lifetime, so the directory of a process that
// died (kill -9, a power cut) can be told from one in use: NewStage
// removes such leftovers, and a crash never leaves more than one stage's
// files behind for long.
type Stage struct {
	dir  string
	lock *os.File // also the descriptor Sync hands to syncfs

	mu      sync.Mutex
	created int // files created so far
	synced  int // files created before the last successful Sync
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
// StagedFile). It is durable once it is closed and Sync has returned.
func (s *Stage) Create(name string, perm os.FileMode) (*StagedFile, error) {
	f, err := createStaged(filepath.Join(s.dir, name), perm, true)
	if err == nil {
		s.mu.Lock()
		s.created++
		s.mu.Unlock()
	}
	return f, err
}

// ErrNotSynced is returned by Place for a stage with files created since
// its last Sync.
var ErrNotSynced = errors.New("staged files are not synced yet")

// Sync makes every file of the stage closed so far durable, content, size
// and mode: one syncfs(2) of the stage's file system, which writes what is
// dirty there and flushes the disk's cache once. Since Linux 5.8 syncfs
// reports write-back errors of the whole file system that happened after
// the stage was created; older kernels do not, but a StagedFile writes
// its content with O_DIRECT, whose errors its writes return, so only the
// last partial block and the inode go through write-back there. Call it
// after the files are closed and before Place.
func (s *Stage) Sync() error {
	s.mu.Lock()
	created := s.created
	s.mu.Unlock()
	for {
		err := unix.Syncfs(int(s.lock.Fd()))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("sync staged files in %s: %w", s.dir, err)
		}
		break
	}
	s.mu.Lock()
	s.synced = created
	s.mu.Unlock()
	return nil
}

// Place adds the stage's file name to b as path (see
// Batch.AdoptDurable), once Sync has made it durable: it refuses with
// ErrNotSynced while any file was created after the last Sync.
func (s *Stage) Place(b *Batch, name, path string) error {
	s.mu.Lock()
	synced := s.synced == s.created
	s.mu.Unlock()
	if !synced {
		return ErrNotSynced
	}
	return b.AdoptDurable(s.Path(name), path)
}

// Path is the path of the stage's file name.
func (s *Stage) Path(name string) string { return filepath.Join(s.dir, name) }

// Remove removes the stage and what is left in it, and releases its lock.
func (s *Stage) Remove() error {
	err := os.RemoveAll(s.dir)
	s.lock.Close()
	return err
}
