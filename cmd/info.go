package cmd

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/spf13/cobra"
)

type infoOptions struct{ Arg string }

func newInfoCmd(g *globalOptions) *cobra.Command {
	opts := &infoOptions{}
	return &cobra.Command{
		Use:   "info VERSION|BUG-ID",
		Short: "Describe one fix, or find the fix of a bug: summary, description, bugs, files",
		Long: `Info describes one fix of the installed base: from its archive when it is in
the cache (every file, deletion and script), else from the index the last
check verified. Given a bug id instead of a version (ACME-131), it finds the
fix that fixed that bug, and names any later fix that mentions it too.
Nothing is fetched: run "hotfix check" first for the newest index.`,
		Example: `  hotfix info 2.4.1.2
  hotfix info ACME-131
  hotfix --json info ACME-131`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeKnown(g),
		Annotations:       jsonCommand,
		RunE: func(c *cobra.Command, args []string) error {
			opts.Arg = args[0]
			return runInfo(c.Context(), g, opts)
		},
	}
}

// infoJSON is `info --json` (README "Machine-readable output").
type infoJSON struct {
	Format      int             `json:"format"`
	Product     string          `json:"product"`
	Version     string          `json:"version"`
	Requires    string          `json:"requires"`
	Summary     string          `json:"summary"`
	Description string          `json:"description,omitempty"`
	Bug         string          `json:"bug,omitempty"` // the bug id asked for
	AlsoIn      []string        `json:"also_in,omitempty"`
	Bugs        []infoJSONBug   `json:"bugs"`
	Size        int64           `json:"size,omitempty"`
	Installed   *infoJSONInstal `json:"installed"`
	Files       []infoJSONFile  `json:"files"`
	Delete      []string        `json:"delete"`
	Scripts     []string        `json:"scripts"`
	Detailed    bool            `json:"detailed"` // files, delete and scripts are known (archive in the cache)
	Parts       []infoJSONPart  `json:"parts,omitempty"`
}

// infoJSONPart is one part of the fix; files and scripts are known with
// the archive (detailed).
type infoJSONPart struct {
	Name      string   `json:"name"`
	Summary   string   `json:"summary,omitempty"`
	Mandatory bool     `json:"mandatory"`
	Files     []string `json:"files,omitempty"`
	Scripts   []string `json:"scripts,omitempty"`
}

type infoJSONBug struct {
	ID          string `json:"id"`
	Summary     string `json:"summary"`
	Description string `json:"description,omitempty"`
}

type infoJSONInstal struct {
	At           string   `json:"at"`
	By           string   `json:"by"`
	Parts        []string `json:"parts,omitempty"`         // installed, mandatory ones included
	SkippedParts []string `json:"skipped_parts,omitempty"` // optional ones left out
}

type infoJSONFile struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	Mode   string `json:"mode"`
	SHA256 string `json:"sha256"`
}

func runInfo(_ context.Context, g *globalOptions, opts *infoOptions) error {
	cl, err := loadClient(g)
	if err != nil {
		return err
	}
	v, bug, also, err := resolveInfoArg(cl, opts.Arg)
	if err != nil {
		return err
	}
	info, err := cl.Info(v)
	if err != nil {
		return err
	}
	out := infoOut(cl.Cfg.Product, v, info)
	out.Bug, out.AlsoIn = bug, also
	if g.JSON {
		return printJSON(g.stdout, out)
	}
	printInfo(g.stdout, &out)
	return nil
}

// resolveInfoArg takes a version as it is; anything else is a bug id,
// looked up in what this server knows. It returns the fix that fixed the
// bug first, and the later fixes that name it too.
func resolveInfoArg(cl *client.Client, arg string) (repo.Version, string, []string, error) {
	if v, err := repo.ParseVersion(arg); err == nil {
		return v, "", nil, nil
	}
	if strings.TrimSpace(arg) == "" || strings.ContainsAny(arg, " /\t\n") {
		return repo.Version{}, "", nil, usagef("info: %q is neither a fix version (2.4.1.2) nor a bug id (ACME-131)", arg)
	}
	fixes, err := cl.FindBug(arg)
	if err != nil {
		return repo.Version{}, "", nil, err
	}
	var also []string
	for _, f := range fixes[1:] {
		also = append(also, f.Version.String())
	}
	id := arg // as the index spells it, when it does
	for _, b := range fixes[0].Bugs {
		if strings.EqualFold(b.ID, arg) {
			id = b.ID
		}
	}
	return fixes[0].Version, id, also, nil
}

func infoOut(product string, v repo.Version, info *client.FixInfo) infoJSON {
	out := infoJSON{Format: jsonFormat, Product: product, Version: v.String(), Requires: v.Requires().String(),
		Bugs: []infoJSONBug{}, Files: []infoJSONFile{}, Delete: []string{}, Scripts: []string{}}
	if info.Installed != nil {
		out.Installed = &infoJSONInstal{At: info.Installed.InstalledAt.UTC().Format(timeJSON), By: info.Installed.By,
			Parts: info.Installed.Parts, SkippedParts: info.Installed.SkippedParts}
		out.Summary = info.Installed.Summary
	}
	if info.Index != nil {
		out.Summary, out.Size = info.Index.Summary, info.Index.Size
		for _, b := range info.Index.Bugs {
			out.Bugs = append(out.Bugs, infoJSONBug{ID: b.ID, Summary: b.Summary})
		}
		for _, p := range info.Index.Parts {
			out.Parts = append(out.Parts, infoJSONPart{Name: p.Name, Summary: p.Summary, Mandatory: p.Mandatory})
		}
	}
	if m := info.Manifest; m != nil {
		out.Summary, out.Description, out.Detailed = m.Summary, strings.TrimSpace(m.Description), true
		out.Bugs = out.Bugs[:0]
		for _, b := range m.Bugs {
			out.Bugs = append(out.Bugs, infoJSONBug{ID: b.ID, Summary: b.Summary, Description: b.Description})
		}
		for _, f := range m.Files {
			out.Files = append(out.Files, infoJSONFile{Path: f.Path, Size: f.Size, Mode: f.Mode.String(), SHA256: f.SHA256})
		}
		out.Delete = append(out.Delete, m.Delete...)
		for _, s := range m.Scripts {
			out.Scripts = append(out.Scripts, s.Path)
		}
		out.Parts = nil
		for _, p := range m.Parts {
			out.Parts = append(out.Parts, infoJSONPart{Name: p.Name, Summary: p.Summary, Mandatory: p.Mandatory, Files: p.Files, Scripts: p.Scripts})
		}
	}
	return out
}

// printInfo is info's text form: the same facts as its JSON.
func printInfo(w io.Writer, out *infoJSON) {
	if out.Bug != "" {
		fmt.Fprintf(w, "bug %s is fixed by %s %s", out.Bug, out.Product, out.Version)
		if len(out.AlsoIn) > 0 {
			fmt.Fprintf(w, " (also named by %s)", strings.Join(out.AlsoIn, ", "))
		}
		fmt.Fprint(w, "\n\n")
	}
	fmt.Fprintf(w, "fix:        %s %s (requires %s)\n", out.Product, out.Version, out.Requires)
	if out.Installed != nil {
		fmt.Fprintf(w, "installed:  %s by %s\n", localTime(out.Installed.At), out.Installed.By)
		if in := out.Installed; len(in.Parts)+len(in.SkippedParts) > 0 {
			fmt.Fprintf(w, "parts:      installed: %s; left out: %s\n", listOr(in.Parts, "none"), listOr(in.SkippedParts, "none"))
		}
	} else {
		fmt.Fprintln(w, "installed:  no")
	}
	fmt.Fprintf(w, "summary:    %s\n", out.Summary)
	if out.Size > 0 {
		fmt.Fprintf(w, "size:       %s\n", humanBytes(out.Size))
	}
	if out.Description != "" {
		fmt.Fprintf(w, "\n%s\n\n", out.Description)
	}
	for _, b := range out.Bugs {
		fmt.Fprintf(w, "bug %s: %s\n", b.ID, b.Summary)
		if b.Description != "" {
			fmt.Fprintf(w, "    %s\n", b.Description)
		}
	}
	if !out.Detailed {
		for _, p := range out.Parts {
			printPart(w, p)
		}
		if out.Installed == nil {
			fmt.Fprintln(w, `(run "hotfix download" to see its files)`)
		}
		return
	}
	for _, f := range out.Files {
		fmt.Fprintf(w, "file   %s %s %s\n", f.Mode, f.Path, plural(int(f.Size), "byte", "bytes"))
	}
	for _, d := range out.Delete {
		fmt.Fprintf(w, "delete %s\n", d)
	}
	for _, s := range out.Scripts {
		fmt.Fprintf(w, "script %s\n", s)
	}
	for _, p := range out.Parts {
		printPart(w, p)
		fmt.Fprintf(w, "       %d files, scripts: %s\n", len(p.Files), listOr(p.Scripts, "none"))
	}
}

// printPart is one part line of info: "part samples (optional): Sample data".
func printPart(w io.Writer, p infoJSONPart) {
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
