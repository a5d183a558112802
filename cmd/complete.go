package cmd

import (
	"github.com/hotfix-project/hotfix/client"
	"github.com/spf13/cobra"
)

// Completion of fix versions reads the local state and the cached index
// only (client.List): pressing TAB must never wait for the network, and a
// server without a configuration completes nothing rather than file names.

// completeFixes offers the versions of the installed base's fixes that
// keep says to, with their summaries as descriptions (zsh and fish show
// them).
func completeFixes(g *globalOptions, keep func(client.ListedFix) bool) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		cl, err := loadClient(g)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		l, err := cl.List()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, f := range l.Fixes {
			if keep(f) {
				out = append(out, cobra.CompletionWithDesc(f.Version.String(), f.Summary))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
	}
}

// completeInstances offers the names of the [[instance]] tables.
func completeInstances(g *globalOptions) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		cfg, err := client.LoadConfig(client.ConfigPath(g.ConfigPath))
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, name := range cfg.InstanceNames() {
			out = append(out, cobra.Completion(name))
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeAvailable offers the fixes an install would take.
func completeAvailable(g *globalOptions) cobra.CompletionFunc {
	return completeFixes(g, func(f client.ListedFix) bool { return f.Available })
}

// completeInstalled offers the installed fixes (rollback --to); the base
// itself, which --to also takes, is added.
func completeInstalled(g *globalOptions) cobra.CompletionFunc {
	inner := completeFixes(g, func(f client.ListedFix) bool { return f.Installed })
	return func(c *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		out, dir := inner(c, args, prefix)
		if cl, err := loadClient(g); err == nil {
			if base, err := cl.Base(); err == nil {
				out = append([]cobra.Completion{cobra.CompletionWithDesc(base.String(), "the base: roll back every fix")}, out...)
			}
		}
		return out, dir
	}
}

// completeKnown offers every fix of the installed base, and the bug ids
// they fix (info takes either).
func completeKnown(g *globalOptions) cobra.CompletionFunc {
	inner := completeFixes(g, func(client.ListedFix) bool { return true })
	return func(c *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		out, dir := inner(c, args, prefix)
		if len(args) > 0 {
			return out, dir
		}
		if cl, err := loadClient(g); err == nil {
			if l, err := cl.List(); err == nil {
				for _, f := range l.Fixes {
					for _, b := range f.Bugs {
						out = append(out, cobra.CompletionWithDesc(b.ID, f.Version.String()+": "+b.Summary))
					}
				}
			}
		}
		return out, dir
	}
}
