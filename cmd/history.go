package cmd

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/hotfix-project/hotfix/client"
	"github.com/spf13/cobra"
)

type historyOptions struct{}

func newHistoryCmd(g *globalOptions) *cobra.Command {
	opts := &historyOptions{}
	return &cobra.Command{
		Use:         "history",
		Short:       "Show the audit log: every install, rollback, pause and scheduled run",
		Args:        cobra.NoArgs,
		Annotations: jsonCommand,
		RunE:        func(c *cobra.Command, _ []string) error { return runHistory(c.Context(), g, opts) },
	}
}

// historyJSON is `history --json`: the audit log's records as they are
// in log_dir/audit.log.
type historyJSON struct {
	Format  int                  `json:"format"`
	Records []client.AuditRecord `json:"records"`
}

func runHistory(_ context.Context, g *globalOptions, _ *historyOptions) error {
	cl, err := loadClient(g) // an instance's audit log is its own
	if err != nil {
		return err
	}
	recs, err := client.ReadAudit(cl.Cfg.LogDir)
	if err != nil {
		return err
	}
	if g.JSON {
		if recs == nil {
			recs = []client.AuditRecord{}
		}
		return printJSON(g.stdout, historyJSON{Format: jsonFormat, Records: recs})
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tUSER\tACTION\tVERSIONS\tOUTCOME\tDETAIL")
	for _, r := range recs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Time.Local().Format("2006-01-02 15:04:05"), r.User, r.Action,
			strings.Join(r.Versions, ","), r.Outcome, r.Detail)
	}
	return tw.Flush()
}
