package cmd

import "github.com/spf13/cobra"

func newDaemonCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{Use: "daemon", Short: "(not yet implemented)", Hidden: true}
}

func newCronCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{Use: "cron", Short: "(not yet implemented)", Hidden: true}
}
