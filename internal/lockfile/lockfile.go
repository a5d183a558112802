package lockfile

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

	"github.com/gofrs/flock"
)

// ErrLocked reports that another holder has the lock. Callers map it to exit
// code 75 ("could not run now").
var ErrLocked = errors.New("locked")

// Holder describes who holds a lock; it is written into the lock file as
// JSON after the lock is acquired.
type Holder struct {
	PID     int       `json:"pid"`
	Since   time.Time `json:"since"`
	Command string    `json:"command"`
}

// LockedError is returned when a lock is held by someone else.
type LockedError struct {
	Path string
	// Holder is nil when the holder's record could not be read, for
	// instance because the holder has locked the file but not yet written it.
	Holder *Holder
}

func (e *LockedError) Error() string {
	if e.Holder == nil {
		return fmt.Sprintf("another hotfix holds %s: wait for it or retry later", e.Path)
	}
	who := fmt.Sprintf("pid %d", e.Holder.PID)
	if e.Holder.Command != "" {
		who += fmt.Sprintf(", %q", e.Holder.Command)
	}
	if !e.Holder.Since.IsZero() {
		who += ", since " + e.Holder.Since.Local().Format(time.DateTime)
	}
	return fmt.Sprintf("another hotfix (%s) holds %s: wait for it or retry later", who, e.Path)
}

// Unwrap returns ErrLocked.
func (e *LockedError) Unwrap() error { return ErrLocked }

// Is reports whether target is ErrLocked.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// Lock is a held lock. Release it when done; the kernel releases it anyway
// when the process exits.
type Lock struct {
	fl   *flock.Flock
	path string
}

// Path returns the lock file's path.
func (l *Lock) Path() string { return l.path }

const (
	// contentionWindow is how long TryAcquire keeps trying before it reports
	// contention. ReadHolder probes a lock by taking it (shared) for a few
	// microseconds; without this window a `hotfix status` from a monitoring
	// script could make a scheduled run fail with "locked" by bad luck.
	contentionWindow = 10 * time.Millisecond
	contentionPoll   = 2 * time.Millisecond

	// pollInterval is how often Acquire retries while waiting. flock has no
	// blocking call that honours a context, so waiting means polling.
	pollInterval = 50 * time.Millisecond

	maxRecord = 4096
)

// TryAcquire takes the exclusive lock on path without waiting (beyond a few
// milliseconds, see contentionWindow), creating the directory (0755) and the
// file (0644) if needed. On success it records this process as the holder.
// When the lock is held elsewhere it returns a *LockedError.
func TryAcquire(path string, command string) (*Lock, error) {
	deadline := time.Now().Add(contentionWindow)
	for {
		l, err := tryOnce(path, command)
		if err == nil || !errors.Is(err, ErrLocked) || !time.Now().Before(deadline) {
			return l, err
		}
		time.Sleep(contentionPoll)
	}
}

// Acquire takes the exclusive lock on path, waiting up to wait for a holder
// to release it. After wait it returns a *LockedError; if ctx ends first, it
// returns ctx's error, wrapped. wait <= 0 behaves like TryAcquire.
func Acquire(ctx context.Context, path, command string, wait time.Duration) (*Lock, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("wait for lock %s: %w", path, err)
	}
	l, err := TryAcquire(path, command)
	if err == nil || !errors.Is(err, ErrLocked) || wait <= 0 {
		return l, err
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for lock %s: %w", path, ctx.Err())
		case <-deadline.C:
			// One last try, so that a release right at the deadline is not
			// reported as contention.
			return tryOnce(path, command)
		case <-tick.C:
			l, err := tryOnce(path, command)
			if err == nil || !errors.Is(err, ErrLocked) {
				return l, err
			}
		}
	}
}

// tryOnce makes a single non-blocking attempt.
func tryOnce(path, command string) (*Lock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create lock directory: %w", err)
	}
	fl := flock.New(path, flock.SetFlag(os.O_CREATE|os.O_RDWR), flock.SetPermissions(0o644))
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !ok {
		return nil, &LockedError{Path: path, Holder: readRecord(path)}
	}
	l := &Lock{fl: fl, path: path}
	// We never delete lock files, but a person might. If the path no longer
	// names the file we locked, our lock excludes nobody who opens the path
	// now: fail rather than run unprotected.
	if err := l.checkSameFile(); err != nil {
		_ = fl.Unlock()
		return nil, err
	}
	if err := l.writeHolder(Holder{PID: os.Getpid(), Since: time.Now(), Command: command}); err != nil {
		_ = fl.Unlock()
		return nil, err
	}
	return l, nil
}

func (l *Lock) checkSameFile() error {
	held, err := l.fl.Stat()
	if err != nil {
		return fmt.Errorf("stat lock %s: %w", l.path, err)
	}
	now, err := os.Stat(l.path)
	if err != nil {
		return fmt.Errorf("lock %s was removed while being acquired: %w", l.path, err)
	}
	if !os.SameFile(held, now) {
		return fmt.Errorf("lock %s was replaced while being acquired: retry", l.path)
	}
	return nil
}

// writeHolder records h in the lock file. It opens a second descriptor:
// flock does not expose its own, and closing an extra descriptor does not
// drop a flock lock (unlike an fcntl lock).
func (l *Lock) writeHolder(h Holder) error {
	data, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("encode lock holder: %w", err)
	}
	data = append(data, '\n')
	f, err := os.OpenFile(l.path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("write lock holder %s: %w", l.path, err)
	}
	err = f.Truncate(0)
	if err == nil {
		_, err = f.WriteAt(data, 0)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write lock holder %s: %w", l.path, err)
	}
	return nil
}

// Release unlocks. It never deletes the file (see the package comment). It
// is safe to call more than once.
func (l *Lock) Release() error {
	if l == nil || l.fl == nil {
		return nil
	}
	// Clear our record while we still hold the lock, so that the next holder
	// is never reported under our pid in the instant before it writes its
	// own. Best effort: the record is advisory.
	if f, err := os.OpenFile(l.path, os.O_WRONLY, 0); err == nil {
		_ = f.Truncate(0)
		_ = f.Close()
	}
	if err := l.fl.Unlock(); err != nil {
		return fmt.Errorf("unlock %s: %w", l.path, err)
	}
	l.fl = nil
	return nil
}

// ReadHolder reports who holds the lock at path, for `hotfix status`. It
// returns nil, nil when the file does not exist or is not locked. When it is
// locked but the holder's record is missing or unreadable (the holder has
// just started), it returns a zero Holder.
//
// It probes with a shared lock on a separate descriptor, released at once;
// the file is opened read-only and never created, so it works for users who
// may only read the lock directory.
func ReadHolder(path string) (*Holder, error) {
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("read lock %s: %w", path, err)
	}
	probe := flock.New(path, flock.SetFlag(os.O_RDONLY))
	free, err := probe.TryRLock()
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("probe lock %s: %w", path, err)
	}
	if free {
		if err := probe.Unlock(); err != nil {
			return nil, fmt.Errorf("probe lock %s: %w", path, err)
		}
		return nil, nil
	}
	if h := readRecord(path); h != nil {
		return h, nil
	}
	return &Holder{}, nil
}

// readRecord returns the holder recorded in path, or nil when there is none
// or it cannot be parsed.
func readRecord(path string) *Holder {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	// A record is under 200 bytes; do not read a huge file into memory.
	data, err := io.ReadAll(io.LimitReader(f, maxRecord))
	if err != nil {
		return nil
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil
	}
	var h Holder
	if err := json.Unmarshal(data, &h); err != nil {
		return nil
	}
	return &h
}
