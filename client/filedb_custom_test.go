package client

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// dbOwners maps each path of the file database to its owner: a vendor
// fix's version, or "ID VERSION CUSTOMER" for a customer fix.
func dbOwners(t *testing.T, dir string) map[string]string {
	t.Helper()
	st, err := LoadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.DB == nil || !st.DB.Customers {
		t.Fatalf("state.json in %s has no file database with the customer fixes", dir)
	}
	out := map[string]string{}
	for p, r := range st.DB.Files {
		out[p] = r.Fix
		if r.Customer != "" {
			out[p] = r.Fix + " " + r.Version + " " + r.Customer
		}
	}
	return out
}

// assertDB checks the file database's owners against want and its
// records against the root: verify on the untouched root finds nothing.
func assertDB(t *testing.T, e *testEnv, what string, want map[string]string) {
	t.Helper()
	if got := dbOwners(t, e.Cfg.StateDir); !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: file database owners\n  %v\nwant\n  %v", what, got, want)
	}
	if got := problems(t, e.client(t)); len(got) > 0 {
		t.Fatalf("%s: verify on the untouched root found %q", what, got)
	}
}

// with is owners plus the given path → owner pairs ("" drops a path).
func with(owners map[string]string, kv ...string) map[string]string {
	out := maps.Clone(owners)
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(out, kv[i])
		} else {
			out[kv[i]] = kv[i+1]
		}
	}
	return out
}

const is1 = "IS-1 1 shop-a"

// TestFileDBFollowsCustomerFixes: install, uninstall, supersede and
// --force move the ownership of each file in the same state write as the
// rest, and every record matches the root after each step.
func TestFileDBFollowsCustomerFixes(t *testing.T) {
	// After customOverEnv: IS-1 owns checkout.php (a base file) and
	// extra.php (new) over the vendor chain to 2.4.1.2.
	installed := with(sampleOwners(2), "app/checkout.php", is1, "app/extra.php", is1)
	type step struct {
		name string
		do   func(t *testing.T, r *testRepo, e *testEnv) error
		want map[string]string
	}
	install := func(force bool) func(*testing.T, *testRepo, *testEnv) error {
		return func(t *testing.T, _ *testRepo, e *testEnv) error {
			_, err := e.client(t).Install(t.Context(), InstallOptions{Force: force})
			return err
		}
	}
	uninstall := func(id string) func(*testing.T, *testRepo, *testEnv) error {
		return func(t *testing.T, _ *testRepo, e *testEnv) error {
			_, err := e.client(t).Uninstall(t.Context(), id, UninstallOptions{})
			return err
		}
	}
	rollback := func(t *testing.T, _ *testRepo, e *testEnv) error {
		_, err := e.client(t).Rollback(t.Context(), RollbackOptions{})
		return err
	}
	publishCustom := func(id, version, extra string) func(*testing.T, *testRepo, *testEnv) error {
		return func(t *testing.T, r *testRepo, _ *testEnv) error {
			r.addCustom(t, packCustomFix(t, "shop-a", id, version, map[string]string{"app/checkout.php": "<?php // merged\n", "lib/tax.php": "<?php // shop tax\n"}, extra))
			return nil
		}
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"uninstall gives the files back", []step{
			{"uninstall IS-1", uninstall("IS-1"), sampleOwners(2)},
			{"rollback 2.4.1.2", rollback, sampleOwners(1)},
		}},
		{"--force gives the vendor fix ownership, uninstall leaves it", []step{
			{"install --force 2.4.1.3", install(true), with(sampleOwners(3), "app/extra.php", is1)},
			{"uninstall IS-1", uninstall("IS-1"), sampleOwners(3)},
			{"rollback 2.4.1.3", rollback, sampleOwners(2)},
			{"rollback 2.4.1.2", rollback, sampleOwners(1)},
		}},
		{"--force then the vendor rollback gives the file back to the customer fix", []step{
			{"install --force 2.4.1.3", install(true), with(sampleOwners(3), "app/extra.php", is1)},
			{"rollback 2.4.1.3", rollback, installed},
			{"uninstall IS-1", uninstall("IS-1"), sampleOwners(2)},
		}},
		{"a superseding fix moves the ownership", []step{
			{"publish IS-5", publishCustom("IS-5", "1", "supersedes = [\"IS-1\"]\nmin_fix = \"2.4.1.3\"\n"), installed},
			{"install 2.4.1.3 and IS-5", install(false), with(sampleOwners(3), "app/checkout.php", "IS-5 1 shop-a", "lib/tax.php", "IS-5 1 shop-a")},
			{"uninstall IS-5", uninstall("IS-5"), sampleOwners(3)},
			{"rollback 2.4.1.3", rollback, sampleOwners(2)},
		}},
		{"a new version of the id moves the ownership", []step{
			{"publish IS-1 2", publishCustom("IS-1", "2", "min_fix = \"2.4.1.3\"\n"), installed},
			{"install 2.4.1.3 and IS-1 2", install(false), with(sampleOwners(3), "app/checkout.php", "IS-1 2 shop-a", "lib/tax.php", "IS-1 2 shop-a")},
			{"uninstall IS-1", uninstall("IS-1"), sampleOwners(3)},
		}},
		{"a refused vendor fix changes nothing", []step{
			{"install 2.4.1.3 (stops)", func(t *testing.T, r *testRepo, e *testEnv) error {
				if err := install(false)(t, r, e); err == nil {
					t.Fatal("a vendor fix over a customer file installed without --force")
				}
				return nil
			}, installed},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, e := customOverEnv(t)
			assertDB(t, e, "IS-1 installed", installed)
			before, _ := LoadState(e.Cfg.StateDir)
			for _, s := range tc.steps {
				if err := s.do(t, r, e); err != nil {
					t.Fatalf("%s: %v", s.name, err)
				}
				assertDB(t, e, s.name, s.want)
				if !reflect.DeepEqual(s.want, sampleOwners(2)) {
					continue
				}
				// Back at the vendor level IS-1 went on: the vendor
				// records are exactly those from before it.
				after, _ := LoadState(e.Cfg.StateDir)
				for p, rec := range after.DB.Files {
					if prev, ok := before.DB.Files[p]; !ok || prev != rec {
						t.Errorf("%s: record of %s is %+v, before IS-1 %+v", s.name, p, rec, prev)
					}
				}
			}
		})
	}
}

// TestVerifyAndOwnsCustomerFiles runs the real binary: owns names a
// vendor fix, a customer fix and no fix; verify finds nothing on the
// untouched root and exactly the customer file changed by hand.
func TestVerifyAndOwnsCustomerFiles(t *testing.T) {
	t.Parallel()
	cart := "app/cart.php" // 2.4.1.2's, replaced by IS-1
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, p string)
		what   string
	}{
		{"hand-edited", editSameSize, "changed digest"},
		{"appended to", func(t *testing.T, p string) { appendTo(t, p, "// local\n") }, "changed size,digest"},
		{"chmod'ed", func(t *testing.T, p string) { chmod(t, p, 0o600) }, "changed mode"},
		{"deleted", remove, "missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRepo(t, "2.4.1.1", "2.4.1.2")
			r.addCustom(t, packCustomFix(t, "shop-a", "IS-1", "1", map[string]string{cart: "<?php // shop a cart\n", "app/extra.php": "<?php // shop a\n"},
				"min_fix = \"2.4.1.2\"\ndelete = [\"app/legacy.php\"]\n"))
			e := newEnv(t, envOptions{Repo: r, Extra: customerLine})
			if out := e.hotfix(t, "install"); out.Code != 0 {
				t.Fatalf("install: %d\n%s%s", out.Code, out.Stdout, out.Stderr)
			}
			for _, o := range []struct {
				rel  string
				code int
				out  string
			}{
				{"lib/tax.php", 0, "is owned by fix 2.4.1.1"},
				{cart, 0, "is owned by customer fix IS-1 1 of shop-a"},
				{"app/extra.php", 0, "is owned by customer fix IS-1 1 of shop-a"},
				{"config/app.ini", 1, "was not put there by any installed fix"},
				{"app/legacy.php", 1, "was not put there by any installed fix"}, // IS-1 deleted it
			} {
				if r := e.hotfix(t, "owns", filepath.Join(e.Root, o.rel)); r.Code != o.code || !strings.Contains(r.Stdout, o.out) {
					t.Errorf("owns %s: exit %d, want %d with %q\n%s%s", o.rel, r.Code, o.code, o.out, r.Stdout, r.Stderr)
				}
			}
			out := e.hotfix(t, "--json", "owns", filepath.Join(e.Root, cart))
			var o struct{ Owner map[string]any }
			if err := json.Unmarshal([]byte(out.Stdout), &o); err != nil || o.Owner["fix"] != "IS-1" || o.Owner["version"] != "1" || o.Owner["customer"] != "shop-a" || o.Owner["sha256"] == "" {
				t.Errorf("owns --json of a customer file: %v\n%s", err, out.Stdout)
			}
			if out := e.hotfix(t, "verify"); out.Code != 0 || !strings.Contains(out.Stdout, "all 4 files") {
				t.Fatalf("verify on the untouched root: exit %d\n%s%s", out.Code, out.Stdout, out.Stderr)
			}
			tc.change(t, filepath.Join(e.Root, cart))
			out = e.hotfix(t, "verify")
			lines := strings.Split(strings.TrimSpace(out.Stdout), "\n")
			want := filepath.Join(e.Root, cart) + "  (customer fix IS-1 1 of shop-a)"
			if out.Code != 1 || len(lines) != 1 || !strings.HasPrefix(lines[0], tc.what) || !strings.HasSuffix(lines[0], want) {
				t.Fatalf("verify after the customer file was %s: exit %d, want exactly %q ... %q\n%s%s", tc.name, out.Code, tc.what, want, out.Stdout, out.Stderr)
			}
			out = e.hotfix(t, "--json", "verify")
			var rep struct{ Problems []map[string]any }
			if err := json.Unmarshal([]byte(out.Stdout), &rep); err != nil || len(rep.Problems) != 1 || rep.Problems[0]["customer"] != "shop-a" || rep.Problems[0]["version"] != "1" {
				t.Errorf("verify --json: %v\n%s", err, out.Stdout)
			}
		})
	}
}

// TestLocalChangeTestSeesCustomerFiles: the test before an install
// judges a customer file by its record in the file database: a new
// version of the customer fix stops on the hand-edited file, and an
// uninstall refuses it, also when the record was migrated.
func TestLocalChangeTestSeesCustomerFiles(t *testing.T) {
	t.Parallel()
	for _, migrate := range []bool{false, true} {
		r := newRepo(t, "2.4.1.1", "2.4.1.2")
		r.addCustom(t, packCustomFix(t, "shop-a", "IS-1", "1", map[string]string{"app/cart.php": "<?php // shop a cart\n"}, ""))
		e := newEnv(t, envOptions{Repo: r, Extra: customerLine})
		if _, err := e.client(t).Install(t.Context(), InstallOptions{}); err != nil {
			t.Fatal(err)
		}
		if migrate {
			stripCustomerRecords(t, e.Cfg.StateDir)
		}
		cart := filepath.Join(e.Root, "app/cart.php")
		editSameSize(t, cart)
		r.addCustom(t, packCustomFix(t, "shop-a", "IS-1", "2", map[string]string{"app/cart.php": "<?php // shop a cart 2\n"}, ""))
		_, err := e.client(t).Install(t.Context(), InstallOptions{})
		wantErr(t, err, ErrLocalChanges, cart)
		_, err = e.client(t).Uninstall(t.Context(), "IS-1", UninstallOptions{})
		wantErr(t, err, ErrLocalChanges, cart)
		// Putting the customer's content back clears it.
		if err := os.WriteFile(cart, []byte("<?php // shop a cart\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := e.client(t).Install(t.Context(), InstallOptions{}); err != nil {
			t.Fatalf("migrate=%v: %v", migrate, err)
		}
		assertDB(t, e, "IS-1 2 installed", with(sampleOwners(2), "app/cart.php", "IS-1 2 shop-a"))
	}
}

// TestLocalChangeTestSeesFileBackWhereCustomerFixDeletedIt: a file a
// customer fix deleted that exists again is a local change to the next
// version of the fix that ships it.
func TestLocalChangeTestSeesFileBackWhereCustomerFixDeletedIt(t *testing.T) {
	t.Parallel()
	r := newRepo(t, "2.4.1.1")
	r.addCustom(t, packCustomFix(t, "shop-a", "IS-1", "1", map[string]string{"app/x.php": "x\n"}, "delete = [\"app/legacy.php\"]\n"))
	e := newEnv(t, envOptions{Repo: r, Extra: customerLine})
	if _, err := e.client(t).Install(t.Context(), InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	legacy := filepath.Join(e.Root, "app/legacy.php")
	if err := os.WriteFile(legacy, []byte("<?php // back by hand\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r.addCustom(t, packCustomFix(t, "shop-a", "IS-1", "2", map[string]string{"app/x.php": "x\n", "app/legacy.php": "<?php // shop a legacy\n"}, ""))
	_, err := e.client(t).Install(t.Context(), InstallOptions{})
	wantErr(t, err, ErrLocalChanges, legacy)
	remove(t, legacy)
	if _, err := e.client(t).Install(t.Context(), InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	assertDB(t, e, "IS-1 2 installed", with(sampleOwners(1), "app/x.php", "IS-1 2 shop-a", "app/legacy.php", "IS-1 2 shop-a"))
}
