package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/fixarchive"
	"github.com/hotfix-project/hotfix/repo/publish"
)

// packCustomFix packs a customer fix of the sample product for customer
// (path → content in files; extra is appended to fix.toml).
func packCustomFix(t testing.TB, customer, id, version string, files map[string]string, extra string) string {
	t.Helper()
	dir := t.TempDir()
	testkit.WriteFile(t, dir, "fix.toml", fmt.Sprintf("product = %q\nkind = \"custom\"\ncustomer = %q\nid = %q\nversion = %q\nbase = %q\nsummary = \"customer fix %s %s\"\n%s",
		demo.Product, customer, id, version, demo.Base, id, version, extra), 0o644)
	for p, data := range files {
		testkit.WriteFile(t, dir, "files/"+p, data, 0o644)
	}
	p, _, err := fixarchive.Pack(context.Background(), dir, filepath.Join(dir, "out"), fixarchive.PackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// addCustom packs customer fixes of shop-a into the repository and
// builds it.
func (r *testRepo) addCustom(t testing.TB, fixes ...string) {
	t.Helper()
	r.add(t, fixes...)
	r.build(t, publish.BuildOptions{})
}

func (r *testRepo) customDir(customer string) string {
	return filepath.Join(r.Dir, filepath.FromSlash(repo.CustomIndexPath(demo.Product, repo.MustParseVersion(demo.Base), customer)))
}

const customerLine = "customer = \"shop-a\"\n"

func TestCheckCustomPendingAndWaiting(t *testing.T) {
	r := newRepo(t, "2.4.1.1", "2.4.1.2")
	r.addCustom(t,
		packCustomFix(t, "shop-a", "IS-1", "1", map[string]string{"app/extra.php": "<?php // shop a\n"}, ""),
		packCustomFix(t, "shop-a", "IS-2", "1", map[string]string{"lib/b.php": "b\n"}, "min_fix = \"2.4.1.2\"\n"),
		packCustomFix(t, "shop-a", "IS-3", "1", map[string]string{"lib/c.php": "c\n"}, "min_fix = \"2.4.1.3\"\n"),
		packCustomFix(t, "shop-b", "IS-7", "1", map[string]string{"lib/other.php": "o\n"}, ""))
	e := newEnv(t, envOptions{Repo: r, Extra: customerLine})
	res, err := e.client(t).Check(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	cc := res.Custom
	if cc == nil || cc.Customer != "shop-a" || cc.Index.Serial != 1 {
		t.Fatalf("custom check %+v", cc)
	}
	ids := func(list []repo.CustomIndexFix) string {
		var s []string
		for _, f := range list {
			s = append(s, f.ID)
		}
		return strings.Join(s, ",")
	}
	// IS-2 needs 2.4.1.2, which the pending chain reaches; IS-3 waits.
	if ids(cc.Pending) != "IS-1,IS-2" || ids(cc.Waiting) != "IS-3" || res.PendingCount() != 4 {
		t.Fatalf("pending %s waiting %s count %d", ids(cc.Pending), ids(cc.Waiting), res.PendingCount())
	}
	seen, err := loadSeen(e.Cfg.StateDir)
	if err != nil || seen.Serials["acme/2.4.1/custom/shop-a"] != 1 {
		t.Fatalf("seen %+v %v", seen, err)
	}

	// check --json and the exit code, from the real binary.
	out := e.hotfix(t, "check", "--json")
	if out.Code != 100 {
		t.Fatalf("check --json: exit %d\n%s%s", out.Code, out.Stdout, out.Stderr)
	}
	var js struct {
		Custom struct {
			Customer string `json:"customer"`
			Pending  []struct {
				ID, Version string
			} `json:"pending"`
			Waiting []struct {
				ID     string `json:"id"`
				MinFix string `json:"min_fix"`
			} `json:"waiting"`
		} `json:"custom"`
	}
	if err := json.Unmarshal([]byte(out.Stdout), &js); err != nil || js.Custom.Customer != "shop-a" || len(js.Custom.Pending) != 2 || js.Custom.Waiting[0].MinFix != "2.4.1.3" {
		t.Fatalf("check --json: %v\n%s", err, out.Stdout)
	}
	out = e.hotfix(t, "check")
	if !strings.Contains(out.Stdout, "customer shop-a: 2 customer fixes pending") || !strings.Contains(out.Stdout, "IS-3") || !strings.Contains(out.Stdout, "waits for vendor fix 2.4.1.3") {
		t.Fatalf("check:\n%s", out.Stdout)
	}

	// Download fetches the customer's archives too, checked.
	got, err := e.client(t).Download(t.Context(), nil, nil)
	if err != nil || len(got) != 4 || got[2].Custom == nil || got[2].Custom.ID != "IS-1" {
		t.Fatalf("download %+v %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(e.Cfg.CacheDir, "acme/2.4.1/custom/shop-a/acme-custom-IS-1-1.fix")); err != nil {
		t.Fatal(err)
	}
}

func TestCheckCustomRefusals(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, r *testRepo)
		extra   string
		want    []string
		is      error
	}{
		{"no channel for the customer", func(t *testing.T, r *testRepo) {}, "customer = \"shop-z\"\n",
			[]string{"customer index of shop-z", "404", "no customer fixes for \"shop-z\"", "customer = \"shop-z\""}, nil},
		{"another customer's index at this path", func(t *testing.T, r *testRepo) {
			r.addCustom(t, packCustomFix(t, "shop-b", "IS-7", "1", map[string]string{"x": "x\n"}, ""))
			for _, n := range []string{"index.json", "index.json.asc"} {
				data, _ := os.ReadFile(filepath.Join(r.customDir("shop-b"), n))
				testkit.WriteFile(t, r.customDir("shop-a"), n, string(data), 0o644)
			}
		}, customerLine, []string{"customer index of shop-a", "customer shop-b's"}, ErrMismatch},
		{"signed by an unknown key", func(t *testing.T, r *testRepo) {
			data, _ := os.ReadFile(filepath.Join(r.customDir("shop-a"), "index.json"))
			sig, err := testSigner(t, "other.sec.asc").SignDetached(data)
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(r.customDir("shop-a"), "index.json.asc"), sig, 0o644)
		}, customerLine, []string{"customer index of shop-a", "unknown key"}, nil},
		{"signature missing", func(t *testing.T, r *testRepo) {
			os.Remove(filepath.Join(r.customDir("shop-a"), "index.json.asc"))
		}, customerLine, []string{"signature of the customer index", "404"}, nil},
		{"tampered index", func(t *testing.T, r *testRepo) {
			p := filepath.Join(r.customDir("shop-a"), "index.json")
			data, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(strings.Replace(string(data), "customer fix IS-1", "customer fix IS-X", 1)), 0o644)
		}, customerLine, []string{"customer index of shop-a"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRepo(t)
			r.addCustom(t, packCustomFix(t, "shop-a", "IS-1", "1", map[string]string{"app/extra.php": "a\n"}, ""))
			tt.prepare(t, r)
			e := newEnv(t, envOptions{Repo: r, Extra: tt.extra})
			_, err := e.client(t).Check(t.Context())
			testkit.WantErr(t, err, tt.want...)
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
		})
	}
}

func TestCheckCustomReplayRefused(t *testing.T) {
	r := newRepo(t)
	r.addCustom(t, packCustomFix(t, "shop-a", "IS-1", "1", map[string]string{"app/extra.php": "a\n"}, ""))
	dir := r.customDir("shop-a")
	old := map[string][]byte{}
	for _, n := range []string{"index.json", "index.json.asc"} {
		old[n], _ = os.ReadFile(filepath.Join(dir, n))
	}
	r.build(t, publish.BuildOptions{})
	e := newEnv(t, envOptions{Repo: r, Extra: customerLine})
	if _, err := e.client(t).Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	for n, data := range old {
		os.WriteFile(filepath.Join(dir, n), data, 0o644)
	}
	_, err := e.client(t).Check(t.Context())
	testkit.WantErr(t, err, "serial 1 is lower than serial 2")
	if !errors.Is(err, ErrReplayed) {
		t.Errorf("%v is not ErrReplayed", err)
	}
}

func TestConfigCustomerKey(t *testing.T) {
	for _, bad := range []string{`customer = ""`, `customer = "Shop A"`, `customer = "../x"`} {
		e := newEnv(t, envOptions{Prepare: func(t testing.TB, e *testEnv) {}, Edit: func(cfg string) string { return cfg }})
		data, _ := os.ReadFile(e.Config)
		os.WriteFile(e.Config, append(data, []byte(bad+"\n")...), 0o644)
		_, err := LoadConfig(e.Config)
		testkit.WantErr(t, err, "customer", "customer name")
	}
}
