package client

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/hotfix-project/hotfix/internal/statefile"
)

// seenName holds what checks learned: the highest serial per channel (so
// an old signed index cannot be replayed) and the last check's outcome.
// It is separate from state.json so that a check never waits for an
// install, nor an install for a check.
const seenName = "seen.json"

// Seen is the check-side memory of the client.
type Seen struct {
	Serials   map[string]int64 `json:"serials"`
	LastCheck *CheckRecord     `json:"last_check,omitempty"`
}

// seenFile is state_dir/seen.json, updated under lock_dir/seen.lock:
// checks run concurrently and must all keep the highest serial.
func seenFile(stateDir, lockDir string) statefile.File[Seen] {
	return statefile.File[Seen]{
		Path: filepath.Join(stateDir, seenName),
		Lock: filepath.Join(lockDir, "seen.lock"), Wait: 30 * time.Second, Command: "hotfix check",
	}
}

func loadSeen(dir string) (*Seen, error) {
	s, _, err := seenFile(dir, "").Load()
	if err != nil {
		return nil, seenError(err, dir)
	}
	s.complete()
	return s, nil
}

func (s *Seen) complete() {
	if s.Serials == nil {
		s.Serials = map[string]int64{}
	}
}

// seenError says what removing a damaged seen.json would cost.
func seenError(err error, dir string) error {
	if errors.Is(err, statefile.ErrDamaged) {
		return fmt.Errorf("read %s: %w: remove it only if you accept that an older index could be replayed once", filepath.Join(dir, seenName), err)
	}
	return err
}

// updateSeen applies fn to seen.json under a short lock, so concurrent
// checks keep the highest serial.
func updateSeen(ctx context.Context, stateDir, lockDir string, fn func(*Seen)) error {
	err := seenFile(stateDir, lockDir).Update(ctx, func(s *Seen) error {
		s.complete()
		fn(s)
		return nil
	})
	return seenError(err, stateDir)
}
