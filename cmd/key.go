package cmd

import "github.com/spf13/cobra"

// passphraseEnv holds the passphrase for secret keys; an environment
// variable rather than a flag so it never shows in ps or shell history.
const passphraseEnv = "HOTFIX_KEY_PASSPHRASE"

func newKeyCmd(g *globalOptions) *cobra.Command {
	c := &cobra.Command{
		Use:   "key",
		Short: "Manage the repository signing key",
	}
	c.AddCommand(newKeyGenerateCmd(g))
	return c
}
