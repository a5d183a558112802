package cmd

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hotfix-project/hotfix/client"
	"github.com/spf13/cobra"
)

func newClusterCmd(g *globalOptions) *cobra.Command {
	c := &cobra.Command{
		Use:   "cluster",
		Short: "Cluster nodes sharing [cluster] shared_dir",
		Args:  argsUsage(cobra.NoArgs),
	}
	c.AddCommand(&cobra.Command{
		Use:   "status",
		Short: "Show every node's base, fix level, last run and outcome; mark nodes behind the primary or stale",
		Long: `Cluster status reads shared_dir: the level the primary recorded for each
instance (shared_dir/primary/INSTANCE.json, "_" for a host without
[[instance]] tables) and each node's last run (shared_dir/nodes/NODE.json,
NODE being [notify] system_name). A node is "behind" when one of its
instances is below the primary's recorded level, and "stale" when it has not
reported for longer than [cluster] stale_after.

Exit status: 0 every node current, 1 a node is behind or stale (or an error).`,
		Args:        argsUsage(cobra.NoArgs),
		Annotations: jsonCommand,
		RunE:        func(c *cobra.Command, _ []string) error { return runClusterStatus(c.Context(), g) },
	})
	return c
}

func runClusterStatus(_ context.Context, g *globalOptions) error {
	cfg, err := loadConfig(g)
	if err != nil {
		return err
	}
	st, err := client.ReadClusterStatus(cfg, time.Now())
	if err != nil {
		return err
	}
	var bad []string
	for _, n := range st.Nodes {
		if n.Stale || len(n.Behind) > 0 {
			bad = append(bad, n.Node)
		}
	}
	if g.JSON {
		if err := printJSON(g.stdout, struct {
			Format int `json:"format"`
			*client.ClusterStatus
		}{jsonFormat, st}); err != nil {
			return err
		}
	} else {
		w := g.stdout
		fmt.Fprintf(w, "shared_dir: %s\n", st.SharedDir)
		for name, p := range st.Primary {
			if name == "_" {
				name = "(the installation)"
			}
			fmt.Fprintf(w, "primary %s: %s at %s, recorded %s\n", p.Node, name, p.Level, p.At.Local().Format("2006-01-02 15:04"))
		}
		if len(st.Nodes) == 0 {
			fmt.Fprintln(w, "no node has reported yet")
		}
		for _, n := range st.Nodes {
			var marks []string
			if len(n.Behind) > 0 {
				marks = append(marks, "BEHIND the primary")
			}
			if n.Stale {
				marks = append(marks, "STALE (no report for more than "+st.StaleAfter+")")
			}
			mark := ""
			if len(marks) > 0 {
				mark = " " + strings.Join(marks, ", ")
			}
			if n.Error != "" {
				fmt.Fprintf(w, "%-16s %s%s\n", n.Node, n.Error, mark)
				continue
			}
			var levels []string
			for _, in := range n.Instances {
				lv := in.Level.String()
				if in.Name != "" {
					lv = in.Name + " " + lv
				}
				levels = append(levels, lv+" (base "+in.Base.String()+")")
			}
			fmt.Fprintf(w, "%-16s %-9s %s; last run %s: %s%s\n", n.Node, n.Role, strings.Join(levels, ", "), n.At.Local().Format("2006-01-02 15:04"), n.Outcome, mark)
		}
	}
	if len(bad) > 0 {
		return &exitCodeError{code: ExitError, err: fmt.Errorf("nodes behind the primary or stale: %s", strings.Join(bad, ", "))}
	}
	return nil
}
