package client

// An unhealthy host takes back the whole run, customer fixes included:
// the customer fixes the run installed are uninstalled first, newest
// first (they stand on the vendor fixes), then the run's vendor fixes are
// rolled back, and a customer fix the run had replaced is installed
// again; what was installed before the run stays. The health_check is a
// real script that fails; root, state, file database and audit log are
// checked against the host before the run.

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo/fixarchive"
	"github.com/hotfix-project/hotfix/repo/publish"
)

// healthEnv is a host with customer = "shop-a" whose health_check script
// fails once the file "unhealthy" exists in its directory, logging each
// call.
func healthEnv(t *testing.T, r *testRepo) *testEnv {
	t.Helper()
	dir := t.TempDir()
	script := filepath.Join(dir, "health.sh")
	testkit.WriteFile(t, dir, "health.sh", fmt.Sprintf("#!/bin/sh\necho \"health $HOTFIX_VERSIONS\" >> %q\ntest ! -e %q || { echo 'the shop does not answer' >&2; exit 3; }\n",
		filepath.Join(dir, "health.log"), filepath.Join(dir, "unhealthy")), 0o755)
	return newEnv(t, envOptions{Repo: r, Extra: customerLine + "[hooks]\nhealth_check = " + fmt.Sprintf("%q", script) + "\n"})
}

// unhealthy makes the health_check of e's host fail from now on.
func unhealthy(t *testing.T, e *testEnv) {
	t.Helper()
	testkit.WriteFile(t, filepath.Dir(e.Cfg.Hooks.HealthCheck), "unhealthy", "", 0o644)
}

// dbOwnersOf is dbOwners, empty where no state was written yet.
func dbOwnersOf(t *testing.T, e *testEnv) map[string]string {
	t.Helper()
	if st, err := LoadState(e.Cfg.StateDir); err == nil && st.DB == nil {
		return map[string]string{}
	}
	return dbOwners(t, e.Cfg.StateDir)
}

// customIDs lists the installed customer fixes as "ID VERSION".
func customIDs(t *testing.T, e *testEnv) []string {
	t.Helper()
	st, err := LoadState(e.Cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, cf := range st.Custom {
		out = append(out, cf.ID+" "+cf.Version.String())
	}
	return out
}

func TestHealthCheckTakesBackCustomerFixes(t *testing.T) {
	t.Parallel()
	// IS-1 replaces vendor 2.4.1.3's checkout.php (min_fix 2.4.1.3);
	// IS-2 adds a file; IS-0 (installed before the run) owns extra.php.
	is1 := func() string {
		return packCustomFix(t, "shop-a", "IS-1", "1", map[string]string{"app/checkout.php": "<?php // shop a checkout\n", "lib/ship.php": "<?php // ship\n"}, "min_fix = \"2.4.1.3\"\ndelete = [\"app/cart.php\"]\n")
	}
	is2 := func() string {
		return packCustomFix(t, "shop-a", "IS-2", "1", map[string]string{"custom/report/r.php": "<?php // report\n"}, "")
	}
	is0 := func() string {
		return packCustomFix(t, "shop-a", "IS-0", "1", map[string]string{"app/extra.php": "<?php // extra\n"}, "")
	}
	for _, tc := range []struct {
		name  string
		chain int // the vendor fixes published at first
		// before installs what the host has before the run (healthy);
		// publish then adds what the run installs.
		before   func(t *testing.T, r *testRepo, e *testEnv)
		publish  func(t *testing.T, r *testRepo)
		run      []string // "ID VERSION" the run installs, in order
		stays    []string // customer fixes after the rollback
		vendor   int      // vendor fixes after the rollback
		messages []string
	}{
		{"vendor and customer fixes of one run", 3,
			func(*testing.T, *testRepo, *testEnv) {},
			func(t *testing.T, r *testRepo) { r.addCustom(t, is1(), is2()) },
			[]string{"IS-1 1", "IS-2 1"}, nil, 0,
			[]string{"health_check hook failed", "the fixes of this run (2.4.1.1, 2.4.1.2, 2.4.1.3) were rolled back", "customer fixes IS-2 1, IS-1 1 were uninstalled"}},
		{"customer fixes alone", 3,
			func(t *testing.T, r *testRepo, e *testEnv) {
				r.addCustom(t, is0())
				if _, err := e.client(t).Install(t.Context(), InstallOptions{}); err != nil {
					t.Fatal(err)
				}
			},
			func(t *testing.T, r *testRepo) { r.addCustom(t, is1(), is2()) },
			[]string{"IS-1 1", "IS-2 1"}, []string{"IS-0 1"}, 3,
			[]string{"health_check hook failed", "customer fixes IS-2 1, IS-1 1 were uninstalled"}},
		{"a customer fix installed before the run stays", 2,
			func(t *testing.T, r *testRepo, e *testEnv) {
				r.addCustom(t, is0())
				if _, err := e.client(t).Install(t.Context(), InstallOptions{}); err != nil {
					t.Fatal(err)
				}
			},
			func(t *testing.T, r *testRepo) { r.add(t, sampleArchives(t)["2.4.1.3"]); r.addCustom(t, is1()) },
			[]string{"IS-1 1"}, []string{"IS-0 1"}, 2,
			[]string{"the fixes of this run (2.4.1.3) were rolled back", "customer fix IS-1 1 was uninstalled"}},
		{"a customer fix the run replaced is installed again", 3,
			func(t *testing.T, r *testRepo, e *testEnv) {
				r.addCustom(t, is1())
				if _, err := e.client(t).Install(t.Context(), InstallOptions{}); err != nil {
					t.Fatal(err)
				}
			},
			func(t *testing.T, r *testRepo) {
				r.addCustom(t, packCustomFix(t, "shop-a", "IS-1", "2", map[string]string{"app/checkout.php": "<?php // shop a checkout 2\n", "lib/ship2.php": "<?php // ship 2\n"}, "min_fix = \"2.4.1.3\"\n"))
			},
			[]string{"IS-1 2"}, []string{"IS-1 1"}, 3,
			[]string{"customer fix IS-1 2 was uninstalled", "customer fix IS-1 1, which the run had replaced, was installed again"}},
		{"a superseded customer fix is installed again", 3,
			func(t *testing.T, r *testRepo, e *testEnv) {
				r.addCustom(t, is1(), is0())
				if _, err := e.client(t).Install(t.Context(), InstallOptions{}); err != nil {
					t.Fatal(err)
				}
			},
			func(t *testing.T, r *testRepo) {
				r.addCustom(t, packCustomFix(t, "shop-a", "IS-5", "1", map[string]string{"app/checkout.php": "<?php // merged\n"}, "supersedes = [\"IS-1\", \"IS-0\"]\nmin_fix = \"2.4.1.3\"\n"))
			},
			[]string{"IS-5 1"}, []string{"IS-0 1", "IS-1 1"}, 3,
			[]string{"customer fix IS-5 1 was uninstalled", "customer fixes IS-0 1, IS-1 1, which the run had replaced, were installed again"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRepo(t, demo.FixVersions[:tc.chain]...)
			e := healthEnv(t, r)
			tc.before(t, r, e)
			beforeTree, beforeDB := snapshot(t, e.Root, "var"), dbOwnersOf(t, e)
			beforeCustom := customIDs(t, e)
			tc.publish(t, r)
			unhealthy(t, e)
			res, err := e.client(t).Install(t.Context(), InstallOptions{})
			testkit.WantErr(t, err, tc.messages...)
			if len(res.Installed)+len(res.Custom) != 0 {
				t.Errorf("the result still lists what the run installed: %+v %+v", res.Installed, res.Custom)
			}
			assertTree(t, beforeTree, e.Root, "var")
			if got := customIDs(t, e); !slices.Equal(got, tc.stays) || !slices.Equal(beforeCustom, tc.stays) {
				t.Fatalf("customer fixes after the rollback %v (before the run %v), want %v", got, beforeCustom, tc.stays)
			}
			if got := installed(t, e); len(got) != tc.vendor {
				t.Fatalf("vendor fixes after the rollback %v, want %d", got, tc.vendor)
			}
			if got := dbOwnersOf(t, e); !reflect.DeepEqual(got, beforeDB) {
				t.Fatalf("file database after the rollback\n  %v\nbefore the run\n  %v", got, beforeDB)
			}
			if p := problems(t, e.client(t)); len(p) > 0 {
				t.Fatalf("verify after the rollback: %q", p)
			}
			// Only the installed customer fixes keep a rollback record.
			var stores []string
			for _, id := range listFiles(t, filepath.Join(e.Cfg.StateDir, customStoreDir)) {
				if strings.HasSuffix(id, "/journal.json") {
					parts := strings.Split(id, "/") // ID/backups/VERSION/journal.json
					stores = append(stores, parts[0]+" "+parts[2])
				}
			}
			if !slices.Equal(stores, tc.stays) {
				t.Fatalf("rollback records of customer fixes %v, want %v", stores, tc.stays)
			}
			// The audit log says each customer fix went, newest first,
			// before the vendor fixes.
			recs, err := ReadAudit(e.Cfg.LogDir)
			if err != nil {
				t.Fatal(err)
			}
			var gone []string
			for _, rec := range recs {
				if rec.Action == "uninstall" && strings.Contains(rec.Detail, "health_check") {
					gone = append(gone, strings.Fields(strings.TrimPrefix(rec.Detail, "customer fix "))[0])
				}
			}
			want := slices.Clone(tc.run)
			slices.Reverse(want)
			for i := range want {
				want[i] = strings.Fields(want[i])[0]
			}
			if !slices.Equal(gone, want) {
				t.Errorf("the audit log records the uninstalls %v, want %v", gone, want)
			}
			// Healthy again, the next run installs it all.
			remove(t, filepath.Join(filepath.Dir(e.Cfg.Hooks.HealthCheck), "unhealthy"))
			if _, err := e.client(t).Install(t.Context(), InstallOptions{}); err != nil {
				t.Fatal(err)
			}
			if got := installed(t, e); len(got) != 3 {
				t.Fatalf("the healthy run installed %v", got)
			}
		})
	}
}

// treeCustomFix packs customer fix id of shop-a for the tree product
// (base 1.0) and adds it to the repository at dir, built again.
func treeCustomFix(t *testing.T, dir, id, version string, files map[string]string, extra string) {
	t.Helper()
	src := t.TempDir()
	testkit.WriteFile(t, src, "fix.toml", fmt.Sprintf("product = \"tree\"\nkind = \"custom\"\ncustomer = \"shop-a\"\nid = %q\nversion = %q\nbase = \"1.0\"\nsummary = \"customer fix %s %s\"\n%s", id, version, id, version, extra), 0o644)
	for p, data := range files {
		testkit.WriteFile(t, src, "files/"+p, data, 0o644)
	}
	p, _, err := fixarchive.Pack(t.Context(), src, filepath.Join(src, "out"), fixarchive.PackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := publish.Add(t.Context(), dir, []string{p}, publish.AddOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := publish.Build(t.Context(), dir, publish.BuildOptions{Signer: testSigner(t, "vendor.sec.asc")}); err != nil {
		t.Fatal(err)
	}
}

// TestTreeHealthCheckTakesBackCustomerFixes: over instances, an
// unhealthy host takes each instance's customer fixes back first (one
// with min_fix on the run's vendor fix used to stop the vendor rollback),
// then its vendor fixes, then installs again the customer fix the run
// replaced; every root and file database is as before the run.
func TestTreeHealthCheckTakesBackCustomerFixes(t *testing.T) {
	t.Parallel()
	is1 := map[string]string{"app/v.txt": "shop a\n", "app/shop.txt": "shop a 1\n"}
	for _, tc := range []struct {
		name   string
		before func(t *testing.T, repoDir string, e *treeEnv) // what the host has before the run
		stays  string                                         // the customer fix after the rollback
		level  int
		say    []string
	}{
		{"vendor and customer fixes of one run", func(t *testing.T, repoDir string, _ *treeEnv) {
			treeCustomFix(t, repoDir, "IS-1", "1", is1, "min_fix = \"1.0.2\"\n")
		}, "", 0, []string{"the fixes of this run (1.0.1, 1.0.2) were rolled back on d", "customer fix IS-1 1 was uninstalled there"}},
		{"a customer fix the run replaced is installed again", func(t *testing.T, repoDir string, e *treeEnv) {
			treeCustomFix(t, repoDir, "IS-1", "1", is1, "min_fix = \"1.0.2\"\n")
			healthy(t, e)
			treeCustomFix(t, repoDir, "IS-1", "2", map[string]string{"app/v.txt": "shop a 2\n", "app/shop2.txt": "shop a 2\n"}, "min_fix = \"1.0.2\"\n")
		}, "IS-1 1", 2, []string{"customer fix IS-1 2 was uninstalled; customer fix IS-1 1, which the run had replaced, was installed again on d"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			repoDir := filepath.Join(t.TempDir(), "repo")
			testkit.CopyTree(t, treeRepo(t), repoDir)
			dir := t.TempDir()
			e := newTreeEnv(t, customerLine+treeHookTable(dir))
			cfg, err := os.ReadFile(e.Config)
			if err != nil {
				t.Fatal(err)
			}
			cfg = []byte(strings.Replace(string(cfg), "file://"+filepath.ToSlash(treeRepo(t)), "file://"+filepath.ToSlash(repoDir), 1))
			testkit.WriteFile(t, e.Dir, "hotfix.toml", string(cfg), 0o644)
			tc.before(t, repoDir, e)
			before := map[string]tree{}
			dbs := map[string]map[string]string{}
			for _, name := range treeNames() {
				before[name] = snapshot(t, e.Roots[name])
				dbs[name] = treeDB(t, e, name)
			}
			unhealthyTree(t, e, dir)
			res := e.hotfix(t, "install", "--yes")
			if res.Code != 1 {
				t.Fatalf("unhealthy run: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
			}
			for _, s := range tc.say {
				if !strings.Contains(res.Stdout+res.Stderr, s) {
					t.Errorf("the run does not say %q:\n%s%s", s, res.Stdout, res.Stderr)
				}
			}
			for _, name := range treeNames() {
				assertTree(t, before[name], e.Roots[name])
				if got := treeDB(t, e, name); !reflect.DeepEqual(got, dbs[name]) {
					t.Fatalf("%s: file database %v, before the run %v", name, got, dbs[name])
				}
				cl, err := NewTree(e.Cfg, nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				c, err := cl.Client(name)
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, cf := range installedCustoms(c) {
					ids = append(ids, cf.ID+" "+cf.Version.String())
				}
				if strings.Join(ids, ",") != tc.stays {
					t.Fatalf("%s: customer fixes %v after the rollback, want %q", name, ids, tc.stays)
				}
				if lv, _ := recordedLevel(c); lv.String() != fmt.Sprintf("1.0.%d", tc.level) && !(tc.level == 0 && lv.String() == "1.0") {
					t.Fatalf("%s at %s after the rollback, want level %d", name, lv, tc.level)
				}
			}
		})
	}
}

// treeDB is the file database's owners of instance name ("" owners when
// nothing was recorded yet).
func treeDB(t *testing.T, e *treeEnv, name string) map[string]string {
	t.Helper()
	dir := instanceDir(e.Cfg.StateDir, name)
	if st, err := LoadState(dir); err != nil || st.DB == nil {
		return map[string]string{}
	}
	return dbOwners(t, dir)
}

// healthy installs everything on every instance with a passing
// health_check.
func healthy(t *testing.T, e *treeEnv) {
	t.Helper()
	if res := e.hotfix(t, "install", "--yes"); res.Code != 0 {
		t.Fatalf("healthy run: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
}

// unhealthyTree makes the tree host's health_check fail from now on.
func unhealthyTree(t *testing.T, e *treeEnv, dir string) {
	t.Helper()
	cfg, err := os.ReadFile(e.Config)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(cfg), treeHookTable(dir), treeHookTable(dir, "health_check"), 1)
	if s == string(cfg) {
		t.Fatal("no hook table to make unhealthy")
	}
	testkit.WriteFile(t, e.Dir, "hotfix.toml", s, 0o644)
}
