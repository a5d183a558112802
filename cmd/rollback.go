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
	To     string
	Wait   time.Duration
	Force  bool
	DryRun bool
	answerFlags
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
fix needs more.

On a terminal, rollback lists the fixes it would remove and asks first
unless --yes; --assumeno lists them and stops. --dry-run runs every test
(backups, local changes) and changes nothing.`,
		Args:        cobra.NoArgs,
		Annotations: jsonCommand,
		RunE:        func(c *cobra.Command, _ []string) error { return runRollback(c.Context(), g, opts) },
	}
	c.Flags().StringVar(&opts.To, "to", "", "roll back until VERSION is the newest installed (the base: all)")
	c.Flags().DurationVar(&opts.Wait, "wait", 0, "wait this long for the transaction lock")
	c.Flags().BoolVar(&opts.Force, "force", false, "roll back over locally changed files, keeping each beside the restored one")
	c.Flags().BoolVar(&opts.DryRun, "dry-run", false, "run every test, change nothing")
	opts.answerFlags.register(c)
	c.ValidArgsFunction = cobra.NoFileCompletions
	_ = c.RegisterFlagCompletionFunc("to", completeInstalled(g))
	return c
}

// rollbackJSON is `rollback --json` (README "Machine-readable output").
type rollbackJSON struct {
	Format     int        `json:"format"`
	DryRun     bool       `json:"dry_run"`
	RolledBack []string   `json:"rolled_back"`
	Kept       []keptJSON `json:"kept"`
}

type keptJSON struct {
	Path   string `json:"path"`
	KeptAs string `json:"kept_as"`
}

func runRollback(ctx context.Context, g *globalOptions, opts *rollbackOptions) error {
	to, err := parseVersionArg(opts.To)
	if err != nil {
		return err
	}
	if err := opts.check("rollback"); err != nil {
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
	ro := client.RollbackOptions{To: to, LockWait: opts.Wait, Force: opts.Force, DryRun: opts.DryRun}
	if !opts.DryRun && opts.mustAsk(g) {
		plan := ro
		plan.DryRun = true
		res, err := cl.Rollback(ctx, plan)
		if err != nil {
			return withRollbackAdvice(err)
		}
		fmt.Fprintf(g.stdout, "About to roll back %s in %s, restoring their backups:\n", plural(len(res.RolledBack), "fix", "fixes"), cl.Cfg.Root)
		summaries := map[string]string{}
		if l, err := cl.List(); err == nil {
			for _, f := range l.Fixes {
				summaries[f.Version.String()] = f.Summary
			}
		}
		for _, v := range res.RolledBack {
			fmt.Fprintf(g.stdout, "  %-12s %s\n", v, summaries[v.String()])
		}
		fmt.Fprintf(g.stdout, "Newest installed afterwards: %s\n", afterRollback(res.RolledBack))
		if proceed, err := opts.ask(g, "rolled back"); err != nil || !proceed {
			return err
		}
	}
	res, err := cl.Rollback(ctx, ro)
	if res != nil {
		if g.JSON {
			if jerr := printJSON(g.stdout, rollbackOut(res)); jerr != nil {
				return jerr
			}
			return withRollbackAdvice(err)
		}
		for _, k := range res.Kept {
			fmt.Fprintf(g.stdout, "kept your changed %s as %s\n", k.Path, k.KeptAs)
		}
		verb := "rolled back"
		if res.DryRun {
			verb = "would roll back (dry run, tests passed)"
		}
		for _, v := range res.RolledBack {
			fmt.Fprintf(g.stdout, "%s %s\n", verb, v)
		}
	}
	return withRollbackAdvice(err)
}

func rollbackOut(res *client.RollbackResult) rollbackJSON {
	out := rollbackJSON{Format: jsonFormat, DryRun: res.DryRun, RolledBack: []string{}, Kept: []keptJSON{}}
	for _, v := range res.RolledBack {
		out.RolledBack = append(out.RolledBack, v.String())
	}
	for _, k := range res.Kept {
		out.Kept = append(out.Kept, keptJSON{Path: k.Path, KeptAs: k.KeptAs})
	}
	return out
}

// afterRollback is the version left newest once vs (newest first) are
// rolled back: what the oldest of them requires.
func afterRollback(vs []repo.Version) repo.Version {
	return vs[len(vs)-1].Requires()
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
	ro := client.RollbackOptions{To: to, LockWait: opts.Wait, Force: opts.Force, DryRun: opts.DryRun}
	if !opts.DryRun && opts.mustAsk(g) {
		plan := ro
		plan.DryRun = true
		rs, err := t.Rollback(ctx, plan)
		if err != nil {
			return withRollbackAdvice(err)
		}
		fmt.Fprintln(g.stdout, "About to roll back, children first, restoring their backups:")
		for _, r := range rs {
			for _, v := range r.RolledBack {
				fmt.Fprintf(g.stdout, "  %s%s\n", instanceLabel(r.Name), v)
			}
		}
		if proceed, err := opts.ask(g, "rolled back"); err != nil || !proceed {
			return err
		}
	}
	verb := "rolled back"
	if opts.DryRun {
		verb = "would roll back (dry run, tests passed)"
	}
	rs, err := t.Rollback(ctx, ro)
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
			fmt.Fprintf(g.stdout, "%s%s %s\n", p, verb, v)
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
