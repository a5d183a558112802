package cmd

import (
	"context"
	"fmt"
	"io"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/spf13/cobra"
)

// checkJSON is the stable `check --json` shape of DESIGN.md.
type checkJSON struct {
	// Format is left out of each instance's entry: the format is the
	// top level's (as in `status --json`).
	Format  int              `json:"format,omitempty"`
	Product string           `json:"product"`
	Base    string           `json:"base"`
	Serial  int64            `json:"serial"`
	Pending []checkJSONEntry `json:"pending"`
	// Published is how many fixes the channel holds: 0 for a base the
	// vendor has published no fix for yet (not an error).
	Published int              `json:"published"`
	Held      []checkJSONHeld  `json:"held"`
	Custom    *checkJSONCustom `json:"custom,omitempty"` // with customer set
}

// checkResultJSON is one installation's check in `check --json`, alone or
// as one of the instances: one builder, so both carry the same keys.
func checkResultJSON(res *client.CheckResult) checkJSON {
	out := checkJSON{Format: jsonFormat, Product: res.Product, Base: res.Base.String(), Serial: res.Index.Serial,
		Pending: []checkJSONEntry{}, Published: len(res.Index.Fixes), Held: heldJSON(res.Held), Custom: customJSON(res.Custom)}
	for _, f := range res.Pending {
		out.Pending = append(out.Pending, checkJSONEntry{Version: f.Version.String(), Summary: f.Summary, Bugs: f.Bugs})
	}
	return out
}

// checkJSONHeld is a fix the rollout holds back from this server.
type checkJSONHeld struct {
	Version string `json:"version"`
	Reason  string `json:"reason"`
}

// checkJSONCustom is the customer's fixes in `check --json`.
type checkJSONCustom struct {
	Customer string             `json:"customer"`
	Serial   int64              `json:"serial"`
	Pending  []checkJSONCustFix `json:"pending"`
	Waiting  []checkJSONCustFix `json:"waiting"` // min_fix beyond the vendor chain
}

type checkJSONCustFix struct {
	ID      string        `json:"id"`
	Version string        `json:"version"`
	MinFix  string        `json:"min_fix,omitempty"`
	Summary string        `json:"summary"`
	Bugs    []repo.BugRef `json:"bugs"`
}

func customJSON(cc *client.CustomCheck) *checkJSONCustom {
	if cc == nil {
		return nil
	}
	out := &checkJSONCustom{Customer: cc.Customer, Serial: cc.Index.Serial, Pending: []checkJSONCustFix{}, Waiting: []checkJSONCustFix{}}
	conv := func(f repo.CustomIndexFix) checkJSONCustFix {
		e := checkJSONCustFix{ID: f.ID, Version: f.Version.String(), Summary: f.Summary, Bugs: f.Bugs}
		if f.MinFix != nil {
			e.MinFix = f.MinFix.String()
		}
		return e
	}
	for _, f := range cc.Pending {
		out.Pending = append(out.Pending, conv(f))
	}
	for _, f := range cc.Waiting {
		out.Waiting = append(out.Waiting, conv(f))
	}
	return out
}

// printCustomCheck lists the customer's pending and waiting fixes.
func printCustomCheck(w io.Writer, cc *client.CustomCheck) {
	if cc == nil {
		return
	}
	if len(cc.Pending) == 0 {
		fmt.Fprintf(w, "customer %s: no customer fixes pending\n", cc.Customer)
	} else {
		fmt.Fprintf(w, "customer %s: %d customer fixes pending (installed after the vendor fixes)\n", cc.Customer, len(cc.Pending))
	}
	for _, f := range cc.Pending {
		fmt.Fprintf(w, "  %-12s %-6s %s\n", f.ID, f.Version, f.Summary)
	}
	for _, f := range cc.Waiting {
		fmt.Fprintf(w, "  %-12s %-6s waits for vendor fix %s: %s\n", f.ID, f.Version, f.MinFix, f.Summary)
	}
}

type checkJSONEntry struct {
	Version string        `json:"version"`
	Summary string        `json:"summary"`
	Bugs    []repo.BugRef `json:"bugs"`
}

type checkOptions struct{}

func newCheckCmd(g *globalOptions) *cobra.Command {
	opts := &checkOptions{}
	return &cobra.Command{
		Use:   "check",
		Short: "List the fixes pending for the installed version (exit 100 when some are)",
		Long: `Check reads the installed base from version_file, fetches the signed index of
that base from the repository (a conditional request: unchanged costs no
body), verifies it against the trusted keys only, and lists the pending
chain. A base the vendor has published no fix for yet (an empty channel)
is not an error: "no fixes published yet", exit 0. A product or base the
vendor's signed repo.json does not list at all is.

A fix the vendor's staged rollout holds back from this server (testing
ring, a percentage this server's bucket is not below yet, halted) is listed
as held, with the reason, and is not pending; neither are the fixes after
it. Scheduled runs never take it; "hotfix install VERSION" does.

Exit status: 0 nothing pending (held fixes aside), 100 fixes pending, 1 error.`,
		Args:        cobra.NoArgs,
		Annotations: jsonCommand,
		RunE:        func(c *cobra.Command, _ []string) error { return runCheck(c.Context(), g, opts) },
	}
}

func runCheck(ctx context.Context, g *globalOptions, _ *checkOptions) error {
	cfg, err := loadConfig(g)
	if err != nil {
		return err
	}
	if len(cfg.Instances) > 0 && len(g.Instances) != 1 {
		return runTreeCheck(ctx, g, cfg)
	}
	cl, err := instanceClient(g, cfg, true)
	if err != nil {
		return err
	}
	res, err := cl.Check(ctx)
	if err != nil {
		return err
	}
	if g.JSON {
		if err := printJSON(g.stdout, checkResultJSON(res)); err != nil {
			return err
		}
	} else {
		printCheck(g.stdout, "", res)
	}
	if res.PendingCount() > 0 {
		return &exitCodeError{code: ExitPending}
	}
	return nil
}

// heldJSON is held as check --json lists it: never null.
func heldJSON(held []client.HeldFix) []checkJSONHeld {
	out := []checkJSONHeld{}
	for _, h := range held {
		out = append(out, checkJSONHeld{Version: h.Fix.Version.String(), Reason: h.Reason})
	}
	return out
}

// printHeld lists the fixes the rollout holds back, each with its reason
// and the command that takes it anyway.
// printCheck is the text of one installation's check; prefix ("NAME: "
// over instances) leads its first line. One printer, so an instance's
// check says what a single installation's says.
func printCheck(w io.Writer, prefix string, res *client.CheckResult) {
	switch {
	case len(res.Index.Fixes) == 0:
		fmt.Fprintf(w, "%sno fixes published yet for %s %s\n", prefix, res.Product, res.Base)
	case len(res.Pending) == 0:
		fmt.Fprintf(w, "%s%s %s is up to date (installed: %s)\n", prefix, res.Product, res.Base, res.Installed)
	default:
		fmt.Fprintf(w, "%s%s %s: %s pending (installed: %s)\n", prefix, res.Product, res.Base, plural(len(res.Pending), "fix", "fixes"), res.Installed)
		for _, f := range res.Pending {
			fmt.Fprintf(w, "  %-12s %s\n", f.Version, f.Summary)
			for _, b := range f.Bugs {
				fmt.Fprintf(w, "  %-12s   %s: %s\n", "", b.ID, b.Summary)
			}
		}
	}
	printHeld(w, res.Held)
	printCustomCheck(w, res.Custom)
}

func printHeld(w io.Writer, held []client.HeldFix) {
	for _, h := range held {
		fmt.Fprintf(w, "%s held back: %s; install it by hand with hotfix install %s\n", h.Fix.Version, h.Reason, h.Fix.Version)
	}
}
