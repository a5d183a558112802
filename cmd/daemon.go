package cmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/client/notify"
	"github.com/hotfix-project/hotfix/cron"
	"github.com/spf13/cobra"
)

func newDaemonCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "daemon",
		Short: "Run scheduled check, download and install in the foreground (for systemd)",
		Long: `Daemon runs in the foreground and, at every time of [schedule] cron that falls
on one of days_of_week, waits a random time up to random_wait and then does
one scheduled run: check, then download unless check_only, then install
unless download_only, and reports the result by mail and/or webhook
([notify]). A run still going when the next is due makes that one skipped.
While paused, runs are skipped; a run finding another run or an install
holding a lock is skipped too. Every run goes into the audit log.

Signals:
  SIGHUP           reload the configuration (a broken one is logged, the old one kept)
  SIGUSR1          run now, without day filter or random wait
  SIGTERM, SIGINT  stop: at once while waiting; during an install, after the fix
                   in progress (never in the middle of one)

It logs to stderr (journald keeps it: journalctl -u hotfix). The packaged
unit is hotfix.service; use either it or /etc/cron.daily/hotfix, not both.`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error { return runDaemon(c.Context(), g) },
	}
}

// daemonLogger logs at Info (journald wants to hear about every run);
// -v adds debug details, -q keeps warnings and errors only.
func daemonLogger(g *globalOptions) *slog.Logger {
	level := slog.LevelInfo
	switch {
	case g.Verbose:
		level = slog.LevelDebug
	case g.Quiet:
		level = slog.LevelWarn
	}
	return slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: level}))
}

func runDaemon(ctx context.Context, g *globalOptions) error {
	log := daemonLogger(g)
	path := client.ConfigPath(g.ConfigPath)
	load := func() (*client.Client, error) {
		cfg, err := client.LoadConfig(path)
		if err != nil {
			return nil, err
		}
		return client.New(cfg, log)
	}
	reload := forwardSignal(ctx, syscall.SIGHUP)
	runNow := forwardSignal(ctx, syscall.SIGUSR1)
	return cron.Daemon(ctx, cron.DaemonOptions{Load: load, Reload: reload, RunNow: runNow, Log: log})
}

// forwardSignal turns a signal into events on a channel until ctx ends.
// Signals that arrive while one is pending are merged into it.
func forwardSignal(ctx context.Context, sig os.Signal) <-chan struct{} {
	in := make(chan os.Signal, 1)
	signal.Notify(in, sig)
	out := make(chan struct{})
	go func() {
		defer signal.Stop(in)
		for {
			select {
			case <-ctx.Done():
				return
			case <-in:
			}
			select {
			case <-ctx.Done():
				return
			case out <- struct{}{}:
			}
		}
	}()
	return out
}

type cronOptions struct {
	Now bool
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
the random wait.

Without mail_to and webhook, the report is printed instead when mail_report
would have mailed it, so that cron mails it to its MAILTO; otherwise cron
prints only errors. --json prints the report as JSON in every case.

Exit status: 0 done (or not a day to run), 1 error, including a report that
could not be sent, 75 could not run now: paused ("hotfix resume" lifts it),
or another run or an install holds a lock. The packaged cron.daily script
treats 75 as "try again tomorrow" and stays quiet.`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error { return runCron(c.Context(), g, opts) },
	}
	c.Flags().BoolVar(&opts.Now, "now", false, "run now: no day filter, no random wait")
	return c
}

func runCron(ctx context.Context, g *globalOptions, opts *cronOptions) error {
	cl, err := loadClient(g)
	if err != nil {
		return err
	}
	sched, err := cron.ScheduleOf(cl.Cfg)
	if err != nil {
		return err
	}
	trigger := "cron --now"
	if !opts.Now {
		trigger = "cron"
		if now := time.Now(); !sched.AllowedDay(now) {
			g.logger.Info("not a day to run", "days_of_week", cl.Cfg.Schedule.DaysOfWeek, "today", now.Weekday().String())
			return nil
		}
		// Like yum-cron: someone at a terminal wants the run now.
		if !g.isTerminal(g.stdin) {
			d := cron.RandomDelay(sched.RandomWait, nil)
			g.logger.Info("random wait before the run", "wait", d.Round(time.Second).String())
			if err := cron.Sleep(ctx, d, nil); err != nil {
				return fmt.Errorf("interrupted during the random wait; nothing was done: %w", err)
			}
		}
	}
	rep, err := cron.Run(ctx, cl, cron.RunOptions{Trigger: trigger, Log: g.logger})
	nc := cl.Cfg.Notify
	switch {
	case g.JSON:
		if perr := printJSON(g.stdout, rep); perr != nil && err == nil {
			err = perr
		}
	case !g.Quiet && len(nc.MailTo) == 0 && nc.Webhook == "" && notify.ShouldMail(nc.MailReport, rep):
		fmt.Fprint(g.stdout, rep.Text())
	}
	var ne *notify.SendError
	if errors.As(err, &ne) {
		// A lost report is never silent: exit 1 even when the run itself
		// was skipped (75) or went well.
		return &exitCodeError{code: ExitError, err: err}
	}
	return err
}
