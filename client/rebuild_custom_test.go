package client

// Gap 3 of issue 14: a lost state.json must not lose the customer fixes
// the root holds. recover restores their records (who and when from the
// audit log, files from the cached archive or the rollback record and the
// root), their file database records with them; where a rollback record
// is unreadable it says which customer fix it could not restore and how
// to install it again.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
)

// customEnv is vendor 2.4.1.1-2.4.1.2 and IS-1 (cart.php replaced,
// extra.php added, legacy.php deleted, min_fix 2.4.1.2) installed.
func customEnv(t *testing.T) (*testRepo, *testEnv) {
	t.Helper()
	r := newRepo(t, "2.4.1.1", "2.4.1.2")
	r.addCustom(t, packCustomFix(t, "shop-a", "IS-1", "1", map[string]string{"app/cart.php": "<?php // shop a cart\n", "app/extra.php": "<?php // shop a\n"},
		"min_fix = \"2.4.1.2\"\ndelete = [\"app/legacy.php\"]\n"))
	e := newEnv(t, envOptions{Repo: r, Extra: customerLine})
	if out := e.hotfix(t, "install"); out.Code != 0 {
		t.Fatalf("install: %d\n%s%s", out.Code, out.Stdout, out.Stderr)
	}
	return r, e
}

// olderState writes back state.json as a copy from before the customer
// fix was installed: the vendor fixes only, no file database.
func olderState(t *testing.T, e *testEnv) {
	t.Helper()
	st, err := LoadState(e.Cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	st.Custom, st.DB = nil, nil
	for i := range st.Installed {
		st.Installed[i].Previous = nil
	}
	if err := st.Save(e.Cfg.StateDir); err != nil {
		t.Fatal(err)
	}
}

func TestRecoverRestoresCustomerFixes(t *testing.T) {
	t.Parallel()
	installed := with(sampleOwners(2), "app/cart.php", is1, "app/extra.php", is1)
	for _, tc := range []struct {
		name    string
		lose    func(t *testing.T, e *testEnv)
		noCache bool
		note    string // what recover must say besides
	}{
		{"deleted", func(t *testing.T, e *testEnv) { remove(t, statePath(e)) }, false, ""},
		{"damaged", func(t *testing.T, e *testEnv) {
			if err := os.WriteFile(statePath(e), []byte(`{"product": "acme", "custom": [`), 0o644); err != nil {
				t.Fatal(err)
			}
		}, false, "kept the damaged state as"},
		{"an older copy, before the customer fix", olderState, false, ""},
		{"deleted, download cache gone too", func(t *testing.T, e *testEnv) { remove(t, statePath(e)) }, true, "the archive of customer fix IS-1 1 is not in the download cache"},
		{"an older copy, download cache gone too", olderState, true, "the archive of customer fix IS-1 1 is not in the download cache"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, e := customEnv(t)
			tc.lose(t, e)
			if tc.noCache {
				removeAll(t, e.Cfg.CacheDir)
			}
			_, err := e.client(t).Install(t.Context(), InstallOptions{})
			wantErr(t, err, ErrStateLost, "customer fix IS-1 1", "hotfix recover")

			out := e.hotfix(t, "recover")
			if out.Code != 0 || !strings.Contains(out.Stdout, "restored customer fix IS-1 1") || !strings.Contains(out.Stdout, tc.note) {
				t.Fatalf("recover: exit %d, want it to say %q\n%s%s", out.Code, tc.note, out.Stdout, out.Stderr)
			}
			st, err := e.client(t).Status()
			if err != nil || len(st.Custom) != 1 || st.Custom[0].ID != "IS-1" || st.Custom[0].Version != "1" || st.Custom[0].Customer != "shop-a" || st.Custom[0].By == "unknown" {
				t.Fatalf("status after recover: %+v %v", st.Custom, err)
			}
			assertDB(t, e, "recovered", installed)
			if !tc.noCache {
				loaded, _ := LoadState(e.Cfg.StateDir)
				if cf := loaded.customFix("IS-1"); cf.MinFix == nil || cf.MinFix.String() != "2.4.1.2" || len(cf.Deleted) != 1 {
					t.Errorf("the recovered record lacks what the cached archive says: %+v", cf)
				}
			}
			// Nothing pending, and uninstall restores the vendor's files.
			if res, err := e.client(t).Install(t.Context(), InstallOptions{}); err != nil || len(res.Custom)+len(res.Installed) != 0 {
				t.Fatalf("install after recover: %+v %v", res, err)
			}
			if _, err := e.client(t).Uninstall(t.Context(), "IS-1", UninstallOptions{}); err != nil {
				t.Fatal(err)
			}
			assertTree(t, vendorTree(t, r, "2.4.1.2"), e.Root, "var")
			assertDB(t, e, "uninstalled after recover", sampleOwners(2))
		})
	}
}

// TestRecoverRestoresOverriddenCustomerFix: a customer file a vendor fix
// overrode with --force is recorded as overridden again (the cached
// archive tells the customer's digest), so uninstall leaves the vendor's
// file and the vendor fix's rollback restores what was there before.
func TestRecoverRestoresOverriddenCustomerFix(t *testing.T) {
	t.Parallel()
	r, e := customOverEnv(t)
	if _, err := e.client(t).Install(t.Context(), InstallOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	remove(t, statePath(e))
	if out := e.hotfix(t, "recover"); out.Code != 0 || !strings.Contains(out.Stdout, "restored customer fix IS-1 1") {
		t.Fatalf("recover: exit %d\n%s%s", out.Code, out.Stdout, out.Stderr)
	}
	st, _ := e.client(t).Status()
	if len(st.Custom) != 1 || st.Custom[0].Overridden["app/checkout.php"] != "2.4.1.3" {
		t.Fatalf("recovered customer fix: %+v", st.Custom)
	}
	assertDB(t, e, "recovered", with(sampleOwners(3), "app/extra.php", is1))
	if _, err := e.client(t).Uninstall(t.Context(), "IS-1", UninstallOptions{}); err != nil {
		t.Fatal(err)
	}
	assertDB(t, e, "uninstalled", sampleOwners(3))
	if _, err := e.client(t).Rollback(t.Context(), RollbackOptions{}); err != nil {
		t.Fatal(err)
	}
	assertTree(t, vendorTree(t, r, "2.4.1.2"), e.Root, "var")
	assertDB(t, e, "rolled back", sampleOwners(2))
}

// TestRecoverNamesCustomerFixItCannotRestore: with the customer fix's
// rollback record unreadable, recover rebuilds the vendor fixes, then
// names the customer fix and how to install it again; done so, install
// puts it back under hotfix's control.
func TestRecoverNamesCustomerFixItCannotRestore(t *testing.T) {
	t.Parallel()
	for _, damage := range []string{"journal damaged", "journal gone"} {
		t.Run(damage, func(t *testing.T) {
			t.Parallel()
			_, e := customEnv(t)
			remove(t, statePath(e))
			store := filepath.Join(e.Cfg.StateDir, customStoreDir, "IS-1")
			journal := filepath.Join(store, "backups", "1", "journal.json")
			if damage == "journal gone" {
				remove(t, journal)
			} else if err := os.WriteFile(journal, []byte("{\"op\": "), 0o600); err != nil {
				t.Fatal(err)
			}
			out := e.hotfix(t, "recover")
			if out.Code != 1 || !strings.Contains(out.Stderr, "could not restore customer fix IS-1 1") ||
				!strings.Contains(out.Stderr, filepath.Join(e.Cfg.StateDir, customStoreDir)) || !strings.Contains(out.Stderr, `run "hotfix install --force"`) {
				t.Fatalf("recover: exit %d\n%s%s", out.Code, out.Stdout, out.Stderr)
			}
			// The vendor fixes were rebuilt.
			loaded, err := LoadState(e.Cfg.StateDir)
			if err != nil || len(loaded.Installed) != 2 || len(loaded.Custom) != 0 {
				t.Fatalf("state after recover: %+v %v", loaded, err)
			}
			// As told: move the directory aside, install.
			if err := os.Rename(store, filepath.Join(e.Dir, "IS-1.aside")); err != nil {
				t.Fatal(err)
			}
			res, err := e.client(t).Install(t.Context(), InstallOptions{Force: true})
			if err != nil || len(res.Custom) != 1 {
				t.Fatalf("install after moving the record aside: %+v %v", res, err)
			}
			assertDB(t, e, "installed again", with(sampleOwners(2), "app/cart.php", is1, "app/extra.php", is1))
		})
	}
}

// TestBaseChangeLeavesCustomerBackupsAlone: after a full patch drops the
// customer fixes with their base, their rollback records left in
// state_dir/custom are not taken for a lost state, nor restored by a
// rebuild, also when the state is lost after the full patch.
func TestBaseChangeLeavesCustomerBackupsAlone(t *testing.T) {
	t.Parallel()
	_, e := customEnv(t)
	testkit.WriteFile(t, e.Root, "VERSION", "2.4.2\n", 0o644)
	// Any command under the lock saves the state on the new base.
	_, err := e.client(t).Uninstall(t.Context(), "IS-1", UninstallOptions{})
	testkit.WantErr(t, err, "customer fix IS-1 is not installed")
	st, err := e.client(t).Status()
	if err != nil || len(st.Custom) != 0 || st.Base != "2.4.2" {
		t.Fatalf("status after the full patch: %+v %v", st, err)
	}
	remove(t, statePath(e))
	if st, err := e.client(t).Status(); err != nil || len(st.Custom) != 0 {
		t.Fatalf("status with the state lost after the full patch: %+v %v", st, err)
	}
}

// FuzzLastCustomInstall: any audit detail is read without a panic, and a
// customer found is never longer than the detail it came from.
func FuzzLastCustomInstall(f *testing.F) {
	f.Add("customer fix IS-1 1 (customer shop-a); /var/log/hotfix/install.log")
	f.Add("customer fix IS-1 1 (customer ")
	f.Add("customer fix IS-1 1 (customer shop-a")
	f.Add("")
	b := customBackup{ID: "IS-1", Version: repo.MustParseVersion("1")}
	f.Fuzz(func(t *testing.T, detail string) {
		_, _, customer, ok := lastCustomInstall([]AuditRecord{{Action: "install", Outcome: "ok", Detail: detail}}, b)
		if ok && (len(customer) > len(detail) || strings.Contains(customer, ")")) {
			t.Fatalf("detail %q gave customer %q", detail, customer)
		}
	})
}

// TestRecoverJSONNamesCustomerFixes: recover --json lists the customer
// fixes a rebuild restored and those it could not, by id and version
// (and why), beside the free text recovered that scripts may read.
func TestRecoverJSONNamesCustomerFixes(t *testing.T) {
	t.Parallel()
	type ref struct{ ID, Version, Reason string }
	damage := func(t *testing.T, e *testEnv, id string) {
		t.Helper()
		journal := filepath.Join(e.Cfg.StateDir, customStoreDir, id, "backups", "1", "journal.json")
		if err := os.WriteFile(journal, []byte("{\"op\": "), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name           string
		lose           func(t *testing.T, e *testEnv)
		code           int
		restored, lost []string // "ID VERSION"
		said           string   // in recovered
	}{
		{"nothing to do", func(*testing.T, *testEnv) {}, 0, nil, nil, ""},
		{"restored", func(t *testing.T, e *testEnv) { remove(t, statePath(e)) }, 0, []string{"IS-1 1", "IS-2 1"}, nil, "restored customer fix IS-1 1, customer fix IS-2 1"},
		{"one restored, one lost", func(t *testing.T, e *testEnv) { remove(t, statePath(e)); damage(t, e, "IS-2") }, 1, []string{"IS-1 1"}, []string{"IS-2 1"}, "restored customer fix IS-1 1"},
		{"both lost", func(t *testing.T, e *testEnv) {
			remove(t, statePath(e))
			damage(t, e, "IS-1")
			damage(t, e, "IS-2")
		}, 1, nil, []string{"IS-1 1", "IS-2 1"}, "rebuilt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, e := customEnv(t)
			r.addCustom(t, packCustomFix(t, "shop-a", "IS-2", "1", map[string]string{"app/other.php": "<?php // other\n"}, ""))
			if out := e.hotfix(t, "install"); out.Code != 0 {
				t.Fatalf("install IS-2: %d\n%s", out.Code, out.Stderr)
			}
			tc.lose(t, e)
			out := e.hotfix(t, "recover", "--json")
			var got struct {
				Format         int     `json:"format"`
				Recovered      *string `json:"recovered"`
				RestoredCustom []ref   `json:"restored_custom"`
				LostCustom     []ref   `json:"lost_custom"`
			}
			if err := json.Unmarshal([]byte(out.Stdout), &got); err != nil || out.Code != tc.code {
				t.Fatalf("recover --json: exit %d, %v\n%s%s", out.Code, err, out.Stdout, out.Stderr)
			}
			if got.Recovered == nil || !strings.Contains(*got.Recovered, tc.said) || (tc.said == "") != (*got.Recovered == "") {
				t.Fatalf("recovered = %v, want %q in it", got.Recovered, tc.said)
			}
			if got.RestoredCustom == nil || got.LostCustom == nil {
				t.Fatalf("restored_custom and lost_custom must be lists, never null:\n%s", out.Stdout)
			}
			names := func(rs []ref) []string {
				var out []string
				for _, r := range rs {
					out = append(out, r.ID+" "+r.Version)
				}
				return out
			}
			if !slices.Equal(names(got.RestoredCustom), tc.restored) || !slices.Equal(names(got.LostCustom), tc.lost) {
				t.Fatalf("restored %v lost %v, want %v and %v", got.RestoredCustom, got.LostCustom, tc.restored, tc.lost)
			}
			for _, l := range got.LostCustom {
				if !strings.Contains(l.Reason, "unreadable") {
					t.Errorf("lost %s: reason %q does not say why", l.ID, l.Reason)
				}
			}
			for _, r := range got.RestoredCustom {
				if r.Reason != "" {
					t.Errorf("restored %s has a reason %q", r.ID, r.Reason)
				}
			}
		})
	}
}
