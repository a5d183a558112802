package client

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/fixarchive"
	"github.com/hotfix-project/hotfix/repo/publish"
)

// owners maps each path of the file database to its owning fix.
func owners(t *testing.T, dir string) map[string]string {
	t.Helper()
	st, err := LoadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.DB == nil {
		t.Fatalf("state.json in %s has no file database", dir)
	}
	out := map[string]string{}
	for p, r := range st.DB.Files {
		out[p] = r.Fix
	}
	return out
}

// sampleOwners is the file database's owners after the first n sample
// fixes (and 2.4.1.4 of dbRepo when n is 4).
func sampleOwners(n int) map[string]string {
	levels := []map[string]string{
		{},
		{"lib/tax.php": "2.4.1.1"},
		{"lib/tax.php": "2.4.1.1", "app/cart.php": "2.4.1.2", "lib/coupon.php": "2.4.1.2"},
		{"lib/tax.php": "2.4.1.1", "app/cart.php": "2.4.1.2", "lib/coupon.php": "2.4.1.2", "app/checkout.php": "2.4.1.3"},
		{"lib/tax.php": "2.4.1.4", "app/cart.php": "2.4.1.2", "lib/coupon.php": "2.4.1.2", "app/checkout.php": "2.4.1.3", "lib/new/added.php": "2.4.1.4"},
	}
	return levels[n]
}

// dbRepo is the sample repository with 2.4.1.4, which replaces a file of
// 2.4.1.1, adds one and deletes one of 2.4.1.2.
func dbRepo(t *testing.T) *testRepo {
	t.Helper()
	r := newRepo(t)
	r.addSource(t, writeFixSource(t, "2.4.1.4", `delete = ["lib/coupon.php"]`+"\n",
		map[string]string{"lib/tax.php": "<?php // 2.4.1.4\n", "lib/new/added.php": "<?php // new\n"}, nil))
	r.build(t, publish.BuildOptions{})
	return r
}

func TestFileDBFollowsInstallAndRollback(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{Repo: dbRepo(t)})
	c := e.client(t)
	ctx := context.Background()
	if _, err := c.Install(ctx, InstallOptions{Target: ver("2.4.1.3")}); err != nil {
		t.Fatal(err)
	}
	if got := owners(t, e.Cfg.StateDir); !reflect.DeepEqual(got, sampleOwners(3)) {
		t.Fatalf("after 2.4.1.3: %v, want %v", got, sampleOwners(3))
	}
	// Size, mode and digest are the manifest's.
	m, err := fixarchive.ReadManifestFile(e.Repo.archivePath("2.4.1.2"))
	if err != nil {
		t.Fatal(err)
	}
	st, _ := LoadState(e.Cfg.StateDir)
	for _, f := range m.Files {
		want := FileRecord{Fix: "2.4.1.2", Size: f.Size, Mode: f.Mode, SHA256: f.SHA256}
		if got := st.DB.Files[f.Path]; got != want {
			t.Errorf("record of %s = %+v, want %+v", f.Path, got, want)
		}
	}
	if _, err := c.Install(ctx, InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	want := sampleOwners(4)
	delete(want, "lib/coupon.php") // 2.4.1.4 deletes it
	if got := owners(t, e.Cfg.StateDir); !reflect.DeepEqual(got, want) {
		t.Fatalf("after 2.4.1.4: %v, want %v", got, want)
	}
	// Rollback gives each path back its earlier record, exactly.
	for n := 3; n >= 0; n-- {
		if _, err := c.Rollback(ctx, RollbackOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := owners(t, e.Cfg.StateDir); !reflect.DeepEqual(got, sampleOwners(n)) {
			t.Fatalf("rolled back to level %d: %v, want %v", n, got, sampleOwners(n))
		}
	}
	after, _ := LoadState(e.Cfg.StateDir)
	if len(after.DB.Files) != 0 {
		t.Errorf("file database after rolling back everything: %v", after.DB.Files)
	}
}

// installedEnv is the sample with its three fixes installed.
func installedEnv(t *testing.T, o envOptions) *testEnv {
	t.Helper()
	e := newEnv(t, o)
	if _, err := e.client(t).Install(context.Background(), InstallOptions{Target: ver("2.4.1.3")}); err != nil {
		t.Fatal(err)
	}
	return e
}

// problems is VerifyFiles's report as "path what" lines, sorted.
func problems(t *testing.T, c *Client) []string {
	t.Helper()
	rep, err := c.VerifyFiles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Checked != len(rep.Problems)+countOK(rep) {
		t.Fatalf("report inconsistent: %+v", rep)
	}
	var out []string
	for _, p := range rep.Problems {
		rel, _ := filepath.Rel(c.Cfg.Root, p.Path)
		what := "missing"
		if !p.Missing {
			what = strings.Join(p.Changed, ",")
		}
		out = append(out, rel+" "+what+" "+p.Fix)
	}
	sort.Strings(out)
	return out
}

func countOK(rep *VerifyReport) int { return rep.Checked - len(rep.Problems) }

func TestVerifyFindsEachChange(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		change func(t *testing.T, root string)
		want   []string
	}{
		{"untouched", func(*testing.T, string) {}, nil},
		{"hand-edited, same size", func(t *testing.T, root string) {
			editSameSize(t, filepath.Join(root, "app/cart.php"))
		}, []string{"app/cart.php digest 2.4.1.2"}},
		{"hand-edited, longer", func(t *testing.T, root string) {
			appendTo(t, filepath.Join(root, "lib/tax.php"), "// local\n")
		}, []string{"lib/tax.php size,digest 2.4.1.1"}},
		{"chmod", func(t *testing.T, root string) {
			chmod(t, filepath.Join(root, "app/checkout.php"), 0o600)
		}, []string{"app/checkout.php mode 2.4.1.3"}},
		{"deleted", func(t *testing.T, root string) {
			remove(t, filepath.Join(root, "lib/coupon.php"))
		}, []string{"lib/coupon.php missing 2.4.1.2"}},
		{"a link in its place", func(t *testing.T, root string) {
			remove(t, filepath.Join(root, "lib/coupon.php"))
			symlink(t, "tax.php", filepath.Join(root, "lib/coupon.php"))
		}, []string{"lib/coupon.php type 2.4.1.2"}},
		{"a directory in its place", func(t *testing.T, root string) {
			remove(t, filepath.Join(root, "lib/coupon.php"))
			mkdir(t, filepath.Join(root, "lib/coupon.php"))
		}, []string{"lib/coupon.php type 2.4.1.2"}},
		{"its directory a link", func(t *testing.T, root string) {
			if err := os.Rename(filepath.Join(root, "app"), filepath.Join(root, "app.real")); err != nil {
				t.Fatal(err)
			}
			symlink(t, "app.real", filepath.Join(root, "app"))
		}, []string{"app/cart.php type 2.4.1.2", "app/checkout.php type 2.4.1.3"}},
		{"edited, chmod'ed and deleted", func(t *testing.T, root string) {
			editSameSize(t, filepath.Join(root, "app/cart.php"))
			chmod(t, filepath.Join(root, "app/checkout.php"), 0o755)
			remove(t, filepath.Join(root, "lib/tax.php"))
			// A file no fix installed changes nothing in the report.
			appendTo(t, filepath.Join(root, "config/app.ini"), "local=1\n")
		}, []string{"app/cart.php digest 2.4.1.2", "app/checkout.php mode 2.4.1.3", "lib/tax.php missing 2.4.1.1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := installedEnv(t, envOptions{})
			tc.change(t, e.Root)
			if got := problems(t, e.client(t)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("verify found %q, want %q", got, tc.want)
			}
		})
	}
}

// TestVerifyAndOwnsCommands runs the real binary: exit codes, the text
// and the --json keys.
func TestVerifyAndOwnsCommands(t *testing.T) {
	t.Parallel()
	e := installedEnv(t, envOptions{})
	if r := e.hotfix(t, "verify"); r.Code != 0 || !strings.Contains(r.Stdout, "all 4 files") {
		t.Fatalf("verify on an untouched root: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	editSameSize(t, filepath.Join(e.Root, "app/cart.php"))
	chmod(t, filepath.Join(e.Root, "app/checkout.php"), 0o600)
	remove(t, filepath.Join(e.Root, "lib/tax.php"))
	r := e.hotfix(t, "verify")
	if r.Code != 1 {
		t.Fatalf("verify exit %d, want 1\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	for _, want := range []string{
		"changed digest", filepath.Join(e.Root, "app/cart.php") + "  (fix 2.4.1.2)",
		"changed mode", filepath.Join(e.Root, "app/checkout.php") + "  (fix 2.4.1.3)",
		"missing", filepath.Join(e.Root, "lib/tax.php") + "  (fix 2.4.1.1)",
	} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("verify output lacks %q:\n%s", want, r.Stdout)
		}
	}
	if !strings.Contains(r.Stderr, "3 of 4 files differ") {
		t.Errorf("verify stderr: %s", r.Stderr)
	}
	r = e.hotfix(t, "--json", "verify")
	var rep struct {
		Product, Base, Root string
		Checked             int
		Problems            []map[string]any
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil || r.Code != 1 {
		t.Fatalf("verify --json: exit %d, %v\n%s", r.Code, err, r.Stdout)
	}
	if rep.Checked != 4 || len(rep.Problems) != 3 || rep.Product != demo.Product || rep.Base != demo.Base {
		t.Errorf("verify --json: %+v", rep)
	}
	if p := rep.Problems[0]; p["path"] != filepath.Join(e.Root, "app/cart.php") || p["fix"] != "2.4.1.2" || !reflect.DeepEqual(p["changed"], []any{"digest"}) {
		t.Errorf("verify --json problem: %v", p)
	}
	if p := rep.Problems[2]; p["missing"] != true {
		t.Errorf("verify --json missing: %v", p)
	}

	owns := []struct {
		path string
		code int
		out  string
	}{
		{filepath.Join(e.Root, "app/cart.php"), 0, "is owned by fix 2.4.1.2"},
		{filepath.Join(e.Root, "lib/tax.php"), 0, "is owned by fix 2.4.1.1"}, // deleted by hand: still its fix's
		{filepath.Join(e.Root, "config/app.ini"), 1, "was not put there by any installed fix"},
		{filepath.Join(e.Root, "app/legacy.php"), 1, "was not put there by any installed fix"}, // deleted by 2.4.1.3
		{filepath.Join(e.Root, "no/such/file"), 1, "was not put there by any installed fix"},
		{"/etc/passwd", 2, "not under the install root"},
		{e.Root, 2, "not under the install root"},
	}
	for _, o := range owns {
		r := e.hotfix(t, "owns", o.path)
		if r.Code != o.code || !strings.Contains(r.Stdout+r.Stderr, o.out) {
			t.Errorf("owns %s: exit %d, want %d with %q\n%s%s", o.path, r.Code, o.code, o.out, r.Stdout, r.Stderr)
		}
	}
	r = e.hotfix(t, "--json", "owns", filepath.Join(e.Root, "lib/coupon.php"))
	var o struct {
		Path  string
		Owner map[string]any
	}
	if err := json.Unmarshal([]byte(r.Stdout), &o); err != nil || r.Code != 0 || o.Owner["fix"] != "2.4.1.2" || o.Owner["sha256"] == "" {
		t.Errorf("owns --json: exit %d, %v: %s", r.Code, err, r.Stdout)
	}
	r = e.hotfix(t, "--json", "owns", filepath.Join(e.Root, "config/app.ini"))
	if r.Code != 1 || !strings.Contains(r.Stdout, `"owner": null`) {
		t.Errorf("owns --json of a base file: exit %d: %s", r.Code, r.Stdout)
	}
}

// TestOwnsCustomerFile checks the ownership API the customer fixes use:
// a transfer names the customer fix and undoes exactly.
func TestOwnsCustomerFile(t *testing.T) {
	t.Parallel()
	db := NewFileDB()
	prev := db.Install(vendorOwner(repo.MustParseVersion("2.4.1.1")), []repo.FileEntry{{Path: "lib/tax.php", Size: 3, Mode: 0o644, SHA256: strings.Repeat("a", 64)}}, nil, nil)
	if prev != nil {
		t.Fatalf("first install replaced %v", prev)
	}
	cust := FileRecord{Fix: "IS-1234", Customer: "shop-a"}
	cprev := db.Install(cust, []repo.FileEntry{{Path: "lib/tax.php", Size: 4, Mode: 0o644, SHA256: strings.Repeat("b", 64)}, {Path: "lib/shop.php", Size: 1, Mode: 0o600, SHA256: strings.Repeat("c", 64)}}, nil, nil)
	if got, _ := db.Owner("lib/tax.php"); got.Fix != "IS-1234" || got.Customer != "shop-a" {
		t.Errorf("owner after the customer fix: %+v", got)
	}
	if got := db.OwnedBy("shop-a", "IS-1234"); !reflect.DeepEqual(got, []string{"lib/shop.php", "lib/tax.php"}) {
		t.Errorf("OwnedBy = %v", got)
	}
	if got := db.OwnedBy("", "IS-1234"); got != nil {
		t.Errorf("a vendor fix named like the customer fix owns %v", got)
	}
	db.Revert(cust, []string{"lib/tax.php", "lib/shop.php"}, cprev)
	if got, _ := db.Owner("lib/tax.php"); got.Fix != "2.4.1.1" || got.SHA256 != strings.Repeat("a", 64) {
		t.Errorf("owner after undoing the customer fix: %+v", got)
	}
	if _, ok := db.Owner("lib/shop.php"); ok {
		t.Error("the customer fix's own file still has an owner")
	}
}

// stripFileDB makes state.json look as a hotfix before the file database
// wrote it.
func stripFileDB(t *testing.T, dir string) {
	t.Helper()
	p := filepath.Join(dir, stateName)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	delete(raw, "file_db")
	for _, f := range raw["installed"].([]any) {
		delete(f.(map[string]any), "previous_owners")
	}
	out, _ := json.Marshal(raw)
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFileDBMigratesOldState(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		prepare func(t *testing.T, e *testEnv)
		want    []string // verify's findings after the migration
	}{
		{"archives cached", func(*testing.T, *testEnv) {}, nil},
		{"archives cached, a file edited before", func(t *testing.T, e *testEnv) {
			appendTo(t, filepath.Join(e.Root, "lib/tax.php"), "// local\n")
		}, []string{"lib/tax.php size,digest 2.4.1.1"}},
		{"archives cached, a file chmod'ed before", func(t *testing.T, e *testEnv) {
			chmod(t, filepath.Join(e.Root, "app/cart.php"), 0o600)
		}, []string{"app/cart.php mode 2.4.1.2"}},
		{"cache emptied, a file edited before", func(t *testing.T, e *testEnv) {
			removeAll(t, e.Cfg.CacheDir)
			editSameSize(t, filepath.Join(e.Root, "app/cart.php"))
		}, []string{"app/cart.php digest 2.4.1.2"}},
		{"cache emptied, a file deleted before", func(t *testing.T, e *testEnv) {
			removeAll(t, e.Cfg.CacheDir)
			remove(t, filepath.Join(e.Root, "lib/coupon.php"))
		}, []string{"lib/coupon.php missing 2.4.1.2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := installedEnv(t, envOptions{Repo: dbRepo(t)})
			stripFileDB(t, e.Cfg.StateDir)
			tc.prepare(t, e)
			c := e.client(t)
			if got := problems(t, c); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("verify after migration found %q, want %q", got, tc.want)
			}
			// Read-only commands do not write the state.
			if raw, _ := os.ReadFile(filepath.Join(e.Cfg.StateDir, stateName)); strings.Contains(string(raw), "file_db") {
				t.Fatal("verify wrote the migrated file database")
			}
			// The next install saves it, and rollback uses it.
			if _, err := c.Install(context.Background(), InstallOptions{Force: true}); err != nil {
				t.Fatal(err)
			}
			want := sampleOwners(4)
			delete(want, "lib/coupon.php")
			if got := owners(t, e.Cfg.StateDir); !reflect.DeepEqual(got, want) {
				t.Fatalf("after migration and 2.4.1.4: %v, want %v", got, want)
			}
			if _, err := c.Rollback(context.Background(), RollbackOptions{To: ver("2.4.1.2"), Force: true}); err != nil {
				t.Fatal(err)
			}
			if got := owners(t, e.Cfg.StateDir); !reflect.DeepEqual(got, sampleOwners(2)) {
				t.Fatalf("after rollback to 2.4.1.2: %v, want %v", got, sampleOwners(2))
			}
		})
	}
}

// TestLocalChangeTestUsesFileDB: the test before an install compares a
// file with its record in the file database, also a migrated one.
func TestLocalChangeTestUsesFileDB(t *testing.T) {
	t.Parallel()
	for _, migrate := range []bool{false, true} {
		e := installedEnv(t, envOptions{Repo: dbRepo(t)})
		if migrate {
			stripFileDB(t, e.Cfg.StateDir)
		}
		tax := filepath.Join(e.Root, "lib/tax.php")
		editSameSize(t, tax)
		_, err := e.client(t).Install(context.Background(), InstallOptions{})
		wantErr(t, err, ErrLocalChanges, tax, "--force")
		// The record says what the fix installed, not what is there.
		st, err := e.client(t).state(repo.MustParseVersion(demo.Base))
		if err != nil {
			t.Fatal(err)
		}
		rec, _ := st.files().Owner("lib/tax.php")
		if sha256File(t, tax) == rec.SHA256 || rec.Fix != "2.4.1.1" {
			t.Errorf("migrate=%v: record %+v follows the edited file", migrate, rec)
		}
	}
}

// The hand changes an administrator makes, for the tests.

// editSameSize changes a file's content, keeping its size.
func editSameSize(t *testing.T, p string) {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	data[0] ^= 0x20
	if err := os.WriteFile(p, data, 0); err != nil {
		t.Fatal(err)
	}
}

func appendTo(t *testing.T, p, text string) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

func chmod(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, p string) {
	t.Helper()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}

func removeAll(t *testing.T, p string) {
	t.Helper()
	if err := os.RemoveAll(p); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, p string) {
	t.Helper()
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.Mkdir(p, 0o755); err != nil {
		t.Fatal(err)
	}
}
