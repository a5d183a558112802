package atomicfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// File is a pending atomic write. Write to it, then Commit; Abort (safe to
// defer after Commit) removes the temporary file. A Commit also removes
// the temporaries that writes of the same file killed earlier left (see
// removeStale).
type File struct {
	*os.File
	target string
	perm   os.FileMode
	done   bool
}

// Create starts an atomic write of path with permissions perm.
func Create(path string, perm os.FileMode) (*File, error) {
	f, err := createTemp(path)
	if err != nil {
		return nil, err
	}
	return &File{File: f, target: path, perm: perm}, nil
}

// Commit syncs the data, sets the mode, renames the file into place and
// syncs the directory.
func (f *File) Commit() error {
	if f.done {
		return errors.New("atomicfile: already finished")
	}
	f.done = true
	name := f.File.Name()
	err := f.File.Chmod(f.perm)
	if err == nil {
		err = f.File.Sync()
	}
	if err == nil {
		err = os.Rename(name, f.target)
	}
	if err != nil {
		os.Remove(name)
	}
	// Closed only now: its lock keeps cleanups away from the temporary
	// until it is renamed or removed.
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", f.target, err)
	}
	RemoveStale(f.target)
	return SyncDir(filepath.Dir(f.target))
}

// Abort discards the write. It does nothing after Commit.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	os.Remove(f.File.Name())
	f.File.Close()
}

// WriteFile atomically replaces path with data.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	f, err := Create(path, perm)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Commit()
}

// WriteFrom atomically replaces path with everything read from r.
func WriteFrom(path string, r io.Reader, perm os.FileMode) (int64, error) {
	f, err := Create(path, perm)
	if err != nil {
		return 0, fmt.Errorf("write %s: %w", path, err)
	}
	defer f.Abort()
	n, err := io.Copy(f, r)
	if err != nil {
		return n, fmt.Errorf("write %s: %w", path, err)
	}
	return n, f.Commit()
}

// WriteUnsynced replaces path with data by a rename but without fsync: for
// caches, whose loss in a crash only costs time. Readers never see a half
// written file; after a crash they may see the old one or none.
func WriteUnsynced(path string, data []byte, perm os.FileMode) error {
	tmp, err := writeTemp(path, bytes.NewReader(data), perm, -1, -1)
	if err == nil {
		if err = os.Rename(tmp.Name(), path); err != nil {
			os.Remove(tmp.Name())
		}
		tmp.Close()
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	RemoveStale(path)
	return nil
}

// SyncDir fsyncs a directory so that renames and creations in it are durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}
