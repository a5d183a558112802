package cron

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/client/notify"
	"github.com/hotfix-project/hotfix/internal/lockfile"
	"github.com/hotfix-project/hotfix/internal/statefile"
)

// Report is the outcome of one scheduled run.
type Report = notify.Report

// RunLock is the lock file in lock_dir that keeps scheduled runs (daemon,
// cron, or a person running "hotfix cron --now") one at a time.
const RunLock = "run.lock"

// reportedName, in state_dir, remembers which pending fixes the last
// reported run found, so that "on-change" mails a pending fix once, not
// every night until someone installs it.
const reportedName = "reported.json"

// AuditAction names scheduled runs in the audit log.
const AuditAction = "scheduled-run"

// RunOptions tune Run.
type RunOptions struct {
	// Trigger says what started the run ("daemon", "cron", "cron --now");
	// it goes into the report, the audit log and the lock record.
	Trigger string
	Log     *slog.Logger
	// Notifier sends the report; nil means one built from the client's
	// [notify] configuration. Nothing is sent when neither mail_to nor
	// webhook is configured.
	Notifier *notify.Notifier
	// Install tunes the install step (its Progress, for one, heard on
	// one installation; a tree run reports per instance); Run sets
	// Stop, so that ctx ending stops the install between fixes.
	Install client.InstallOptions
	// Instances limits a run over [[instance]] tables to these
	// (--instance); empty: every instance.
	Instances []string
}

// Run does one scheduled run: take the run lock, skip while paused, check,
// download unless check_only, install unless download_only, then record
// the run in the audit log and send the report.
//
// With [[instance]] tables, the run holds the one run lock (lock_dir's)
// for the whole tree, checks and downloads each instance, and installs
// them as "hotfix install" does (client.Tree): level by level, siblings
// in parallel, a child never past its parent. It sends one report, whose
// Instances are each instance's part; each instance records its own last
// run, metrics, reported fixes and audit record.
//
// The returned report is never nil. The error is what went wrong: a
// *lockfile.LockedError when another run or an install holds a lock, a
// *client.PausedError while paused (both exit 75), the run's own error,
// and a *notify.SendError (joined to the others) when the report could
// not be sent.
//
// When ctx ends (SIGTERM), a check or download stops at once, but an
// install finishes the fix in progress, runs post_install and
// health_check, and then stops: the root never holds half a fix.
func Run(ctx context.Context, cl *client.Client, opts RunOptions) (*Report, error) {
	log := orDiscard(opts.Log)
	if opts.Trigger == "" {
		opts.Trigger = "scheduled"
	}
	cfg := cl.Cfg
	now := cl.Now
	if now == nil {
		now = time.Now
	}
	rep := &Report{
		SystemName: cfg.Notify.SystemName, Product: cfg.Product, Trigger: opts.Trigger,
		Started: now().UTC(), Found: []notify.ReportFix{}, New: []string{}, Downloaded: []string{},
		Installed: []notify.ReportFix{}, Logs: []string{},
	}
	var runErr error
	var installTime time.Duration
	var tree *treeRun
	if len(cfg.Instances) > 0 {
		if tree, runErr = newTreeRun(cl, opts, log); runErr != nil {
			return rep, runErr
		}
	}
	lk, err := lockfile.TryAcquire(filepath.Join(cfg.LockDir, RunLock), "hotfix "+opts.Trigger)
	switch {
	case err != nil:
		runErr = err
		if tree != nil {
			tree.stopped(rep, err)
		}
	case tree != nil:
		runErr = tree.run(ctx, rep, opts, log, &installTime)
		defer lk.Release()
	default:
		runErr = steps(ctx, cl, rep, opts, log, &installTime)
		defer lk.Release()
	}
	rep.Finished = now().UTC()
	var te *client.TreeError
	if runErr != nil && !errors.As(runErr, &te) {
		// A tree run's outcome is its instances' (treeRun.sum).
		ended(rep, runErr)
	}
	if tree != nil {
		tree.settle(rep, lk != nil, installTime, log)
	} else {
		rep.Logs = append(rep.Logs, filepath.Join(cfg.LogDir, client.AuditName))
		settle(cl, rep, lk != nil, installTime, log)
	}

	// Send the report even when ctx has ended: a run stopped by SIGTERM
	// is worth reporting. The notifier bounds its own time.
	var notifyErr error
	if len(cfg.Notify.MailTo) > 0 || cfg.Notify.Webhook != "" {
		n := opts.Notifier
		if n == nil {
			n = &notify.Notifier{Cfg: cfg.Notify, Log: log}
		}
		notifyErr = n.Send(context.WithoutCancel(ctx), rep)
	}
	// Remember what was reported only once it reached someone, so that a
	// report lost to a mail outage is sent again as new next time. The
	// run lock makes this read-modify-write safe.
	switch {
	case tree != nil:
		tree.record(lk != nil, notifyErr, log)
	case notifyErr == nil && rep.Base != "" && lk != nil:
		if err := saveReported(cfg.StateDir, rep); err != nil {
			log.Warn("remember reported fixes", "err", err)
		}
		fallthrough
	default:
		audit(cfg, rep, notifyErr, log)
	}
	logReport(log, rep, runErr)
	if notifyErr != nil {
		return rep, errors.Join(runErr, notifyErr)
	}
	return rep, runErr
}

// steps is the body of a run under the run lock; a panic in it becomes an
// error.
func steps(ctx context.Context, cl *client.Client, rep *Report, opts RunOptions, log *slog.Logger, installTime *time.Duration) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = panicked(log, r)
		}
	}()
	cfg := cl.Cfg
	if err := mayStart(ctx, cl); err != nil {
		return err
	}

	n, err := checkDownload(ctx, cl, rep)
	if err != nil {
		return err
	}
	if n == 0 {
		rep.Outcome = notify.OutcomeUpToDate
		return nil
	}
	if cfg.Schedule.CheckOnly {
		rep.Outcome = notify.OutcomePending
		return nil
	}
	if cfg.Schedule.DownloadOnly {
		rep.Outcome = notify.OutcomeDownloaded
		return nil
	}

	// The install runs on a context that SIGTERM does not cancel: Stop
	// makes it end between fixes instead.
	inst := opts.Install
	inst.Stop = ctx.Done()
	began := cl.Now()
	ires, err := cl.Install(context.WithoutCancel(ctx), inst)
	*installTime = cl.Now().Sub(began)
	if ires != nil {
		for _, f := range ires.Installed {
			rep.Installed = append(rep.Installed, notify.ReportFixOf(f))
		}
		rep.Logs = append(rep.Logs, ires.Logs...)
	}
	if err != nil {
		return err
	}
	if ctx.Err() != nil && len(rep.Installed) < len(rep.Found) {
		left := []string{}
		for _, f := range rep.Found[len(rep.Installed):] {
			left = append(left, f.Version)
		}
		return fmt.Errorf("%w between fixes: %s still pending (the next run installs them)", errSignalled, strings.Join(left, ", "))
	}
	rep.Outcome = notify.OutcomeInstalled
	if len(rep.Installed) == 0 {
		// Another install got there between our check and our install.
		rep.Outcome = notify.OutcomeUpToDate
	}
	return nil
}

// mayStart refuses a run once ctx has ended or while cl is paused.
func mayStart(ctx context.Context, cl *client.Client) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("run not started: %w", err)
	}
	p, err := cl.Paused()
	if err != nil {
		return fmt.Errorf("read pause marker: %w", err)
	}
	if p != nil {
		return &client.PausedError{Info: *p}
	}
	return nil
}

// errSignalled marks a run that a signal stopped between fixes.
var errSignalled = errors.New("stopped by a signal")

// ended sets the outcome of a run, or of one instance's part of a tree
// run, that err ended: skipped (locked, paused, waiting for the cluster's
// primary: not failures, the next run goes on), blocked (an instance
// held to its parent), stopped by a signal, else failed. It is the one
// mapping from an error to an outcome, for Run and the tree run alike.
func ended(rep *Report, err error) {
	var locked *lockfile.LockedError
	var paused *client.PausedError
	switch {
	case errors.As(err, &locked):
		rep.Outcome, rep.LockedBy = notify.OutcomeLocked, err.Error()
	case errors.As(err, &paused):
		rep.Outcome, rep.Paused = notify.OutcomePaused, paused.Pause()
	case errors.Is(err, client.ErrWaitingForPrimary):
		// Before ErrBlocked: a child behind a waiting parent waits too.
		rep.Outcome, rep.Waiting = notify.OutcomeWaiting, err.Error()
	case errors.Is(err, client.ErrBlocked):
		// Only an instance has a parent, so only a tree run's part
		// (Run without instances installs the one root, held by none).
		rep.Outcome, rep.Waiting = notify.OutcomeBlocked, err.Error()
	case errors.Is(err, errSignalled):
		rep.Outcome, rep.Error = notify.OutcomeStopped, err.Error()
	default:
		rep.Outcome, rep.Error = notify.OutcomeFailed, err.Error()
	}
}

// panicked logs a panic recovered in a run and is the run's error, so
// that a daemon goes on to its next run.
func panicked(log *slog.Logger, r any) error {
	log.Error("panic in scheduled run", "panic", r, "stack", string(debug.Stack()))
	return fmt.Errorf("internal error in the scheduled run (panic: %v); please report it with the daemon's log", r)
}

// checkDownload checks one installation into rep (its base, what it
// found, and what of that no earlier report named) and, unless
// check_only, downloads its pending fixes; it returns how many are
// pending. A scheduled run of one installation and each instance of a
// tree run share it.
func checkDownload(ctx context.Context, c *client.Client, rep *Report) (int, error) {
	res, err := c.Check(ctx)
	if err != nil {
		return 0, err
	}
	rep.Base = res.Base.String()
	previous := loadReported(c.Cfg.StateDir, c.Cfg.Product, rep.Base)
	for _, f := range res.Pending {
		rep.Found = append(rep.Found, notify.ReportFixOf(f))
		if !slices.Contains(previous, f.Version.String()) {
			rep.New = append(rep.New, f.Version.String())
		}
	}
	if res.PendingCount() == 0 || c.Cfg.Schedule.CheckOnly {
		return res.PendingCount(), nil
	}
	got, err := c.Download(ctx, nil, nil)
	for _, d := range got {
		name := d.Fix.Version.String()
		if d.Custom != nil {
			name = d.Custom.ID + " " + d.Custom.Version.String()
		}
		rep.Downloaded = append(rep.Downloaded, name)
	}
	return res.PendingCount(), err
}

// settle records a run that took the run lock (held says so) as the last
// run, then reads the state after it into the report and writes the
// metrics file from that same state: the mail, the webhook, the metrics
// and status --json all come from it. Failures here are logged, not
// returned: they cost monitoring, not the run.
func settle(cl *client.Client, rep *Report, held bool, installTime time.Duration, log *slog.Logger) {
	if held {
		rec := notify.RunRecord{At: rep.Finished, Outcome: rep.Outcome, Success: notify.RunSucceeded(rep.Outcome), InstallSeconds: installTime.Seconds()}
		if err := cl.RecordRun(rec, len(rep.Installed) > 0); err != nil {
			log.Warn("last run not recorded", "err", err)
		}
	}
	st, err := cl.Status()
	if err != nil {
		log.Warn("state after the run unknown", "err", err)
		return
	}
	rep.State = &st.State
	if err := notify.WriteMetrics(cl.Cfg.Notify.MetricsFile, rep.State); err != nil {
		log.Warn("metrics file not written", "err", err)
	}
}

// reported is the content of state_dir/reported.json.
type reported struct {
	Product string   `json:"product"`
	Base    string   `json:"base"`
	Pending []string `json:"pending"`
}

// reportedFile is state_dir/reported.json; only scheduled runs write it,
// under the run lock, so it takes no lock of its own.
func reportedFile(stateDir string) statefile.File[reported] {
	return statefile.File[reported]{Path: filepath.Join(stateDir, reportedName)}
}

// loadReported returns the pending versions the last reported run found
// for this product and base (none when the file is missing or damaged:
// then everything counts as new, which errs on the side of a mail).
func loadReported(stateDir, product, base string) []string {
	r, _, err := reportedFile(stateDir).Load()
	if err != nil || r.Product != product || r.Base != base {
		return nil
	}
	return r.Pending
}

func saveReported(stateDir string, rep *Report) error {
	r := reported{Product: rep.Product, Base: rep.Base, Pending: []string{}}
	installed := map[string]bool{}
	for _, f := range rep.Installed {
		installed[f.Version] = true
	}
	for _, f := range rep.Found {
		if !installed[f.Version] {
			r.Pending = append(r.Pending, f.Version)
		}
	}
	return reportedFile(stateDir).Save(&r)
}

// audit records the run and its outcome in the audit log.
func audit(cfg *client.Config, rep *Report, notifyErr error, log *slog.Logger) {
	var versions []string
	for _, f := range rep.Installed {
		versions = append(versions, f.Version)
	}
	detail := fmt.Sprintf("%s: found %d, downloaded %d, installed %d", rep.Trigger, len(rep.Found), len(rep.Downloaded), len(rep.Installed))
	switch {
	case rep.Error != "":
		detail += "; error: " + rep.Error
	case rep.LockedBy != "":
		detail += "; skipped: " + rep.LockedBy
	case rep.Paused != nil:
		detail += "; skipped: " + rep.Paused.Sentence()
	}
	if notifyErr != nil {
		detail += "; " + notifyErr.Error()
	}
	rec := client.AuditRecord{Action: AuditAction, Versions: versions, Outcome: rep.Outcome, Detail: detail}
	if err := client.Audit(cfg.LogDir, rec); err != nil {
		log.Error("audit log", "err", err)
	}
}

func logReport(log *slog.Logger, rep *Report, err error) {
	attrs := []any{"trigger", rep.Trigger, "outcome", rep.Outcome, "found", len(rep.Found), "downloaded", len(rep.Downloaded), "installed", len(rep.Installed)}
	switch rep.Outcome {
	case notify.OutcomeFailed, notify.OutcomeStopped:
		log.Error("scheduled run "+rep.Outcome, append(attrs, "err", err)...)
	case notify.OutcomeLocked, notify.OutcomePaused, notify.OutcomeWaiting:
		log.Warn("scheduled run skipped", append(attrs, "reason", err)...)
	default:
		log.Info("scheduled run done", attrs...)
	}
}

// orDiscard is log, or a logger that drops everything when log is nil.
func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}
