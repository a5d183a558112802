package cmd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hotfix-project/hotfix/client"
	"github.com/spf13/cobra"
)

type uninstallOptions struct {
	ID    string
	Wait  time.Duration
	Force bool
}

func newUninstallCmd(g *globalOptions) *cobra.Command {
	opts := &uninstallOptions{}
	c := &cobra.Command{
		Use:   "uninstall ID",
		Short: "Remove one customer fix, restoring the vendor's version of its files",
		Long: `Uninstall removes one installed customer fix (its id, such as IS-1234) on its
own, as one transaction: every file it replaced gets back the vendor's
current version, every file it added goes, every file it deleted comes
back. Files of it that a vendor fix overrode (install --force) keep the
vendor's version. It refuses, changing nothing, when a file of the fix was
changed by hand since it was installed: --force uninstalls anyway.
Install scripts are not undone. Vendor fixes are removed by rollback.`,
		Example:     `  hotfix uninstall IS-1234`,
		Args:        cobra.ExactArgs(1),
		Annotations: jsonCommand,
		RunE: func(c *cobra.Command, args []string) error {
			opts.ID = args[0]
			return runUninstall(c.Context(), g, opts)
		},
	}
	c.Flags().DurationVar(&opts.Wait, "wait", 0, "wait this long for the transaction lock")
	c.Flags().BoolVar(&opts.Force, "force", false, "uninstall over locally changed files")
	return c
}

func runUninstall(ctx context.Context, g *globalOptions, opts *uninstallOptions) error {
	cl, err := loadClient(g)
	if err != nil {
		return err
	}
	res, err := cl.Uninstall(ctx, opts.ID, client.UninstallOptions{LockWait: opts.Wait, Force: opts.Force})
	var uc *client.UninstallChangesError
	if errors.As(err, &uc) {
		return fmt.Errorf("%w (--force to uninstall anyway)", err)
	}
	// A result with an error: the fix is gone but its audit record was
	// not written; what changed is still reported, then the error.
	if res != nil && g.JSON {
		if jerr := printJSON(g.stdout, uninstallJSON{Format: jsonFormat, ID: res.ID, Version: res.Version.String(),
			Restored: orEmpty(res.Restored), Left: orEmpty(res.Left)}); jerr != nil {
			return errors.Join(err, jerr)
		}
		return err
	}
	if res != nil {
		fmt.Fprintf(g.stdout, "uninstalled customer fix %s %s: %d files back to the vendor's version\n", res.ID, res.Version, len(res.Restored))
		for _, p := range res.Left {
			fmt.Fprintf(g.stdout, "  %s keeps the vendor's version (a vendor fix had overridden it)\n", p)
		}
	}
	return err
}

// uninstallJSON is `uninstall --json`.
type uninstallJSON struct {
	Format   int      `json:"format"`
	ID       string   `json:"id"`
	Version  string   `json:"version"`
	Restored []string `json:"restored"` // root-relative paths back to the vendor's version (or removed)
	Left     []string `json:"left"`     // paths a vendor fix had overridden: the vendor's file stays
}
