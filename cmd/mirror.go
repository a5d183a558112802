package cmd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/mirror"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/sign"
	"github.com/spf13/cobra"
)

type mirrorOptions struct {
	Source    string
	Dir       string
	Keyring   string
	Product   string
	Base      string
	Customers []string
	MinRate   int64
	StallTime time.Duration
	Retries   int
}

func newMirrorCmd(g *globalOptions) *cobra.Command {
	o := &mirrorOptions{}
	c := &cobra.Command{
		Use:   "mirror SOURCE DIR --keyring FILE|DIR [--product P] [--base B]",
		Short: "Copy a repository or an export bundle into a local mirror, verified",
		Long: `Mirror copies the repository at SOURCE (an http(s) URL, a directory, or an
export bundle from "hotfix repo export") into DIR, byte for byte and nothing
re-signed: clients verify the mirror with the vendor's key, and "hotfix
serve DIR" or any static host serves it.

Everything is verified against --keyring before anything is kept, as a
client verifies it: where the source has a key list (keys/N.root.json),
--keyring holds the vendor's root keys and the list is walked from them,
each version signed by the previous one's root keys, and indexes count
only by the newest version's signing keys; repo.json and each channel's
index (signature, expiry, and a serial never lower than the one DIR
holds: a source that goes backwards is refused), every archive's size and
sha256, the yum repodata. Then the files are put in place in the safe
order (archives, repodata, keys/, indexes and their signatures, repo.json
last), and the repodata files the new repomd.xml no longer names are
removed. The next run fetches only what is new; a run cut off
resumes where it stopped (DIR/.mirror holds what it had fetched). --product
and --base choose channels. Customer channels (PRODUCT/BASE/custom/CUSTOMER)
come along from a directory and a bundle; over HTTP, where nothing lists
them, name each with --customer. The HTML pages and feeds are not mirrored (unsigned).`,
		Example: `  hotfix mirror https://fixes.acme.example/ /srv/hotfix --keyring /etc/hotfix/keys
  hotfix mirror acme-2.4.1.tar /srv/hotfix --keyring /etc/hotfix/keys`,
		Args:        cobra.ExactArgs(2),
		Annotations: jsonCommand,
		RunE: func(c *cobra.Command, args []string) error {
			o.Source, o.Dir = args[0], args[1]
			return runMirror(c.Context(), g, o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.Keyring, "keyring", "", "the vendor's public key file or directory (required)")
	f.StringVar(&o.Product, "product", "", "mirror only this product's channels")
	f.StringVar(&o.Base, "base", "", "mirror only the channels of this base")
	f.StringSliceVar(&o.Customers, "customer", nil, "also mirror this customer's channels (repeat or comma-separate; needed over HTTP)")
	// The client's default: a mirror has the deadlines a server's check has
	// (with 0, only a transfer that sends nothing at all was cut off).
	f.Int64Var(&o.MinRate, "min-rate", client.DefaultMinRate, "abort a transfer slower than this many bytes/s over --stall-time")
	f.DurationVar(&o.StallTime, "stall-time", 30*time.Second, "the window --min-rate is measured over")
	f.IntVar(&o.Retries, "retries", 2, "further attempts after a failed transfer")
	return c
}

func runMirror(ctx context.Context, g *globalOptions, o *mirrorOptions) error {
	if o.Keyring == "" {
		return usagef("mirror: --keyring FILE|DIR is required: the vendor's public key, checked out of band")
	}
	if o.MinRate < 0 || o.StallTime <= 0 || o.Retries < 0 {
		return usagef("mirror: --min-rate, --stall-time and --retries must not be negative")
	}
	var base *repo.Version
	if o.Base != "" {
		v, err := repo.ParseVersion(o.Base)
		if err != nil {
			return usagef("mirror: --base %s: %v", o.Base, err)
		}
		base = &v
	}
	kr, err := sign.LoadKeyring(o.Keyring)
	if err != nil {
		return err
	}
	res, err := mirror.Mirror(ctx, mirror.Options{Source: o.Source, Dir: o.Dir, Keyring: kr, KeyringPath: o.Keyring, Product: o.Product, Base: base, Customers: o.Customers, Log: g.logger,
		Network: client.Network{MinRate: o.MinRate, StallTime: client.Duration{Duration: o.StallTime}, Retries: o.Retries}})
	if errors.Is(err, mirror.ErrRollback) {
		return fmt.Errorf("%w: nothing was changed in %s; if the vendor really went back, mirror into a new directory", err, o.Dir)
	}
	var cc *mirror.ChannelChoiceError
	if errors.As(err, &cc) {
		return channelChoiceAdvice(err, cc, o)
	}
	if err != nil {
		return err
	}
	if g.JSON {
		return printJSON(g.stdout, mirrorOut(res, o))
	}
	for _, ch := range res.Channels {
		fmt.Fprintf(g.stdout, "%s %s: serial %d, %d fixes\n", ch.Product, ch.Base, ch.Serial, ch.Fixes)
	}
	fmt.Fprintf(g.stdout, "mirrored %s into %s: %d files fetched, %d already held, %d metadata files updated", o.Source, o.Dir, res.Fetched, res.Kept, res.Updated)
	if res.Removed > 0 {
		fmt.Fprintf(g.stdout, ", %d stale repodata files removed", res.Removed)
	}
	fmt.Fprintln(g.stdout)
	return nil
}

// mirrorJSON is `mirror --json`.
type mirrorJSON struct {
	Format   int                 `json:"format"`
	Source   string              `json:"source"`
	Dir      string              `json:"dir"`
	Channels []mirrorJSONChannel `json:"channels"`
	Fetched  int                 `json:"fetched"` // archives and repodata files fetched
	Kept     int                 `json:"kept"`    // archives already held, byte for byte
	Updated  int                 `json:"updated"` // metadata files written because they changed
	Removed  int                 `json:"removed"` // stale repodata files removed
}

type mirrorJSONChannel struct {
	Product string `json:"product"`
	Base    string `json:"base"`
	Serial  int64  `json:"serial"`
	Fixes   int    `json:"fixes"`
}

func mirrorOut(res *mirror.Result, o *mirrorOptions) mirrorJSON {
	out := mirrorJSON{Format: jsonFormat, Source: o.Source, Dir: o.Dir, Channels: []mirrorJSONChannel{},
		Fetched: res.Fetched, Kept: res.Kept, Updated: res.Updated, Removed: res.Removed}
	for _, ch := range res.Channels {
		out.Channels = append(out.Channels, mirrorJSONChannel{Product: ch.Product, Base: ch.Base.String(), Serial: ch.Serial, Fixes: ch.Fixes})
	}
	return out
}

// channelChoiceAdvice says what to run instead when the source holds
// none of the channels --product and --base chose: the command that
// mirrors what it holds, and, for a bundle, how to get one of the chosen
// channel.
func channelChoiceAdvice(err error, cc *mirror.ChannelChoiceError, o *mirrorOptions) error {
	if len(cc.Have) == 0 {
		return fmt.Errorf("%w; the source publishes no channel yet: ask the vendor to build it", err)
	}
	run := func(c mirror.ChannelID) string {
		return fmt.Sprintf("hotfix mirror %s %s --keyring %s --product %s --base %s", o.Source, o.Dir, o.Keyring, c.Product, c.Base)
	}
	if !cc.Bundle {
		return fmt.Errorf("%w; to mirror %s, run: %s (or leave out --product and --base to mirror every channel)", err, cc.Have[0], run(cc.Have[0]))
	}
	want := "--product P --base B"
	if o.Product != "" && o.Base != "" {
		want = "--product " + o.Product + " --base " + o.Base
	}
	return fmt.Errorf("%w; to mirror the bundle's channel, run: %s (or leave out --product and --base); for %s, ask for a bundle of it (hotfix repo export REPO %s --out FILE)",
		err, run(cc.Have[0]), cc.Chosen, want)
}
