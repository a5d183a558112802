package cmd

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// typeUsageErrors makes every argument check in the tree, cobra's own help
// and completion commands included, return a *usageError (exit 2): cobra's
// validators return untyped errors, and a command without an Args check
// gets cobra's legacy rule, which accepts anything or returns an untyped
// "unknown command". Flag errors are typed by the root's FlagErrorFunc.
func typeUsageErrors(root *cobra.Command) {
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		switch {
		case c.Parent() == root && c.Name() == "help":
			c.Args = helpTopic
		case c.HasSubCommands() && !c.Runnable():
			groupCommand(c)
		case c.Args != nil:
			c.Args = argsUsage(c.Args)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// argsUsage wraps a cobra argument validator so that its complaint exits 2.
func argsUsage(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		err := v(c, args)
		var ue *usageError
		if err == nil || errors.As(err, &ue) {
			return err
		}
		return &usageError{err}
	}
}

// groupCommand makes c a command that only groups subcommands (the root,
// repo, key, completion): alone it shows its help; with an unknown subcommand its Args
// check makes a usage error. Without an Args check cobra would either print
// the help and exit 0 or, for the root, return an untyped "unknown command".
func groupCommand(c *cobra.Command) {
	c.Args = unknownSubcommand
	c.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
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

// helpTopic refuses "hotfix help NAME" for a NAME that is no command, where
// cobra would show the root's help and exit 0.
func helpTopic(c *cobra.Command, args []string) error {
	target, rest, err := c.Root().Find(args)
	if err != nil {
		return &usageError{err}
	}
	return unknownSubcommand(target, rest)
}
