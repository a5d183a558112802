package client

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hotfix-project/hotfix/repo"
)

// RollbackOptions tune Rollback.
type RollbackOptions struct {
	To       *repo.Version // roll back until this version is the newest (the base: all); nil: only the newest fix
	LockWait time.Duration
}

// Rollback removes the newest installed fixes one by one, restoring their
// backups. It refuses where a backup is missing.
func (c *Client) Rollback(ctx context.Context, opts RollbackOptions) ([]repo.Version, error) {
	lk, err := c.lock(ctx, "hotfix rollback", opts.LockWait)
	if err != nil {
		return nil, err
	}
	defer lk.Release()
	if err := c.recoverLocked(ctx); err != nil {
		return nil, err
	}
	st, _, err := c.loadState(true)
	if err != nil {
		return nil, err
	}
	if len(st.Installed) == 0 {
		return nil, fmt.Errorf("no fix of %s %s is installed: nothing to roll back", c.Cfg.Product, st.Base)
	}
	n := 1
	if opts.To != nil {
		n = -1
		if opts.To.Equal(st.Base) {
			n = len(st.Installed)
		}
		for i, f := range st.Installed {
			if f.Version.Equal(*opts.To) {
				n = len(st.Installed) - 1 - i
			}
		}
		if n < 0 {
			return nil, fmt.Errorf("%s is neither the base %s nor an installed fix (installed: %s)", opts.To, st.Base, st.Latest())
		}
		if n == 0 {
			return nil, fmt.Errorf("%s is already the newest installed version: nothing to roll back", opts.To)
		}
	}
	// Check every backup first, so a refusal changes nothing.
	for i := len(st.Installed) - n; i < len(st.Installed); i++ {
		if err := c.store().CheckBackups(st.Installed[i].Version); err != nil {
			return nil, err
		}
	}
	var done []repo.Version
	for range n {
		v := st.Latest()
		if err := c.rollbackOne(ctx, st); err != nil {
			c.audit("rollback", []repo.Version{v}, "failed", err.Error())
			return done, err
		}
		c.audit("rollback", []repo.Version{v}, "ok", "")
		done = append(done, v)
	}
	return done, nil
}

// rollbackOne undoes the newest installed fix. The caller holds the lock.
func (c *Client) rollbackOne(ctx context.Context, st *State) error {
	t, err := c.store().BeginRollback(st.Latest())
	if err != nil {
		return err
	}
	return t.Finish(ctx, c.forget(st))
}

// forget drops v from st when it is the newest installed fix, and saves
// st: the commit point of a rollback. Repeating it is harmless.
func (c *Client) forget(st *State) func(v repo.Version) error {
	return func(v repo.Version) error {
		if n := len(st.Installed); n > 0 && st.Installed[n-1].Version.Equal(v) {
			st.Installed = st.Installed[:n-1]
			return st.Save(c.Cfg.StateDir)
		}
		return nil
	}
}

// Recover finishes or undoes a transaction that a crash interrupted, so
// that the root matches the installed state again. Install and rollback
// do this first on their own. It returns what it did, "" when there was
// nothing to do.
func (c *Client) Recover(ctx context.Context, wait time.Duration) (string, error) {
	lk, err := c.lock(ctx, "hotfix recover", wait)
	if err != nil {
		return "", err
	}
	defer lk.Release()
	return c.recoverTxn(ctx)
}

func (c *Client) recoverLocked(ctx context.Context) error {
	_, err := c.recoverTxn(ctx)
	return err
}

// recoverTxn is Recover under the transaction lock, which the caller
// holds.
func (c *Client) recoverTxn(ctx context.Context) (string, error) {
	hook, err := c.stopHook(ctx)
	if err != nil {
		return "", err
	}
	did, err := c.recoverFix(ctx)
	return strings.Join(slices.DeleteFunc([]string{hook, did}, func(s string) bool { return s == "" }), "; "), err
}

// recoverFix finishes or undoes an interrupted fix transaction.
func (c *Client) recoverFix(ctx context.Context) (string, error) {
	st := &State{}
	recorded := func(v repo.Version) (bool, error) {
		loaded, err := LoadState(c.Cfg.StateDir)
		if err != nil {
			return false, err
		}
		*st = *loaded
		return st.IsInstalled(v), nil
	}
	rec, err := c.store().Recover(ctx, recorded, c.forget(st))
	if rec == nil {
		if err != nil {
			return "", fmt.Errorf("recover: %w", err)
		}
		return "", nil
	}
	if rec.Version.IsZero() {
		return rec.Did, err // the crash came before the journal: nothing to audit
	}
	if err != nil {
		c.audit("recover", []repo.Version{rec.Version}, "failed", rec.Did+": "+err.Error())
		return rec.Did, fmt.Errorf("recover: %s: %w", rec.Did, err)
	}
	c.audit("recover", []repo.Version{rec.Version}, "ok", rec.Did)
	return rec.Did, nil
}
