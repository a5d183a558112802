package client

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/publish"
)

func readRoot(t *testing.T, root, rel string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(data)
}

// vendorTree installs the given vendor fixes, without customer fixes, in
// an environment of its own and returns its root's snapshot: the tree a
// customer fix's uninstall must give back.
func vendorTree(t *testing.T, r *testRepo, target string) tree {
	t.Helper()
	e := newEnv(t, envOptions{Repo: r})
	v := repo.MustParseVersion(target)
	if _, err := e.client(t).Install(t.Context(), InstallOptions{Target: &v}); err != nil {
		t.Fatal(err)
	}
	return snapshot(t, e.Root, "var")
}

func TestInstallCustomAfterChainAndUninstall(t *testing.T) {
	r := newRepo(t, "2.4.1.1", "2.4.1.2")
	r.addCustom(t, packCustomFix(t, "shop-a", "IS-1", "1", map[string]string{"app/cart.php": "<?php // shop a cart\n", "app/extra.php": "<?php // shop a\n"},
		"min_fix = \"2.4.1.2\"\ndelete = [\"app/legacy.php\"]\n"))
	e := newEnv(t, envOptions{Repo: r, Extra: customerLine})
	before := snapshot(t, e.Root, "var")
	res, err := e.client(t).Install(t.Context(), InstallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Installed) != 2 || len(res.Custom) != 1 || res.Custom[0].ID != "IS-1" {
		t.Fatalf("installed %+v custom %+v", res.Installed, res.Custom)
	}
	// The customer's file wins over the vendor's 2.4.1.2 cart.php.
	if got := readRoot(t, e.Root, "app/cart.php"); got != "<?php // shop a cart\n" {
		t.Fatalf("cart.php = %q", got)
	}
	if _, err := os.Stat(filepath.Join(e.Root, "app/legacy.php")); !os.IsNotExist(err) {
		t.Fatalf("legacy.php not deleted: %v", err)
	}
	st, err := e.client(t).Status()
	if err != nil || len(st.Custom) != 1 || st.Custom[0].ID != "IS-1" || st.Custom[0].Customer != "shop-a" {
		t.Fatalf("status custom %+v %v", st.Custom, err)
	}
	// Nothing is pending any more; installing again does nothing.
	if res, err := e.client(t).Install(t.Context(), InstallOptions{}); err != nil || len(res.Custom)+len(res.Installed) != 0 {
		t.Fatalf("second install %+v %v", res, err)
	}
	// A vendor rollback under the customer fix is refused.
	_, err = e.client(t).Rollback(t.Context(), RollbackOptions{})
	var cb *CustomBlocksError
	if !errors.As(err, &cb) || !strings.Contains(err.Error(), "IS-1") || !strings.Contains(err.Error(), "hotfix uninstall IS-1") {
		t.Fatalf("rollback under a customer fix: %v", err)
	}

	// Uninstall gives back exactly the vendor's tree.
	want := vendorTree(t, r, "2.4.1.2")
	out := e.hotfix(t, "uninstall", "IS-1")
	if out.Code != 0 || !strings.Contains(out.Stdout, "uninstalled customer fix IS-1 1") {
		t.Fatalf("uninstall: %d\n%s%s", out.Code, out.Stdout, out.Stderr)
	}
	assertTree(t, want, e.Root, "var")
	if st, _ := e.client(t).Status(); len(st.Custom) != 0 {
		t.Fatalf("status after uninstall: %+v", st.Custom)
	}
	out = e.hotfix(t, "uninstall", "IS-1")
	if out.Code != 1 || !strings.Contains(out.Stderr, "customer fix IS-1 is not installed") {
		t.Fatalf("second uninstall: %d\n%s", out.Code, out.Stderr)
	}
	// Back to the base, the customer fix gone: the sample root as it was.
	if _, err := e.client(t).Rollback(t.Context(), RollbackOptions{To: &[]repo.Version{repo.MustParseVersion("2.4.1")}[0]}); err != nil {
		t.Fatal(err)
	}
	assertTree(t, before, e.Root, "var")
}

func TestUninstallCustomRefusesLocalChanges(t *testing.T) {
	r := newRepo(t, "2.4.1.1")
	r.addCustom(t, packCustomFix(t, "shop-a", "IS-1", "1", map[string]string{"app/cart.php": "shop a\n"}, ""))
	e := newEnv(t, envOptions{Repo: r, Extra: customerLine})
	if _, err := e.client(t).Install(t.Context(), InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	testkit.WriteFile(t, e.Root, "app/cart.php", "edited by hand\n", 0o644)
	out := e.hotfix(t, "uninstall", "IS-1")
	if out.Code != 1 || !strings.Contains(out.Stderr, "app/cart.php changed since customer fix IS-1 installed them") || !strings.Contains(out.Stderr, "--force") {
		t.Fatalf("uninstall over a local change: %d\n%s", out.Code, out.Stderr)
	}
	if got := readRoot(t, e.Root, "app/cart.php"); got != "edited by hand\n" {
		t.Fatalf("a refused uninstall changed cart.php: %q", got)
	}
	if _, err := e.client(t).Uninstall(t.Context(), "IS-1", UninstallOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	assertTree(t, vendorTree(t, r, "2.4.1.1"), e.Root, "var")
}

func TestInstallCustomConflictAtInstall(t *testing.T) {
	r := newRepo(t, "2.4.1.1")
	r.addCustom(t, packCustomFix(t, "shop-a", "IS-1", "1", map[string]string{"app/x.php": "one\n", "app/y.php": "y\n"}, ""))
	e := newEnv(t, envOptions{Repo: r, Extra: customerLine})
	if _, err := e.client(t).Install(t.Context(), InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	// The vendor withdraws IS-1 and publishes IS-2 owning the same file
	// (the repository only sees IS-2): the server still has IS-1.
	os.Remove(filepath.Join(r.customDir("shop-a"), "acme-custom-IS-1-1.fix"))
	r.addCustom(t, packCustomFix(t, "shop-a", "IS-2", "1", map[string]string{"app/x.php": "two\n"}, ""))
	before := snapshot(t, e.Root, "var")
	_, err := e.client(t).Install(t.Context(), InstallOptions{})
	var ce *CustomConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("install of a conflicting customer fix: %v", err)
	}
	testkit.WantErr(t, err, "IS-1 and IS-2 both own app/x.php", "nothing was installed")
	assertTree(t, before, e.Root, "var")

	// IS-2 in a version that supersedes IS-1 resolves it: IS-1 goes
	// (y.php with it), IS-2 takes x.php.
	os.Remove(filepath.Join(r.customDir("shop-a"), "acme-custom-IS-2-1.fix"))
	r.addCustom(t, packCustomFix(t, "shop-a", "IS-2", "2", map[string]string{"app/x.php": "two\n"}, "supersedes = [\"IS-1\"]\n"))
	if _, err := e.client(t).Install(t.Context(), InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := readRoot(t, e.Root, "app/x.php"); got != "two\n" {
		t.Fatalf("x.php = %q", got)
	}
	if _, err := os.Stat(filepath.Join(e.Root, "app/y.php")); !os.IsNotExist(err) {
		t.Fatalf("the superseded fix's y.php stayed: %v", err)
	}
	st, _ := e.client(t).Status()
	if len(st.Custom) != 1 || st.Custom[0].ID != "IS-2" {
		t.Fatalf("status %+v", st.Custom)
	}
	if _, err := e.client(t).Uninstall(t.Context(), "IS-2", UninstallOptions{}); err != nil {
		t.Fatal(err)
	}
	assertTree(t, vendorTree(t, r, "2.4.1.1"), e.Root, "var")
}

// customOverRepo: vendor 2.4.1.1-2.4.1.2 and IS-1 owning app/checkout.php
// (which vendor fix 2.4.1.3 changes) and adding app/extra.php, installed.
func customOverEnv(t *testing.T) (*testRepo, *testEnv) {
	t.Helper()
	r := newRepo(t, "2.4.1.1", "2.4.1.2")
	r.addCustom(t, packCustomFix(t, "shop-a", "IS-1", "1", map[string]string{"app/checkout.php": "<?php // shop a checkout\n", "app/extra.php": "extra\n"}, ""))
	e := newEnv(t, envOptions{Repo: r, Extra: customerLine})
	if _, err := e.client(t).Install(t.Context(), InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	r.add(t, sampleArchives(t)["2.4.1.3"])
	r.build(t, publishOpts())
	return r, e
}

func TestVendorFixStopsBeforeCustomerFile(t *testing.T) {
	_, e := customOverEnv(t)
	before := snapshot(t, e.Root, "var")
	_, err := e.client(t).Install(t.Context(), InstallOptions{})
	var co *CustomOverrideError
	if !errors.As(err, &co) {
		t.Fatalf("install over a customer file: %v", err)
	}
	testkit.WantErr(t, err, "vendor fix 2.4.1.3", "customer fix IS-1 (customer shop-a) owns app/checkout.php", "stopped before 2.4.1.3")
	assertTree(t, before, e.Root, "var")
	out := e.hotfix(t, "install")
	if out.Code != 1 || !strings.Contains(out.Stderr, "--force to let the vendor's files win") {
		t.Fatalf("install: %d\n%s", out.Code, out.Stderr)
	}
	assertTree(t, before, e.Root, "var")
}

func TestVendorFixForcedOverCustomerFile(t *testing.T) {
	r, e := customOverEnv(t)
	baseCheckout := readRoot(t, sampleRoot(t), "app/checkout.php")
	if _, err := e.client(t).Install(t.Context(), InstallOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	vendorCheckout := readRoot(t, e.Root, "app/checkout.php")
	if vendorCheckout == "<?php // shop a checkout\n" || vendorCheckout == baseCheckout {
		t.Fatalf("checkout.php after a forced install: %q", vendorCheckout)
	}
	out := e.hotfix(t, "status", "--json")
	if !strings.Contains(out.Stdout, `"overridden": {`) || !strings.Contains(out.Stdout, `"app/checkout.php": "2.4.1.3"`) {
		t.Fatalf("status --json:\n%s", out.Stdout)
	}
	if out := e.hotfix(t, "status"); !strings.Contains(out.Stdout, "OVERRIDDEN: app/checkout.php is vendor fix 2.4.1.3's file") {
		t.Fatalf("status:\n%s", out.Stdout)
	}
	// Uninstalling IS-1 leaves the vendor's checkout.php and takes
	// extra.php away: the tree of the vendor chain alone.
	if _, err := e.client(t).Uninstall(t.Context(), "IS-1", UninstallOptions{}); err != nil {
		t.Fatal(err)
	}
	assertTree(t, vendorTree(t, r, "2.4.1.3"), e.Root, "var")
	// Rolling back 2.4.1.3 then restores the base's checkout.php, not the
	// customer's it had backed up.
	if _, err := e.client(t).Rollback(t.Context(), RollbackOptions{}); err != nil {
		t.Fatal(err)
	}
	assertTree(t, vendorTree(t, r, "2.4.1.2"), e.Root, "var")
}

func TestVendorRollbackGivesCustomerFileBack(t *testing.T) {
	_, e := customOverEnv(t)
	want := snapshot(t, e.Root, "var")
	if _, err := e.client(t).Install(t.Context(), InstallOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client(t).Rollback(t.Context(), RollbackOptions{}); err != nil {
		t.Fatal(err)
	}
	assertTree(t, want, e.Root, "var")
	st, _ := e.client(t).Status()
	if len(st.Custom) != 1 || st.Custom[0].Overridden != nil {
		t.Fatalf("after the rollback the customer fix is still overridden: %+v", st.Custom)
	}
}

func TestSupersedingCustomerFixResolvesVendorConflict(t *testing.T) {
	for _, tc := range []struct{ name, id, version, extra string }{
		{"another id superseding", "IS-5", "1", "supersedes = [\"IS-1\"]\nmin_fix = \"2.4.1.3\"\n"},
		{"a new version of the id", "IS-1", "2", "min_fix = \"2.4.1.3\"\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, e := customOverEnv(t)
			r.addCustom(t, packCustomFix(t, "shop-a", tc.id, tc.version, map[string]string{"app/checkout.php": "<?php // merged\n"}, tc.extra))
			res, err := e.client(t).Install(t.Context(), InstallOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Installed) != 1 || len(res.Custom) != 1 || res.Custom[0].ID != tc.id {
				t.Fatalf("installed %+v custom %+v", res.Installed, res.Custom)
			}
			if got := readRoot(t, e.Root, "app/checkout.php"); got != "<?php // merged\n" {
				t.Fatalf("checkout.php = %q", got)
			}
			if _, err := os.Stat(filepath.Join(e.Root, "app/extra.php")); !os.IsNotExist(err) {
				t.Fatalf("IS-1's extra.php stayed: %v", err)
			}
			st, _ := e.client(t).Status()
			if len(st.Custom) != 1 || st.Custom[0].ID != tc.id || st.Custom[0].Overridden != nil {
				t.Fatalf("status %+v", st.Custom)
			}
			if _, err := e.client(t).Uninstall(t.Context(), tc.id, UninstallOptions{}); err != nil {
				t.Fatal(err)
			}
			assertTree(t, vendorTree(t, r, "2.4.1.3"), e.Root, "var")
			if _, err := e.client(t).Rollback(t.Context(), RollbackOptions{}); err != nil {
				t.Fatal(err)
			}
			assertTree(t, vendorTree(t, r, "2.4.1.2"), e.Root, "var")
		})
	}
}

func TestInstallCustomRefusesAWrongArchive(t *testing.T) {
	r := newRepo(t, "2.4.1.1")
	r.addCustom(t, packCustomFix(t, "shop-a", "IS-1", "1", map[string]string{"app/x.php": "x\n"}, ""))
	e := newEnv(t, envOptions{Repo: r, Extra: customerLine})
	// install --from refuses a customer fix.
	p := packCustomFix(t, "shop-a", "IS-1", "1", map[string]string{"app/x.php": "x\n"}, "")
	out := e.hotfix(t, "install", "--from", p)
	if out.Code != 1 || !strings.Contains(out.Stderr, "installs from the repository on servers configured with customer = \"shop-a\"") {
		t.Fatalf("install --from a customer fix: %d\n%s", out.Code, out.Stderr)
	}
}

func publishOpts() publish.BuildOptions { return publish.BuildOptions{} }

func TestInstallCustomDryRunChangesNothing(t *testing.T) {
	r := newRepo(t, "2.4.1.1")
	r.addCustom(t, packCustomFix(t, "shop-a", "IS-1", "1", map[string]string{"app/cart.php": "shop a\n"}, "min_fix = \"2.4.1.1\"\n"))
	e := newEnv(t, envOptions{Repo: r, Extra: customerLine})
	before := snapshot(t, e.Root)
	res, err := e.client(t).Install(t.Context(), InstallOptions{DryRun: true})
	if err != nil || len(res.Installed) != 1 || len(res.Custom) != 1 || !res.DryRun {
		t.Fatalf("dry run %+v %v", res, err)
	}
	assertTree(t, before, e.Root)
	if st, _ := e.client(t).Status(); len(st.Custom) != 0 || len(st.Installed) != 0 {
		t.Fatalf("a dry run recorded %+v %+v", st.Installed, st.Custom)
	}
}
