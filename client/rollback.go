package client

import (
	"context"
	"errors"
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
	// Force rolls back over files changed locally since the fixes
	// installed them, keeping each beside the restored one (KeptFile).
	Force bool
	// DryRun runs every test (backups present, no locally changed file
	// unless Force) and changes nothing: RolledBack then lists what a real
	// rollback would remove. It does not recover an interrupted
	// transaction either; it refuses while one waits for recover.
	DryRun bool
}

// RollbackResult is what Rollback did.
type RollbackResult struct {
	RolledBack []repo.Version // newest first
	Kept       []KeptFile     // locally changed files kept beside the restored ones (Force)
	DryRun     bool           // nothing was changed: RolledBack is what would go
}

// Rollback removes the newest installed fixes one by one, restoring their
// backups. It refuses, changing nothing, where a backup is missing and
// where a file to restore or remove was changed locally since its fix
// installed it (a *RollbackChangesError) unless opts.Force.
func (c *Client) Rollback(ctx context.Context, opts RollbackOptions) (*RollbackResult, error) {
	lk, err := c.lock(ctx, "hotfix rollback", opts.LockWait)
	if err != nil {
		return nil, err
	}
	defer lk.Release()
	if opts.DryRun {
		return c.rollbackDryRun(opts)
	}
	if err := probeAudit(c.Cfg.LogDir); err != nil {
		return nil, err
	}
	if err := c.recoverLocked(ctx); err != nil {
		return nil, err
	}
	st, _, err := c.loadState(true)
	if err != nil {
		return nil, err
	}
	// Every backup is checked first, so a refusal changes nothing.
	n, err := c.planRollback(st, opts.To)
	if err != nil {
		return nil, err
	}
	res := &RollbackResult{}
	res.Kept, err = c.guardRollback(st, len(st.Installed)-n, opts.Force, false)
	if err != nil {
		return res, err
	}
	// The kept copies go into the first record: they were made before
	// any fix was rolled back.
	var detail []string
	for _, k := range res.Kept {
		detail = append(detail, "kept the locally changed "+k.Path+" as "+k.KeptAs)
	}
	var auditErr error
	for range n {
		v := st.Latest()
		if err := c.rollbackOne(ctx, st); err != nil {
			return res, joinErrs(err, auditErr, c.audit("rollback", []repo.Version{v}, "failed", err.Error()))
		}
		if aerr := c.audit("rollback", []repo.Version{v}, "ok", sentence(detail...)); aerr != nil && auditErr == nil {
			auditErr = aerr
		}
		detail, res.RolledBack = nil, append(res.RolledBack, v)
	}
	return res, auditErr
}

// rollbackDryRun is Rollback's tests without a change: the fixes it would
// remove, newest first. The caller holds the lock.
func (c *Client) rollbackDryRun(opts RollbackOptions) (*RollbackResult, error) {
	st, _, err := c.loadState(false)
	if err != nil {
		return nil, err
	}
	in, err := c.interrupted(st)
	if err != nil {
		return nil, err
	}
	if in != nil {
		return nil, fmt.Errorf("%s was interrupted (step %s): \"hotfix recover\" must finish or undo it before a rollback can be planned", in.What(), in.Step)
	}
	n, err := c.planRollback(st, opts.To)
	if err != nil {
		return nil, err
	}
	res := &RollbackResult{DryRun: true}
	if res.Kept, err = c.guardRollback(st, len(st.Installed)-n, opts.Force, true); err != nil {
		return nil, err
	}
	for i := len(st.Installed) - 1; i >= len(st.Installed)-n; i-- {
		res.RolledBack = append(res.RolledBack, st.Installed[i].Version)
	}
	return res, nil
}

// planRollback is how many of the newest fixes rolling back to "to"
// removes, once the backups of each of them are found complete and no
// customer fix sits on them.
func (c *Client) planRollback(st *State, to *repo.Version) (int, error) {
	n, err := rollbackCount(st, to)
	if err != nil {
		return 0, err
	}
	for i := len(st.Installed) - n; i < len(st.Installed); i++ {
		if err := c.store().CheckBackups(st.Installed[i].Version); err != nil {
			return 0, err
		}
	}
	// A vendor fix under a customer fix stays (the dry run says so too).
	if err := customBlocksRollback(st, len(st.Installed)-n); err != nil {
		return 0, err
	}
	return n, nil
}

// rollbackCount is how many of the newest fixes rolling back to "to"
// removes (nil: the newest one).
func rollbackCount(st *State, to *repo.Version) (int, error) {
	if len(st.Installed) == 0 {
		return 0, fmt.Errorf("no fix of %s %s is installed: nothing to roll back", st.Product, st.Base)
	}
	if to == nil {
		return 1, nil
	}
	n := -1
	if to.Equal(st.Base) {
		n = len(st.Installed)
	}
	for i, f := range st.Installed {
		if f.Version.Equal(*to) {
			n = len(st.Installed) - 1 - i
		}
	}
	if n < 0 {
		return 0, fmt.Errorf("%s is neither the base %s nor an installed fix (installed: %s)", to, st.Base, st.Latest())
	}
	if n == 0 {
		return 0, fmt.Errorf("%s is already the newest installed version: nothing to roll back", to)
	}
	return n, nil
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
			// The file database goes back in the same write.
			f := st.Installed[n-1]
			st.files().Revert(vendorOwner(v), fixPaths(&f), f.Previous)
			st.Installed = st.Installed[:n-1]
			unmarkOverridden(st, v) // the rollback restores the customer files it had overridden
			return st.Save(c.Cfg.StateDir)
		}
		return nil
	}
}

// Recover rebuilds a lost state.json from the fixes' backups and the
// audit log (see rebuildState), then finishes or undoes a transaction
// that a crash interrupted, so that the root matches the installed state
// again. Install and rollback
// do this first on their own. It returns what it did (Did "" when there
// was nothing to do); on error, what it did before.
func (c *Client) Recover(ctx context.Context, wait time.Duration) (*RecoverResult, error) {
	lk, err := c.lock(ctx, "hotfix recover", wait)
	if err != nil {
		return &RecoverResult{}, err
	}
	defer lk.Release()
	return c.recoverAll(ctx)
}

// RecoverResult is what Recover did.
type RecoverResult struct {
	Did string // for people and the audit log; "" for nothing
	// RestoredCustom are the customer fixes whose records a rebuild of
	// a lost state restored from their rollback records; LostCustom
	// those it could not restore (the error is then a *CustomLostError).
	RestoredCustom, LostCustom []CustomFixRef
}

// recoverLocked is what install and rollback do first, under the lock:
// refuse when the state was lost (only "hotfix recover" rebuilds it;
// recovering the transaction against a lost state would go by a wrong
// record), then finish or undo an interrupted transaction.
func (c *Client) recoverLocked(ctx context.Context) error {
	if base, err := c.Base(); err == nil {
		if _, err := c.state(base); errors.Is(err, ErrStateLost) {
			return err
		}
	}
	_, err := c.recoverTxn(ctx)
	return err
}

// recoverAll is Recover under the lock: rebuild a lost state, then
// finish or undo the interrupted transaction.
func (c *Client) recoverAll(ctx context.Context) (*RecoverResult, error) {
	res := &RecoverResult{}
	var rebuilt string
	if base, err := c.Base(); err == nil {
		if rebuilt, err = c.rebuildState(base, res); err != nil {
			res.Did = rebuilt
			return res, fmt.Errorf("recover: %w", err)
		}
	}
	did, err := c.recoverTxn(ctx)
	res.Did = sentence(rebuilt, did)
	return res, err
}

// recoverTxn finishes or undoes the interrupted transaction; the caller
// holds the transaction lock.
func (c *Client) recoverTxn(ctx context.Context) (string, error) {
	hook, err := c.stopHook(ctx)
	if err != nil {
		return "", err
	}
	did, err := c.recoverFix(ctx)
	var cdid string
	if err == nil {
		cdid, err = c.recoverCustoms(ctx)
	}
	return strings.Join(slices.DeleteFunc([]string{hook, did, cdid}, func(s string) bool { return s == "" }), "; "), err
}

// recoverFix finishes or undoes an interrupted fix transaction.
func (c *Client) recoverFix(ctx context.Context) (string, error) {
	st := &State{}
	recorded := func(v repo.Version) (bool, error) {
		loaded, err := LoadState(c.Cfg.StateDir)
		if err != nil {
			return false, err
		}
		c.ensureFileDB(loaded)
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
		err = fmt.Errorf("recover: %s: %w", rec.Did, err)
		return rec.Did, joinErrs(err, c.audit("recover", []repo.Version{rec.Version}, "failed", err.Error()))
	}
	return rec.Did, c.audit("recover", []repo.Version{rec.Version}, "ok", rec.Did)
}
