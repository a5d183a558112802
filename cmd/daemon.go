package cmd

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/cron"
	"github.com/spf13/cobra"
)

type daemonOptions struct{}

func newDaemonCmd(g *globalOptions) *cobra.Command {
	opts := &daemonOptions{}
	return &cobra.Command{
		Use:   "daemon",
		Short: "Run scheduled check, download and install in the foreground (for systemd)",
		Long: `Daemon runs in the foreground and, at every time of [schedule] cron that falls
on one of days_of_week, waits a random time up to random_wait and then does
one scheduled run: check, then download unless check_only, then install
unless download_only, and reports the result by mail and/or webhook
([notify]). A run still going when the next is due makes that one skipped.
While paused, runs are skipped; a run finding another run or an install
holding a lock is skipped too. Every run goes into the audit log. With
[[instance]] tables, each run installs the tree as "hotfix install" does,
runs [hooks] once around it and sends one report naming every instance.

Signals:
  SIGHUP           reload the configuration (a broken one is logged, the old one kept)
  SIGUSR1          run now, without day filter or random wait
  SIGTERM, SIGINT  stop: at once while waiting; during an install, after the fix
                   in progress (never in the middle of one)

It logs to stderr (journald keeps it: journalctl -u hotfix). The packaged
unit is hotfix.service; use either it or /etc/cron.daily/hotfix, not both.`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error { return runDaemon(c.Context(), g, opts) },
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

func runDaemon(ctx context.Context, g *globalOptions, _ *daemonOptions) error {
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
	return cron.Daemon(ctx, cron.DaemonOptions{Load: load, Reload: reload, RunNow: runNow, Log: log, Run: scheduledRun(g)})
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
