package cmd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/repo"
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
	cfg, err := loadConfig(g)
	if err != nil {
		return err
	}
	if usesTree(g, cfg, true) { // a cluster primary records its new level
		return runTreeRollback(ctx, g, cfg, opts, to)
	}
	cl, err := instanceClient(g, cfg, true)
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

// runTreeRollback rolls back over the instances, children first.
func runTreeRollback(ctx context.Context, g *globalOptions, cfg *client.Config, opts *rollbackOptions, to *repo.Version) error {
	t, err := loadTree(g, cfg)
	if err != nil {
		return err
	}
	rs, err := t.Rollback(ctx, client.RollbackOptions{To: to, LockWait: opts.Wait, Force: opts.Force})
	if err != nil {
		return withRollbackAdvice(err)
	}
	var errs []*client.InstanceError
	for _, r := range rs {
		p := instanceLabel(r.Name)
		for _, k := range r.Kept {
			fmt.Fprintf(g.stdout, "%skept your changed %s as %s\n", p, k.Path, k.KeptAs)
		}
		for _, v := range r.RolledBack {
			fmt.Fprintf(g.stdout, "%srolled back %s\n", p, v)
		}
		if r.Err != nil {
			errs = append(errs, &client.InstanceError{Instance: r.Name, Err: withRollbackAdvice(r.Err)})
		} else if len(r.RolledBack) == 0 {
			fmt.Fprintf(g.stdout, "%snothing to roll back (at %s)\n", p, levelOrNone(r.Level))
		}
	}
	if len(errs) > 0 {
		return &client.TreeError{Errs: errs}
	}
	return nil
}
