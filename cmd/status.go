package cmd

import (
	"context"
	"fmt"

	"github.com/hotfix-project/hotfix/client"

	"github.com/spf13/cobra"
)

type statusOptions struct{}

func newStatusCmd(g *globalOptions) *cobra.Command {
	opts := &statusOptions{}
	return &cobra.Command{
		Use:         "status",
		Short:       "Show the installed base and fixes, pending count, last check, pause and lock",
		Args:        cobra.NoArgs,
		Annotations: jsonCommand,
		RunE:        func(c *cobra.Command, _ []string) error { return runStatus(c.Context(), g, opts) },
	}
}

// statusJSON is `status --json` (DESIGN.md): the format key, then the
// status's own keys.
type statusJSON struct {
	Format int `json:"format"`
	*client.Status
}

func runStatus(_ context.Context, g *globalOptions, _ *statusOptions) error {
	cfg, err := loadConfig(g)
	if err != nil {
		return err
	}
	if usesTree(g, cfg, false) {
		return runTreeStatus(g, cfg)
	}
	cl, err := instanceClient(g, cfg, true)
	if err != nil {
		return err
	}
	st, err := cl.Status()
	if err != nil {
		return err
	}
	if err := cl.WriteMetrics(); err != nil {
		g.logger.Warn("metrics file not written", "err", err)
	}
	if g.JSON {
		return printJSON(g.stdout, statusJSON{Format: jsonFormat, Status: st})
	}
	w := g.stdout
	fmt.Fprintf(w, "product:    %s\nbase:       %s\n", st.Product, st.Base)
	if len(st.Installed) == 0 {
		fmt.Fprintln(w, "installed:  no fixes")
	} else {
		fmt.Fprintln(w, "installed:")
		for _, f := range st.Installed {
			fmt.Fprintf(w, "  %-12s %s by %s\n", f.Version, f.InstalledAt.Local().Format("2006-01-02 15:04"), f.By)
		}
	}
	for _, cf := range st.Custom {
		fmt.Fprintf(w, "  customer fix %s %s (customer %s) %s by %s\n", cf.ID, cf.Version, cf.Customer, cf.InstalledAt.Local().Format("2006-01-02 15:04"), cf.By)
		for p, by := range cf.Overridden {
			fmt.Fprintf(w, "    OVERRIDDEN: %s is vendor fix %s's file\n", p, by)
		}
	}
	fmt.Fprintf(w, "pending:    %d\n", st.Pending)
	if st.Held > 0 {
		fmt.Fprintf(w, "held:       %d (a staged rollout holds them back; hotfix check says why)\n", st.Held)
	}
	if st.LastCheck != nil {
		fmt.Fprintf(w, "last check: %s, %s\n", st.LastCheck.At.Local().Format("2006-01-02 15:04"), st.LastCheck.Outcome)
	} else {
		fmt.Fprintln(w, "last check: never")
	}
	if st.Paused != nil {
		fmt.Fprintf(w, "paused:     yes, %s\n", st.Paused.Detail())
	} else {
		fmt.Fprintln(w, "paused:     no")
	}
	if st.Lock != nil {
		fmt.Fprintf(w, "lock:       held by pid %d since %s\n", st.Lock.PID, st.Lock.Since.Local().Format("15:04:05"))
	}
	if in := st.Interrupted; in != nil {
		fmt.Fprintf(w, "WARNING:    %s was interrupted at step %s (since %s) and is in %s: run \"hotfix recover\" (it will say: %s)\n",
			in.What(), in.Step, in.Since.Local().Format("2006-01-02 15:04:05"), st.Journal, in.Recover)
	}
	return nil
}
