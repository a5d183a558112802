package cmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

// version is set by the linker (-ldflags "-X .../cmd.version=1.2.3").
var version = "dev"

type versionOptions struct{}

func newVersionCmd(g *globalOptions) *cobra.Command {
	opts := &versionOptions{}
	return &cobra.Command{
		Use:         "version",
		Short:       "Print the hotfix version",
		Args:        cobra.NoArgs,
		Annotations: jsonCommand,
		RunE:        func(c *cobra.Command, _ []string) error { return runVersion(c.Context(), g, opts) },
	}
}

// versionJSON is `version --json`.
type versionJSON struct {
	Format  int    `json:"format"`
	Version string `json:"version"`
}

func runVersion(_ context.Context, g *globalOptions, _ *versionOptions) error {
	if g.JSON {
		return printJSON(g.stdout, versionJSON{Format: jsonFormat, Version: version})
	}
	_, err := fmt.Fprintf(g.stdout, "hotfix %s\n", version)
	return err
}
