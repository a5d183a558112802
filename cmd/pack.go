package cmd

import (
	"context"
	"fmt"

	"github.com/hotfix-project/hotfix/repo"
	"github.com/spf13/cobra"
)

type packOptions struct {
	SrcDir string
	OutDir string
	Format string
}

func newPackCmd(g *globalOptions) *cobra.Command {
	opts := &packOptions{}
	c := &cobra.Command{
		Use:   "pack SRCDIR",
		Short: "Pack a fix source directory into a signed-repository-ready archive",
		Long: `Pack reads SRCDIR/fix.toml, SRCDIR/files/ and SRCDIR/scripts/, checks them,
and writes PRODUCT-VERSION.fix (a tar stream, xz-compressed, manifest.json
first) into --out. Every problem is listed with its file and line.

The same source and SOURCE_DATE_EPOCH give byte-identical archives.`,
		Example: `  hotfix pack ./fixes/6.14.2.3 --out ./outgoing`,
		Args:    argsUsage(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, args []string) error {
			opts.SrcDir = args[0]
			return runPack(c.Context(), g, opts)
		},
	}
	c.Flags().StringVar(&opts.OutDir, "out", ".", "directory to write the archive into")
	c.Flags().StringVar(&opts.Format, "format", "fix", "archive format: fix")
	return c
}

func runPack(ctx context.Context, g *globalOptions, opts *packOptions) error {
	if opts.Format != "fix" {
		return usagef("--format %q: supported formats: fix", opts.Format)
	}
	path, m, err := repo.Pack(ctx, opts.SrcDir, opts.OutDir, repo.PackOptions{Logger: g.logger})
	if err != nil {
		return fmt.Errorf("pack %s:\n%w", opts.SrcDir, err)
	}
	if !g.Quiet {
		fmt.Fprintf(g.stderr, "packed %s %s: %d files, %d scripts, %d deletions, %d bugs\n",
			m.Product, m.Version, len(m.Files), len(m.Scripts), len(m.Delete), len(m.Bugs))
	}
	fmt.Fprintln(g.stdout, path)
	return nil
}
