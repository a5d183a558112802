package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/hotfix-project/hotfix/repo"
)

// Install installs the pending fixes of every selected instance, level
// by level (see Tree). opts applies to each instance: Target caps every
// instance at that version, DryRun tests the whole tree (a child is
// tested as if its parent had its fixes), LockWait also waits for the
// host's lock and, on a cluster secondary, for the primary. The result
// lists every selected instance; its Err joins the failures.
func (t *Tree) Install(ctx context.Context, opts InstallOptions) (*TreeResult, error) {
	if opts.Reinstall != nil {
		return nil, fmt.Errorf("reinstall works on one instance at a time: name it with its instance")
	}
	lk, err := t.lockTree(ctx, "hotfix install (instances)", opts.LockWait)
	if err != nil {
		return nil, err
	}
	if lk != nil {
		defer lk.Release()
	}
	if err := t.checkHostPause(); err != nil {
		return nil, err
	}
	t.deadline = t.Now().Add(opts.LockWait)
	hooks, err := t.newTreeHooks(ctx, opts)
	if err != nil {
		return nil, err
	}
	opts.hooks = hooks
	rs, err := t.walk(ctx, false, func(ctx context.Context, in InstanceConfig, parentOf func(string) *InstanceResult) InstanceResult {
		return t.installOne(ctx, in, parentOf, opts)
	})
	if err != nil {
		return nil, err
	}
	res := &TreeResult{Instances: rs, DryRun: opts.DryRun}
	if hooks != nil {
		// On a context a signal does not end: a service stopped for
		// the run is started again.
		res.Hooks = t.afterHooks(context.WithoutCancel(ctx), hooks, rs)
	}
	if !opts.DryRun {
		if err := t.writeNodeStatus(res.Err()); err != nil {
			t.Log.Error("node status not written to shared_dir", "err", err)
		}
	}
	return res, nil
}

// installOne runs one instance: find its cap (its parent's level, and
// on a cluster secondary the primary's), check, and install what is
// pending up to the cap.
func (t *Tree) installOne(ctx context.Context, in InstanceConfig, parentOf func(string) *InstanceResult, opts InstallOptions) InstanceResult {
	cl, err := t.Client(in.Name)
	if err != nil {
		return InstanceResult{Outcome: OutcomeFailed, Err: err}
	}
	if err := ctx.Err(); err != nil {
		return InstanceResult{Outcome: OutcomeStopped, Err: err}
	}
	if stopRequested(opts.Stop) {
		return InstanceResult{Outcome: OutcomeStopped}
	}
	parentCap, blocked := t.parentCap(in, parentOf)
	if blocked != nil {
		return InstanceResult{Outcome: OutcomeBlocked, Err: blocked}
	}
	for {
		r, again := t.installCapped(ctx, cl, in, parentCap, opts)
		if !again {
			blockedBy(r.Err, in, parentOf)
			return r
		}
		// A secondary waiting for its primary, with time left to wait.
		if err := t.pause(ctx, opts); err != nil {
			return r
		}
	}
}

// parentCap is how far in may go: its parent's level after this run (or
// as recorded, when the parent is not part of it); nil without a parent.
func (t *Tree) parentCap(in InstanceConfig, parentOf func(string) *InstanceResult) (*repo.Version, error) {
	if in.Parent == "" {
		return nil, nil
	}
	if pr := parentOf(in.Parent); pr != nil {
		if pr.Outcome == OutcomeFailed || pr.Outcome == OutcomeStopped || pr.Level.IsZero() {
			return nil, &BlockedError{Instance: in.Name, Parent: in.Parent, Failed: true, Cause: pr.Err}
		}
		lv := pr.Level
		return &lv, nil
	}
	pcl, err := t.Client(in.Parent)
	if err != nil {
		return nil, err
	}
	lv, err := recordedLevel(pcl)
	if err != nil {
		return nil, fmt.Errorf("read the level of parent %s: %w", in.Parent, err)
	}
	return &lv, nil
}

// blockedBy gives a child's BlockedError the reason its parent stopped
// in this run, if it stopped for one: a child behind a parent that waits
// for its primary waits too (exit 75), not fails.
func blockedBy(err error, in InstanceConfig, parentOf func(string) *InstanceResult) {
	var be *BlockedError
	if in.Parent == "" || !errors.As(err, &be) || be.Cause != nil {
		return
	}
	if pr := parentOf(in.Parent); pr != nil {
		be.Cause = pr.Err
	}
}

// installCapped is one attempt at an instance; again says a secondary
// should wait for its primary and try again. The instance's Install
// itself holds it to its parent's level (this run's, passed in) and to
// its primary's (gate.go).
func (t *Tree) installCapped(ctx context.Context, cl *Client, in InstanceConfig, parentCap *repo.Version, opts InstallOptions) (r InstanceResult, again bool) {
	before, _ := recordedLevel(cl)
	beforeCustom := installedCustoms(cl)
	defer func() { r.before, r.beforeCustom = before, beforeCustom }()
	iopts := opts
	iopts.parentLevel = parentCap
	iopts.Progress = func(v repo.Version, step string) {
		if t.Progress != nil {
			t.Progress(in.Name, v, step)
		}
	}
	ir, err := cl.Install(ctx, iopts)
	out := InstanceResult{Outcome: OutcomeInstalled}
	if ir != nil {
		out.Installed, out.Logs, out.Kept, out.custom = ir.Installed, ir.Logs, ir.Kept, ir.Custom
	}
	if opts.DryRun {
		out.Outcome, out.Level = OutcomeDryRun, before
		if n := len(out.Installed); n > 0 {
			out.Level = out.Installed[n-1].Version
		}
	} else {
		out.Level, _ = recordedLevel(cl)
	}
	switch {
	case err == nil && len(out.Installed) == 0 && !opts.DryRun:
		out.Outcome = OutcomeUpToDate
	case errors.Is(err, ErrBlocked) && len(out.Installed) == 0:
		out.Outcome, out.Err = OutcomeBlocked, err
	case errors.Is(err, ErrWaitingForPrimary) && len(out.Installed) == 0:
		out.Outcome, out.Err = OutcomeWaiting, err
		return out, t.mayWait(err, opts)
	case errors.Is(err, ErrBlocked) || errors.Is(err, ErrWaitingForPrimary):
		// Installed what was allowed; the rest waits.
		out.Err = err
		return out, t.mayWait(err, opts)
	case err != nil:
		out.Outcome, out.Err = OutcomeFailed, err
	}
	return out, false
}

// upTo is the fixes of fs up to and including v.
func upTo(fs []repo.IndexFix, v repo.Version) []repo.IndexFix {
	var out []repo.IndexFix
	for _, f := range fs {
		if f.Version.Compare(v) <= 0 {
			out = append(out, f)
		}
	}
	return out
}
