package cmd

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/hotfix-project/hotfix/repo"
	"github.com/spf13/cobra"
)

type infoOptions struct{ Version string }

func newInfoCmd(g *globalOptions) *cobra.Command {
	opts := &infoOptions{}
	return &cobra.Command{
		Use:   "info VERSION",
		Short: "Describe one fix: summary, description, bugs, files",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Version = args[0]
			return runInfo(c.Context(), g, opts)
		},
	}
}

func runInfo(_ context.Context, g *globalOptions, opts *infoOptions) error {
	v, err := parseVersionArg(opts.Version)
	if err != nil {
		return err
	}
	cl, err := loadClient(g)
	if err != nil {
		return err
	}
	info, err := cl.Info(*v)
	if err != nil {
		return err
	}
	if g.JSON {
		return printJSON(g.stdout, info)
	}
	w := g.stdout
	fmt.Fprintf(w, "fix:        %s %s (requires %s)\n", cl.Cfg.Product, v, v.Requires())
	if info.Installed != nil {
		fmt.Fprintf(w, "installed:  %s by %s\n", info.Installed.InstalledAt.Local().Format("2006-01-02 15:04"), info.Installed.By)
		if in := info.Installed; len(in.Parts)+len(in.SkippedParts) > 0 {
			fmt.Fprintf(w, "parts:      installed: %s; left out: %s\n", listOr(in.Parts, "none"), listOr(in.SkippedParts, "none"))
		}
	} else {
		fmt.Fprintln(w, "installed:  no")
	}
	switch {
	case info.Manifest != nil:
		printManifest(w, info.Manifest)
	case info.Index != nil:
		fmt.Fprintf(w, "summary:    %s\n", info.Index.Summary)
		for _, b := range info.Index.Bugs {
			fmt.Fprintf(w, "bug %s: %s\n", b.ID, b.Summary)
		}
		for _, p := range info.Index.Parts {
			printPart(w, p)
		}
		fmt.Fprintln(w, "(run \"hotfix download\" to see its files)")
	case info.Installed != nil:
		fmt.Fprintf(w, "summary:    %s\n", info.Installed.Summary)
	}
	return nil
}

// printManifest describes a downloaded or installed fix in full.
func printManifest(w io.Writer, m *repo.Manifest) {
	fmt.Fprintf(w, "summary:    %s\n", m.Summary)
	if m.Description != "" {
		fmt.Fprintf(w, "\n%s\n\n", strings.TrimSpace(m.Description))
	}
	for _, b := range m.Bugs {
		fmt.Fprintf(w, "bug %s: %s\n", b.ID, b.Summary)
		if b.Description != "" {
			fmt.Fprintf(w, "    %s\n", b.Description)
		}
	}
	for _, f := range m.Files {
		fmt.Fprintf(w, "file   %s %s %d bytes\n", f.Mode.String(), f.Path, f.Size)
	}
	for _, d := range m.Delete {
		fmt.Fprintf(w, "delete %s\n", d)
	}
	for _, s := range m.Scripts {
		fmt.Fprintf(w, "script %s\n", s.Path)
	}
	for _, p := range m.Parts {
		printPart(w, repo.PartRef{Name: p.Name, Summary: p.Summary, Mandatory: p.Mandatory})
		fmt.Fprintf(w, "       %d files, scripts: %s\n", len(p.Files), listOr(p.Scripts, "none"))
	}
}

// printPart is one part line of info: "part samples (optional): Sample data".
func printPart(w io.Writer, p repo.PartRef) {
	kind := "optional"
	if p.Mandatory {
		kind = "mandatory"
	}
	fmt.Fprintf(w, "part   %s (%s)", p.Name, kind)
	if p.Summary != "" {
		fmt.Fprintf(w, ": %s", p.Summary)
	}
	fmt.Fprintln(w)
}

// listOr is "a, b", or none when the list is empty.
func listOr(names []string, none string) string {
	if len(names) == 0 {
		return none
	}
	return strings.Join(names, ", ")
}
