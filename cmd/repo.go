package cmd

import "github.com/spf13/cobra"

func newRepoCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{Use: "repo", Short: "(not yet implemented)", Hidden: true}
}
