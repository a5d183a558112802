package cmd

import (
	"errors"
	"fmt"
	"strings"

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

// groupCommand makes a command that only groups subcommands (the root,
// repo, key): alone it shows its help; with an unknown subcommand its Args
// check makes a usage error (exit 2). Without an Args check cobra would
// either print the help and exit 0 or, for the root, return an untyped
// "unknown command" error.
func groupCommand(c *cobra.Command) *cobra.Command {
	c.Args = unknownSubcommand
	c.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
	return c
}

// unknownSubcommand refuses any argument left over once cobra found no
// subcommand by that name, suggesting close names as cobra does.
func unknownSubcommand(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
	if c.HasParent() {
		msg += fmt.Sprintf(": see '%s --help'", c.CommandPath())
	}
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2 // cobra's own default
	}
	if s := c.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
	}
	return &usageError{errors.New(msg)}
}
