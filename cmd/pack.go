package cmd

import "github.com/spf13/cobra"

func newPackCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{Use: "pack", Short: "(not yet implemented)", Hidden: true}
}
