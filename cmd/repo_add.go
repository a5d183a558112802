package cmd

import (
	"context"
	"fmt"

	"github.com/hotfix-project/hotfix/repo/publish"
	"github.com/spf13/cobra"
)

type repoAddOptions struct {
	Repo     string
	Archives []string
	Testing  bool
}

func newRepoAddCmd(g *globalOptions) *cobra.Command {
	opts := &repoAddOptions{}
	c := &cobra.Command{
		Use:   "add REPO ARCHIVE...",
		Short: "Verify fix archives and add them to the repository",
		Long: `Add verifies each archive against its own manifest and places it under
REPO/PRODUCT/BASE/. It refuses a gap in a chain (archives added together may
close it) and a different archive for a version already present; adding an
identical archive again does nothing. Run "hotfix repo build" afterwards.

--testing puts the fixes new to the repository in the testing ring: only
servers with ring = "testing" take them until "hotfix repo rollout" widens
their release.`,
		Example: `  hotfix repo add ./repo outgoing/shop-6.14.2.1.fix outgoing/shop-6.14.2.2.fix`,
		Args:    cobra.MinimumNArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Repo, opts.Archives = args[0], args[1:]
			return runRepoAdd(c.Context(), g, opts)
		},
	}
	c.Flags().BoolVar(&opts.Testing, "testing", false, "release the new fixes to the testing ring only (see hotfix repo rollout)")
	return c
}

func runRepoAdd(ctx context.Context, g *globalOptions, opts *repoAddOptions) error {
	batchGC()
	res, err := publish.Add(ctx, opts.Repo, opts.Archives, publish.AddOptions{Logger: g.logger, Testing: opts.Testing})
	if err != nil {
		return fmt.Errorf("repo add: %w (the repository was not changed)", err)
	}
	ring := ""
	if opts.Testing {
		ring = " (testing ring)"
	}
	for _, p := range res.Added {
		fmt.Fprintf(g.stdout, "added %s%s\n", p, ring)
	}
	for _, p := range res.Unchanged {
		fmt.Fprintf(g.stdout, "unchanged %s (identical archive already present)\n", p)
	}
	return nil
}
