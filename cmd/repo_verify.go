package cmd

import (
	"context"
	"fmt"
	"time"

	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/publish"
	"github.com/hotfix-project/hotfix/sign"
	"github.com/spf13/cobra"
)

type repoVerifyOptions struct {
	Repo         string
	Keyring      string
	MaxIndexSize int64
}

func newRepoVerifyCmd(g *globalOptions) *cobra.Command {
	opts := &repoVerifyOptions{}
	c := &cobra.Command{
		Use:   "verify REPO --keyring FILE|DIR",
		Short: "Check signatures, expiry, chains and every archive of a repository",
		Long: `Verify checks a repository the way clients will: the signatures of repo.json
and every index against --keyring, expiry, chain continuity, index sizes
against what clients read by default (--max-index-size), every archive's size
and sha256, and every archive's content read to its end as install reads it.
With key lists (keys/N.root.json, see "hotfix repo trust") it checks the
whole chain from version 1, anchored in the --keyring root keys, refuses an
expired newest list and warns 30 days before it expires; every index must
then be signed by a signing key of the newest list, under that version.
It lists every problem and exits 1 if there is any.`,
		Args:        cobra.ExactArgs(1),
		Annotations: jsonCommand,
		RunE: func(c *cobra.Command, args []string) error {
			opts.Repo = args[0]
			return runRepoVerify(c.Context(), g, opts)
		},
	}
	c.Flags().StringVar(&opts.Keyring, "keyring", "", "trusted public key file or directory (required)")
	c.Flags().Int64Var(&opts.MaxIndexSize, "max-index-size", repo.MaxIndexSize, "largest index.json clients read, in bytes: their max_index_size")
	return c
}

func runRepoVerify(ctx context.Context, g *globalOptions, opts *repoVerifyOptions) error {
	if opts.Keyring == "" {
		return usagef("repo verify: --keyring FILE|DIR is required")
	}
	if opts.MaxIndexSize <= 0 {
		return usagef("repo verify: --max-index-size must be a positive number of bytes")
	}
	kr, err := sign.LoadKeyring(opts.Keyring)
	if err != nil {
		return err
	}
	now := time.Now()
	problems, err := publish.VerifyRepo(ctx, opts.Repo, publish.VerifyOptions{
		Now:          now,
		MaxIndexSize: opts.MaxIndexSize,
		TrustedKeys:  kr.Fingerprints(),
		Logger:       g.logger,
		Check:        func(data, sig []byte) error { _, err := kr.Verify(data, sig, now); return err },
	})
	if err != nil {
		return fmt.Errorf("repo verify: %w", err)
	}
	failed := fmt.Errorf("repo verify: %s found in %s: fix each one above, then run \"hotfix repo build\" and verify again",
		plural(len(problems), "problem", "problems"), opts.Repo)
	if g.JSON {
		out := repoVerifyJSON{Format: jsonFormat, Repo: opts.Repo, OK: len(problems) == 0, Problems: []repoVerifyJSONProblem{}}
		for _, p := range problems {
			out.Problems = append(out.Problems, repoVerifyJSONProblem{Path: p.Path, Problem: p.Err.Error() + advice(p.Err)})
		}
		if err := printJSON(g.stdout, out); err != nil || out.OK {
			return err
		}
		return &exitCodeError{code: ExitError} // the problems are in the JSON
	}
	if len(problems) == 0 {
		fmt.Fprintf(g.stdout, "%s: OK\n", opts.Repo)
		return nil
	}
	for _, p := range problems {
		fmt.Fprintf(g.stdout, "%s%s\n", p, advice(p.Err))
	}
	return failed
}

// repoVerifyJSON is `repo verify --json`: exit 1 when ok is false.
type repoVerifyJSON struct {
	Format   int                     `json:"format"`
	Repo     string                  `json:"repo"`
	OK       bool                    `json:"ok"`
	Problems []repoVerifyJSONProblem `json:"problems"`
}

type repoVerifyJSONProblem struct {
	Path    string `json:"path"`
	Problem string `json:"problem"`
}
