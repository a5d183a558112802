package cmd

import (
	"errors"
	"fmt"
	"time"

	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/publish"
	"github.com/spf13/cobra"
)

type repoRolloutOptions struct {
	Repo    string
	Version string
	Product string
	Percent int
	Ramp    string
	Halt    bool
	Full    bool
	Testing bool
}

func newRepoRolloutCmd(g *globalOptions) *cobra.Command {
	opts := &repoRolloutOptions{}
	c := &cobra.Command{
		Use:   "rollout REPO VERSION --percent N [--ramp STEP/INTERVAL] | --halt | --full | --testing",
		Short: "Stage a fix's rollout: testing ring, a percentage (growing on a ramp), everyone, or halted",
		Long: `Rollout records how far a fix in the repository is released; the next
"hotfix repo build" signs it into the channel index, where every client reads
it. A fix never staged goes to every server.

  --testing          only servers with ring = "testing" (your staging servers)
  --percent N        the testing servers and N % of the others, from now;
                     a server's place (its bucket, 0-99) comes from its
                     machine id, the product and the base, so the same
                     servers go first for every fix of a base
  --ramp STEP/INTERVAL  with --percent: grow by STEP % every INTERVAL from
                     now, on the clients ("10%/6h", "5%/1d"): no rebuild needed
  --full             every server
  --halt             no server, testing ones included, until another stage

A held fix holds back the fixes after it. "hotfix repo add --testing" adds
fixes in the testing ring from the start.`,
		Example: `  hotfix repo add --testing ./repo shop-6.14.2.4.fix && hotfix repo build ./repo --key vendor.sec
  hotfix repo rollout ./repo 6.14.2.4 --percent 10 --ramp 10%/6h && hotfix repo build ./repo --key vendor.sec
  hotfix repo rollout ./repo 6.14.2.4 --halt && hotfix repo build ./repo --key vendor.sec`,
		Args:        cobra.ExactArgs(2),
		Annotations: jsonCommand,
		RunE: func(c *cobra.Command, args []string) error {
			opts.Repo, opts.Version = args[0], args[1]
			return runRepoRollout(c, g, opts)
		},
	}
	f := c.Flags()
	f.IntVar(&opts.Percent, "percent", 0, "open the fix to this share of stable servers (0-100), from now")
	f.StringVar(&opts.Ramp, "ramp", "", `with --percent: grow by STEP % every INTERVAL, such as "10%/6h"`)
	f.BoolVar(&opts.Halt, "halt", false, "hold the fix back from every server")
	f.BoolVar(&opts.Full, "full", false, "release the fix to every server")
	f.BoolVar(&opts.Testing, "testing", false, "release the fix to the testing ring only")
	f.StringVar(&opts.Product, "product", "", "the fix's product, when several have a channel of its base")
	return c
}

func runRepoRollout(c *cobra.Command, g *globalOptions, opts *repoRolloutOptions) error {
	v, err := parseVersionArg(opts.Version)
	if err != nil {
		return err
	}
	ch := publish.RolloutChange{Product: opts.Product, Version: *v, Testing: opts.Testing, Full: opts.Full, Halt: opts.Halt}
	stages := 0
	for _, set := range []bool{opts.Testing, opts.Full, opts.Halt, c.Flags().Changed("percent")} {
		if set {
			stages++
		}
	}
	if stages != 1 {
		return usagef("repo rollout: give exactly one of --percent N, --halt, --full or --testing")
	}
	if c.Flags().Changed("percent") {
		if opts.Percent < 0 || opts.Percent > 100 {
			return usagef("repo rollout: --percent %d: want 0 to 100", opts.Percent)
		}
		ch.Percent = &opts.Percent
	}
	if opts.Ramp != "" {
		if ch.Percent == nil {
			return usagef("repo rollout: --ramp grows a percentage: give --percent N too (such as --percent 10 --ramp %s)", opts.Ramp)
		}
		r, err := repo.ParseRamp(opts.Ramp)
		if err != nil {
			return usagef("repo rollout: --ramp: %v", err)
		}
		ch.Ramp = &r
	}
	res, err := publish.SetRollout(c.Context(), opts.Repo, ch, publish.RolloutOptions{Logger: g.logger})
	var ape *publish.AmbiguousProductError
	if errors.As(err, &ape) {
		return fmt.Errorf("repo rollout: %w (--product NAME)", err)
	}
	if err != nil {
		return fmt.Errorf("repo rollout: %w", err)
	}
	if g.JSON {
		return printJSON(g.stdout, repoRolloutJSON{Format: jsonFormat, Product: res.Product, Version: res.Version.String(),
			Before: rolloutOut(res.Before), After: rolloutOut(res.After)})
	}
	// A halted stage already names the stage it stopped ("halted (was 10
	// %)"); saying "(was: 10 %)" again after it only repeats it.
	was := " (was: " + res.Before.Stage() + ")"
	if res.After != nil && res.After.Halted {
		was = ""
	}
	fmt.Fprintf(g.stdout, "%s %s: %s%s; run hotfix repo build %s to sign it\n",
		res.Product, res.Version, res.After.Stage(), was, opts.Repo)
	return nil
}

// repoRolloutJSON is `repo rollout --json`: the fix's stage before and
// after, as the next build signs it.
type repoRolloutJSON struct {
	Format  int              `json:"format"`
	Product string           `json:"product"`
	Version string           `json:"version"`
	Before  rolloutStageJSON `json:"before"`
	After   rolloutStageJSON `json:"after"`
}

// rolloutStageJSON is one rollout stage. A fix never staged (or released
// in full) is the stable ring with no percentage: everyone. A halted
// stage keeps the ring and percentage it stopped.
type rolloutStageJSON struct {
	Stage   string           `json:"stage"` // "everyone", "testing", "percent" or "halted"
	Ring    string           `json:"ring"`  // "stable" or "testing"
	Percent *int             `json:"percent"`
	Start   *string          `json:"start"`
	Ramp    *rolloutRampJSON `json:"ramp"`
	Halted  bool             `json:"halted"`
}

type rolloutRampJSON struct {
	Step         int   `json:"step"`
	EverySeconds int64 `json:"every_seconds"`
}

func rolloutOut(r *repo.Rollout) rolloutStageJSON {
	out := rolloutStageJSON{Stage: "everyone", Ring: repo.RingStable}
	if r == nil {
		return out
	}
	out.Ring, out.Percent, out.Halted = r.Ring, r.Percent, r.Halted
	switch {
	case r.Halted:
		out.Stage = "halted"
	case r.Ring == repo.RingTesting:
		out.Stage = "testing"
	case r.Percent != nil:
		out.Stage = "percent"
	}
	if r.Start != nil {
		s := r.Start.UTC().Format(timeJSON)
		out.Start = &s
	}
	if r.Ramp != nil {
		out.Ramp = &rolloutRampJSON{Step: r.Ramp.Step, EverySeconds: int64(r.Ramp.Every / time.Second)}
	}
	return out
}
