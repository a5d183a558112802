package cmd

import (
	"context"
	"fmt"
	"time"

	"github.com/hotfix-project/hotfix/client/notify"
	"github.com/spf13/cobra"
)

type pauseOptions struct {
	Wait   bool
	For    time.Duration
	ForSet bool // --for was given: 0 then is a mistake, not "no limit"
	Reason string
}

func newPauseCmd(g *globalOptions) *cobra.Command {
	opts := &pauseOptions{}
	c := &cobra.Command{
		Use:   "pause [--wait] [--for DURATION] [--reason TEXT]",
		Short: "Hold off scheduled runs and installs, e.g. while a full product patch runs",
		Long: `Pause stops scheduled runs and makes "hotfix install" refuse (exit 75) until
"hotfix resume"; the pause survives reboots. With --wait (or [pause]
service_waits = true) it first waits up to service_wait_time for a running
install to finish, and exits 75 without pausing if it did not. --for lifts
the pause by itself after DURATION.

A full patch, wrapped safely:
  hotfix pause --wait --reason "patch 6.15.0" && ./install-patch; hotfix resume`,
		Args:        cobra.NoArgs,
		Annotations: jsonCommand,
		RunE: func(c *cobra.Command, _ []string) error {
			opts.ForSet = c.Flags().Changed("for")
			return runPause(c.Context(), g, opts)
		},
	}
	c.Flags().BoolVar(&opts.Wait, "wait", false, "first wait for a running install to finish (up to service_wait_time)")
	c.Flags().DurationVar(&opts.For, "for", 0, "lift the pause by itself after this long (e.g. 30m)")
	c.Flags().StringVar(&opts.Reason, "reason", "", "why, shown to anyone who tries to install meanwhile")
	return c
}

// pauseJSON is `pause --json`: the pause as status --json shows it.
type pauseJSON struct {
	Format int           `json:"format"`
	Paused *notify.Pause `json:"paused"`
}

func runPause(ctx context.Context, g *globalOptions, opts *pauseOptions) error {
	if opts.ForSet && opts.For <= 0 {
		return usagef("--for %s: give a positive duration such as 30m, or leave --for out to pause until \"hotfix resume\"", opts.For)
	}
	cl, err := loadHostClient(g)
	if err != nil {
		return err
	}
	wait := time.Duration(0)
	if opts.Wait || cl.Cfg.Pause.ServiceWaits {
		wait = cl.Cfg.Pause.ServiceWaitTime.Duration
	}
	info, err := cl.Pause(ctx, wait, opts.For, opts.Reason)
	if info == nil {
		return fmt.Errorf("not paused: %w", err)
	}
	if g.JSON {
		np := notify.Pause(*info)
		if jerr := printJSON(g.stdout, pauseJSON{Format: jsonFormat, Paused: &np}); jerr != nil && err == nil {
			err = jerr
		}
		return err
	}
	msg := "paused"
	if info.Until != nil {
		msg += " until " + info.Until.Local().Format("2006-01-02 15:04")
	}
	fmt.Fprintf(g.stdout, "%s: scheduled runs skip and installs refuse until \"hotfix resume\"\n", msg)
	return err // the pause stands; an audit log that refused its record is still an error
}
