package client

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/publish"
)

// exportBundle exports the sample channel of r (from version from, when
// set) into a bundle file.
func exportBundle(t testing.TB, r *testRepo, from string) string {
	t.Helper()
	opts := publish.ExportOptions{Product: demo.Product, Base: repo.MustParseVersion(demo.Base), Out: filepath.Join(t.TempDir(), "bundle.tar")}
	if from != "" {
		v := repo.MustParseVersion(from)
		opts.From = &v
	}
	if _, err := publish.Export(context.Background(), r.Dir, opts); err != nil {
		t.Fatal(err)
	}
	return opts.Out
}

// offlineEnv is a client whose repository URL answers nothing it may
// use: every request fails the test, so an install that works ran
// without the network.
func offlineEnv(t *testing.T, r *testRepo) *testEnv {
	t.Helper()
	return newEnv(t, envOptions{Repo: r, Handler: offline(t)})
}

// offline is a repository handler that fails the test on any request.
func offline(t *testing.T) func(string) http.Handler {
	return func(string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			t.Errorf("the network was used: %s %s", req.Method, req.URL)
			w.WriteHeader(http.StatusServiceUnavailable)
		})
	}
}

func TestInstallFromBundle(t *testing.T) {
	r := newRepo(t)
	env := offlineEnv(t, r)
	c := env.client(t)
	ctx := context.Background()
	res, err := c.InstallFrom(ctx, exportBundle(t, r, ""), InstallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Installed) != 3 {
		t.Fatalf("installed %+v", res.Installed)
	}
	if got := strings.Join(installedVersions(t, c), " "); got != "2.4.1.1 2.4.1.2 2.4.1.3" {
		t.Fatalf("installed: %s", got)
	}
	// The root is what installing from the repository gives.
	ref := newEnv(t, envOptions{Repo: r})
	if _, err := ref.client(t).Install(ctx, InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	if d := snapshot(t, ref.Root).diff(snapshot(t, env.Root)); d != "" {
		t.Errorf("root after install --from BUNDLE differs from a repository install:\n%s", d)
	}
	// The serial is remembered like a check's.
	seen, err := loadSeen(env.Cfg.StateDir)
	if err != nil || seen.Serials[channelKey(demo.Product, repo.MustParseVersion(demo.Base))] != r.Last.Channels[0].Serial {
		t.Errorf("seen serials %v (%v)", seen, err)
	}
	recs, _ := ReadAudit(env.Cfg.LogDir)
	if len(recs) == 0 || !strings.Contains(recs[len(recs)-1].Detail, "from ") {
		t.Errorf("audit does not name the bundle: %+v", recs)
	}
}

// TestInstallFromPartialBundle: a bundle from a later fix installs what
// follows the installed chain, and names the --from to use when it lacks a
// pending fix.
func TestInstallFromPartialBundle(t *testing.T) {
	r := newRepo(t)
	env := offlineEnv(t, r)
	c := env.client(t)
	ctx := context.Background()
	_, err := c.InstallFrom(ctx, exportBundle(t, r, "2.4.1.2"), InstallOptions{})
	testkit.WantErr(t, err, "fix 2.4.1.1 is pending here", "--from 2.4.1.1")
	if got := installedVersions(t, c); len(got) != 0 {
		t.Fatalf("installed %v after a refusal", got)
	}
	if _, err := c.InstallFrom(ctx, sampleArchives(t)["2.4.1.1"], InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.InstallFrom(ctx, exportBundle(t, r, "2.4.1.2"), InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(installedVersions(t, c), " "); got != "2.4.1.1 2.4.1.2 2.4.1.3" {
		t.Fatalf("installed: %s", got)
	}
}

func TestInstallFromBundleExpired(t *testing.T) {
	r := newRepo(t)
	env := offlineEnv(t, r)
	c := env.client(t)
	later := time.Now().Add(publish.DefaultExpires + 24*time.Hour)
	c.Now = func() time.Time { return later }
	ctx := context.Background()
	b := exportBundle(t, r, "")
	before := snapshot(t, env.Root)
	_, err := c.InstallFrom(ctx, b, InstallOptions{})
	if !errors.Is(err, ErrExpired) {
		t.Fatalf("expired bundle: %v", err)
	}
	assertTree(t, before, env.Root)
	if _, err := c.InstallFrom(ctx, b, InstallOptions{AllowExpired: true}); err != nil {
		t.Fatal(err)
	}
	recs, err := ReadAudit(env.Cfg.LogDir)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, rec := range recs {
		if rec.Action == "allow-expired" && strings.Contains(rec.Detail, "--allow-expired") && strings.Contains(rec.Detail, b) {
			found = true
		}
	}
	if !found {
		t.Errorf("the audit log does not record --allow-expired: %+v", recs)
	}
	// --allow-expired belongs to bundles: a .fix has no index to expire.
	_, err = c.InstallFrom(ctx, sampleArchives(t)["2.4.1.1"], InstallOptions{AllowExpired: true})
	if !errors.Is(err, ErrNotBundle) {
		t.Errorf("--allow-expired with a .fix: %v", err)
	}
}

// TestInstallFromBundleRefuses: a bundle the online rules would refuse is
// refused, the root and the cache's archives untouched.
func TestInstallFromBundleRefuses(t *testing.T) {
	r := newRepo(t)
	good := exportBundle(t, r, "")
	old := exportBundle(t, r, "")
	r.build(t, publish.BuildOptions{}) // serial 2
	newer := exportBundle(t, r, "")
	data, _ := os.ReadFile(good)
	cases := []struct {
		name    string
		bundle  func(t *testing.T) string
		prepare func(t *testing.T, c *Client)
		want    []string
	}{
		{name: "archive tampered", bundle: func(t *testing.T) string {
			b := bytes.Clone(data)
			i := bytes.Index(b, []byte("acme-2.4.1.2.fix"))
			b[i+3000] ^= 0xff // inside the archive's data, past its header
			return writeTemp(t, b)
		}, want: []string{"sha256", "tampered"}},
		{name: "unknown key", prepare: func(t *testing.T, c *Client) {
			if err := os.WriteFile(filepath.Join(c.Cfg.TrustedKeys, "vendor.pub.asc"), mustRead(t, keyPath("other.pub.asc")), 0o644); err != nil {
				t.Fatal(err)
			}
		}, want: []string{"index for acme 2.4.1"}},
		{name: "serial rollback", prepare: func(t *testing.T, c *Client) {
			if _, err := c.InstallFrom(context.Background(), newer, InstallOptions{DryRun: true}); err != nil {
				t.Fatal(err)
			}
		}, bundle: func(*testing.T) string { return old }, want: []string{"serial 1 is lower than serial 2"}},
		{name: "cut short", bundle: func(t *testing.T) string { return writeTemp(t, data[:len(data)-2000]) }, want: []string{"cut short"}},
		{name: "other base", prepare: func(t *testing.T, c *Client) {
			os.WriteFile(c.Cfg.VersionFile, []byte("2.4.0\n"), 0o644)
		}, want: []string{"holds acme 2.4.1", "runs acme 2.4.0", "export the channel of base 2.4.0"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := offlineEnv(t, r)
			c := env.client(t)
			if tc.prepare != nil {
				tc.prepare(t, c)
			}
			b := good
			if tc.bundle != nil {
				b = tc.bundle(t)
			}
			before := snapshot(t, env.Root)
			_, err := c.InstallFrom(context.Background(), b, InstallOptions{})
			testkit.WantErr(t, err, tc.want...)
			assertTree(t, before, env.Root)
			if got := installedVersions(t, c); len(got) != 0 {
				t.Errorf("installed %v", got)
			}
			// Only verified bytes are kept: what the cache holds is the
			// vendor's archive, byte for byte.
			matches, _ := filepath.Glob(filepath.Join(env.Cfg.CacheDir, "*", "*", "*"))
			for _, m := range matches {
				if strings.HasSuffix(m, ".fix") && !bytes.Equal(mustRead(t, m), mustRead(t, filepath.Join(r.channel(demo.Base), filepath.Base(m)))) {
					t.Errorf("%s kept with other bytes than the repository's", m)
				} else if !strings.HasSuffix(m, ".fix") && !strings.HasSuffix(m, ".json") && !strings.HasSuffix(m, ".asc") {
					t.Errorf("%s left in the cache", m)
				}
			}
		})
	}
}

func writeTemp(t *testing.T, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "b.tar")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBundleCommands runs the real binary: the vendor's repo export, then
// install --from on a server whose repository is out of reach.
func TestBundleCommands(t *testing.T) {
	r := newRepo(t)
	env := offlineEnv(t, r)
	out := filepath.Join(t.TempDir(), "acme-2.4.1.tar")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res := run(t, ctx, "repo", "export", r.Dir, "--product", demo.Product, "--base", demo.Base, "--out", out)
	if res.Code != 0 || !strings.Contains(res.Stdout, "exported acme 2.4.1 serial 1 (3 archives") {
		t.Fatalf("repo export: %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	res = env.hotfix(t, "install", "--from", out, "--allow-expired", "2.4.1.1")
	if res.Code != 2 {
		t.Errorf("install VERSION --from: exit %d, want 2 (usage)", res.Code)
	}
	res = env.hotfix(t, "install", "--allow-expired", "--yes")
	if res.Code != 2 || !strings.Contains(res.Stderr, "only to --from with an export bundle") {
		t.Errorf("--allow-expired without --from: %d %s", res.Code, res.Stderr)
	}
	res = env.hotfix(t, "install", "--from", out, "--yes")
	if res.Code != 0 || strings.Count(res.Stdout, "installed 2.4.1.") != 3 {
		t.Fatalf("install --from BUNDLE: %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	if res = env.hotfix(t, "status", "--json"); !strings.Contains(res.Stdout, `"version": "2.4.1.3"`) {
		t.Errorf("status after install --from BUNDLE:\n%s", res.Stdout)
	}
}

// TestTreeInstallFromBundleHeldToParent: a bundle takes a child instance
// no further past its parent than the repository would.
func TestTreeInstallFromBundleHeldToParent(t *testing.T) {
	t.Parallel()
	e := newTreeEnv(t, "")
	b := filepath.Join(t.TempDir(), "tree.tar")
	if _, err := publish.Export(context.Background(), treeRepo(t), publish.ExportOptions{Product: "tree", Base: repo.MustParseVersion("1.0"), Out: b}); err != nil {
		t.Fatal(err)
	}
	e.installFromHeldToParent(t, b, 2)
}
