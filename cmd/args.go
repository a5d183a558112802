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
