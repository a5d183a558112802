package cmd

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/publish"
	"github.com/hotfix-project/hotfix/sign"
	"github.com/spf13/cobra"
)

type repoBuildOptions struct {
	Repo         string
	KeyPath      string
	Expires      time.Duration
	MaxIndexSize int64
	BugURL       string
	bugURLSet    bool
}

func newRepoBuildCmd(g *globalOptions) *cobra.Command {
	opts := &repoBuildOptions{}
	c := &cobra.Command{
		Use:   "build REPO --key SECRET",
		Short: "Write and sign the channel indexes, repo.json and the HTML fix pages",
		Long: `Build writes for every channel index.json and its detached armored signature
index.json.asc, index.html for people, then repo.json and repo.json.asc, the
public key under keys/ and a top-level index.html. Each build raises every
channel's serial by one; indexes expire after --expires (default 30 days, at
least 1h), so rebuild well before that (e.g. weekly from cron).

An index larger than clients read by default ([network] max_index_size,
8 MiB) is refused: no client with the default could use it. If every
client has raised its limit, --max-index-size raises the build's.

--bug-url links the bug ids on the pages to the vendor's tracker ("{id}" is
replaced by the id); the repository keeps it for later builds, and
--bug-url "" stops linking.

With a key list (keys/N.root.json, see "hotfix repo trust") --key must be a
signing key the newest version names, and every index records that version
(key_list); a list that expired is refused and one expiring within 30 days
is warned about.

The key's passphrase, if any, comes from $HOTFIX_KEY_PASSPHRASE.`,
		Example: `  hotfix repo build ./repo --key vendor.sec --expires 720h
  hotfix repo build ./repo --key vendor.sec --bug-url 'https://bugs.example.com/browse/{id}'`,
		Args:        cobra.ExactArgs(1),
		Annotations: jsonCommand,
		RunE: func(c *cobra.Command, args []string) error {
			opts.Repo = args[0]
			opts.bugURLSet = c.Flags().Changed("bug-url")
			return runRepoBuild(c.Context(), g, opts)
		},
	}
	c.Flags().StringVar(&opts.KeyPath, "key", "", "armored OpenPGP secret key to sign with (required)")
	c.Flags().DurationVar(&opts.Expires, "expires", publish.DefaultExpires, "how long the signed indexes stay valid (at least 1h)")
	c.Flags().Int64Var(&opts.MaxIndexSize, "max-index-size", repo.MaxIndexSize, "largest index.json to publish, in bytes: the clients' max_index_size")
	c.Flags().StringVar(&opts.BugURL, "bug-url", "", "link bug ids on the pages: a URL with {id}, kept for later builds (\"\" stops linking)")
	return c
}

func runRepoBuild(ctx context.Context, g *globalOptions, opts *repoBuildOptions) error {
	if opts.KeyPath == "" {
		return usagef("repo build: --key SECRET is required (make one with \"hotfix key generate\")")
	}
	if opts.Expires <= 0 {
		return usagef("repo build: --expires must be positive")
	}
	if opts.Expires < publish.MinExpires {
		return usagef("repo build: --expires %s is shorter than %s: clients would receive indexes expired or about to expire; give e.g. --expires 168h", opts.Expires, publish.MinExpires)
	}
	if opts.MaxIndexSize <= 0 {
		return usagef("repo build: --max-index-size must be a positive number of bytes")
	}
	batchGC()
	signer, err := sign.LoadSigner(opts.KeyPath, []byte(os.Getenv(passphraseEnv)))
	if err != nil {
		return err
	}
	bo := publish.BuildOptions{Signer: signer, Expires: opts.Expires, MaxIndexSize: opts.MaxIndexSize, Logger: g.logger}
	if opts.bugURLSet {
		bo.BugURL = &opts.BugURL
	}
	res, err := publish.Build(ctx, opts.Repo, bo)
	if err != nil {
		return fmt.Errorf("repo build: %w", err)
	}
	if g.JSON {
		return printJSON(g.stdout, repoBuildOut(res, signer.Fingerprint()))
	}
	for _, ch := range res.Channels {
		latest := "no fixes"
		if ch.Latest != nil {
			latest = "latest " + ch.Latest.String()
		}
		fmt.Fprintf(g.stdout, "%s %s: serial %d, %s, %s\n", ch.Product, ch.Base, ch.Serial, plural(ch.Fixes, "fix", "fixes"), latest)
	}
	for _, cc := range res.Customers {
		fmt.Fprintf(g.stdout, "%s %s customer %s: serial %d, %d customer fixes\n", cc.Product, cc.Base, cc.Customer, cc.Serial, cc.Fixes)
	}
	if !g.Quiet {
		under := ""
		if res.KeyList != nil {
			under = fmt.Sprintf(" under key list version %d", res.KeyList.Version)
		}
		fmt.Fprintf(g.stderr, "built %s (%s read), signed with %s%s\n", plural(len(res.Channels), "channel", "channels"),
			plural(res.Hashed, "archive", "archives"), signer.Fingerprint(), under)
	}
	return nil
}

// repoBuildJSON is `repo build --json`.
type repoBuildJSON struct {
	Format     int                    `json:"format"`
	Channels   []repoBuildJSONChannel `json:"channels"`
	Hashed     int                    `json:"hashed"` // archives read because the catalog did not know them
	SignedWith string                 `json:"signed_with"`
}

type repoBuildJSONChannel struct {
	Product string  `json:"product"`
	Base    string  `json:"base"`
	Serial  int64   `json:"serial"`
	Fixes   int     `json:"fixes"`
	Latest  *string `json:"latest"`
}

func repoBuildOut(res *publish.BuildResult, fingerprint string) repoBuildJSON {
	out := repoBuildJSON{Format: jsonFormat, Channels: []repoBuildJSONChannel{}, Hashed: res.Hashed, SignedWith: fingerprint}
	for _, ch := range res.Channels {
		c := repoBuildJSONChannel{Product: ch.Product, Base: ch.Base.String(), Serial: ch.Serial, Fixes: ch.Fixes}
		if ch.Latest != nil {
			l := ch.Latest.String()
			c.Latest = &l
		}
		out.Channels = append(out.Channels, c)
	}
	return out
}
