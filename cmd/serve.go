package cmd

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/hotfix-project/hotfix/repo/publish"
	"github.com/hotfix-project/hotfix/server"
	"github.com/spf13/cobra"
)

type serveOptions struct {
	Repo string
	Addr string
}

func newServeCmd(g *globalOptions) *cobra.Command {
	o := &serveOptions{}
	c := &cobra.Command{
		Use:   "serve REPO",
		Short: "Serve a repository directory over HTTP",
		Long: `serve publishes the static repository REPO over HTTP, for testing, demos or a
small installation; any web server or CDN can serve the same directory.

Only GET and HEAD are answered; dot-files, directory listings and anything
outside REPO are not served. Archives (.fix, .rpm) are sent as immutable,
indexes, signatures and pages as must-revalidate. /healthz answers "ok".
Each request is logged to stderr (-q turns that off). SIGTERM or SIGINT
stops the server after in-flight requests finish.

The "serving" line on stdout names the bound address, so --addr
127.0.0.1:0 picks a free port that scripts can read.`,
		Example: `  hotfix serve ./repo
  hotfix serve /srv/hotfix --addr :8080`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			o.Repo = args[0]
			return runServe(c.Context(), g, o)
		},
	}
	c.Flags().StringVar(&o.Addr, "addr", "127.0.0.1:8080", "address to listen on (host:port; port 0 picks a free one)")
	return c
}

func runServe(ctx context.Context, g *globalOptions, o *serveOptions) error {
	if err := publish.CheckRepoRoot(o.Repo); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	// The access log is the point of running a server in the foreground, so
	// it shows at Info even without -v.
	level := slog.LevelInfo
	if g.Verbose {
		level = slog.LevelDebug
	}
	if g.Quiet {
		level = slog.LevelWarn
	}
	logger := slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: level}))
	h, err := server.New(o.Repo, server.Options{Logger: logger})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer h.Close()
	return server.ListenAndServe(ctx, o.Addr, h, logger, func(a net.Addr) {
		if !g.Quiet {
			fmt.Fprintf(g.stdout, "serving %s on http://%s/\n", o.Repo, a)
		}
	})
}
