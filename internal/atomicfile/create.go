package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// CreateNew writes data to path, which must not exist yet, so that path
// either does not appear or appears complete with mode perm; it never
// replaces a file. The data goes to a synced temporary file beside path
// that is then hard-linked into place: a link, unlike a rename, fails when
// the target exists. On a file system without hard links (vfat, some FUSE)
// it falls back to an exclusive create, still never replacing a file, but a
// crash may then leave a partial file behind. The directory is synced at the
// end. If path exists, the error wraps fs.ErrExist.
//
// It is meant for files whose loss would be worse than a refusal, such as a
// newly generated secret key.
func CreateNew(path string, data []byte, perm os.FileMode) error {
	f, err := createTemp(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	// The temporary name goes in every case; after the link the data lives
	// on under path. The file is closed after that (deferred calls run
	// last first), so its lock guards the name until it is gone.
	defer f.Close()
	defer os.Remove(f.Name())
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	RemoveStale(path)
	if err := os.Link(f.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create %s: %w", path, fs.ErrExist)
		}
		return createExclusive(path, data, perm)
	}
	return SyncDir(filepath.Dir(path))
}

// createExclusive is CreateNew without hard links: O_EXCL refuses an
// existing file, and a failed write removes what it created.
func createExclusive(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("create %s: %w", path, err)
	}
	return SyncDir(filepath.Dir(path))
}
