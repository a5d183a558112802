package cmd

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hotfix-project/hotfix/repo/publish"
	"github.com/hotfix-project/hotfix/sign"
	"github.com/spf13/cobra"
)

type repoTrustOptions struct {
	Repo      string
	RootKeys  []string
	Signing   []string
	Roots     []string
	Threshold int
	Expires   days
}

func newRepoTrustCmd(g *globalOptions) *cobra.Command {
	opts := &repoTrustOptions{Expires: days(publish.DefaultKeyListExpires)}
	c := &cobra.Command{
		Use:   "trust REPO --root-key ROOT.sec [--root-key ...] --signing SIGNING.pub [--signing ...]",
		Short: "Write the next version of the key list: root keys, their threshold and the signing keys",
		Long: `Trust writes keys/N.root.json, the next version of the repository's key list,
and its signature keys/N.root.json.asc. The list names the root keys (kept
offline; servers hold their public parts in trusted_keys), how many of them
must sign the next version (--threshold), and the signing keys whose index
signatures servers accept (--signing). Every --root-key signs the new
version: a threshold of the previous version's root keys and a threshold of
the new version's must be among them.

The new version's root keys are the --root public keys, or without --root
the public parts of the --root-key keys. To rotate a root key, sign with the
old and the new one and name the new one with --root. A signing key left
out is revoked: servers refuse an index it signs.

Then run "hotfix repo build --key SIGNING.sec" so every index is signed
under the new version, and publish keys/ together with the indexes.
The keys' passphrase, if any, comes from $` + passphraseEnv + `.`,
		Example: `  hotfix repo trust ./repo --root-key root1.sec --signing sign1.pub
  hotfix repo trust ./repo --root-key root1.sec --signing sign2.pub
  hotfix repo trust ./repo --root-key root1.sec --root-key root2.sec --root root2.pub --signing sign2.pub`,
		Args:        cobra.ExactArgs(1),
		Annotations: jsonCommand,
		RunE: func(c *cobra.Command, args []string) error {
			opts.Repo = args[0]
			return runRepoTrust(c.Context(), g, opts)
		},
	}
	c.Flags().StringArrayVar(&opts.RootKeys, "root-key", nil, "secret root key that signs the new version (repeat for several; required)")
	c.Flags().StringArrayVar(&opts.Signing, "signing", nil, "public signing key whose index signatures count (repeat for several; required)")
	c.Flags().StringArrayVar(&opts.Roots, "root", nil, "public root key of the new version (repeat; default: the --root-key keys)")
	c.Flags().IntVar(&opts.Threshold, "threshold", 1, "how many root keys must sign the next version")
	c.Flags().Var(&opts.Expires, "expires", "how long the new version stays valid (e.g. 365d, 8760h)")
	return c
}

func runRepoTrust(ctx context.Context, g *globalOptions, opts *repoTrustOptions) error {
	if len(opts.RootKeys) == 0 {
		return usagef("repo trust: --root-key ROOT.sec is required (the root keys sign the key list)")
	}
	if len(opts.Signing) == 0 {
		return usagef("repo trust: --signing SIGNING.pub is required (the keys that sign indexes)")
	}
	if opts.Threshold < 1 {
		return usagef("repo trust: --threshold must be 1 or more")
	}
	var signers []*sign.Signer
	for _, p := range opts.RootKeys {
		s, err := sign.LoadSigner(p, []byte(os.Getenv(passphraseEnv)))
		if err != nil {
			return err
		}
		signers = append(signers, s)
	}
	roots, err := readFiles(opts.Roots)
	if err != nil {
		return err
	}
	signing, err := readFiles(opts.Signing)
	if err != nil {
		return err
	}
	res, err := publish.Trust(ctx, opts.Repo, publish.TrustOptions{
		RootSigners: signers, Roots: roots, Signing: signing, Threshold: opts.Threshold,
		Expires: time.Duration(opts.Expires), Logger: g.logger,
	})
	if err != nil {
		return fmt.Errorf("repo trust: %w", err)
	}
	kl := res.List
	if g.JSON {
		if err := printJSON(g.stdout, repoTrustOut(res)); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(g.stdout, "key list version %d: %s\n  root keys (threshold %d): %s\n  signing keys: %s\n  expires: %s\n",
			kl.Version, res.Path, kl.Root.Threshold, strings.Join(kl.RootFingerprints(), ", "),
			strings.Join(kl.SigningFingerprints(), ", "), kl.Expires.Format(time.RFC3339))
	}
	// The next step is advice for the vendor, on stderr: --json keeps it.
	if !g.Quiet {
		fmt.Fprintf(g.stderr, "next: hotfix repo build %s --key SIGNING.sec (one of the signing keys above), then publish keys/ with the indexes\n", opts.Repo)
	}
	return nil
}

// repoTrustJSON is `repo trust --json`: the key list version written.
type repoTrustJSON struct {
	Format      int      `json:"format"`
	Version     int64    `json:"version"`
	Previous    *int64   `json:"previous"` // null for the first version
	Path        string   `json:"path"`     // keys/N.root.json; its signature is beside it
	Threshold   int      `json:"threshold"`
	RootKeys    []string `json:"root_keys"` // fingerprints
	SigningKeys []string `json:"signing_keys"`
	Expires     string   `json:"expires"`
}

func repoTrustOut(res *publish.TrustResult) repoTrustJSON {
	kl := res.List
	out := repoTrustJSON{Format: jsonFormat, Version: kl.Version, Path: res.Path, Threshold: kl.Root.Threshold,
		RootKeys: orEmpty(kl.RootFingerprints()), SigningKeys: orEmpty(kl.SigningFingerprints()), Expires: kl.Expires.UTC().Format(timeJSON)}
	if res.Previous != nil {
		out.Previous = &res.Previous.Version
	}
	return out
}

func readFiles(paths []string) ([][]byte, error) {
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// days is a duration flag that also takes whole days ("365d").
type days time.Duration

func (d *days) String() string { return time.Duration(*d).String() }
func (d *days) Type() string   { return "duration" }
func (d *days) Set(s string) error {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		v, err := strconv.Atoi(n)
		if err != nil || v <= 0 {
			return fmt.Errorf("%q: want a positive number of days (365d) or a duration (8760h)", s)
		}
		*d = days(time.Duration(v) * 24 * time.Hour)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v <= 0 {
		return fmt.Errorf("%q: want a positive number of days (365d) or a duration (8760h)", s)
	}
	*d = days(v)
	return nil
}
