package cmd

import (
	"context"
	"errors"
	"fmt"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/client/notify"
	"github.com/hotfix-project/hotfix/cron"
	"github.com/spf13/cobra"
)

type cronOptions struct {
	Now   bool
	Timer bool
}

func newCronCmd(g *globalOptions) *cobra.Command {
	opts := &cronOptions{}
	c := &cobra.Command{
		Use:   "cron [--now]",
		Short: "Do one scheduled run and exit (for /etc/cron.daily)",
		Long: `Cron does one scheduled run, as the daemon would: on a day not in
[schedule] days_of_week it exits 0 at once; otherwise it waits a random time
up to random_wait (not when started from a terminal), then checks, downloads
unless check_only, installs unless download_only, writes the audit log and
reports by mail and/or webhook ([notify]). --now skips the day filter and
the random wait. --timer says that a systemd timer started the run and
already waited its RandomizedDelaySec (the packaged hotfix-run.service passes
it): no second random wait, the day filter stays.

Without mail_to and webhook, the report is printed instead when mail_report
would have mailed it, so that cron mails it to its MAILTO; otherwise cron
prints only errors. A run that could not run now (exit 75) prints nothing.
--json prints the report as JSON in every case.

With [[instance]] tables, the run installs the tree as "hotfix install"
does (parents first, the instances of one level in parallel, a child never
past its parent), runs [hooks] once around it, and sends one report naming
every instance; --instance limits it to those instances.

Exit status: 0 done (or not a day to run), 1 error, including a report that
could not be sent, 75 could not run now: paused ("hotfix resume" lifts it),
another run or an install holds a lock, or a cluster secondary waits for
its primary (with instances: every instance that did not finish was held
off so). The packaged cron.daily script treats 75 as "try again tomorrow"
and stays quiet.`,
		Args:        argsUsage(cobra.NoArgs),
		Annotations: jsonCommand,
		RunE:        func(c *cobra.Command, _ []string) error { return runCron(c.Context(), g, opts) },
	}
	c.Flags().BoolVar(&opts.Now, "now", false, "run now: no day filter, no random wait")
	c.Flags().BoolVar(&opts.Timer, "timer", false, "started by hotfix.timer, which already waited: no random wait (the day filter stays)")
	return c
}

func runCron(ctx context.Context, g *globalOptions, opts *cronOptions) error {
	cfg, err := loadConfig(g)
	if err != nil {
		return err
	}
	if len(cfg.Instances) > 0 {
		// An --instance name the configuration lacks is a usage error.
		if _, err := loadTree(g, cfg); err != nil {
			return err
		}
	}
	cl, err := client.New(cfg, g.logger)
	if len(cfg.Instances) == 0 {
		// The one root (--instance is refused there).
		cl, err = instanceClient(g, cfg, true)
	}
	if err != nil {
		return err
	}
	trigger := "cron"
	if opts.Now {
		trigger = "cron --now"
	}
	// Like yum-cron: someone at a terminal wants the run now, without the
	// random wait.
	// The timer's wait is declared by the unit (--timer) rather than
	// guessed from systemd's TRIGGER_* environment, which systemd before
	// 249 does not set and which a person may carry into a shell.
	noWait := g.isTerminal(g.stdin)
	if opts.Timer {
		trigger, noWait = "timer", true
	}
	rep, err := cron.Scheduled(ctx, cl, cron.ScheduledOptions{Trigger: trigger, Now: opts.Now, NoWait: noWait, Log: g.logger, Run: scheduledRun(g)})
	if errors.Is(err, cron.ErrNotRunDay) {
		return nil
	}
	if rep == nil { // nothing was done: the random wait was interrupted
		return err
	}
	nc := cl.Cfg.Notify
	switch {
	case g.JSON:
		if perr := printJSON(g.stdout, rep); perr != nil && err == nil {
			err = perr
		}
	case exitCode(err) == ExitTempFail:
		// Paused or locked: "try again tomorrow" is no news for MAILTO;
		// the exit status and the audit log say it.
	case !g.Quiet && len(nc.MailTo) == 0 && nc.Webhook == "":
		if notify.ShouldMail(nc.MailReport, rep) {
			fmt.Fprint(g.stdout, rep.Text())
		}
	}
	var ne *notify.SendError
	if errors.As(err, &ne) {
		// A lost report is never silent: exit 1 even when the run itself
		// was skipped (75) or went well.
		return &exitCodeError{code: ExitError, err: err}
	}
	if exitCode(err) == ExitTempFail && !g.isTerminal(g.stderr) {
		// The run's log line said why; under cron a second line would
		// only be mailed.
		return &exitCodeError{code: ExitTempFail}
	}
	return err
}
