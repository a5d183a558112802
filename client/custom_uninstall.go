package client

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hotfix-project/hotfix/client/txn"
	"github.com/hotfix-project/hotfix/internal/beneath"
	"github.com/hotfix-project/hotfix/repo"
)

// UninstallOptions tune Uninstall.
type UninstallOptions struct {
	LockWait time.Duration
	// Force uninstalls over files changed locally since the customer fix
	// installed them (they are replaced by the vendor's version).
	Force bool
}

// UninstallResult is what Uninstall did.
type UninstallResult struct {
	ID       string
	Version  repo.Version
	Restored []string // paths given back to the vendor's version (or removed, where the vendor has none)
	Left     []string // paths a vendor fix had overridden: the vendor's file stays
}

// Uninstall removes one customer fix on its own, restoring exactly the
// files it replaced: the vendor's current version of them (no vendor fix
// can have changed them since without overriding the customer fix, and
// the paths it overrode keep the vendor's file). It refuses, changing
// nothing, when a file of the fix was changed locally, unless opts.Force.
func (c *Client) Uninstall(ctx context.Context, id string, opts UninstallOptions) (*UninstallResult, error) {
	lk, err := c.lock(ctx, "hotfix uninstall", opts.LockWait)
	if err != nil {
		return nil, err
	}
	defer lk.Release()
	if err := c.checkPaused(); err != nil {
		return nil, err
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
	cf := st.customFix(id)
	if cf == nil {
		var ids []string
		for _, f := range st.Custom {
			ids = append(ids, f.ID)
		}
		if len(ids) == 0 {
			ids = []string{"none"}
		}
		return nil, fmt.Errorf("customer fix %s is not installed (installed customer fixes: %s)", id, strings.Join(ids, ", "))
	}
	if err := c.customStore(id).CheckBackups(cf.Version); err != nil {
		return nil, err
	}
	changed, err := c.customChanges(st, cf)
	if err != nil {
		return nil, err
	}
	if len(changed) > 0 && !opts.Force {
		return nil, &UninstallChangesError{ID: id, Files: changed}
	}
	res := &UninstallResult{ID: id, Version: cf.Version, Restored: cf.owned()}
	for p := range cf.Overridden {
		res.Left = append(res.Left, p)
	}
	sort.Strings(res.Left)
	detail := customAuditDetail(id, cf.Version, cf.Customer)
	if err := c.uninstallCustom(ctx, st, id); err != nil {
		return nil, joinErrs(err, c.audit("uninstall", nil, "failed", detail+": "+err.Error()))
	}
	return res, c.audit("uninstall", nil, "ok", detail)
}

// UninstallChangesError refuses to uninstall a customer fix whose files
// were changed locally since it installed them.
type UninstallChangesError struct {
	ID    string
	Files []string // absolute, sorted
}

func (e *UninstallChangesError) Error() string {
	return fmt.Sprintf("%s: %s changed since customer fix %s installed them; uninstalling would replace them by the vendor's version", ErrLocalChanges, strings.Join(e.Files, ", "), e.ID)
}

// Is makes errors.Is(err, ErrLocalChanges) hold.
func (e *UninstallChangesError) Is(target error) bool { return target == ErrLocalChanges }

// customChanges lists the files customer fix cf owns that differ from
// what the file database says it installed (or exist again where it
// deleted them).
func (c *Client) customChanges(st *State, cf *InstalledCustom) ([]string, error) {
	r, err := beneath.Open(c.Cfg.Root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var changed []string
	for _, p := range cf.owned() {
		sum, recorded := ownerHash(st, p)
		if !recorded {
			if _, err := r.Lstat(p); err == nil {
				changed = append(changed, rootPath(c.Cfg.Root, p))
			}
			continue
		}
		if got, err := hashIn(r, p); err != nil || got != sum {
			changed = append(changed, rootPath(c.Cfg.Root, p))
		}
	}
	sort.Strings(changed)
	return changed, nil
}

// uninstallCustom takes customer fix id off the root as one rollback
// transaction of its store. The paths a vendor fix overrode are handed
// over to that vendor fix's rollback record (txn.HandOver), so that the
// file stays the vendor's and a later rollback of the vendor fix
// restores what was there before the customer fix. The handover is part
// of the transaction (its journal names it from the start), so a crash
// inside it is finished by the next recover before anything can roll
// the vendor fix back. The caller holds the lock.
func (c *Client) uninstallCustom(ctx context.Context, st *State, id string) error {
	cf := st.customFix(id)
	if cf == nil {
		return nil
	}
	var hand []txn.HandOver
	for p, v := range cf.Overridden {
		by, err := repo.ParseVersion(v)
		if err != nil {
			return fmt.Errorf("customer fix %s: overridden %s: %w", id, p, err)
		}
		hand = append(hand, txn.HandOver{Path: p, To: by, Drop: !st.IsInstalled(by)})
	}
	sort.Slice(hand, func(i, j int) bool { return hand[i].Path < hand[j].Path })
	t, err := c.customStore(id).BeginRollback(cf.Version, hand...)
	if err != nil {
		return fmt.Errorf("uninstall customer fix %s: %w", id, err)
	}
	return t.Finish(ctx, c.forgetCustom(st, id))
}
