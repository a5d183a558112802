package cmd

import "github.com/spf13/cobra"

func newServeCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{Use: "serve", Short: "(not yet implemented)", Hidden: true}
}
