package cmd

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/internal/beneath"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/fixarchive"
)

// The install prompt is a transaction summary, as dnf's: per fix its bugs,
// size, the files it changes, adds and deletes and the scripts it runs on
// this server's role, then the hooks around the run. The fixes are
// downloaded (verified, into the cache) before the question, since only
// the archive says which files a fix touches; install then reuses them.

// summaryFix is one fix of the summary.
type summaryFix struct {
	Fix      repo.IndexFix
	Custom   *repo.CustomIndexFix // a customer fix (Fix is then zero)
	Manifest *repo.Manifest       // nil when the archive could not be read
	Held     string               // why the rollout holds it back ("" when it does not): taken by hand
}

// planInstall downloads what install would take and reads each manifest.
// The customer's pending fixes come last, as install takes them. It
// returns nil, nil when nothing is pending, after saying so.
func planInstall(ctx context.Context, g *globalOptions, out io.Writer, cl *client.Client, target *repo.Version) ([]summaryFix, error) {
	res, err := cl.Check(ctx)
	if err != nil {
		return nil, err
	}
	// Named by version, a held fix is taken by hand (Download and
	// Install take it too).
	if res.PendingCount() == 0 && (target == nil || len(res.Held) == 0) {
		if len(res.Index.Fixes) == 0 {
			fmt.Fprintf(out, "no fixes published yet for %s %s\n", res.Product, res.Base)
		} else {
			fmt.Fprintf(out, "%s %s is up to date (installed: %s)\n", res.Product, res.Base, res.Installed)
			printHeld(out, res.Held)
		}
		return nil, nil
	}
	got, err := cl.Download(ctx, target, downloadBars(g))
	if err != nil {
		return nil, err
	}
	var plan []summaryFix
	for _, d := range got {
		m, err := fixarchive.ReadManifestFile(d.Path)
		if err != nil {
			g.logger.Warn("fix archive not readable for the summary", "version", d.Fix.Version, "err", err)
			m = nil
		}
		sf := summaryFix{Fix: d.Fix, Custom: d.Custom, Manifest: m}
		for _, h := range res.Held {
			if d.Custom == nil && h.Fix.Version.Equal(d.Fix.Version) {
				sf.Held = h.Reason
			}
		}
		plan = append(plan, sf)
	}
	return plan, nil
}

// printSummary writes the transaction summary of plan (and of a
// reinstall) into root.
func printSummary(w io.Writer, cl *client.Client, plan []summaryFix, reinstall *repo.Version) {
	n := len(plan)
	if reinstall != nil {
		n++
	}
	fmt.Fprintf(w, "Transaction summary: install %s into %s (%s)\n", plural(n, "fix", "fixes"), cl.Cfg.Root, cl.Cfg.Product)
	if reinstall != nil {
		fmt.Fprintf(w, "\n  %s  roll back, then install again\n", reinstall)
	}
	root, rerr := beneath.Open(cl.Cfg.Root)
	if rerr == nil {
		defer root.Close()
	}
	var total int64
	for _, p := range plan {
		name, summary, size, bugs := p.Fix.Version.String(), p.Fix.Summary, p.Fix.Size, p.Fix.Bugs
		if c := p.Custom; c != nil {
			name, summary, size, bugs = c.ID, fmt.Sprintf("customer fix %s: %s, after the vendor fixes", c.Version, c.Summary), c.Size, c.Bugs
		}
		total += size
		fmt.Fprintf(w, "\n  %-12s %s (%s)\n", name, summary, humanBytes(size))
		if p.Held != "" {
			fmt.Fprintf(w, "    held back by the rollout (%s): installed by hand\n", p.Held)
		}
		for _, b := range bugs {
			fmt.Fprintf(w, "    bug     %s: %s\n", b.ID, b.Summary)
		}
		m := p.Manifest
		if m == nil {
			fmt.Fprintln(w, "    (its files could not be read before installing; install tests them again)")
			continue
		}
		for _, f := range m.Files {
			verb := "add"
			if root != nil {
				if _, err := root.Lstat(f.Path); err == nil {
					verb = "change"
				}
			}
			fmt.Fprintf(w, "    %-7s %s\n", verb, f.Path)
		}
		for _, d := range m.Delete {
			fmt.Fprintf(w, "    delete  %s\n", d)
		}
		for _, s := range client.ScriptsForRole(m.Scripts, cl.Cfg.Role) {
			fmt.Fprintf(w, "    script  %s\n", strings.TrimPrefix(s.Path, "scripts/"))
		}
	}
	h := cl.Cfg.Hooks
	var hooks []string
	for _, hk := range []struct{ name, cmd string }{{"pre_install", h.PreInstall}, {"post_install", h.PostInstall}, {"health_check", h.HealthCheck}} {
		if hk.cmd != "" {
			hooks = append(hooks, fmt.Sprintf("  %-13s %s", hk.name+":", hk.cmd))
		}
	}
	if len(hooks) > 0 {
		fmt.Fprintf(w, "\nHooks around the run ([hooks] in %s):\n%s\n", cl.Cfg.Path, strings.Join(hooks, "\n"))
	}
	fmt.Fprintf(w, "\nTotal size: %s (downloaded and verified)\n", humanBytes(total))
}
