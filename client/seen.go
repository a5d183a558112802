package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
	"github.com/hotfix-project/hotfix/internal/lockfile"
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

func loadSeen(dir string) (*Seen, error) {
	s := &Seen{Serials: map[string]int64{}}
	data, err := os.ReadFile(filepath.Join(dir, seenName))
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, s); err != nil {
		return nil, fmt.Errorf("read %s: %w: remove it only if you accept that an older index could be replayed once", filepath.Join(dir, seenName), err)
	}
	if s.Serials == nil {
		s.Serials = map[string]int64{}
	}
	return s, nil
}

// updateSeen applies fn to seen.json under a short lock, so concurrent
// checks keep the highest serial.
func updateSeen(ctx context.Context, stateDir, lockDir string, fn func(*Seen)) error {
	l, err := lockfile.Acquire(ctx, filepath.Join(lockDir, "seen.lock"), "hotfix check", 30*time.Second)
	if err != nil {
		return err
	}
	defer l.Release()
	s, err := loadSeen(stateDir)
	if err != nil {
		return err
	}
	fn(s)
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(stateDir, seenName), append(data, '\n'), 0o644)
}
