package cmd

import (
	"context"
	"fmt"
	"strings"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/cron"
	"github.com/hotfix-project/hotfix/repo"
)

// loadConfig reads the configuration the global flags name.
func loadConfig(g *globalOptions) (*client.Config, error) {
	return client.LoadConfig(client.ConfigPath(g.ConfigPath))
}

// usesTree says whether a command runs over instances (Tree) rather
// than the one root: with [[instance]] tables, with --instance, or (for
// install) on a cluster node.
func usesTree(g *globalOptions, cfg *client.Config, cluster bool) bool {
	return len(cfg.Instances) > 0 || len(g.Instances) > 0 || cluster && cfg.Cluster.SharedDir != ""
}

// loadTree prepares a run over the instances --instance names (all
// when none).
func loadTree(g *globalOptions, cfg *client.Config) (*client.Tree, error) {
	t, err := client.NewTree(cfg, g.logger, g.Instances)
	if err != nil {
		return nil, &usageError{err}
	}
	return t, nil
}

// instanceClient is the client of the one instance --instance names
// (client.Tree.Client), for the commands that work on one root at a
// time; without --instance it is the host's configuration, which, with
// [[instance]] tables, has no root of its own: needRoot then asks for
// --instance.
func instanceClient(g *globalOptions, cfg *client.Config, needRoot bool) (*client.Client, error) {
	switch {
	case len(g.Instances) > 1:
		return nil, usagef("this command works on one instance at a time: give one --instance (got %s)", strings.Join(g.Instances, ", "))
	case len(g.Instances) == 1:
		if len(cfg.Instances) == 0 {
			return nil, usagef("%s has no [[instance]] tables, so there is no instance %q: leave out --instance", cfg.Path, g.Instances[0])
		}
		t, err := loadTree(g, cfg)
		if err != nil {
			return nil, err
		}
		return t.Client(g.Instances[0])
	case needRoot && len(cfg.Instances) > 0:
		return nil, usagef("%s has several installations: name one with --instance NAME (%s)", cfg.Path, strings.Join(cfg.InstanceNames(), ", "))
	}
	return client.New(cfg, g.logger)
}

// instanceLabel prefixes a line about an instance ("" for the unnamed).
func instanceLabel(name string) string {
	if name == "" {
		return ""
	}
	return name + ": "
}

// printTreeInstall prints what a tree install did, instance by instance.
func printTreeInstall(g *globalOptions, res *client.TreeResult) {
	for _, ir := range res.Instances {
		p := instanceLabel(ir.Name)
		for _, k := range ir.Kept {
			fmt.Fprintf(g.stdout, "%skept your changed %s as %s\n", p, k.Path, k.KeptAs)
		}
		verb := "installed"
		if res.DryRun {
			verb = "would install (dry run, tests passed)"
		}
		for _, f := range ir.Installed {
			fmt.Fprintf(g.stdout, "%s%s %s: %s\n", p, verb, f.Version, f.Summary)
		}
		switch {
		case ir.Err != nil:
			fmt.Fprintf(g.stdout, "%s%s at %s\n", p, ir.Outcome, levelOrNone(ir.Level))
		case len(ir.Installed) == 0:
			fmt.Fprintf(g.stdout, "%snothing to install: up to date at %s\n", p, levelOrNone(ir.Level))
		}
	}
}

func levelOrNone(v repo.Version) string {
	if v.IsZero() {
		return "an unknown level"
	}
	return v.String()
}

// runTreeStatus is status over the instances: one block each, or
// {"product", "paused", "instances": [...]} with --json.
func runTreeStatus(g *globalOptions, cfg *client.Config) error {
	t, err := loadTree(g, cfg)
	if err != nil {
		return err
	}
	st, err := t.Status()
	if err != nil {
		return err
	}
	if err := t.WriteMetrics(); err != nil {
		g.logger.Warn("metrics file not written", "err", err)
	}
	if g.JSON {
		return printJSON(g.stdout, struct {
			Format int `json:"format"`
			*client.TreeStatus
		}{jsonFormat, st})
	}
	w := g.stdout
	fmt.Fprintf(w, "product:    %s\n", st.Product)
	if st.Paused != nil {
		fmt.Fprintf(w, "paused:     every instance, by %s since %s: %s\n", st.Paused.By, st.Paused.Since.Local().Format("2006-01-02 15:04"), st.Paused.Reason)
	}
	for _, is := range st.Instances {
		parent := ""
		if is.Parent != "" {
			parent = ", parent " + is.Parent
		}
		fmt.Fprintf(w, "\ninstance %s (%s%s): %s\n", is.Name, is.Root, parent, is.State)
		if is.Status == nil {
			fmt.Fprintf(w, "  error:    %s\n", is.Error)
			continue
		}
		fmt.Fprintf(w, "  base:     %s\n  level:    %s\n  pending:  %d\n", is.Base, is.Level, is.Pending)
		if is.Blocked != "" {
			fmt.Fprintf(w, "  %s\n", is.Blocked)
		}
		if in := is.Interrupted; in != nil {
			fmt.Fprintf(w, "  WARNING:  a transaction was interrupted at step %s: run \"hotfix --instance %s recover\" (it will say: %s)\n", in.Step, is.Name, in.Recover)
		}
	}
	return nil
}

// scheduledRun is the run of cron and daemon: cron.Run, over the
// instances --instance names (all when none) where there are
// [[instance]] tables.
func scheduledRun(g *globalOptions) func(context.Context, *client.Client, cron.RunOptions) (*cron.Report, error) {
	return func(ctx context.Context, cl *client.Client, ro cron.RunOptions) (*cron.Report, error) {
		ro.Instances = g.Instances
		return cron.Run(ctx, cl, ro)
	}
}

// treeCheckJSON is `check --json` over instances: one check each.
type treeCheckJSON struct {
	Format    int                 `json:"format"`
	Instances []instanceCheckJSON `json:"instances"`
}

type instanceCheckJSON struct {
	Name string `json:"name"`
	checkJSON
	Error string `json:"error,omitempty"`
}

// runTreeCheck checks every selected instance, parents first: exit 100
// when one has fixes pending, 1 when one could not be checked.
func runTreeCheck(ctx context.Context, g *globalOptions, cfg *client.Config) error {
	t, err := loadTree(g, cfg)
	if err != nil {
		return err
	}
	order, err := t.Order()
	if err != nil {
		return err
	}
	out := treeCheckJSON{Format: jsonFormat, Instances: []instanceCheckJSON{}}
	pending := false
	var errs []*client.InstanceError
	for _, name := range order {
		ic := instanceCheckJSON{Name: name, checkJSON: checkJSON{Pending: []checkJSONEntry{}, Held: []checkJSONHeld{}}}
		cl, err := t.Client(name)
		var res *client.CheckResult
		if err == nil {
			res, err = cl.Check(ctx)
		}
		if err != nil {
			errs = append(errs, &client.InstanceError{Instance: name, Err: err})
			ic.Error = err.Error()
			out.Instances = append(out.Instances, ic)
			continue
		}
		ic.checkJSON = checkResultJSON(res)
		ic.Format = 0
		pending = pending || res.PendingCount() > 0
		out.Instances = append(out.Instances, ic)
		if g.JSON {
			continue
		}
		printCheck(g.stdout, name+": ", res)
	}
	if g.JSON {
		if err := printJSON(g.stdout, out); err != nil {
			return err
		}
	}
	if len(errs) > 0 {
		return &client.TreeError{Errs: errs}
	}
	if pending {
		return &exitCodeError{code: ExitPending}
	}
	return nil
}
