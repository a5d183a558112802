package cmd

import (
	"context"
	"fmt"
	"time"

	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/publish"
	"github.com/spf13/cobra"
)

type repoExportOptions struct {
	Repo      string
	Product   string
	Base      string
	From      string
	Out       string
	Customers []string
}

func newRepoExportCmd(g *globalOptions) *cobra.Command {
	opts := &repoExportOptions{}
	c := &cobra.Command{
		Use:   "export REPO --product P --base B [--from VERSION] [--customer C]... --out FILE",
		Short: "Write one channel as a single file for air-gapped sites",
		Long: `Export writes one channel of a built repository as one file (a tar, see
README "Air-gapped sites"): the signed channel index and its signature as
published, the archives of every fix from --from on (default: all, with
their RPMs where the vendor ships them), the repository's keys/ folder
(public keys and every key list version), repo.json and the channel's
yum repodata where the repository has them, and, with --customer, that
customer's channel of the base (signed index and archives). Every
archive is checked against its index while it is written. The file appears only
once complete; SOURCE_DATE_EPOCH makes two exports of the same channel
byte-identical.

On the site, "hotfix install --from FILE" installs the pending chain from it
with the same checks as online, and "hotfix mirror FILE DIR" adds it to a
local mirror. The index inside expires like the published one: export
shortly before the bundle travels.`,
		Example: `  hotfix repo export ./repo --product acme --base 2.4.1 --out acme-2.4.1.tar
  hotfix repo export ./repo --product acme --base 2.4.1 --from 2.4.1.3 --out acme-2.4.1.3-on.tar
  hotfix repo export ./repo --product acme --base 2.4.1 --customer shop-a --out acme-2.4.1-shop-a.tar`,
		Args:        cobra.ExactArgs(1),
		Annotations: jsonCommand,
		RunE: func(c *cobra.Command, args []string) error {
			opts.Repo = args[0]
			return runRepoExport(c.Context(), g, opts)
		},
	}
	f := c.Flags()
	f.StringVar(&opts.Product, "product", "", "product of the channel (required)")
	f.StringVar(&opts.Base, "base", "", "base version of the channel (required)")
	f.StringVar(&opts.From, "from", "", "first fix whose archives the bundle carries (default: all)")
	f.StringVar(&opts.Out, "out", "", "bundle file to write (required)")
	f.StringArrayVar(&opts.Customers, "customer", nil, "also carry this customer's channel of the base (repeatable)")
	return c
}

func runRepoExport(ctx context.Context, g *globalOptions, opts *repoExportOptions) error {
	if opts.Product == "" || opts.Base == "" || opts.Out == "" {
		return usagef("repo export: --product, --base and --out are required")
	}
	base, err := repo.ParseVersion(opts.Base)
	if err != nil {
		return usagef("repo export: --base %s: %v", opts.Base, err)
	}
	from, err := parseVersionArg(opts.From)
	if err != nil {
		return err
	}
	epoch, err := repo.SourceDateEpoch()
	if err != nil {
		return err
	}
	res, err := publish.Export(ctx, opts.Repo, publish.ExportOptions{Product: opts.Product, Base: base, From: from, Out: opts.Out, ModTime: epoch, Customers: opts.Customers})
	if err != nil {
		return err
	}
	if g.JSON {
		return printJSON(g.stdout, repoExportJSON{Format: jsonFormat, Product: opts.Product, Base: base.String(), Serial: res.Index.Serial,
			Out: opts.Out, Archives: res.Archives, Keys: res.Keys, Repodata: res.Repodata, RepoJSON: res.Root,
			CustomerChannels: res.Customers, Bytes: res.Bytes, Expires: res.Index.Expires.UTC().Format(timeJSON)})
	}
	extra := ""
	if res.Customers > 0 {
		extra = fmt.Sprintf(", %d customer channels", res.Customers)
	}
	if res.Repodata {
		extra += ", repodata"
	}
	fmt.Fprintf(g.stdout, "exported %s %s serial %d (%d archives, %d key files%s, %d bytes) to %s; its index expires on %s\n",
		opts.Product, base, res.Index.Serial, res.Archives, res.Keys, extra, res.Bytes, opts.Out, res.Index.Expires.UTC().Format(time.RFC3339))
	return nil
}

// repoExportJSON is `repo export --json`.
type repoExportJSON struct {
	Format           int    `json:"format"`
	Product          string `json:"product"`
	Base             string `json:"base"`
	Serial           int64  `json:"serial"` // of the channel index carried
	Out              string `json:"out"`
	Archives         int    `json:"archives"` // of the channel and of its customers
	Keys             int    `json:"keys"`     // files of keys/
	Repodata         bool   `json:"repodata"`
	RepoJSON         bool   `json:"repo_json"`
	CustomerChannels int    `json:"customer_channels"`
	Bytes            int64  `json:"bytes"`
	Expires          string `json:"expires"` // the index's expiry: the bundle is good until then
}
