package tour

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/internal/words"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/fixarchive"
	"github.com/hotfix-project/hotfix/repo/publish"
	"github.com/hotfix-project/hotfix/server"
	"github.com/hotfix-project/hotfix/sign"
)

// Options say where the tour runs and where it tells its story.
type Options struct {
	Out  io.Writer    // the story, step by step
	Dir  string       // scratch directory; "" makes a temporary one
	Keep bool         // keep a temporary Dir afterwards
	Log  *slog.Logger // the libraries' logs; nil discards them
}

// Result says what the tour left behind.
type Result struct {
	Dir    string // the scratch directory
	Config string // the sandboxed server's configuration file
	Kept   bool   // Dir is still there to look around in
}

// vendorUID is the sample vendor's signing key user id.
const vendorUID = "Acme Fixes <fixes@acme.example>"

// tour is one run: where it works, what it tells, and what each step
// hands to the next.
type tour struct {
	out  io.Writer
	log  *slog.Logger
	dir  string
	step int

	key      *sign.Key
	trusted  string   // the server's trusted_keys directory
	archives []string // packed fixes in chain order
	repoDir  string
	url      string // where the repository is served
	root     string // the server's sandboxed install root
	cfgPath  string
	client   *client.Client
}

// Run plays the whole story in a scratch directory, touching nothing else,
// and stops the repository server before it returns.
func Run(ctx context.Context, opts Options) (res Result, err error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	res = Result{Dir: opts.Dir, Kept: true}
	if res.Dir == "" {
		if res.Dir, err = os.MkdirTemp("", "hotfix-demo-"); err != nil {
			return res, fmt.Errorf("demo: scratch directory: %w", err)
		}
		if !opts.Keep {
			res.Kept = false
			defer os.RemoveAll(res.Dir)
		}
	} else if err := os.MkdirAll(res.Dir, 0o755); err != nil {
		return res, fmt.Errorf("demo: scratch directory: %w", err)
	}
	t := &tour{out: opts.Out, log: opts.Log, dir: res.Dir}
	fmt.Fprintf(t.out, "hotfix demo in %s\n", t.dir)
	if err := demo.WriteSample(t.dir); err != nil {
		return res, fmt.Errorf("demo: write sample: %w", err)
	}
	if err := t.vendor(ctx); err != nil {
		return res, err
	}
	stop, err := t.serve(ctx)
	if err != nil {
		return res, err
	}
	defer func() {
		if serr := stop(); serr != nil && err == nil {
			err = serr
		}
	}()
	res.Config = filepath.Join(t.dir, "server", "hotfix.toml")
	t.cfgPath = res.Config
	if err := t.server(ctx); err != nil {
		return res, err
	}
	return res, t.fleet(ctx)
}

// vendor plays the vendor's side up to a signed repository.
func (t *tour) vendor(ctx context.Context) error {
	for _, step := range []func(context.Context) error{t.generateKey, t.pack, t.add, t.build} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// server plays a production server's side against the served repository.
func (t *tour) server(ctx context.Context) error {
	for _, step := range []func(context.Context) error{t.configure, t.check, t.install, t.status, t.rollback} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// begin starts the next step: its title and, if any, the command that does
// the same by hand.
func (t *tour) begin(title, command string) {
	t.step++
	fmt.Fprintf(t.out, "\n== %d. %s\n", t.step, title)
	if command != "" {
		fmt.Fprintf(t.out, "   $ %s\n", command)
	}
}

func (t *tour) generateKey(context.Context) error {
	t.begin("Vendor: generate an Ed25519 signing key", `hotfix key generate --uid "`+vendorUID+`" --secret vendor.sec --public vendor.pub`)
	key, err := sign.GenerateKey(vendorUID, sign.KeyOptions{})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	pub, err := key.ArmoredPublic()
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	t.key, t.trusted = key, filepath.Join(t.dir, "server", "trusted.d")
	if err := os.MkdirAll(t.trusted, 0o755); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := os.WriteFile(filepath.Join(t.trusted, "acme.asc"), pub, 0o644); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintf(t.out, "   key %s\n", key.Fingerprint())
	return nil
}

func (t *tour) pack(ctx context.Context) error {
	t.begin("Vendor: pack each fix source into a .fix archive", "hotfix pack fixes/2.4.1.N --out outgoing")
	for _, v := range demo.FixVersions {
		path, m, err := fixarchive.Pack(ctx, filepath.Join(t.dir, "fixes", v), filepath.Join(t.dir, "outgoing"), fixarchive.PackOptions{Logger: t.log})
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		fmt.Fprintf(t.out, "   %s: %s (%s, %s, %s)\n", filepath.Base(path), m.Summary,
			words.Count(len(m.Files), "file", "files"), words.Count(len(m.Scripts), "script", "scripts"), words.Count(len(m.Bugs), "bug", "bugs"))
		t.archives = append(t.archives, path)
	}
	return nil
}

func (t *tour) add(ctx context.Context) error {
	t.begin("Vendor: add the archives to the repository (the chain is checked)", "hotfix repo add repo outgoing/*.fix")
	t.repoDir = filepath.Join(t.dir, "repo")
	if err := os.MkdirAll(t.repoDir, 0o755); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	added, err := publish.Add(ctx, t.repoDir, t.archives, publish.AddOptions{Logger: t.log})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	for _, a := range added.Added {
		fmt.Fprintf(t.out, "   added %s\n", a)
	}
	return nil
}

func (t *tour) build(ctx context.Context) error {
	t.begin("Vendor: build and sign the indexes and the HTML fix pages", "hotfix repo build repo --key vendor.sec")
	built, err := publish.Build(ctx, t.repoDir, publish.BuildOptions{Signer: t.key.Signer(), Logger: t.log})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	for _, ch := range built.Channels {
		fmt.Fprintf(t.out, "   %s %s: serial %d, %s, signed index.json.asc, index.html\n", ch.Product, ch.Base, ch.Serial, words.Count(ch.Fixes, "fix", "fixes"))
	}
	return nil
}

// serve starts serving the repository on a free loopback port; stop ends
// it and returns the server's error, if any.
func (t *tour) serve(ctx context.Context) (stop func() error, err error) {
	// The command is printed once the port is known: the demo listens on
	// a free one, and the line must be one that serves what it shows.
	t.begin("Vendor: serve the repository", "")
	h, err := server.New(t.repoDir, server.Options{Logger: t.log})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	srvCtx, cancel := context.WithCancel(ctx)
	addrCh := make(chan net.Addr, 1)
	srvErr := make(chan error, 1)
	go func() {
		srvErr <- server.ListenAndServe(srvCtx, "127.0.0.1:0", h, t.log, func(a net.Addr) { addrCh <- a })
	}()
	stop = func() error {
		cancel()
		err := <-srvErr
		h.Close()
		return err
	}
	select {
	case addr := <-addrCh:
		t.url = "http://" + addr.String()
		fmt.Fprintf(t.out, "   $ hotfix serve repo --addr %s\n", addr)
	case err := <-srvErr:
		cancel()
		h.Close()
		return nil, fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintf(t.out, "   serving %s on %s/ (open %s/acme/2.4.1/ in a browser while it runs)\n", t.repoDir, t.url, t.url)
	return stop, nil
}

func (t *tour) configure(context.Context) error {
	t.begin("Server: configure the client (sandbox root holds acme 2.4.1)", "")
	t.root = filepath.Join(t.dir, "server", "root")
	if err := os.Rename(filepath.Join(t.dir, "root"), t.root); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	cfgText := client.SandboxConfig(t.url, demo.Product, t.root, t.trusted, filepath.Join(t.dir, "server"))
	if err := os.WriteFile(t.cfgPath, []byte(cfgText), 0o644); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintf(t.out, "   %s:\n", t.cfgPath)
	for _, line := range strings.Split(cfgText, "\n") {
		if line != "" {
			fmt.Fprintf(t.out, "     %s\n", line)
		}
	}
	cfg, err := client.LoadConfig(t.cfgPath)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if t.client, err = client.New(cfg, t.log); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return nil
}

func (t *tour) check(ctx context.Context) error {
	t.begin("Server: check for pending fixes (signed index verified with the trusted key only)", "hotfix check")
	res, err := t.client.Check(ctx)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintf(t.out, "   %s %s: %s pending\n", res.Product, res.Base, words.Count(len(res.Pending), "fix", "fixes"))
	for _, f := range res.Pending {
		fmt.Fprintf(t.out, "     %s  %s\n", f.Version, f.Summary)
		for _, b := range f.Bugs {
			fmt.Fprintf(t.out, "               %s: %s\n", b.ID, b.Summary)
		}
	}
	return nil
}

func (t *tour) install(ctx context.Context) error {
	t.begin("Server: install them in chain order, each as one transaction", "hotfix install --yes")
	inst, err := t.installPending(ctx)
	if err != nil {
		return err
	}
	for _, l := range inst.Logs {
		fmt.Fprintf(t.out, "   log: %s\n", l)
	}
	return nil
}

// installPending installs what the server has pending, a line per fix.
func (t *tour) installPending(ctx context.Context) (*client.InstallResult, error) {
	inst, err := t.client.Install(ctx, client.InstallOptions{Progress: func(v repo.Version, s string) {
		if s == "done" {
			fmt.Fprintf(t.out, "   %s installed\n", v)
		}
	}})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	return inst, nil
}

func (t *tour) status(context.Context) error {
	t.begin("Server: status", "hotfix status")
	st, err := t.client.Status()
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	for _, f := range st.Installed {
		fmt.Fprintf(t.out, "   installed %s at %s by %s\n", f.Version, f.InstalledAt.Local().Format(time.TimeOnly), f.By)
	}
	fmt.Fprintf(t.out, "   pending: %d\n", st.Pending)
	return nil
}

// restoredFile is what the newest sample fix deletes: rolling it back
// must bring the file back.
const restoredFile = "app/legacy.php"

func (t *tour) rollback(ctx context.Context) error {
	t.begin("Server: roll the newest fix back (its backups are restored)", "hotfix rollback")
	done, err := t.client.Rollback(ctx, client.RollbackOptions{})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	for _, v := range done.RolledBack {
		fmt.Fprintf(t.out, "   rolled back %s; %s is back\n", v, restoredFile)
	}
	if _, err := os.Stat(filepath.Join(t.root, filepath.FromSlash(restoredFile))); err != nil {
		return errors.New("demo: rollback did not restore " + restoredFile)
	}
	return nil
}
