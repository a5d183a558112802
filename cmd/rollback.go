package cmd

import (
	"context"
	"fmt"
	"time"

	"github.com/hotfix-project/hotfix/client"
	"github.com/spf13/cobra"
)

type rollbackOptions struct {
	To   string
	Wait time.Duration
}

func newRollbackCmd(g *globalOptions) *cobra.Command {
	opts := &rollbackOptions{}
	c := &cobra.Command{
		Use:   "rollback [--to VERSION]",
		Short: "Remove the newest installed fixes, restoring their backups",
		Long: `Rollback removes the newest installed fix (or, with --to, every fix newer than
VERSION; --to the base removes all), restoring the files each one replaced
or deleted and removing the files it added. It refuses where a backup is
missing. Install scripts are not undone: the vendor's fix notes say if a
fix needs more.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runRollback(c.Context(), g, opts) },
	}
	c.Flags().StringVar(&opts.To, "to", "", "roll back until VERSION is the newest installed (the base: all)")
	c.Flags().DurationVar(&opts.Wait, "wait", 0, "wait this long for the transaction lock")
	return c
}

func runRollback(ctx context.Context, g *globalOptions, opts *rollbackOptions) error {
	to, err := parseVersionArg(opts.To)
	if err != nil {
		return err
	}
	cl, err := loadClient(g)
	if err != nil {
		return err
	}
	done, err := cl.Rollback(ctx, client.RollbackOptions{To: to, LockWait: opts.Wait})
	for _, v := range done {
		fmt.Fprintf(g.stdout, "rolled back %s\n", v)
	}
	return err
}
