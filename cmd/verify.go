package cmd

import (
	"context"
	"fmt"
	"strings"

	"github.com/hotfix-project/hotfix/client"
	"github.com/spf13/cobra"
)

func newVerifyCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "verify",
		Short: "Compare every file the installed fixes put in place with the root (like rpm -V); exit 1 when any differs",
		Long: `verify checks every file the file database records: a file missing, or
whose size, permission bits or sha256 differ from what its fix installed, is
listed with the fix (and part) that owns it. Exit 0: all as installed; 1: a
file differs (or an error).`,
		Args:        cobra.NoArgs,
		Annotations: jsonCommand,
		RunE:        func(c *cobra.Command, _ []string) error { return runVerify(c.Context(), g) },
	}
}

func runVerify(ctx context.Context, g *globalOptions) error {
	cl, err := loadClient(g)
	if err != nil {
		return err
	}
	rep, err := cl.VerifyFiles(ctx)
	if err != nil {
		return err
	}
	if g.JSON {
		out := struct {
			Format int `json:"format"`
			*client.VerifyReport
		}{jsonFormat, rep}
		if err := printJSON(g.stdout, out); err != nil {
			return err
		}
	} else {
		for _, p := range rep.Problems {
			fmt.Fprintf(g.stdout, "%-22s %s  (%s)\n", verifyWhat(p), p.Path, ownerName(p.Fix, p.Version, p.Customer, p.Part))
		}
		if len(rep.Problems) == 0 && !g.Quiet {
			fmt.Fprintf(g.stdout, "all %d files the installed fixes put in place are as installed\n", rep.Checked)
		}
	}
	if len(rep.Problems) > 0 {
		if g.JSON {
			return &exitCodeError{code: ExitError}
		}
		return &exitCodeError{code: ExitError, err: fmt.Errorf("%d of %d files differ from what their fix installed", len(rep.Problems), rep.Checked)}
	}
	return nil
}

// verifyWhat is the first column of verify's report.
func verifyWhat(p client.FileProblem) string {
	switch {
	case p.Missing:
		return "missing"
	case p.Error != "":
		return "unreadable: " + p.Error
	}
	return "changed " + strings.Join(p.Changed, ",")
}

// ownerName names a file's owner for people: "fix 2.4.1.3", "customer
// fix IS-1234 1 of shop-a" (id, version, customer), with ", part NAME"
// for an optional part.
func ownerName(fix, version, customer, part string) string {
	s := "fix " + fix
	if customer != "" {
		s = "customer fix " + strings.TrimSpace(fix+" "+version) + " of " + customer
	}
	if part != "" {
		s += ", part " + part
	}
	return s
}
