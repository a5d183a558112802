package cmd

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

type genDocsOptions struct{ Dir string }

// newGenDocsCmd is the build's hidden command (goreleaser's before hook,
// `make docs`): the man pages and the shell completion files the deb and
// rpm packages carry, generated from the command tree itself, so that
// they can never disagree with the binary they ship with.
func newGenDocsCmd(g *globalOptions) *cobra.Command {
	opts := &genDocsOptions{}
	return &cobra.Command{
		Use:    "generate-docs DIR",
		Short:  "Write the man pages and shell completions into DIR (for packaging)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Dir = args[0]
			return runGenDocs(c.Context(), g, c.Root(), opts)
		},
	}
}

// runGenDocs writes DIR/man/hotfix*.1.gz and DIR/completions/hotfix.bash,
// _hotfix (zsh) and hotfix.fish. The pages are dated SOURCE_DATE_EPOCH
// (1970 without it) and gzipped without a name or time, so that the same
// source gives the same bytes.
func runGenDocs(_ context.Context, g *globalOptions, root *cobra.Command, opts *genDocsOptions) error {
	date, err := repo.SourceDateEpoch()
	if err != nil {
		return err
	}
	manDir := filepath.Join(opts.Dir, "man")
	compDir := filepath.Join(opts.Dir, "completions")
	for _, d := range []string{manDir, compDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("generate-docs: %w", err)
		}
	}
	root.DisableAutoGenTag = true
	header := &doc.GenManHeader{Title: "HOTFIX", Section: "1", Date: &date, Source: "hotfix " + version, Manual: "hotfix manual"}
	pages := 0
	var walk func(c *cobra.Command) error
	walk = func(c *cobra.Command) error {
		if !c.IsAvailableCommand() && c != root {
			return nil
		}
		var page bytes.Buffer
		if err := doc.GenMan(c, header, &page); err != nil {
			return err
		}
		name := strings.ReplaceAll(c.CommandPath(), " ", "-") + ".1.gz"
		if err := writeGzip(filepath.Join(manDir, name), page.Bytes()); err != nil {
			return err
		}
		pages++
		for _, sub := range c.Commands() {
			if err := walk(sub); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(root); err != nil {
		return fmt.Errorf("generate-docs: man pages: %w", err)
	}
	var bash, zsh, fish bytes.Buffer
	if err := genBashCompletion(root, &bash, true); err != nil {
		return err
	}
	if err := root.GenZshCompletion(&zsh); err != nil {
		return err
	}
	if err := root.GenFishCompletion(&fish, true); err != nil {
		return err
	}
	for name, data := range map[string][]byte{"hotfix.bash": bash.Bytes(), "_hotfix": zsh.Bytes(), "hotfix.fish": fish.Bytes()} {
		if err := atomicfile.WriteFile(filepath.Join(compDir, name), data, 0o644); err != nil {
			return fmt.Errorf("generate-docs: %w", err)
		}
	}
	if !g.Quiet {
		fmt.Fprintf(g.stderr, "wrote %s into %s and 3 completion files into %s\n", plural(pages, "man page", "man pages"), manDir, compDir)
	}
	return nil
}

// writeGzip writes data gzipped with a header that carries no name and no
// time: reproducible bytes.
func writeGzip(path string, data []byte) error {
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := zw.Write(data); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, b.Bytes(), 0o644)
}
