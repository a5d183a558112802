package cmd

import (
	"context"
	"fmt"

	"github.com/hotfix-project/hotfix/internal/demo/tour"
	"github.com/spf13/cobra"
)

type demoOptions struct {
	Dir  string
	Keep bool
}

func newDemoCmd(g *globalOptions) *cobra.Command {
	opts := &demoOptions{}
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole story on an embedded sample: vendor builds and serves, a server installs",
		Long: `Demo plays both halves of hotfix on the embedded sample product "acme" 2.4.1
with three chained fixes, in a scratch directory, touching nothing else:

  vendor: generate a signing key, pack the fixes, add them to a repository,
          build and sign the indexes, serve the repository on 127.0.0.1
  server: check, install in chain order into a sandbox root, show status,
          roll the newest fix back

Every step is printed with the equivalent command.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runDemo(c.Context(), g, opts) },
	}
	c.Flags().StringVar(&opts.Dir, "dir", "", "work in this directory (default: a new temporary one)")
	c.Flags().BoolVar(&opts.Keep, "keep", false, "keep the scratch directory to look around afterwards")
	return c
}

func runDemo(ctx context.Context, g *globalOptions, opts *demoOptions) error {
	res, err := tour.Run(ctx, tour.Options{Out: g.stdout, Dir: opts.Dir, Keep: opts.Keep, Log: g.logger})
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "\nDone. ")
	if res.Kept {
		fmt.Fprintf(g.stdout, "Look around in %s; try: hotfix --config %s status\n", res.Dir, res.Config)
	} else {
		fmt.Fprintln(g.stdout, "Run \"hotfix demo --keep\" to keep the scratch directory and look around.")
	}
	return nil
}
