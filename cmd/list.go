package cmd

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/hotfix-project/hotfix/client"
	"github.com/spf13/cobra"
)

type listOptions struct {
	Installed bool
	Available bool
}

func newListCmd(g *globalOptions) *cobra.Command {
	opts := &listOptions{}
	c := &cobra.Command{
		Use:   "list [--installed|--available]",
		Short: "List the fixes of the installed base: installed, available, or both",
		Long: `List shows the fixes of the installed base this server knows of, oldest
first: those installed here (from the local state) and those available (in
the signed index the last "hotfix check" verified, not installed yet), with
their bugs. It does not use the network, like "apt list": run "hotfix check"
first for the newest index. --installed and --available narrow the list.`,
		Args:        cobra.NoArgs,
		Annotations: jsonCommand,
		RunE:        func(c *cobra.Command, _ []string) error { return runList(c.Context(), g, opts) },
	}
	c.Flags().BoolVar(&opts.Installed, "installed", false, "only the fixes installed here")
	c.Flags().BoolVar(&opts.Available, "available", false, "only the fixes an install would take")
	return c
}

// listJSON is `list --json` (README "Machine-readable output").
type listJSON struct {
	Format  int             `json:"format"`
	Product string          `json:"product"`
	Base    string          `json:"base"`
	Indexed bool            `json:"indexed"`
	Fixes   []listJSONEntry `json:"fixes"`
}

type listJSONEntry struct {
	Version     string         `json:"version"`
	Summary     string         `json:"summary"`
	Bugs        []checkJSONBug `json:"bugs"`
	Size        int64          `json:"size"`
	State       string         `json:"state"` // "installed" or "available"
	InstalledAt *string        `json:"installed_at"`
}

type checkJSONBug struct {
	ID      string `json:"id"`
	Summary string `json:"summary"`
}

func runList(_ context.Context, g *globalOptions, opts *listOptions) error {
	if opts.Installed && opts.Available {
		return usagef("list: --installed and --available exclude each other: give one, or neither for both")
	}
	cl, err := loadClient(g)
	if err != nil {
		return err
	}
	l, err := cl.List()
	if err != nil {
		return err
	}
	out := listJSON{Format: jsonFormat, Product: l.Product, Base: l.Base.String(), Indexed: l.Indexed, Fixes: []listJSONEntry{}}
	for _, f := range l.Fixes {
		if (opts.Installed && !f.Installed) || (opts.Available && !f.Available) {
			continue
		}
		e := listJSONEntry{Version: f.Version.String(), Summary: f.Summary, Bugs: []checkJSONBug{}, Size: f.Size, State: listState(f)}
		for _, b := range f.Bugs {
			e.Bugs = append(e.Bugs, checkJSONBug{ID: b.ID, Summary: b.Summary})
		}
		if f.InstalledAt != nil {
			at := f.InstalledAt.UTC().Format(timeJSON)
			e.InstalledAt = &at
		}
		out.Fixes = append(out.Fixes, e)
	}
	if g.JSON {
		return printJSON(g.stdout, out)
	}
	if !l.Indexed && !opts.Installed {
		fmt.Fprintf(g.stderr, "hotfix: no index of %s %s read yet: only installed fixes are listed; run \"hotfix check\" to see what is available\n", l.Product, l.Base)
	}
	if len(out.Fixes) == 0 {
		what := "no fixes"
		switch {
		case opts.Installed:
			what = "no fixes installed"
		case opts.Available:
			what = "no fixes available (up to date as of the last check)"
		}
		fmt.Fprintf(g.stdout, "%s %s: %s\n", l.Product, l.Base, what)
		return nil
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tSTATE\tBUGS\tSUMMARY")
	for _, e := range out.Fixes {
		var bugs []string
		for _, b := range e.Bugs {
			bugs = append(bugs, b.ID)
		}
		state := e.State
		if e.InstalledAt != nil {
			state += " " + localTime(*e.InstalledAt)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Version, state, strings.Join(bugs, ","), e.Summary)
	}
	return tw.Flush()
}

func listState(f client.ListedFix) string {
	if f.Installed {
		return "installed"
	}
	return "available"
}
