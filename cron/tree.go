package cron

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/client/notify"
)

// treeRun is a scheduled run over the [[instance]] tables of a
// configuration: one report for the run, naming every instance (as
// dnf-automatic sends one mail per run), and under it one part per
// instance with what that instance found, downloaded and installed.
type treeRun struct {
	cl    *client.Client // the host's configuration
	tree  *client.Tree
	parts []*Report                 // one per selected instance, tree order
	cls   map[string]*client.Client // each instance's own client
}

// newTreeRun prepares the parts of a run over the instances opts names
// (all when none).
func newTreeRun(cl *client.Client, opts RunOptions, log *slog.Logger) (*treeRun, error) {
	t, err := client.NewTree(cl.Cfg, log, opts.Instances)
	if err != nil {
		return nil, err
	}
	if cl.Now != nil {
		t.Now = cl.Now
	}
	order, err := t.Order()
	if err != nil {
		return nil, err
	}
	parents := map[string]string{}
	for _, in := range cl.Cfg.Instances {
		parents[in.Name] = in.Parent
	}
	r := &treeRun{cl: cl, tree: t, cls: map[string]*client.Client{}}
	for _, name := range order {
		r.parts = append(r.parts, &Report{Instance: name, Parent: parents[name], SystemName: cl.Cfg.Notify.SystemName,
			Product: cl.Cfg.Product, Trigger: opts.Trigger, Found: []notify.ReportFix{}, New: []string{},
			Downloaded: []string{}, Installed: []notify.ReportFix{}, Logs: []string{}})
	}
	return r, nil
}

// client is the client of one instance (client.Tree.Client), made once
// per run.
func (r *treeRun) client(name string) (*client.Client, error) {
	if c, ok := r.cls[name]; ok {
		return c, nil
	}
	c, err := r.tree.Client(name)
	if err != nil {
		return nil, err
	}
	r.cls[name] = c
	return c, nil
}

// run is steps, with each instance's part given the run's outcome when
// the tree as a whole stopped (the host paused, its lock held, a panic).
func (r *treeRun) run(ctx context.Context, rep *Report, opts RunOptions, log *slog.Logger, installTime *time.Duration) (err error) {
	defer func() {
		if rec := recover(); rec != nil {
			err = panicked(log, rec)
		}
		var te *client.TreeError
		if err != nil && !errors.As(err, &te) {
			r.stopped(rep, err)
		}
	}()
	return r.steps(ctx, rep, opts, installTime)
}

// stopped gives every instance's part the error that stopped the whole
// run (its lock, the host's pause, a panic).
func (r *treeRun) stopped(rep *Report, err error) {
	for _, part := range r.parts {
		outcome(part, err, false, r.cl.Cfg)
	}
	rep.Instances = r.parts
}

// steps is the body of a run over instances under the one run lock:
// refuse while the host is paused, check and download each instance,
// then install the whole tree by the walk "hotfix install" uses (level
// by level, siblings in parallel up to parallel, a child never past its
// parent, a failure stopping only its subtree). The returned error joins
// the instances' errors (a *client.TreeError); the report's outcome is
// set from them.
func (r *treeRun) steps(ctx context.Context, rep *Report, opts RunOptions, installTime *time.Duration) error {
	host := r.cl
	if err := mayStart(ctx, host); err != nil {
		return err
	}
	cfg := host.Cfg
	errs := map[string]error{}
	pending := false
	for _, part := range r.parts {
		n, err := r.checkOne(ctx, part)
		if err != nil {
			errs[part.Instance] = err
		}
		pending = pending || n > 0
	}
	if pending && !cfg.Schedule.CheckOnly && !cfg.Schedule.DownloadOnly {
		// The install runs on a context that SIGTERM does not cancel:
		// Stop makes each instance end between fixes instead.
		inst := opts.Install
		inst.Stop = ctx.Done()
		began := host.Now()
		res, err := r.tree.Install(context.WithoutCancel(ctx), inst)
		*installTime = host.Now().Sub(began)
		if err != nil {
			// The tree did not start: the host's lock or pause.
			return err
		}
		if res.Hooks != nil {
			errs[""] = res.Hooks // post_install, after the whole tree
		}
		for _, ir := range res.Instances {
			part := r.part(ir.Name)
			for _, f := range ir.Installed {
				part.Installed = append(part.Installed, notify.ReportFixOf(f))
			}
			part.Logs = append(part.Logs, ir.Logs...)
			switch {
			case ir.Err != nil:
				errs[ir.Name] = ir.Err
			case ir.Outcome == client.OutcomeStopped:
				errs[ir.Name] = errStopped
			case len(ir.Installed) > 0:
				delete(errs, ir.Name) // its check failed, its install went through
			}
		}
	}
	for _, part := range r.parts {
		outcome(part, errs[part.Instance], ctx.Err() != nil, cfg)
	}
	return r.sum(rep, errs)
}

// errStopped marks an instance a signal kept from starting.
var errStopped = errors.New("stopped by a signal before it started (the next run installs its fixes)")

func (r *treeRun) part(name string) *Report {
	for _, p := range r.parts {
		if p.Instance == name {
			return p
		}
	}
	return &Report{} // not selected: nothing to fill
}

// checkOne checks one instance and, unless check_only, downloads its
// pending fixes; it returns how many are pending.
func (r *treeRun) checkOne(ctx context.Context, part *Report) (int, error) {
	c, err := r.client(part.Instance)
	if err != nil {
		return 0, err
	}
	return checkDownload(ctx, c, part)
}

// outcome sets one instance's outcome from what it found, installed and
// the error that stopped it; an error goes through ended, as Run's does.
func outcome(part *Report, err error, signalled bool, cfg *client.Config) {
	switch {
	case err != nil && !errors.Is(err, errStopped):
		ended(part, err)
	case err == nil && len(part.Found) == 0:
		part.Outcome = notify.OutcomeUpToDate
	case err == nil && cfg.Schedule.CheckOnly:
		part.Outcome = notify.OutcomePending
	case err == nil && cfg.Schedule.DownloadOnly:
		part.Outcome = notify.OutcomeDownloaded
	case err != nil, signalled && len(part.Installed) < len(part.Found):
		part.Outcome = notify.OutcomeStopped
		part.Error = "stopped by a signal between fixes: the next run installs the rest"
	case len(part.Installed) == 0:
		part.Outcome = notify.OutcomeUpToDate // another install got there first
	default:
		part.Outcome = notify.OutcomeInstalled
	}
}

// sum fills the run's report from its parts: the fixes of every
// instance (each version once), the base when all share it, and one
// outcome, the most pressing of the parts' (failed, stopped, installed,
// waiting, ...); it returns the instances' errors as one TreeError.
func (r *treeRun) sum(rep *Report, errs map[string]error) error {
	rep.Instances = r.parts
	bases := map[string]bool{}
	counts := map[string]int{}
	var te client.TreeError
	var problems []string
	for _, p := range r.parts {
		bases[p.Base] = true
		counts[p.Outcome]++
		rep.Found = addFixes(rep.Found, p.Found)
		rep.Installed = addFixes(rep.Installed, p.Installed)
		rep.New = addNames(rep.New, p.New)
		rep.Downloaded = addNames(rep.Downloaded, p.Downloaded)
		if err := errs[p.Instance]; err != nil {
			te.Errs = append(te.Errs, &client.InstanceError{Instance: p.Instance, Err: err})
			problems = append(problems, "instance "+p.Instance+": "+err.Error())
		}
	}
	if len(bases) == 1 {
		rep.Base = r.parts[0].Base
	}
	if err := errs[""]; err != nil {
		// The run's own hooks failed, after every instance did its part.
		te.Errs = append(te.Errs, &client.InstanceError{Err: err})
		problems = append(problems, err.Error())
		counts[notify.OutcomeFailed]++
	}
	for _, o := range []string{notify.OutcomeFailed, notify.OutcomeStopped, notify.OutcomeLocked, notify.OutcomePaused,
		notify.OutcomeWaiting, notify.OutcomeBlocked, notify.OutcomeInstalled, notify.OutcomeDownloaded, notify.OutcomePending} {
		if counts[o] > 0 {
			rep.Outcome = o
			break
		}
	}
	if rep.Outcome == "" {
		rep.Outcome = notify.OutcomeUpToDate
	}
	switch rep.Outcome {
	case notify.OutcomeFailed, notify.OutcomeStopped:
		rep.Error = strings.Join(problems, "\n")
	case notify.OutcomeLocked, notify.OutcomePaused, notify.OutcomeWaiting, notify.OutcomeBlocked:
		rep.Waiting = strings.Join(problems, "\n")
	}
	if len(te.Errs) == 0 {
		return nil
	}
	return &te
}

func addFixes(to, fs []notify.ReportFix) []notify.ReportFix {
	for _, f := range fs {
		if !slices.ContainsFunc(to, func(g notify.ReportFix) bool { return g.Version == f.Version }) {
			to = append(to, f)
		}
	}
	return to
}

func addNames(to, names []string) []string {
	for _, n := range names {
		if !slices.Contains(to, n) {
			to = append(to, n)
		}
	}
	return to
}

// settle fills in each instance's part after the run: its last run,
// state and metrics (as settle does for one installation) when the run
// held the lock, and its logs, then the run's logs from them.
func (r *treeRun) settle(rep *Report, held bool, installTime time.Duration, log *slog.Logger) {
	for _, part := range r.parts {
		part.Started, part.Finished = rep.Started, rep.Finished
		c, err := r.client(part.Instance)
		if err != nil {
			continue
		}
		part.Logs = append(part.Logs, filepath.Join(c.Cfg.LogDir, client.AuditName))
		rep.Logs = append(rep.Logs, part.Logs...)
		if held && part.Outcome != "" {
			settle(c, part, true, installTime, log.With("instance", part.Instance))
		}
	}
}

// record writes each instance's audit record and, for a run that held
// the lock once its report reached someone, what it reported.
func (r *treeRun) record(held bool, notifyErr error, log *slog.Logger) {
	for _, part := range r.parts {
		c, err := r.client(part.Instance)
		if err != nil || part.Outcome == "" {
			continue
		}
		if held && notifyErr == nil && part.Base != "" {
			if err := saveReported(c.Cfg.StateDir, part); err != nil {
				log.Warn("remember reported fixes", "instance", part.Instance, "err", err)
			}
		}
		audit(c.Cfg, part, notifyErr, log)
	}
}
