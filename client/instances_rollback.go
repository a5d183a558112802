package client

import (
	"context"
	"fmt"

	"github.com/hotfix-project/hotfix/repo"
)

// RollbackInstanceResult is one instance's part of a tree rollback.
type RollbackInstanceResult struct {
	Name       string
	RolledBack []repo.Version // newest first
	Kept       []KeptFile
	Level      repo.Version // after the rollback
	Err        error
}

// Rollback rolls back every selected instance, children first, so that
// no instance is ever left above its parent: opts.To (nil: each one's
// newest fix) is lowered for a child to its parent's new level, and a
// rollback that would leave a child that is not part of it above its
// parent is refused before anything changes. A child that fails keeps
// its ancestors as they are.
func (t *Tree) Rollback(ctx context.Context, opts RollbackOptions) ([]RollbackInstanceResult, error) {
	lk, err := t.lockTree(ctx, "hotfix rollback (instances)", opts.LockWait)
	if err != nil {
		return nil, err
	}
	if lk != nil {
		defer lk.Release()
	}
	targets, err := t.rollbackTargets(opts.To)
	if err != nil {
		return nil, err
	}
	rs, err := t.walk(ctx, true, func(ctx context.Context, in InstanceConfig, resultOf func(string) *InstanceResult) InstanceResult {
		for _, child := range t.Cfg.Instances {
			if r := resultOf(child.Name); child.Parent == in.Name && r != nil && r.Err != nil {
				return InstanceResult{Outcome: OutcomeBlocked, Err: fmt.Errorf("not rolled back: its child %s failed to roll back, and %s must not end up below it", child.Name, in.Name)}
			}
		}
		cl, err := t.Client(in.Name)
		if err != nil {
			return InstanceResult{Outcome: OutcomeFailed, Err: err}
		}
		tg, ok := targets[in.Name]
		if !ok {
			lv, _ := recordedLevel(cl)
			return InstanceResult{Outcome: OutcomeUpToDate, Level: lv}
		}
		o := opts
		o.To = &tg
		res, err := cl.Rollback(ctx, o)
		lv, _ := recordedLevel(cl)
		out := InstanceResult{Outcome: "rolled back", Level: lv, Err: err}
		if res != nil {
			out.Kept = res.Kept
			for _, v := range res.RolledBack {
				out.Installed = append(out.Installed, repo.IndexFix{Version: v})
			}
		}
		if err != nil {
			out.Outcome = OutcomeFailed
		} else {
			cl.syncCluster(nil)
		}
		return out
	})
	if err != nil {
		return nil, err
	}
	out := make([]RollbackInstanceResult, 0, len(rs))
	for _, r := range rs {
		rr := RollbackInstanceResult{Name: r.Name, Kept: r.Kept, Level: r.Level, Err: r.Err}
		for _, f := range r.Installed {
			rr.RolledBack = append(rr.RolledBack, f.Version)
		}
		out = append(out, rr)
	}
	return out, nil
}

// rollbackTargets is the level each selected instance goes back to
// (absent: it stays), lowered top-down so that no child ends above its
// parent; it refuses a rollback that would leave an unselected child
// above its parent.
func (t *Tree) rollbackTargets(to *repo.Version) (map[string]repo.Version, error) {
	levels, err := levelsOf(t.nodes())
	if err != nil {
		return nil, err
	}
	final := map[string]repo.Version{}
	targets := map[string]repo.Version{}
	for _, level := range levels {
		for _, in := range level {
			cl, err := t.Client(in.Name)
			if err != nil {
				return nil, err
			}
			cur, err := recordedLevel(cl)
			if err != nil {
				return nil, fmt.Errorf("instance %s: %w", in.Name, err)
			}
			base, err := cl.Base()
			if err != nil {
				return nil, fmt.Errorf("instance %s: %w", in.Name, err)
			}
			tg := cur
			if t.selected(in.Name) {
				switch {
				case to != nil:
					tg = *to
				case !cur.Equal(base):
					tg = cur.Requires()
				}
			}
			if p, ok := final[in.Parent]; in.Parent != "" && ok && tg.Compare(p) > 0 {
				if !t.selected(in.Name) {
					return nil, fmt.Errorf("rolling %s back to %s would leave its child %s at %s above it: roll %s back first, or name it too (--instance %s)", in.Parent, p, in.Name, cur, in.Name, in.Name)
				}
				tg = p
			}
			if tg.Compare(base) < 0 {
				tg = base
			}
			if tg.Compare(cur) > 0 {
				tg = cur // --to above where it is: it stays
			}
			final[in.Name] = tg
			if t.selected(in.Name) && tg.Compare(cur) < 0 {
				targets[in.Name] = tg
			}
		}
	}
	return targets, nil
}
