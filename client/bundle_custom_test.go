package client

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/publish"
)

// customBundle exports the sample channel with the given customers'
// channels.
func customBundle(t *testing.T, r *testRepo, customers ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bundle.tar")
	if _, err := publish.Export(context.Background(), r.Dir, publish.ExportOptions{Product: demo.Product, Base: repo.MustParseVersion(demo.Base),
		Out: out, Customers: customers}); err != nil {
		t.Fatal(err)
	}
	return out
}

// offlineCustomerEnv is an offline client of customer shop-a.
func offlineCustomerEnv(t *testing.T, r *testRepo) *testEnv {
	t.Helper()
	return newEnv(t, envOptions{Repo: r, Extra: customerLine, Handler: offline(t)})
}

// TestInstallFromBundleCustomers: a bundle exported with --customer
// carries the customer's channel; install --from installs its fixes after
// the vendor chain, as an install from the repository does, and a server
// of another customer (or a bundle without the channel) installs the
// vendor chain alone.
func TestInstallFromBundleCustomers(t *testing.T) {
	r := newRepo(t, "2.4.1.1", "2.4.1.2")
	r.addCustom(t,
		packCustomFix(t, "shop-a", "IS-1", "1", map[string]string{"app/cart.php": "<?php // shop a cart\n"}, "min_fix = \"2.4.1.2\"\n"),
		packCustomFix(t, "shop-b", "IS-7", "1", map[string]string{"lib/other.php": "o\n"}, ""))
	b := customBundle(t, r, "shop-b", "shop-a")

	env := offlineCustomerEnv(t, r)
	res, err := env.client(t).InstallFrom(t.Context(), b, InstallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Installed) != 2 || len(res.Custom) != 1 || res.Custom[0].ID != "IS-1" {
		t.Fatalf("installed %+v custom %+v", res.Installed, res.Custom)
	}
	online := newEnv(t, envOptions{Repo: r, Extra: customerLine})
	if _, err := online.client(t).Install(t.Context(), InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	if d := snapshot(t, online.Root, "var").diff(snapshot(t, env.Root, "var")); d != "" {
		t.Errorf("root after install --from differs from an install from the repository:\n%s", d)
	}
	seen, err := loadSeen(env.Cfg.StateDir)
	if err != nil || seen.Serials[customKey(demo.Product, repo.MustParseVersion(demo.Base), "shop-a")] != 1 {
		t.Errorf("the customer index's serial is not remembered: %v %v", seen.Serials, err)
	}
	if res, err := env.client(t).InstallFrom(t.Context(), b, InstallOptions{}); err != nil || len(res.Installed)+len(res.Custom) != 0 {
		t.Fatalf("second install from the bundle: %+v %v", res, err)
	}

	// Without the customer's channel, the vendor chain alone.
	plain := offlineCustomerEnv(t, r)
	res, err = plain.client(t).InstallFrom(t.Context(), customBundle(t, r, "shop-b"), InstallOptions{})
	if err != nil || len(res.Installed) != 2 || len(res.Custom) != 0 {
		t.Fatalf("bundle without shop-a: %+v %v", res, err)
	}
}

// TestInstallFromBundleCustomersRefused: a customer channel in a bundle
// is verified like the vendor's, for every customer it carries; a
// refusal installs nothing.
func TestInstallFromBundleCustomersRefused(t *testing.T) {
	r := newRepo(t, "2.4.1.1", "2.4.1.2")
	r.addCustom(t,
		packCustomFix(t, "shop-a", "IS-1", "1", map[string]string{"app/extra.php": "<?php // shop a\n"}, ""),
		packCustomFix(t, "shop-b", "IS-7", "1", map[string]string{"lib/other.php": "o\n"}, ""))
	b := customBundle(t, r, "shop-a", "shop-b")
	const a = "acme/2.4.1/custom/shop-a/"
	flipEntry := func(entry string) string {
		return rewriteBundle(t, b, func(name string, data []byte) ([]byte, bool) {
			if name == entry {
				data = bytes.Clone(data)
				data[len(data)/2] ^= 0x20
			}
			return data, true
		})
	}
	cases := []struct {
		name, bundle string
		want         []string
	}{
		{"customer archive changed", flipEntry(a + "acme-custom-IS-1-1.fix"), []string{"acme-custom-IS-1-1.fix", "sha256"}},
		{"customer index changed", flipEntry(a + "index.json"), []string{"customer index of shop-a"}},
		{"customer index signature changed", flipEntry(a + "index.json.asc"), []string{"customer index of shop-a"}},
		{"another customer's index changed", flipEntry("acme/2.4.1/custom/shop-b/index.json"), []string{"customer index of shop-b"}},
		{"an announced customer channel removed", rewriteBundle(t, b, func(name string, data []byte) ([]byte, bool) {
			return data, !strings.HasPrefix(name, a)
		}), []string{"unexpected entry where acme/2.4.1/custom/shop-a/index.json belongs"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := offlineCustomerEnv(t, r)
			before := snapshot(t, env.Root)
			_, err := env.client(t).InstallFrom(t.Context(), tc.bundle, InstallOptions{})
			testkit.WantErr(t, err, tc.want...)
			assertTree(t, before, env.Root)
		})
	}
}

// TestBundleCustomerCommands runs the real binary: repo export
// --customer carries the channel (and says so), install --from on the
// customer's server installs its fix after the chain, and a customer
// without a channel of the base is refused by name.
func TestBundleCustomerCommands(t *testing.T) {
	r := newRepo(t, "2.4.1.1")
	r.addCustom(t, packCustomFix(t, "shop-a", "IS-1", "1", map[string]string{"app/extra.php": "<?php // shop a\n"}, ""))
	out := filepath.Join(t.TempDir(), "acme-2.4.1-shop-a.tar")
	res := run(t, t.Context(), "repo", "export", r.Dir, "--product", demo.Product, "--base", demo.Base, "--customer", "shop-a", "--out", out)
	if res.Code != 0 || !strings.Contains(res.Stdout, "(2 archives, ") || !strings.Contains(res.Stdout, "1 customer channels") {
		t.Fatalf("repo export --customer: %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	res = run(t, t.Context(), "repo", "export", r.Dir, "--product", demo.Product, "--base", demo.Base, "--customer", "shop-z", "--out", out+".z")
	if res.Code != 1 || !strings.Contains(res.Stderr, "customer shop-z has no channel of acme 2.4.1") {
		t.Errorf("repo export --customer shop-z: %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	env := offlineCustomerEnv(t, r)
	res = env.hotfix(t, "install", "--from", out, "--yes")
	if res.Code != 0 || !strings.Contains(res.Stdout, "installed customer fix IS-1 1 from "+out) {
		t.Fatalf("install --from a bundle with the customer's channel: %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	if got := readRoot(t, env.Root, "app/extra.php"); got != "<?php // shop a\n" {
		t.Errorf("the customer fix's file: %q", got)
	}
}
