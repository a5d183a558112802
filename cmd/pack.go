package cmd

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/fixarchive"
	"github.com/hotfix-project/hotfix/repo/rpm"
	"github.com/hotfix-project/hotfix/sign"
	"github.com/spf13/cobra"
)

type packOptions struct {
	SrcDir   string
	OutDir   string
	Format   string
	KeyPath  string
	Compress string
}

func newPackCmd(g *globalOptions) *cobra.Command {
	opts := &packOptions{}
	c := &cobra.Command{
		Use:   "pack SRCDIR",
		Short: "Pack a fix source directory into a signed-repository-ready archive",
		Long: `Pack reads SRCDIR/fix.toml, SRCDIR/files/ and SRCDIR/scripts/, checks them,
and writes PRODUCT-VERSION.fix (a tar stream, manifest.json first) into --out.
Every problem is listed with its file and line.

The tar stream is compressed with zstd by default (about ten times faster
than xz to pack and to install, a few percent larger), or with xz for sites
that want xz-utils (--compress xz). Either way it is cut into 2 MiB chunks
compressed on up to four cores; "tar --zstd -tf" or "tar -tJf" lists it.

--format rpm writes PRODUCT-hotfix-V-1-0.noarch.rpm instead (V is the version
with '_' for '.'), and --format fix,rpm both: the same content, delivered under
/var/lib/hotfix/incoming/PRODUCT/VERSION/, requiring the previous fix's package,
with a %post that runs "hotfix install --from" that directory unless
HOTFIX_NO_INSTALL=1. --key signs the RPM so that "rpm -K" passes once the
public key is imported (passphrase from $HOTFIX_KEY_PASSPHRASE).

The same source and SOURCE_DATE_EPOCH give byte-identical archives.`,
		Example: `  hotfix pack ./fixes/6.14.2.3 --out ./outgoing
  hotfix pack ./fixes/6.14.2.3 --out ./outgoing --format fix,rpm --key vendor.sec`,
		Args:        cobra.ExactArgs(1),
		Annotations: jsonCommand,
		RunE: func(c *cobra.Command, args []string) error {
			opts.SrcDir = args[0]
			return runPack(c.Context(), g, opts)
		},
	}
	c.Flags().StringVar(&opts.OutDir, "out", ".", "directory to write the archive into")
	c.Flags().StringVar(&opts.Format, "format", "fix", "archive formats: fix, rpm or fix,rpm")
	c.Flags().StringVar(&opts.KeyPath, "key", "", "armored OpenPGP secret key to sign RPMs with")
	c.Flags().StringVar(&opts.Compress, "compress", "zstd", "compression of the .fix archive: zstd or xz")
	return c
}

// packJSON is `pack --json`.
type packJSON struct {
	Format   int      `json:"format"`
	Product  string   `json:"product"`
	Version  string   `json:"version"`
	Archives []string `json:"archives"`
}

func runPack(ctx context.Context, g *globalOptions, opts *packOptions) error {
	formats := map[string]bool{}
	for _, f := range strings.Split(opts.Format, ",") {
		if f != "fix" && f != "rpm" {
			return usagef("--format %q: supported formats: fix, rpm, fix,rpm", opts.Format)
		}
		formats[f] = true
	}
	comp, err := fixarchive.ParseCompression(opts.Compress)
	if err != nil {
		return usagef("--compress %q: supported: zstd (the default), xz", opts.Compress)
	}
	var paths []string
	var m *repo.Manifest
	if formats["fix"] {
		path, fm, err := fixarchive.Pack(ctx, opts.SrcDir, opts.OutDir, fixarchive.PackOptions{Logger: g.logger, Compression: comp})
		if err != nil {
			return fmt.Errorf("pack %s:\n%w", opts.SrcDir, err)
		}
		paths, m = append(paths, path), fm
	}
	if formats["rpm"] {
		ro := rpm.PackOptions{}
		if opts.KeyPath != "" {
			signer, err := sign.LoadSigner(opts.KeyPath, []byte(os.Getenv(passphraseEnv)))
			if err != nil {
				return err
			}
			// Signed with SOURCE_DATE_EPOCH as the signature time, the same
			// source gives the same bytes; without it, now.
			if os.Getenv("SOURCE_DATE_EPOCH") != "" {
				epoch, err := repo.SourceDateEpoch()
				if err != nil {
					return err
				}
				signer = signer.WithClock(func() time.Time { return epoch })
			}
			ro.Signer = signer
		}
		path, rm, err := rpm.Pack(ctx, opts.SrcDir, opts.OutDir, ro)
		if err != nil {
			return fmt.Errorf("pack %s:\n%w", opts.SrcDir, err)
		}
		paths, m = append(paths, path), rm
	} else if opts.KeyPath != "" {
		return usagef("--key signs RPMs: use it with --format rpm or fix,rpm")
	}
	if !g.Quiet {
		fmt.Fprintf(g.stderr, "packed %s %s: %s, %s, %s, %s\n", m.Product, m.Version,
			plural(len(m.Files), "file", "files"), plural(len(m.Scripts), "script", "scripts"),
			plural(len(m.Delete), "deletion", "deletions"), plural(len(m.Bugs), "bug", "bugs"))
	}
	if g.JSON {
		return printJSON(g.stdout, packJSON{Format: jsonFormat, Product: m.Product, Version: m.Version.String(), Archives: paths})
	}
	for _, p := range paths {
		fmt.Fprintln(g.stdout, p)
	}
	return nil
}
