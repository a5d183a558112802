package client

import (
	"fmt"

	"github.com/hotfix-project/hotfix/repo"
)

// gate cuts the fixes an install would take to what this installation
// may take now: never past its parent instance's level (the level the
// parent reached in this tree run, else its recorded one), and, on a
// cluster secondary, never past what the primary recorded in shared_dir.
// It returns the fixes allowed and, when it held some back, why (a
// *BlockedError or a *WaitingError). Every install from the repository
// goes through it: install, install --instance, cron and daemon alike.
func (c *Client) gate(fs []repo.IndexFix, opts *InstallOptions) ([]repo.IndexFix, error, error) {
	if len(fs) == 0 {
		return fs, nil, nil
	}
	var held error
	if p := c.Cfg.parent; p != nil {
		var lv repo.Version
		if opts.parentLevel != nil {
			lv = *opts.parentLevel
		} else {
			pc := &Client{Cfg: p, Log: c.Log, Now: c.Now}
			var err error
			if lv, err = recordedLevel(pc); err != nil {
				return nil, nil, fmt.Errorf("read the level of parent %s: %w", p.Instance, err)
			}
		}
		if allowed := upTo(fs, lv); len(allowed) < len(fs) {
			held = &BlockedError{Instance: c.Cfg.Instance, Parent: p.Instance, ParentLevel: lv, Next: fs[len(allowed)].Version}
			fs = allowed
		}
	}
	rec, err := c.primaryRecord()
	if err != nil {
		return nil, nil, err
	}
	if rec != nil && len(fs) > 0 {
		if allowed := upTo(fs, rec.Level); len(allowed) < len(fs) {
			held = &WaitingError{Instance: c.Cfg.Instance, Primary: rec.Level, Node: rec.Node, Next: fs[len(allowed)].Version}
			fs = allowed
		}
	}
	return fs, held, nil
}

// gated applies gate to a plan: nothing allowed is the refusal itself;
// some allowed go ahead, and what was held back is reported after them.
func (s *repoSource) gated(fs []repo.IndexFix) ([]repo.IndexFix, error) {
	allowed, held, err := s.c.gate(fs, s.opts)
	if err != nil {
		return nil, err
	}
	if len(allowed) == 0 && held != nil {
		return nil, held
	}
	s.held = held
	return allowed, nil
}
