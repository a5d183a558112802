package cmd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/server"
	"github.com/hotfix-project/hotfix/sign"
	"github.com/spf13/cobra"
)

type demoOptions struct {
	Dir  string
	Keep bool
}

func newDemoCmd(g *globalOptions) *cobra.Command {
	opts := &demoOptions{}
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole story on an embedded sample: vendor builds and serves, a server installs",
		Long: `Demo plays both halves of hotfix on the embedded sample product "acme" 2.4.1
with three chained fixes, in a scratch directory, touching nothing else:

  vendor: generate a signing key, pack the fixes, add them to a repository,
          build and sign the indexes, serve the repository on 127.0.0.1
  server: check, install in chain order into a sandbox root, show status,
          roll the newest fix back

Every step is printed with the equivalent command.`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error { return runDemo(c.Context(), g, opts) },
	}
	c.Flags().StringVar(&opts.Dir, "dir", "", "work in this directory (default: a new temporary one)")
	c.Flags().BoolVar(&opts.Keep, "keep", false, "keep the scratch directory to look around afterwards")
	return c
}

func runDemo(ctx context.Context, g *globalOptions, opts *demoOptions) (err error) {
	w := g.stdout
	dir := opts.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "hotfix-demo-"); err != nil {
			return err
		}
		if !opts.Keep {
			defer os.RemoveAll(dir)
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	step := func(n int, title, equivalent string) {
		fmt.Fprintf(w, "\n== %d. %s\n", n, title)
		if equivalent != "" {
			fmt.Fprintf(w, "   $ %s\n", equivalent)
		}
	}
	fmt.Fprintf(w, "hotfix demo in %s\n", dir)
	if err := demo.WriteSample(dir); err != nil {
		return fmt.Errorf("demo: write sample: %w", err)
	}

	// Vendor side.
	step(1, "Vendor: generate an Ed25519 signing key", `hotfix key generate --uid "Acme Fixes <fixes@acme.example>" --secret vendor.sec --public vendor.pub`)
	key, err := sign.GenerateKey("Acme Fixes <fixes@acme.example>", sign.KeyOptions{})
	if err != nil {
		return err
	}
	pub, err := key.ArmoredPublic()
	if err != nil {
		return err
	}
	trusted := filepath.Join(dir, "server", "trusted.d")
	if err := os.MkdirAll(trusted, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(trusted, "acme.asc"), pub, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(w, "   key %s\n", key.Fingerprint())

	step(2, "Vendor: pack each fix source into a .fix archive", "hotfix pack fixes/2.4.1.N --out outgoing")
	var archives []string
	for _, v := range demo.FixVersions {
		path, m, err := repo.Pack(ctx, filepath.Join(dir, "fixes", v), filepath.Join(dir, "outgoing"), repo.PackOptions{Logger: g.logger})
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "   %s: %s (%d files, %d scripts, %d bugs)\n", filepath.Base(path), m.Summary, len(m.Files), len(m.Scripts), len(m.Bugs))
		archives = append(archives, path)
	}

	step(3, "Vendor: add the archives to the repository (the chain is checked)", "hotfix repo add repo outgoing/*.fix")
	repoDir := filepath.Join(dir, "repo")
	if err := os.MkdirAll(repoDir, 0o755); err != nil {
		return err
	}
	added, err := repo.Add(ctx, repoDir, archives, repo.AddOptions{Logger: g.logger})
	if err != nil {
		return err
	}
	for _, a := range added.Added {
		fmt.Fprintf(w, "   added %s\n", a)
	}

	step(4, "Vendor: build and sign the indexes and the HTML fix pages", "hotfix repo build repo --key vendor.sec")
	built, err := repo.Build(ctx, repoDir, repo.BuildOptions{Signer: key.Signer(), Logger: g.logger})
	if err != nil {
		return err
	}
	for _, ch := range built.Channels {
		fmt.Fprintf(w, "   %s %s: serial %d, %d fixes, signed index.json.asc, index.html\n", ch.Product, ch.Base, ch.Serial, ch.Fixes)
	}

	step(5, "Vendor: serve the repository", "hotfix serve repo --addr 127.0.0.1:8080")
	h, err := server.New(repoDir, server.Options{Logger: g.logger})
	if err != nil {
		return err
	}
	defer h.Close()
	srvCtx, stopServer := context.WithCancel(ctx)
	addrCh := make(chan net.Addr, 1)
	srvErr := make(chan error, 1)
	go func() {
		srvErr <- server.ListenAndServe(srvCtx, "127.0.0.1:0", h, g.logger, func(a net.Addr) { addrCh <- a })
	}()
	var addr net.Addr
	select {
	case addr = <-addrCh:
	case err := <-srvErr:
		stopServer()
		return err
	}
	defer func() {
		stopServer()
		if serr := <-srvErr; serr != nil && err == nil {
			err = serr
		}
	}()
	url := "http://" + addr.String()
	fmt.Fprintf(w, "   serving %s on %s/ (open %s/acme/2.4.1/ in a browser while it runs)\n", repoDir, url, url)

	// Server side.
	step(6, "Server: configure the client (sandbox root holds acme 2.4.1)", "")
	root := filepath.Join(dir, "server", "root")
	if err := os.Rename(filepath.Join(dir, "root"), root); err != nil {
		return err
	}
	cfgPath := filepath.Join(dir, "server", "hotfix.toml")
	cfgText := client.SandboxConfig(url, demo.Product, root, trusted, filepath.Join(dir, "server"))
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(w, "   %s:\n", cfgPath)
	for _, line := range splitNonEmpty(cfgText) {
		fmt.Fprintf(w, "     %s\n", line)
	}
	cfg, err := client.LoadConfig(cfgPath)
	if err != nil {
		return err
	}
	cl, err := client.New(cfg, g.logger)
	if err != nil {
		return err
	}

	step(7, "Server: check for pending fixes (signed index verified with the trusted key only)", "hotfix check")
	res, err := cl.Check(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "   %s %s: %d fixes pending\n", res.Product, res.Base, len(res.Pending))
	for _, f := range res.Pending {
		fmt.Fprintf(w, "     %s  %s\n", f.Version, f.Summary)
		for _, b := range f.Bugs {
			fmt.Fprintf(w, "               %s: %s\n", b.ID, b.Summary)
		}
	}

	step(8, "Server: install them in chain order, each as one transaction", "hotfix install --yes")
	inst, err := cl.Install(ctx, client.InstallOptions{Progress: func(v repo.Version, s string) {
		if s == "done" {
			fmt.Fprintf(w, "   %s installed\n", v)
		}
	}})
	if err != nil {
		return err
	}
	for _, l := range inst.Logs {
		fmt.Fprintf(w, "   log: %s\n", l)
	}

	step(9, "Server: status", "hotfix status")
	st, err := cl.Status()
	if err != nil {
		return err
	}
	for _, f := range st.Installed {
		fmt.Fprintf(w, "   installed %s at %s by %s\n", f.Version, f.InstalledAt.Local().Format(time.TimeOnly), f.By)
	}
	fmt.Fprintf(w, "   pending: %d\n", st.Pending)

	step(10, "Server: roll the newest fix back (its backups are restored)", "hotfix rollback")
	done, err := cl.Rollback(ctx, client.RollbackOptions{})
	if err != nil {
		return err
	}
	for _, v := range done {
		fmt.Fprintf(w, "   rolled back %s; %s is back\n", v, "app/legacy.php")
	}
	if _, err := os.Stat(filepath.Join(root, "app", "legacy.php")); err != nil {
		return errors.New("demo: rollback did not restore app/legacy.php")
	}

	fmt.Fprintf(w, "\nDone. ")
	if opts.Keep || opts.Dir != "" {
		fmt.Fprintf(w, "Look around in %s; try: hotfix --config %s status\n", dir, cfgPath)
	} else {
		fmt.Fprintln(w, "Run \"hotfix demo --keep\" to keep the scratch directory and look around.")
	}
	return nil
}

func splitNonEmpty(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '\n' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}
