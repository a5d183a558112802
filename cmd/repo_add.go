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
	Product  string
	Base     string
}

func newRepoAddCmd(g *globalOptions) *cobra.Command {
	opts := &repoAddOptions{}
	c := &cobra.Command{
		Use:   "add REPO [ARCHIVE...]",
		Short: "Verify fix archives and add them to the repository, or declare an empty channel",
		Long: `Add verifies each archive against its own manifest and places it under
REPO/PRODUCT/BASE/. It refuses a gap in a chain (archives added together may
close it) and a different archive for a version already present; adding an
identical archive again does nothing. Run "hotfix repo build" afterwards.

--testing puts the fixes new to the repository in the testing ring: only
servers with ring = "testing" take them until "hotfix repo rollout" widens
their release.

With --product and --base and no archive, add declares the channel of a new
base before any fix of it exists: "hotfix repo build" then publishes it
signed and empty, and servers patched to that base hear "no fixes published
yet" (exit 0) instead of an error every night. Declare each new base when
the full patch ships.`,
		Example: `  hotfix repo add ./repo outgoing/shop-6.14.2.1.fix outgoing/shop-6.14.2.2.fix
  hotfix repo add ./repo --product shop --base 6.15.0`,
		Args:        cobra.MinimumNArgs(1),
		Annotations: jsonCommand,
		RunE: func(c *cobra.Command, args []string) error {
			opts.Repo, opts.Archives = args[0], args[1:]
			return runRepoAdd(c.Context(), g, opts)
		},
	}
	c.Flags().BoolVar(&opts.Testing, "testing", false, "release the new fixes to the testing ring only (see hotfix repo rollout)")
	c.Flags().StringVar(&opts.Product, "product", "", "with --base and no archive: the product of the channel to declare")
	c.Flags().StringVar(&opts.Base, "base", "", "with --product and no archive: the base version of the channel to declare")
	return c
}

// repoAddJSON is `repo add --json`.
type repoAddJSON struct {
	Format    int      `json:"format"`
	Added     []string `json:"added"`
	Unchanged []string `json:"unchanged"`
}

func runRepoAdd(ctx context.Context, g *globalOptions, opts *repoAddOptions) error {
	if opts.Product != "" || opts.Base != "" {
		return runRepoAddChannel(g, opts)
	}
	if len(opts.Archives) == 0 {
		return usagef("repo add: missing ARCHIVE... (or --product P --base B to declare an empty channel)")
	}
	batchGC()
	res, err := publish.Add(ctx, opts.Repo, opts.Archives, publish.AddOptions{Logger: g.logger, Testing: opts.Testing})
	if err != nil {
		return fmt.Errorf("repo add: %w (the repository was not changed)", err)
	}
	ring := ""
	if opts.Testing {
		ring = " (testing ring)"
	}
	if g.JSON {
		return printJSON(g.stdout, repoAddJSON{Format: jsonFormat, Added: orEmpty(res.Added), Unchanged: orEmpty(res.Unchanged)})
	}
	for _, p := range res.Added {
		fmt.Fprintf(g.stdout, "added %s%s\n", p, ring)
	}
	for _, p := range res.Unchanged {
		fmt.Fprintf(g.stdout, "unchanged %s (identical archive already present)\n", p)
	}
	return nil
}

// runRepoAddChannel declares an empty channel (--product, --base).
func runRepoAddChannel(g *globalOptions, opts *repoAddOptions) error {
	switch {
	case len(opts.Archives) > 0:
		return usagef("repo add: --product and --base declare an empty channel and take no ARCHIVE (archives name their own channel)")
	case opts.Product == "" || opts.Base == "":
		return usagef("repo add: an empty channel needs both --product P and --base B")
	case opts.Testing:
		return usagef("repo add: --testing applies to added fixes; an empty channel has none (declare it, then add the fixes with --testing)")
	}
	base, err := parseVersionArg(opts.Base)
	if err != nil {
		return err
	}
	added, err := publish.AddChannel(opts.Repo, opts.Product, *base)
	if err != nil {
		return fmt.Errorf("repo add: %w (the repository was not changed)", err)
	}
	rel := opts.Product + "/" + base.String() + "/"
	if g.JSON {
		out := repoAddJSON{Format: jsonFormat, Added: []string{}, Unchanged: []string{}}
		if added {
			out.Added = append(out.Added, rel)
		} else {
			out.Unchanged = append(out.Unchanged, rel)
		}
		return printJSON(g.stdout, out)
	}
	if added {
		fmt.Fprintf(g.stdout, "added the empty channel %s: run \"hotfix repo build\" to publish it\n", rel)
	} else {
		fmt.Fprintf(g.stdout, "unchanged %s (the channel exists)\n", rel)
	}
	return nil
}

// orEmpty makes a nil list an empty one, so that --json shows [] rather
// than null.
func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
