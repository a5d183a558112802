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
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/internal/testkit"
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
