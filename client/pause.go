package client

import (
	"context"
	"errors"
	"path/filepath"
	"time"

	"github.com/hotfix-project/hotfix/client/notify"
	"github.com/hotfix-project/hotfix/internal/statefile"
)

// pauseName marks a paused client inside state_dir; a file, so that the
// pause survives reboots.
const pauseName = "paused.json"

// ErrPaused means scheduled runs and installs are held off (exit 75).
var ErrPaused = errors.New("paused")

// PauseInfo says who paused hotfix, when, why and until when.
type PauseInfo struct {
	By     string     `json:"by"`
	Since  time.Time  `json:"since"`
	Reason string     `json:"reason"`
	Until  *time.Time `json:"until"`
}

// PausedError is returned by install and scheduled runs while paused.
type PausedError struct{ Info PauseInfo }

// Error reads after the command line's "hotfix: " prefix: "paused by
// root since ...".
func (e *PausedError) Error() string { return "paused " + e.Pause().Detail() }

// Pause is the pause as a run's report shows it.
func (e *PausedError) Pause() *notify.Pause {
	p := notify.Pause(e.Info)
	return &p
}

func (e *PausedError) Unwrap() error { return ErrPaused }

// pauseFile is state_dir/paused.json. Pause and resume write it whole
// or remove it; they need no lock of their own (pause --wait holds the
// transaction lock so that no install starts meanwhile).
func (c *Client) pauseFile() statefile.File[PauseInfo] {
	return statefile.File[PauseInfo]{Path: filepath.Join(c.Cfg.StateDir, pauseName)}
}

// Paused returns the pause in force now, or nil. A pause whose --for
// time has run out counts as lifted. An instance is paused by its own
// marker and by the host's (hostPaused).
func (c *Client) Paused() (*PauseInfo, error) {
	p, err := c.pausedHere()
	if p != nil || err != nil {
		return p, err
	}
	return c.hostPaused()
}

func (c *Client) pausedHere() (*PauseInfo, error) {
	p, found, err := c.pauseFile().Load()
	if errors.Is(err, statefile.ErrDamaged) {
		// A damaged marker still means somebody paused: stay paused.
		return &PauseInfo{By: "unknown", Reason: "damaged pause marker " + c.pauseFile().Path}, nil
	}
	if err != nil {
		return nil, err
	}
	if !found || (p.Until != nil && !c.Now().Before(*p.Until)) {
		return nil, nil
	}
	return p, nil
}

// checkPaused returns a *PausedError while paused.
func (c *Client) checkPaused() error {
	p, err := c.Paused()
	if err != nil {
		return err
	}
	if p != nil {
		return &PausedError{Info: *p}
	}
	return nil
}

// Pause holds off scheduled runs and installs; a running install goes on.
// With wait > 0 it first waits that long for a running install (the
// transaction lock) and pauses while holding the lock, so no install
// starts in between; if the install does not finish in time it returns
// the lock error (exit 75) without pausing. forDur > 0 lifts the pause by
// itself.
func (c *Client) Pause(ctx context.Context, wait, forDur time.Duration, reason string) (*PauseInfo, error) {
	if wait > 0 {
		lk, err := c.lock(ctx, "hotfix pause --wait", wait)
		if err != nil {
			return nil, err
		}
		defer lk.Release()
	}
	now := c.Now().UTC()
	info := PauseInfo{By: currentUser(), Since: now, Reason: reason}
	if forDur > 0 {
		until := now.Add(forDur)
		info.Until = &until
	}
	if err := c.pauseFile().Save(&info); err != nil {
		return nil, err
	}
	detail := reason
	if info.Until != nil {
		detail += " (until " + info.Until.Format(time.RFC3339) + ")"
	}
	// The pause stands even when the audit log refuses its record: a
	// pause is a safety stop, and the error says what is missing.
	return &info, c.audit("pause", nil, "ok", detail)
}

// Resume lifts a pause and records it; it reports whether there was one.
func (c *Client) Resume() (bool, error) {
	was, err := c.pauseFile().Remove()
	if err == nil && was {
		err = c.audit("resume", nil, "ok", "")
	}
	return was, err
}
