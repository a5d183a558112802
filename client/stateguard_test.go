package client

// Class 4 of issue 16: a missing, emptied, damaged or older state.json
// must never let an install overwrite the backups of the originals.
// Every command that trusts the state refuses, naming recover; recover
// rebuilds the state from the backups and the audit log, after which
// rollback --to the base restores the base exactly.

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLostStateRefusedThenRebuilt(t *testing.T) {
	tests := []struct {
		name      string
		damage    func(t *testing.T, e *testEnv, stateAfterFirst []byte)
		noCache   bool   // the download cache is gone too
		didAlso   string // what recover must say besides the rebuild
		wantAdded string
	}{
		{"deleted", func(t *testing.T, e *testEnv, _ []byte) {
			if err := os.Remove(statePath(e)); err != nil {
				t.Fatal(err)
			}
		}, false, "", "2.4.1.1, 2.4.1.2, 2.4.1.3"},
		{"emptied to zero bytes", func(t *testing.T, e *testEnv, _ []byte) {
			if err := os.Truncate(statePath(e), 0); err != nil {
				t.Fatal(err)
			}
		}, false, "kept the damaged state as", "2.4.1.1, 2.4.1.2, 2.4.1.3"},
		{"emptied to {}", func(t *testing.T, e *testEnv, _ []byte) {
			if err := os.WriteFile(statePath(e), []byte("{}"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, false, "", "2.4.1.1, 2.4.1.2, 2.4.1.3"},
		{"damaged JSON", func(t *testing.T, e *testEnv, _ []byte) {
			if err := os.WriteFile(statePath(e), []byte(`{"product": "acme", "installed": [`), 0o644); err != nil {
				t.Fatal(err)
			}
		}, false, "kept the damaged state as", "2.4.1.1, 2.4.1.2, 2.4.1.3"},
		{"an older copy", func(t *testing.T, e *testEnv, first []byte) {
			if err := os.WriteFile(statePath(e), first, 0o644); err != nil {
				t.Fatal(err)
			}
		}, false, "", "2.4.1.2, 2.4.1.3"},
		{"deleted, download cache gone too", func(t *testing.T, e *testEnv, _ []byte) {
			if err := os.Remove(statePath(e)); err != nil {
				t.Fatal(err)
			}
		}, true, "not in the download cache", "2.4.1.1, 2.4.1.2, 2.4.1.3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{})
			c := e.client(t)
			ctx := context.Background()
			base := snapshot(t, e.Root, "var")
			if _, err := c.Install(ctx, InstallOptions{Target: ver("2.4.1.1")}); err != nil {
				t.Fatal(err)
			}
			first, err := os.ReadFile(statePath(e))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Install(ctx, InstallOptions{}); err != nil {
				t.Fatal(err)
			}
			full := snapshot(t, e.Root)
			tc.damage(t, e, first)
			if tc.noCache {
				if err := os.RemoveAll(e.Cfg.CacheDir); err != nil {
					t.Fatal(err)
				}
			}
			backups := filepath.Join(e.Cfg.StateDir, "backups")
			kept := snapshot(t, backups)

			// Everything that trusts the state refuses, changing nothing.
			refusals := map[string]func() error{
				"install":         func() error { _, err := c.Install(ctx, InstallOptions{}); return err },
				"install dry run": func() error { _, err := c.Install(ctx, InstallOptions{DryRun: true}); return err },
				"rollback":        func() error { _, err := c.Rollback(ctx, RollbackOptions{To: ver("2.4.1")}); return err },
				"status":          func() error { _, err := c.Status(); return err },
				"check":           func() error { _, err := c.Check(ctx); return err },
			}
			for what, do := range refusals {
				t.Logf("%s", what)
				wantErr(t, do(), ErrStateLost, statePath(e), "hotfix recover")
				assertTree(t, full, e.Root)
				assertTree(t, kept, backups)
			}

			res, err := c.Recover(ctx, 0)
			did := res.Did
			if err != nil {
				t.Fatalf("recover: %v", err)
			}
			for _, want := range []string{"rebuilt " + statePath(e), "added " + tc.wantAdded, tc.didAlso} {
				if !strings.Contains(did, want) {
					t.Errorf("recover said %q, want %q in it", did, want)
				}
			}
			if got := strings.Join(installed(t, e), " "); got != "2.4.1.1 2.4.1.2 2.4.1.3" {
				t.Fatalf("rebuilt state lists %q", got)
			}
			st, err := c.Status()
			if err != nil || len(st.Installed) != 3 {
				t.Fatalf("status after recover: %+v, %v", st, err)
			}
			// The rebuilt records still catch local changes.
			if !tc.noCache {
				checkout := filepath.Join(e.Root, "app", "checkout.php")
				orig, err := os.ReadFile(checkout)
				if err != nil {
					t.Fatal(err)
				}
				writeRoot(t, e.Root, "app/checkout.php", "<?php // edited\n")
				_, err = c.Rollback(ctx, RollbackOptions{})
				wantErr(t, err, ErrLocalChanges, "checkout.php")
				if err := os.WriteFile(checkout, orig, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := c.Rollback(ctx, RollbackOptions{To: ver("2.4.1")}); err != nil {
				t.Fatalf("rollback to the base after the rebuild: %v", err)
			}
			assertTree(t, base, e.Root, "var")
		})
	}
}

// TestLostStateCannotRebuild: when the backups do not form a chain from
// the base, recover says why and changes nothing.
func TestLostStateCannotRebuild(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	c := e.client(t)
	ctx := context.Background()
	if _, err := c.Install(ctx, InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(statePath(e)); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(e.Cfg.StateDir, "backups", "2.4.1.2")); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, e.Dir, "log")
	_, err := c.Recover(ctx, 0)
	wantErr(t, err, nil, "cannot rebuild the state", "2.4.1.3 requires 2.4.1.2", "restore state.json from a backup")
	assertTree(t, before, e.Dir, "log")
}

// TestFreshServerNeedsNoState: no state.json and no backups is a new
// server, not a lost state.
func TestFreshServerNeedsNoState(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	c := e.client(t)
	if _, err := c.Status(); err != nil {
		t.Fatal(err)
	}
	res, err := c.Recover(context.Background(), 0)
	did := res.Did
	if err != nil || did != "" {
		t.Fatalf("recover on a new server: %q, %v", did, err)
	}
}

func statePath(e *testEnv) string { return filepath.Join(e.Cfg.StateDir, stateName) }
