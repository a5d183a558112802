package client

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
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
	if err := c.recoverLocked(); err != nil {
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
		if err := c.checkBackups(st.Installed[i].Version); err != nil {
			return nil, err
		}
	}
	var done []repo.Version
	for range n {
		v := st.Latest()
		if err := c.rollbackOne(st); err != nil {
			c.audit("rollback", []repo.Version{v}, "failed", err.Error())
			return done, err
		}
		c.audit("rollback", []repo.Version{v}, "ok", "")
		done = append(done, v)
	}
	return done, nil
}

// checkBackups makes sure the rollback record of v is complete.
func (c *Client) checkBackups(v repo.Version) error {
	dir := filepath.Join(c.Cfg.StateDir, backupsDirName, v.String())
	j, err := loadJournal(dir)
	if err != nil {
		return fmt.Errorf("cannot roll back %s: its backup record %s is missing or damaged (%v); restore the files by hand or reinstall the base", v, dir, err)
	}
	for _, e := range j.Entries {
		if e.Action == actAdd {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, backupSubdir, filepath.FromSlash(e.Path))); err != nil {
			return fmt.Errorf("cannot roll back %s: the backup of %s is missing from %s", v, e.Path, dir)
		}
	}
	return nil
}

// rollbackOne undoes the newest installed fix. The caller holds the lock.
func (c *Client) rollbackOne(st *State) error {
	v := st.Latest()
	if err := c.checkBackups(v); err != nil {
		return err
	}
	bdir := filepath.Join(c.Cfg.StateDir, backupsDirName, v.String())
	txn := filepath.Join(c.Cfg.StateDir, txnDirName)
	if err := os.RemoveAll(txn); err != nil {
		return err
	}
	if err := os.Rename(bdir, txn); err != nil {
		return fmt.Errorf("roll back %s: %w", v, err)
	}
	j, err := loadJournal(txn)
	if err != nil {
		return err
	}
	j.Op = opRollback
	if err := j.save(txn); err != nil {
		return err
	}
	atomicfile.SyncDir(c.Cfg.StateDir)
	return c.finishRollback(st, j, txn)
}

// finishRollback restores the root from the journal and records the fix
// as gone. Safe to repeat after a crash.
func (c *Client) finishRollback(st *State, j *journal, txn string) error {
	if err := restore(c.Cfg.Root, j, filepath.Join(txn, backupSubdir)); err != nil {
		return fmt.Errorf("roll back %s: %w: run \"hotfix recover\" after fixing the cause", j.Version, err)
	}
	if n := len(st.Installed); n > 0 && st.Installed[n-1].Version.Equal(j.Version) {
		st.Installed = st.Installed[:n-1]
		if err := st.Save(c.Cfg.StateDir); err != nil {
			return err
		}
	}
	return discardTxn(txn)
}

// Recover finishes or undoes a transaction that a crash interrupted, so
// that the root matches the installed state again. Install and rollback
// do this first on their own.
func (c *Client) Recover(ctx context.Context, wait time.Duration) (string, error) {
	lk, err := c.lock(ctx, "hotfix recover", wait)
	if err != nil {
		return "", err
	}
	defer lk.Release()
	return c.recover()
}

func (c *Client) recoverLocked() error {
	_, err := c.recover()
	return err
}

// recover returns what it did, "" when there was nothing to do.
func (c *Client) recover() (string, error) {
	txn := filepath.Join(c.Cfg.StateDir, txnDirName)
	if _, err := os.Stat(txn); errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	j, err := loadJournal(txn)
	if errors.Is(err, fs.ErrNotExist) {
		// The crash came before the journal existed: the root is untouched.
		return "removed an empty transaction", os.RemoveAll(txn)
	}
	if err != nil {
		return "", fmt.Errorf("recover: %w", err)
	}
	st, err := LoadState(c.Cfg.StateDir)
	if err != nil {
		return "", err
	}
	var did string
	switch {
	case j.Op == opInstall && st.IsInstalled(j.Version):
		did = fmt.Sprintf("install of %s had committed; kept it", j.Version)
		err = c.finishCommitted(j.Version)
	case j.Op == opInstall && j.Phase == phasePrepare:
		did = fmt.Sprintf("install of %s had not started changing the root; discarded it", j.Version)
		err = os.RemoveAll(txn)
	case j.Op == opInstall:
		did = fmt.Sprintf("install of %s was interrupted; restored the root from its backups", j.Version)
		if err = restore(c.Cfg.Root, j, filepath.Join(txn, backupSubdir)); err == nil {
			err = discardTxn(txn)
		}
	case j.Op == opRollback:
		did = fmt.Sprintf("rollback of %s was interrupted; finished it", j.Version)
		err = c.finishRollback(st, j, txn)
	default:
		return "", fmt.Errorf("recover: unknown journal operation %q in %s", j.Op, txn)
	}
	outcome := "ok"
	if err != nil {
		outcome = "failed"
		did += ": " + err.Error()
	}
	c.audit("recover", []repo.Version{j.Version}, outcome, did)
	if err != nil {
		return did, fmt.Errorf("recover: %s", did)
	}
	return did, nil
}
