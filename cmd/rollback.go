package cmd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hotfix-project/hotfix/client"
	"github.com/spf13/cobra"
)

type rollbackOptions struct {
	To    string
	Wait  time.Duration
	Force bool
}

func newRollbackCmd(g *globalOptions) *cobra.Command {
	opts := &rollbackOptions{}
	c := &cobra.Command{
		Use:   "rollback [--to VERSION]",
		Short: "Remove the newest installed fixes, restoring their backups",
		Long: `Rollback removes the newest installed fix (or, with --to, every fix newer than
VERSION; --to the base removes all), restoring the files each one replaced
or deleted and removing the files it added. It refuses, changing nothing,
where a backup is missing, and where a file it would overwrite or remove
was changed by hand since its fix installed it (or is back where a fix
deleted it): --force rolls back anyway and keeps each such file beside the
restored one as FILE.hotfix-kept-TIME. Install scripts are not undone: the vendor's fix notes say if a
fix needs more.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runRollback(c.Context(), g, opts) },
	}
	c.Flags().StringVar(&opts.To, "to", "", "roll back until VERSION is the newest installed (the base: all)")
	c.Flags().DurationVar(&opts.Wait, "wait", 0, "wait this long for the transaction lock")
	c.Flags().BoolVar(&opts.Force, "force", false, "roll back over locally changed files, keeping each beside the restored one")
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
	res, err := cl.Rollback(ctx, client.RollbackOptions{To: to, LockWait: opts.Wait, Force: opts.Force})
	if res != nil {
		for _, k := range res.Kept {
			fmt.Fprintf(g.stdout, "kept your changed %s as %s\n", k.Path, k.KeptAs)
		}
		for _, v := range res.RolledBack {
			fmt.Fprintf(g.stdout, "rolled back %s\n", v)
		}
	}
	return withRollbackAdvice(err)
}

// withRollbackAdvice adds the flag that answers a refusal for local
// changes.
func withRollbackAdvice(err error) error {
	var rc *client.RollbackChangesError
	if errors.As(err, &rc) {
		return fmt.Errorf("%w (--force, each kept as FILE.hotfix-kept-TIME)", err)
	}
	return err
}
