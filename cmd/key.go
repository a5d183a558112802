package cmd

import "github.com/spf13/cobra"

func newKeyCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{Use: "key", Short: "(not yet implemented)", Hidden: true}
}
