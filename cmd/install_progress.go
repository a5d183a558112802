package cmd

import (
	"fmt"
	"io"
	"slices"

	"github.com/hotfix-project/hotfix/repo"
	"github.com/schollz/progressbar/v3"
)

// installSteps are the steps client.Install reports for each fix, in
// order (client/fixtxn.go, client/source.go); "done" ends a fix.
var installSteps = []string{"download", "verify", "test", "journal", "backup", "apply", "scripts", "commit", "done"}

// stepReporter is install's Progress: on a terminal one line per fix
// whose bar advances through the steps (the schollz/progressbar that
// download already draws, redrawn in place); elsewhere (a log, cron, a
// pipe) one plain line per step, which a log keeps and greps well.
type stepReporter struct {
	w       io.Writer
	bars    bool
	bar     *progressbar.ProgressBar
	current repo.Version
}

func newStepReporter(g *globalOptions) *stepReporter {
	if g.Quiet {
		return &stepReporter{}
	}
	return &stepReporter{w: g.stderr, bars: g.isTerminal(g.stderr)}
}

// step hears one step of one fix.
func (r *stepReporter) step(v repo.Version, step string) {
	switch {
	case r.w == nil:
		return
	case !r.bars:
		fmt.Fprintf(r.w, "%s: %s\n", v, step)
		return
	}
	if r.bar == nil || !r.current.Equal(v) {
		r.end()
		r.current = v
		r.bar = progressbar.NewOptions(len(installSteps), progressbar.OptionSetWriter(r.w),
			progressbar.OptionSetVisibility(true), progressbar.OptionSetWidth(20),
			progressbar.OptionSetPredictTime(false), progressbar.OptionShowCount())
	}
	n := slices.Index(installSteps, step) + 1
	r.bar.Describe(fmt.Sprintf("%-12s %-8s", v, step))
	_ = r.bar.Set(max(n, 1))
	if step == "done" {
		r.end()
	}
}

// end closes the current fix's line, finished or not (an error stops a
// fix midway: its line stays as far as it got).
func (r *stepReporter) end() {
	if r.bar == nil {
		return
	}
	fmt.Fprintln(r.w)
	r.bar = nil
}
