package cmd

import "github.com/spf13/cobra"

func newDemoCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{Use: "demo", Short: "(not yet implemented)", Hidden: true}
}
