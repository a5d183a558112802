package statefile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
	"github.com/hotfix-project/hotfix/internal/lockfile"
)

// ErrDamaged means a state file exists but does not decode: callers
// decide whether that is fatal (state.json), means "assume the worst"
// (paused.json) or "start afresh" (reported.json).
var ErrDamaged = errors.New("damaged state file")

// DamagedError is a state file that does not decode. Its message is the
// decoder's, so callers can say in their own words which file it is and
// what to do.
type DamagedError struct {
	Path string
	Err  error
}

func (e *DamagedError) Error() string { return e.Err.Error() }

// Unwrap gives both ErrDamaged and the decoder's error.
func (e *DamagedError) Unwrap() []error { return []error{ErrDamaged, e.Err} }

// File is one JSON state file holding a T.
type File[T any] struct {
	Path string      // the JSON file
	Perm os.FileMode // of the file when written; 0 means 0644
	// Lock is the lock file Update takes. Leave it empty only where
	// every writer already holds a wider lock (say which at the call).
	Lock string
	// Wait bounds how long Update waits for Lock; Command names the
	// holder in the lock's record.
	Wait    time.Duration
	Command string
}

// Load decodes the file. A missing file gives a zero T and found false.
// Unknown fields and trailing data are refused (a *DamagedError): a state
// file written by something else must not be half understood.
func (f File[T]) Load() (v *T, found bool, err error) {
	v = new(T)
	data, err := os.ReadFile(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return v, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if err := decodeStrict(data, v); err != nil {
		return nil, true, &DamagedError{Path: f.Path, Err: err}
	}
	return v, true, nil
}

func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("invalid character after top-level value")
	}
	return nil
}

// Save replaces the file with v, durably: indented JSON written to a
// temporary, fsynced, renamed into place, and the directory (created
// when missing) synced.
func (f File[T]) Save(v *T) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", f.Path, err)
	}
	if err := os.MkdirAll(filepath.Dir(f.Path), 0o755); err != nil {
		return err
	}
	perm := f.Perm
	if perm == 0 {
		perm = 0o644
	}
	return atomicfile.WriteFile(f.Path, append(data, '\n'), perm)
}

// Update loads the file under Lock, lets change alter it, and saves the
// result, so that concurrent updaters never lose each other's changes.
// When change returns an error nothing is written.
func (f File[T]) Update(ctx context.Context, change func(v *T) error) error {
	if f.Lock != "" {
		lk, err := lockfile.Acquire(ctx, f.Lock, f.Command, f.Wait)
		if err != nil {
			return err
		}
		defer lk.Release()
	}
	v, _, err := f.Load()
	if err != nil {
		return err
	}
	if err := change(v); err != nil {
		return err
	}
	return f.Save(v)
}

// Remove deletes the file durably; it reports whether there was one.
func (f File[T]) Remove() (bool, error) {
	err := os.Remove(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, atomicfile.SyncDir(filepath.Dir(f.Path))
}
