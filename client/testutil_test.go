package client

// Shared test helpers: a signed repository built from the embedded sample
// product with the vendor test key, a client configuration whose every
// directory lives in t.TempDir(), a real HTTP server for the repository,
// tree snapshots, and the real hotfix binary (built once per test run).
//
// TestMain lives here: it removes the per-process scratch directory that
// holds the packed sample archives and the built binary.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/fixarchive"
	"github.com/hotfix-project/hotfix/repo/publish"
	"github.com/hotfix-project/hotfix/server"
	"github.com/hotfix-project/hotfix/sign"
)

// scratch is a per-process directory for things built once: the packed
// sample archives and the hotfix binary.
var (
	scratchOnce sync.Once
	scratchDir  string
	scratchErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if scratchDir != "" {
		os.RemoveAll(scratchDir)
	}
	os.Exit(code)
}

func scratch(t testing.TB) string {
	t.Helper()
	scratchOnce.Do(func() { scratchDir, scratchErr = os.MkdirTemp("", "hotfix-client-test-") })
	if scratchErr != nil {
		t.Fatal(scratchErr)
	}
	return scratchDir
}

// keyPath names a test key in the repository's testdata/keys.
func keyPath(name string) string {
	return filepath.Join("..", "testdata", "keys", name)
}

// testSigner loads a test secret key ("vendor.sec.asc", "other.sec.asc").
// Each call loads a new Signer: one Signer is not safe for concurrent use
// (go-crypto's Entity.Serialize, under ArmoredPublic, writes to the
// signature packets), and parallel tests build repositories at once.
func testSigner(t testing.TB, name string) *sign.Signer {
	t.Helper()
	s, err := sign.LoadSigner(keyPath(name), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testKeyring loads a test public key file as a keyring.
func testKeyring(t testing.TB, name string) *sign.Keyring {
	t.Helper()
	kr, err := sign.LoadKeyring(keyPath(name))
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// writeSample writes the demo sample (root/ and fixes/) into a new temp dir.
func writeSample(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := demo.WriteSample(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

var (
	packOnce     sync.Once
	packed       map[string]string // version -> archive path in scratch
	packErr      error
	sampleSource string // a pristine sample written once, read-only by convention
)

// sampleArchives packs the three sample fixes once per test run.
func sampleArchives(t testing.TB) map[string]string {
	t.Helper()
	dir := scratch(t)
	packOnce.Do(func() {
		src := filepath.Join(dir, "sample")
		if packErr = demo.WriteSample(src); packErr != nil {
			return
		}
		sampleSource = src
		out := filepath.Join(dir, "packed")
		if packErr = os.MkdirAll(out, 0o755); packErr != nil {
			return
		}
		packed = map[string]string{}
		for _, v := range demo.FixVersions {
			p, _, err := fixarchive.Pack(context.Background(), filepath.Join(src, "fixes", v), out, fixarchive.PackOptions{})
			if err != nil {
				packErr = fmt.Errorf("pack %s: %w", v, err)
				return
			}
			packed[v] = p
		}
	})
	if packErr != nil {
		t.Fatal(packErr)
	}
	return packed
}

// sampleRoot returns the path of a pristine sample root (do not modify);
// copy it with copyTree for a root a client may change.
func sampleRoot(t testing.TB) string {
	t.Helper()
	sampleArchives(t)
	return filepath.Join(sampleSource, "root")
}

// testRepo is a signed repository in a temp dir.
type testRepo struct {
	Dir    string // repository root (what the server serves)
	Signer *sign.Signer
	Last   *publish.BuildResult
}

// newRepo makes a repository holding the given sample fixes (all three when
// none are named) and builds it with the vendor key.
func newRepo(t testing.TB, versions ...string) *testRepo {
	t.Helper()
	if len(versions) == 0 {
		versions = demo.FixVersions
	}
	arch := sampleArchives(t)
	r := &testRepo{Dir: t.TempDir(), Signer: testSigner(t, "vendor.sec.asc")}
	var paths []string
	for _, v := range versions {
		p, ok := arch[v]
		if !ok {
			t.Fatalf("no sample fix %s", v)
		}
		paths = append(paths, p)
	}
	r.add(t, paths...)
	r.build(t, publish.BuildOptions{})
	return r
}

// add puts archives into the repository (without building).
func (r *testRepo) add(t testing.TB, archives ...string) {
	t.Helper()
	// Private copies: repo add hard-links what it can, and tests that
	// damage a repository's archive must not damage the shared packed one.
	own, copies := t.TempDir(), make([]string, len(archives))
	for i, a := range archives {
		data, err := os.ReadFile(a)
		if err != nil {
			t.Fatal(err)
		}
		copies[i] = filepath.Join(own, filepath.Base(a))
		if err := os.WriteFile(copies[i], data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := publish.Add(context.Background(), r.Dir, copies, publish.AddOptions{}); err != nil {
		t.Fatal(err)
	}
}

// build signs the indexes; opts.Signer defaults to the repository's.
func (r *testRepo) build(t testing.TB, opts publish.BuildOptions) *publish.BuildResult {
	t.Helper()
	if opts.Signer == nil {
		opts.Signer = r.Signer
	}
	res, err := publish.Build(context.Background(), r.Dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	r.Last = res
	return res
}

// addSource packs a fix source directory and adds it to the repository
// (call build afterwards). It returns the archive path in the repository.
func (r *testRepo) addSource(t testing.TB, src string) string {
	t.Helper()
	out := t.TempDir()
	p, m, err := fixarchive.Pack(context.Background(), src, out, fixarchive.PackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r.add(t, p)
	return filepath.Join(r.channel(m.Base.String()), filepath.Base(p))
}

// channel is the directory of one channel of the sample product.
func (r *testRepo) channel(base string) string {
	return filepath.Join(r.Dir, demo.Product, base)
}

// indexPath is the sample channel's index.json.
func (r *testRepo) indexPath() string { return filepath.Join(r.channel(demo.Base), repo.IndexName) }

// archivePath is the path of a sample fix archive in the repository.
func (r *testRepo) archivePath(v string) string {
	return filepath.Join(r.channel(demo.Base), repo.ArchiveName(demo.Product, repo.MustParseVersion(v)))
}

// serveDir serves a directory with the real repository handler; wrap, when
// set, sits in front of it (fault injection, request recording).
func serveDir(t testing.TB, dir string, wrap func(http.Handler) http.Handler) *httptest.Server {
	t.Helper()
	h, err := server.New(dir, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var handler http.Handler = h
	if wrap != nil {
		handler = wrap(h)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		h.Close()
	})
	return srv
}

// testEnv is one client "server": its own root (a copy of the sample
// root), configuration and directories, pointed at a repository.
type testEnv struct {
	Dir    string // holds root/, state/, cache/, log/, lock/, keys/
	Root   string
	Config string // path of hotfix.toml
	Cfg    *Config
	Repo   *testRepo
	Server *httptest.Server // nil when the repository is reached by file://
}

// envOptions tune newEnv.
type envOptions struct {
	Repo    *testRepo                        // nil: newRepo(t) with all sample fixes
	Wrap    func(http.Handler) http.Handler  // middleware in front of the repository handler
	FileURL bool                             // use file:// instead of HTTP
	Extra   string                           // TOML appended to the configuration (top-level keys first, then tables)
	Keys    []string                         // trusted public key files in testdata/keys; default vendor.pub.asc
	Edit    func(cfg string) string          // rewrites the whole configuration text
	Handler func(dir string) http.Handler    // replaces the repository handler entirely
	Prepare func(t testing.TB, env *testEnv) // runs before the configuration is loaded
}

// newEnv makes a client environment with a fresh root copied from the
// sample, served (unless FileURL) by a real HTTP server.
func newEnv(t testing.TB, o envOptions) *testEnv {
	t.Helper()
	if o.Repo == nil {
		o.Repo = newRepo(t)
	}
	dir := t.TempDir()
	e := &testEnv{Dir: dir, Root: filepath.Join(dir, "root"), Repo: o.Repo}
	testkit.CopyTree(t, sampleRoot(t), e.Root)
	keys := filepath.Join(dir, "keys")
	if err := os.MkdirAll(keys, 0o755); err != nil {
		t.Fatal(err)
	}
	if len(o.Keys) == 0 {
		o.Keys = []string{"vendor.pub.asc"}
	}
	for _, k := range o.Keys {
		data, err := os.ReadFile(keyPath(k))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(keys, k), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var url string
	switch {
	case o.FileURL:
		url = "file://" + filepath.ToSlash(o.Repo.Dir)
	case o.Handler != nil:
		e.Server = httptest.NewServer(o.Handler(o.Repo.Dir))
		t.Cleanup(func() { e.Server.CloseClientConnections(); e.Server.Close() })
		url = e.Server.URL
	default:
		e.Server = serveDir(t, o.Repo.Dir, o.Wrap)
		url = e.Server.URL
	}
	cfg := SandboxConfig(url, demo.Product, e.Root, keys, dir) + "role = \"single\"\nscript_timeout = \"30s\"\n"
	cfg += o.Extra
	if o.Edit != nil {
		cfg = o.Edit(cfg)
	}
	e.Config = filepath.Join(dir, "hotfix.toml")
	if err := os.WriteFile(e.Config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if o.Prepare != nil {
		o.Prepare(t, e)
	}
	c, err := LoadConfig(e.Config)
	if err != nil {
		t.Fatalf("test configuration: %v\n%s", err, cfg)
	}
	e.Cfg = c
	return e
}

// client makes a Client for the environment, with a fetcher that retries
// quickly so that fault tests stay fast.
func (e *testEnv) client(t testing.TB) *Client {
	t.Helper()
	c, err := New(e.Cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Fetcher.backoff = 10 * time.Millisecond
	return c
}

// cachePath is where the client keeps files of the sample channel.
func (e *testEnv) cachePath(name string) string {
	return filepath.Join(e.Cfg.CacheDir, demo.Product, demo.Base, name)
}

// tree is a snapshot of a directory: relative path -> "type mode sha256".
type tree map[string]string

// snapshot records every entry under root except those under skip
// (relative slash paths such as "var").
func snapshot(t testing.TB, root string, skip ...string) tree {
	t.Helper()
	out := tree{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		for _, s := range skip {
			if rel == s || strings.HasPrefix(rel, s+"/") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case fi.IsDir():
			out[rel] = fmt.Sprintf("dir %v", fi.Mode().Perm())
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			out[rel] = fmt.Sprintf("file %v %s", fi.Mode().Perm(), hex.EncodeToString(sum[:]))
		default:
			target, _ := os.Readlink(p)
			out[rel] = fmt.Sprintf("other %v %s", fi.Mode(), target)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// diff describes how got differs from want ("" when equal).
func (want tree) diff(got tree) string {
	var lines []string
	for p, w := range want {
		g, ok := got[p]
		switch {
		case !ok:
			lines = append(lines, "missing "+p)
		case g != w:
			lines = append(lines, fmt.Sprintf("changed %s: %s -> %s", p, w, g))
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			lines = append(lines, "added "+p)
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// assertTree fails the test when the tree at root differs from want.
func assertTree(t testing.TB, want tree, root string, skip ...string) {
	t.Helper()
	if d := want.diff(snapshot(t, root, skip...)); d != "" {
		t.Fatalf("tree %s changed:\n%s", root, d)
	}
}

// listFiles returns the relative paths of the regular files under dir
// (nil when dir does not exist).
func listFiles(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if os.IsNotExist(err) {
			return filepath.SkipDir
		}
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// hotfixBinary builds the real hotfix command once per test run.
func hotfixBinary(t testing.TB) string {
	t.Helper()
	dir := scratch(t)
	binOnce.Do(func() {
		name := "hotfix"
		if runtime.GOOS == "windows" {
			name += ".exe"
		}
		out := filepath.Join(dir, name)
		cmd := exec.Command("go", "build", "-o", out, "..")
		if b, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, b)
			return
		}
		binPath = out
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// runResult is what one run of the binary did.
type runResult struct {
	Code           int
	Stdout, Stderr string
}

// run runs the hotfix binary with args (without --config: pass it).
func run(t testing.TB, ctx context.Context, args ...string) runResult {
	t.Helper()
	cmd := exec.CommandContext(ctx, hotfixBinary(t), args...)
	cmd.Env = append(os.Environ(), "HOTFIX_CONFIG=/nonexistent/hotfix.toml", "NO_COLOR=1")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := runResult{Stdout: stdout.String(), Stderr: stderr.String()}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run hotfix %v: %v", args, err)
		}
		res.Code = ee.ExitCode()
	}
	return res
}

// hotfix runs the binary against the environment's configuration.
func (e *testEnv) hotfix(t testing.TB, args ...string) runResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return run(t, ctx, append([]string{"--config", e.Config}, args...)...)
}
