package cmd

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/sign"
	"github.com/spf13/cobra"
)

func newRepoCmd(g *globalOptions) *cobra.Command {
	c := groupCommand(&cobra.Command{
		Use:   "repo",
		Short: "Manage a static hotfix repository (vendor side)",
		Long: `A hotfix repository is a directory of PRODUCT/BASE/ channels holding fix
archives, signed indexes and HTML pages. Publish it with "hotfix serve" or
copy it to any static web host (archives first, then indexes, then signatures).`,
	})
	c.AddCommand(newRepoAddCmd(g), newRepoBuildCmd(g), newRepoVerifyCmd(g))
	return c
}

type repoAddOptions struct {
	Repo     string
	Archives []string
}

func newRepoAddCmd(g *globalOptions) *cobra.Command {
	opts := &repoAddOptions{}
	return &cobra.Command{
		Use:   "add REPO ARCHIVE...",
		Short: "Verify fix archives and add them to the repository",
		Long: `Add verifies each archive against its own manifest and places it under
REPO/PRODUCT/BASE/. It refuses a gap in a chain (archives added together may
close it) and a different archive for a version already present; adding an
identical archive again does nothing. Run "hotfix repo build" afterwards.`,
		Example: `  hotfix repo add ./repo outgoing/shop-6.14.2.1.fix outgoing/shop-6.14.2.2.fix`,
		Args:    argsUsage(cobra.MinimumNArgs(2)),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Repo, opts.Archives = args[0], args[1:]
			return runRepoAdd(c.Context(), g, opts)
		},
	}
}

// batchGC lets the one-shot vendor batch commands (repo add, repo build)
// trade memory for speed. They load caches of several MB and allocate tens
// of MB within a fraction of a second, nearly all of it live until the end:
// at Go's default GOGC=100 the collector took a quarter of an incremental
// build of 2000 packages. A GOGC the user set wins.
func batchGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}

func runRepoAdd(ctx context.Context, g *globalOptions, opts *repoAddOptions) error {
	batchGC()
	res, err := repo.Add(ctx, opts.Repo, opts.Archives, repo.AddOptions{Logger: g.logger})
	if err != nil {
		return fmt.Errorf("repo add: %w (the repository was not changed)", err)
	}
	for _, p := range res.Added {
		fmt.Fprintf(g.stdout, "added %s\n", p)
	}
	for _, p := range res.Unchanged {
		fmt.Fprintf(g.stdout, "unchanged %s (identical archive already present)\n", p)
	}
	return nil
}

type repoBuildOptions struct {
	Repo    string
	KeyPath string
	Expires time.Duration
}

func newRepoBuildCmd(g *globalOptions) *cobra.Command {
	opts := &repoBuildOptions{}
	c := &cobra.Command{
		Use:   "build REPO --key SECRET",
		Short: "Write and sign the channel indexes, repo.json and the HTML fix pages",
		Long: `Build writes for every channel index.json and its detached armored signature
index.json.asc, index.html for people, then repo.json and repo.json.asc, the
public key under keys/ and a top-level index.html. Each build raises every
channel's serial by one; indexes expire after --expires (default 30 days), so
rebuild well before that (e.g. weekly from cron).

The key's passphrase, if any, comes from $HOTFIX_KEY_PASSPHRASE.`,
		Example: `  hotfix repo build ./repo --key vendor.sec --expires 720h`,
		Args:    argsUsage(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Repo = args[0]
			return runRepoBuild(c.Context(), g, opts)
		},
	}
	c.Flags().StringVar(&opts.KeyPath, "key", "", "armored OpenPGP secret key to sign with (required)")
	c.Flags().DurationVar(&opts.Expires, "expires", repo.DefaultExpires, "how long the signed indexes stay valid")
	return c
}

func runRepoBuild(ctx context.Context, g *globalOptions, opts *repoBuildOptions) error {
	if opts.KeyPath == "" {
		return usagef("repo build: --key SECRET is required (make one with \"hotfix key generate\")")
	}
	if opts.Expires <= 0 {
		return usagef("repo build: --expires must be positive")
	}
	batchGC()
	signer, err := sign.LoadSigner(opts.KeyPath, []byte(os.Getenv(passphraseEnv)))
	if err != nil {
		return err
	}
	res, err := repo.Build(ctx, opts.Repo, repo.BuildOptions{Signer: signer, Expires: opts.Expires, Logger: g.logger})
	if err != nil {
		return fmt.Errorf("repo build: %w", err)
	}
	for _, ch := range res.Channels {
		latest := "no fixes"
		if ch.Latest != nil {
			latest = "latest " + ch.Latest.String()
		}
		fmt.Fprintf(g.stdout, "%s %s: serial %d, %d fixes, %s\n", ch.Product, ch.Base, ch.Serial, ch.Fixes, latest)
	}
	if !g.Quiet {
		fmt.Fprintf(g.stderr, "built %d channels (%d archives read), signed with %s\n", len(res.Channels), res.Hashed, signer.Fingerprint())
	}
	return nil
}

type repoVerifyOptions struct {
	Repo    string
	Keyring string
}

func newRepoVerifyCmd(g *globalOptions) *cobra.Command {
	opts := &repoVerifyOptions{}
	c := &cobra.Command{
		Use:   "verify REPO --keyring FILE|DIR",
		Short: "Check signatures, expiry, chains and every archive of a repository",
		Long: `Verify checks a repository the way clients will: the signatures of repo.json
and every index against --keyring, expiry, chain continuity, and every
archive's size and sha256. It lists every problem and exits 1 if there is any.`,
		Args: argsUsage(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Repo = args[0]
			return runRepoVerify(c.Context(), g, opts)
		},
	}
	c.Flags().StringVar(&opts.Keyring, "keyring", "", "trusted public key file or directory (required)")
	return c
}

func runRepoVerify(ctx context.Context, g *globalOptions, opts *repoVerifyOptions) error {
	if opts.Keyring == "" {
		return usagef("repo verify: --keyring FILE|DIR is required")
	}
	kr, err := sign.LoadKeyring(opts.Keyring)
	if err != nil {
		return err
	}
	now := time.Now()
	problems, err := repo.VerifyRepo(ctx, opts.Repo, repo.VerifyOptions{
		Now:   now,
		Check: func(data, sig []byte) error { _, err := kr.Verify(data, sig, now); return err },
	})
	if err != nil {
		return fmt.Errorf("repo verify: %w", err)
	}
	if len(problems) == 0 {
		fmt.Fprintf(g.stdout, "%s: OK\n", opts.Repo)
		return nil
	}
	for _, p := range problems {
		fmt.Fprintf(g.stdout, "%s\n", p)
	}
	return fmt.Errorf("repo verify: %d problems found in %s: fix each one above, then run \"hotfix repo build\" and verify again", len(problems), opts.Repo)
}
