package cmd

import (
	"github.com/spf13/cobra"
)

// argsUsage wraps a cobra argument validator so that its complaint exits 2.
func argsUsage(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if err := v(c, args); err != nil {
			return &usageError{err}
		}
		return nil
	}
}

// groupCommand makes a command that only groups subcommands: alone it shows
// its help; with an unknown subcommand it is a usage error (exit 2), where
// cobra would print the help and exit 0.
func groupCommand(c *cobra.Command) *cobra.Command {
	c.Args = cobra.ArbitraryArgs
	c.RunE = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return c.Help()
		}
		return usagef("unknown command %q for %q: see '%s --help'", args[0], c.CommandPath(), c.CommandPath())
	}
	return c
}
