package client

import (
	"reflect"
	"testing"
)

// stripCustomerRecords makes state.json look as the file database before
// it recorded customer fixes wrote it: the vendor records under the
// customer's files (and a vendor record still on a path a customer fix
// deleted), no customer records, no customer_files flag.
func stripCustomerRecords(t *testing.T, dir string) {
	t.Helper()
	st, err := LoadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range st.Custom {
		cf := &st.Custom[i]
		for _, p := range cf.owned() {
			if prev, ok := cf.Previous[p]; ok {
				st.DB.Files[p] = prev
			} else {
				delete(st.DB.Files, p)
			}
		}
		for p, by := range cf.Overridden {
			vf := st.installedFix(by)
			if prev, ok := cf.Previous[p]; ok {
				vf.Previous[p] = prev
			} else {
				delete(vf.Previous, p)
			}
		}
		cf.Previous = nil
	}
	st.DB.Customers = false
	if err := st.Save(dir); err != nil {
		t.Fatal(err)
	}
}

// stripAllRecords makes state.json look as a hotfix before the file
// database wrote it.
func stripAllRecords(t *testing.T, dir string) {
	t.Helper()
	st, err := LoadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	st.DB = nil
	for i := range st.Installed {
		st.Installed[i].Previous = nil
	}
	for i := range st.Custom {
		st.Custom[i].Previous = nil
	}
	if err := st.Save(dir); err != nil {
		t.Fatal(err)
	}
}

// TestFileDBMigratesCustomerFixes: a state from before the customer
// fixes were recorded (or before the file database) gets them on first
// use, exactly as if they had been recorded all along: the same records
// and the same Previous of every fix; uninstall and rollback then go
// on from them.
func TestFileDBMigratesCustomerFixes(t *testing.T) {
	t.Parallel()
	forced := func(t *testing.T, e *testEnv) {
		if _, err := e.client(t).Install(t.Context(), InstallOptions{Force: true}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name  string
		strip func(t *testing.T, dir string)
		more  func(t *testing.T, e *testEnv)
		after []map[string]string // owners after uninstall IS-1, then each rollback
	}{
		{"customer records missing", stripCustomerRecords, nil, []map[string]string{sampleOwners(2), sampleOwners(1)}},
		{"no file database", stripAllRecords, nil, []map[string]string{sampleOwners(2), sampleOwners(1)}},
		{"customer records missing, a file overridden", stripCustomerRecords, forced, []map[string]string{sampleOwners(3), sampleOwners(2)}},
		{"no file database, a file overridden", stripAllRecords, forced, []map[string]string{sampleOwners(3), sampleOwners(2)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, e := customOverEnv(t)
			if tc.more != nil {
				tc.more(t, e)
			}
			want, _ := LoadState(e.Cfg.StateDir)
			tc.strip(t, e.Cfg.StateDir)
			c := e.client(t)
			got, _, err := c.loadState(false)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.DB, want.DB) {
				t.Errorf("migrated file database\n  %+v\nwant\n  %+v", got.DB.Files, want.DB.Files)
			}
			for i := range want.Installed {
				if !reflect.DeepEqual(got.Installed[i].Previous, want.Installed[i].Previous) {
					t.Errorf("migrated Previous of %s: %+v, want %+v", want.Installed[i].Version, got.Installed[i].Previous, want.Installed[i].Previous)
				}
			}
			if !reflect.DeepEqual(got.Custom[0].Previous, want.Custom[0].Previous) {
				t.Errorf("migrated Previous of IS-1: %+v, want %+v", got.Custom[0].Previous, want.Custom[0].Previous)
			}
			if p := problems(t, c); len(p) > 0 {
				t.Errorf("verify after the migration: %q", p)
			}
			if _, err := c.Uninstall(t.Context(), "IS-1", UninstallOptions{}); err != nil {
				t.Fatal(err)
			}
			assertDB(t, e, "uninstall IS-1", tc.after[0])
			if _, err := c.Rollback(t.Context(), RollbackOptions{}); err != nil {
				t.Fatal(err)
			}
			assertDB(t, e, "rollback", tc.after[1])
		})
	}
}
