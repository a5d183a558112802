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

// argsUsage wraps a cobra argument validator so that its complaint exits 2
// and names what is missing or left over, from the command's Use line
// ("missing VERSION|BUG-ID"), where cobra says "accepts 1 arg(s),
// received 0".
func argsUsage(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		err := v(c, args)
		var ue *usageError
		if err == nil || errors.As(err, &ue) {
			return err
		}
		return &usageError{argsProblem(c, args, err)}
	}
}

// argsProblem says which argument is missing or which one is too many,
// given the positional names of c's Use line; a command whose Use names
// none keeps cobra's complaint.
func argsProblem(c *cobra.Command, args []string, err error) error {
	required, optional, repeated := positionals(c.Use)
	usage := fmt.Sprintf("usage: %s", c.UseLine())
	// The message follows "hotfix: ": the command without the root's name.
	name := strings.TrimPrefix(c.CommandPath(), c.Root().Name()+" ")
	switch {
	case len(args) < len(required):
		return fmt.Errorf("%s: missing %s (%s)", name, strings.Join(required[len(args):], " "), usage)
	case !repeated && len(args) > len(required)+len(optional):
		return fmt.Errorf("%s: unexpected argument %q (%s)", name, args[len(required)+len(optional)], usage)
	}
	return fmt.Errorf("%s: %w (%s)", name, err, usage)
}

// positionals reads the argument names of a Use line such as
// "add REPO ARCHIVE...", "install [VERSION]" or "verify REPO --keyring
// FILE|DIR": the required names, the optional ones, and whether the last
// one repeats. Use lines name arguments before flags; from the first flag
// on, nothing is an argument.
func positionals(use string) (required, optional []string, repeated bool) {
	for _, w := range strings.Fields(use)[1:] {
		if strings.HasPrefix(w, "-") || strings.HasPrefix(w, "[-") {
			break
		}
		name := strings.TrimSuffix(w, "...")
		repeated = repeated || name != w
		if strings.HasPrefix(name, "[") {
			optional = append(optional, strings.Trim(name, "[]"))
			continue
		}
		required = append(required, name)
	}
	return required, optional, repeated
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
