package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// A temporary ".NAME.tmp-*" is held with an exclusive flock by the
// process writing it from the moment it is created until it is renamed
// or removed, as a Stage's directory is: the kernel drops the lock when
// that process dies, kill -9 included. So a temporary whose lock can be
// taken is one no live process owns (its writer was killed), and the next
// atomic write of the same target removes it: interrupted writes leave no
// litter beyond the next write. A temporary of a live writer, in this
// process or another, is never touched.

// claimTries bounds how often createTemp makes a new name after losing
// the fresh one to a concurrent cleanup (which only happens in the
// microseconds between its creation and its lock).
const claimTries = 10

// createTemp creates and locks the temporary an atomic write of path
// starts with. Keep it open until it is renamed or removed: closing it
// releases the lock, and a cleanup may then take it for stale.
func createTemp(path string) (*os.File, error) {
	for range claimTries {
		f, err := createExclusiveTemp(path)
		if err != nil {
			return nil, err
		}
		if claim(f) {
			return f, nil
		}
		// A cleanup of another write of path locked the new file between
		// its creation and our lock, and removes it: never remove it here,
		// the name may be someone else's by now.
		f.Close()
	}
	return nil, fmt.Errorf("create a temporary beside %s: taken by concurrent cleanups %d times", path, claimTries)
}

// claim locks f, a temporary just created, and checks that its name
// still leads to it.
func claim(f *os.File) bool {
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return false
	}
	return sameFile(f, f.Name())
}

// sameFile says whether the name path (not following a link) is the
// open file f.
func sameFile(f *os.File, path string) bool {
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	li, err := os.Lstat(path)
	return err == nil && os.SameFile(fi, li)
}

// removeStale removes the temporaries in dir of the files named in bases
// (names in dir) that no live process holds. It is garbage collection,
// best effort: what it cannot list, lock or remove stays, and the write
// that called it goes on all the same.
func removeStale(dir string, bases map[string]bool) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return
	}
	for _, name := range names {
		if base, ok := tempTarget(name); ok && bases[base] {
			removeIfStale(filepath.Join(dir, name))
		}
	}
}

// tempTarget is the name of the file whose temporary name is, if it is
// one: ".BASE.tmp-" and the digits os.CreateTemp adds.
func tempTarget(name string) (string, bool) {
	i := strings.LastIndex(name, ".tmp-")
	if !strings.HasPrefix(name, ".") || i < 1 {
		return "", false
	}
	suffix := name[i+len(".tmp-"):]
	if suffix == "" || strings.Trim(suffix, "0123456789") != "" {
		return "", false
	}
	return name[1:i], true
}

// removeIfStale removes the temporary path if it is a regular file whose
// lock nobody holds. The lock is kept until the name is gone, so that its
// owner, were it still claiming the file (see createTemp), finds it taken.
func removeIfStale(path string) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return // gone already, a link, or not ours to open
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return // its writer lives
	}
	// The name may have been renamed into place and reused since it was
	// listed: remove it only if it is still the file locked.
	if sameFile(f, path) {
		os.Remove(path)
	}
}

// createExclusiveTemp creates a new file ".BASE.tmp-DIGITS" beside path,
// mode 0600. The digits are what tempTarget recognises: the names are
// made here rather than by os.CreateTemp, whose suffix is unspecified.
func createExclusiveTemp(path string) (*os.File, error) {
	for range 100 {
		name := tempPrefix(path) + strconv.FormatUint(uint64(rand.Uint32()), 10)
		f, err := os.OpenFile(filepath.Join(filepath.Dir(path), name), os.O_RDWR|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
	return nil, fmt.Errorf("create a temporary beside %s: no free name", path)
}

// RemoveStale removes the temporaries that atomic writes of path left
// when they were killed, keeping those of live writers (see removeStale).
// Every atomic write of path does it already; a caller that updates path
// in place (appending, say) calls it so that such leftovers go all the
// same.
func RemoveStale(path string) {
	removeStale(filepath.Dir(path), map[string]bool{filepath.Base(path): true})
}
