package cmd

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/hotfix-project/hotfix/client"
	"github.com/spf13/cobra"
)

func newOwnsCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:         "owns PATH",
		Short:       "Name the fix (and part) that put a file in place, like rpm -qf; exit 1 when none did",
		Args:        cobra.ExactArgs(1),
		Annotations: jsonCommand,
		RunE:        func(c *cobra.Command, args []string) error { return runOwns(c.Context(), g, args[0]) },
	}
}

func runOwns(_ context.Context, g *globalOptions, path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	cl, err := loadClient(g)
	if err != nil {
		return err
	}
	o, err := cl.Owns(abs)
	if err != nil {
		return usagef("%v: name a file under the install root (an absolute path, or one relative to the current directory)", err)
	}
	if g.JSON {
		out := struct {
			Format int `json:"format"`
			*client.Ownership
		}{jsonFormat, o}
		if err := printJSON(g.stdout, out); err != nil {
			return err
		}
	} else if o.Owner != nil {
		fmt.Fprintf(g.stdout, "%s is owned by %s\n", o.Path, ownerName(o.Owner.Fix, o.Owner.Version, o.Owner.Customer, o.Owner.Part))
	} else {
		fmt.Fprintf(g.stdout, "%s was not put there by any installed fix\n", o.Path)
	}
	if o.Owner == nil {
		return &exitCodeError{code: ExitError}
	}
	return nil
}
