package client

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hotfix-project/hotfix/client/notify"
	"github.com/hotfix-project/hotfix/client/txn"
	"github.com/hotfix-project/hotfix/internal/lockfile"
	"github.com/hotfix-project/hotfix/internal/words"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/fixarchive"
)

// Status is what `hotfix status` reports; its JSON form is a stable
// interface for monitoring (DESIGN.md). Its State is the one model the
// run reports and the metrics file are written from too.
type Status struct {
	notify.State
	Lock *StatusLock `json:"lock"`
	// Interrupted is a transaction a crash left half done (the root may
	// hold part of a fix until "hotfix recover"), or nil.
	Interrupted *StatusInterrupted `json:"interrupted"`
	Journal     string             `json:"-"` // the interrupted transaction's directory, if any
	// Custom lists the installed customer fixes (none: the key is left out).
	Custom   []StatusCustom  `json:"custom,omitempty"`
	Recorded []SupersededFix `json:"-"`
}

// StatusInterrupted is an interrupted transaction in Status: the fix,
// the step it stopped at (txn.Interrupted.Step: "begin", "backup",
// "apply" or "rollback"), since when, and what "hotfix recover" will do.
type StatusInterrupted struct {
	Version string    `json:"version"`
	Step    string    `json:"step"`
	Since   time.Time `json:"since"`
	Recover string    `json:"recover"`
	// Custom is the customer fix's id when the transaction is one of
	// its own (an install, or an uninstall handing files over).
	Custom string `json:"custom,omitempty"`
	dir    string // the transaction's directory
}

// What names the interrupted transaction for people.
func (in *StatusInterrupted) What() string {
	switch {
	case in.Custom != "":
		return "the transaction of customer fix " + in.Custom + " " + in.Version
	case in.Version != "":
		return "the transaction of " + in.Version
	}
	return "a transaction"
}

// StatusLock is the holder of the transaction lock in Status.
type StatusLock struct {
	PID   int       `json:"pid"`
	Since time.Time `json:"since"`
}

// Status gathers the local state without touching the network.
func (c *Client) Status() (*Status, error) {
	base, err := c.Base()
	if err != nil {
		return nil, err
	}
	st, err := c.state(base)
	if err != nil {
		return nil, err
	}
	out := &Status{State: notify.State{Product: c.Cfg.Product, Base: base.String(), Level: base.String(), Installed: []notify.InstalledFix{}, Instance: c.Cfg.Instance}}
	latest := base
	if st.Product == c.Cfg.Product && st.Base.Equal(base) {
		for _, f := range st.Installed {
			out.Installed = append(out.Installed, notify.InstalledFix{Version: f.Version.String(), InstalledAt: f.InstalledAt, By: f.By})
			latest = f.Version
		}
	}
	out.Level = latest.String()
	out.Recorded = st.Superseded
	if st.Product == c.Cfg.Product && st.Base.Equal(base) {
		out.Custom = statusCustom(st)
	}
	seen, err := loadSeen(c.Cfg.StateDir)
	if err != nil {
		return nil, err
	}
	if lc := seen.LastCheck; lc != nil {
		out.LastCheck = &notify.CheckRecord{At: lc.At, Outcome: lc.Outcome, Failed: lc.Failed}
		out.Pending = lc.Pending
		out.PendingSince = lc.PendingSince
	}
	// Pending as of the last check, less what was installed since.
	if ix := c.cachedIndex(base); ix != nil {
		pending, held := c.split(ix, latest)
		out.Pending, out.Held = len(pending), len(held)
		exp := ix.Expires
		out.IndexExpires = &exp
		if lc := seen.LastCheck; lc != nil && !lc.Failed && lc.Pending != out.Pending {
			// An install or rollback since the check changed what is
			// pending: the check's outcome is history, said as such, so
			// that "up to date" never stands beside "pending: 1".
			out.LastCheck.Outcome = fmt.Sprintf("%s then; %s pending now after a later install or rollback",
				lc.Outcome, words.Count(out.Pending, "fix", "fixes"))
		}
	}
	if out.Pending == 0 {
		out.PendingSince = nil
	}
	p, err := c.Paused()
	if err != nil {
		return nil, err
	}
	if p != nil {
		np := notify.Pause(*p)
		out.Paused = &np
	}
	if out.LastRun, err = c.LastRun(); err != nil {
		return nil, err
	}
	if h, err := lockfile.ReadHolder(filepath.Join(c.Cfg.LockDir, TransactionLock)); err == nil && h != nil {
		out.Lock = &StatusLock{PID: h.PID, Since: h.Since}
	}
	if out.Interrupted, err = c.interrupted(st); err != nil {
		return nil, err
	}
	if out.Interrupted != nil {
		out.Journal = out.Interrupted.dir
	}
	return out, nil
}

// interrupted describes the transaction a crash left, or nil; st is the
// recorded state, which decides what recover will do with it.
func (c *Client) interrupted(st *State) (*StatusInterrupted, error) {
	in, err := c.store().Inspect()
	if err != nil {
		return nil, err
	}
	if in != nil {
		return statusInterrupted(in, st.IsInstalled(in.Version), c.store().InProgress(), ""), nil
	}
	return c.interruptedCustom(st)
}

// statusInterrupted is in as status shows it; committed says whether the
// state records its fix.
func statusInterrupted(in *txn.Interrupted, committed bool, dir, custom string) *StatusInterrupted {
	if in == nil {
		return nil
	}
	out := &StatusInterrupted{Step: in.Step(), Since: in.Since, Recover: in.WouldDo(committed), Custom: custom, dir: dir}
	if !in.Version.IsZero() {
		out.Version = in.Version.String()
	}
	return out
}

// WriteMetrics rewrites [notify] metrics_file from the local state (it
// does nothing when metrics_file is not set). check, status and every
// scheduled run call it, so the file is never older than the last of them.
func (c *Client) WriteMetrics() error {
	if c.Cfg.Notify.MetricsFile == "" {
		return nil
	}
	st, err := c.Status()
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return notify.WriteMetrics(c.Cfg.Notify.MetricsFile, &st.State)
}

// cachedIndex is the last verified index of base, parsed but not
// re-verified: good enough for counting, never for installing.
func (c *Client) cachedIndex(base repo.Version) *repo.Index {
	data, err := os.ReadFile(filepath.Join(c.channelCache(base), repo.IndexName))
	if err != nil {
		return nil
	}
	ix, err := repo.ParseIndex(data)
	if err != nil {
		return nil
	}
	return ix
}

// FixInfo is what `hotfix info` shows.
type FixInfo struct {
	Manifest  *repo.Manifest
	Installed *InstalledFix
	Index     *repo.IndexFix
}

// Info describes one fix: from its archive when it is in the cache (full
// detail), else from the verified index.
func (c *Client) Info(v repo.Version) (*FixInfo, error) {
	base := v.Base()
	out := &FixInfo{}
	st, err := c.state(base)
	if err != nil {
		return nil, err
	}
	for i := range st.Installed {
		if st.Installed[i].Version.Equal(v) {
			out.Installed = &st.Installed[i]
		}
	}
	if ix := c.cachedIndex(base); ix != nil {
		if f, ok := ix.Fix(v); ok {
			out.Index = f
			if m, err := fixarchive.ReadManifestFile(filepath.Join(c.channelCache(base), f.File)); err == nil {
				out.Manifest = m
			}
		}
	}
	if out.Index == nil && out.Installed == nil {
		return nil, fmt.Errorf("fix %s is unknown here: run \"hotfix check\" first (it reads the index of base %s)", v, base)
	}
	return out, nil
}
