package client

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/hotfix-project/hotfix/client/notify"
	"github.com/hotfix-project/hotfix/internal/statefile"
)

// lastRunName, in state_dir, is the last scheduled run that took the run
// lock: the metrics and status read it between runs. Only scheduled runs
// write it, under the run lock, so it takes no lock of its own.
const lastRunName = "last-run.json"

func (c *Client) lastRunFile() statefile.File[notify.RunRecord] {
	return statefile.File[notify.RunRecord]{Path: filepath.Join(c.Cfg.StateDir, lastRunName)}
}

// LastRun returns the last scheduled run, or nil before the first. A
// damaged record counts as none: it only feeds monitoring, and the next
// run rewrites it.
func (c *Client) LastRun() (*notify.RunRecord, error) {
	r, found, err := c.lastRunFile().Load()
	if errors.Is(err, statefile.ErrDamaged) {
		logOrDiscard(c.Log).Warn("damaged last run record, ignored", "path", c.lastRunFile().Path, "err", err)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read last run: %w", err)
	}
	if !found {
		return nil, nil
	}
	return r, nil
}

// RecordRun saves the last scheduled run. A run that installed nothing
// (installed false) keeps the install duration of the last one that did.
// The caller holds the run lock.
func (c *Client) RecordRun(r notify.RunRecord, installed bool) error {
	if !installed {
		r.InstallSeconds = 0
		if prev, err := c.LastRun(); err == nil && prev != nil {
			r.InstallSeconds = prev.InstallSeconds
		}
	}
	if err := c.lastRunFile().Save(&r); err != nil {
		return fmt.Errorf("record last run: %w", err)
	}
	return nil
}
