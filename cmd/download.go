package cmd

import (
	"context"
	"fmt"
	"io"

	"github.com/hotfix-project/hotfix/repo"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

type downloadOptions struct{ Version string }

func newDownloadCmd(g *globalOptions) *cobra.Command {
	opts := &downloadOptions{}
	return &cobra.Command{
		Use:   "download [VERSION]",
		Short: "Download pending fixes (up to VERSION) into the cache, verified",
		Long: `Download fetches the pending archives into cache_dir, resuming partial files,
never reading past the size the signed index declares, and verifying size
and sha256 before anything else touches them. Install later, even offline.`,
		Args:              cobra.MaximumNArgs(1),
		Annotations:       jsonCommand,
		ValidArgsFunction: completeAvailable(g),
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Version = args[0]
			}
			return runDownload(c.Context(), g, opts)
		},
	}
}

// downloadJSON is `download --json`.
type downloadJSON struct {
	Format     int                 `json:"format"`
	Downloaded []downloadJSONEntry `json:"downloaded"`
}

type downloadJSONEntry struct {
	Version string `json:"version"`
	Path    string `json:"path"`
	Size    int64  `json:"size"`
}

// downloadBars draws a progress bar per archive, on a terminal only: in a
// log it is noise.
func downloadBars(g *globalOptions) func(f repo.IndexFix) io.Writer {
	return func(f repo.IndexFix) io.Writer {
		if g.Quiet || !g.isTerminal(g.stderr) {
			return nil
		}
		return progressbar.NewOptions64(f.Size, progressbar.OptionSetWriter(g.stderr),
			progressbar.OptionSetDescription(f.File), progressbar.OptionShowBytes(true),
			progressbar.OptionSetVisibility(true), progressbar.OptionClearOnFinish())
	}
}

func runDownload(ctx context.Context, g *globalOptions, opts *downloadOptions) error {
	target, err := parseVersionArg(opts.Version)
	if err != nil {
		return err
	}
	cl, err := loadClient(g)
	if err != nil {
		return err
	}
	got, err := cl.Download(ctx, target, downloadBars(g))
	if g.JSON {
		out := downloadJSON{Format: jsonFormat, Downloaded: []downloadJSONEntry{}}
		for _, d := range got {
			out.Downloaded = append(out.Downloaded, downloadJSONEntry{Version: d.Fix.Version.String(), Path: d.Path, Size: d.Fix.Size})
		}
		if jerr := printJSON(g.stdout, out); jerr != nil && err == nil {
			err = jerr
		}
		return err
	}
	for _, d := range got {
		fmt.Fprintf(g.stdout, "downloaded %s → %s\n", d.Fix.Version, d.Path)
	}
	if err != nil {
		return err
	}
	if len(got) == 0 {
		fmt.Fprintln(g.stdout, "nothing to download: no fixes pending")
	}
	return nil
}
