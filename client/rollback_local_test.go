package client

// Class 3 of issue 16: rollback must apply install's local-modification
// test. Each variant installs the sample chain, changes the root by hand,
// and rolls back: refused with the files named and nothing changed, then
// with Force rolled back, each changed file kept beside the restored one.

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/internal/beneath"
)

func TestRollbackLocalChanges(t *testing.T) {
	tests := []struct {
		name    string
		to      string                                   // rollback --to; "" the newest only
		change  func(t *testing.T, root string) []string // returns the changed paths (relative)
		content map[string]string                        // kept path (relative) → local content
	}{
		{"edited file of the newest fix", "", func(t *testing.T, root string) []string {
			writeRoot(t, root, "app/checkout.php", "<?php // my hotfix of the hotfix\n")
			return []string{"app/checkout.php"}
		}, map[string]string{"app/checkout.php": "<?php // my hotfix of the hotfix\n"}},
		{"file recreated where the fix deleted one", "", func(t *testing.T, root string) []string {
			writeRoot(t, root, "app/legacy.php", "<?php // still needed here\n")
			return []string{"app/legacy.php"}
		}, map[string]string{"app/legacy.php": "<?php // still needed here\n"}},
		{"file replaced by a symbolic link", "", func(t *testing.T, root string) []string {
			p := filepath.Join(root, "app", "checkout.php")
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("cart.php", p); err != nil {
				t.Fatal(err)
			}
			return []string{"app/checkout.php"}
		}, nil},
		{"edited file of an older fix, rolled back to the base", "2.4.1", func(t *testing.T, root string) []string {
			writeRoot(t, root, "lib/tax.php", "<?php // local tax rule\n")
			writeRoot(t, root, "lib/coupon.php", "<?php // local coupon rule\n")
			return []string{"lib/coupon.php", "lib/tax.php"}
		}, map[string]string{"lib/tax.php": "<?php // local tax rule\n", "lib/coupon.php": "<?php // local coupon rule\n"}},
		{"file added by a fix and edited", "2.4.1.1", func(t *testing.T, root string) []string {
			writeRoot(t, root, "lib/coupon.php", "<?php // tuned\n")
			return []string{"lib/coupon.php"}
		}, map[string]string{"lib/coupon.php": "<?php // tuned\n"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{})
			c := e.client(t)
			ctx := context.Background()
			base := snapshot(t, e.Root, "var")
			if _, err := c.Install(ctx, InstallOptions{}); err != nil {
				t.Fatal(err)
			}
			changed := tc.change(t, e.Root)
			before := snapshot(t, e.Root)
			backups := snapshot(t, filepath.Join(e.Cfg.StateDir, "backups"))
			opts := RollbackOptions{}
			if tc.to != "" {
				opts.To = ver(tc.to)
			}
			res, err := c.Rollback(ctx, opts)
			var want []string
			for _, p := range changed {
				want = append(want, filepath.Join(e.Root, filepath.FromSlash(p)))
			}
			wantErr(t, err, ErrLocalChanges, append(want, "changed since", "nothing kept")...)
			var rc *RollbackChangesError
			if !errors.As(err, &rc) || !slices.Equal(rc.Files, want) {
				t.Errorf("error %v: files %+v, want %v", err, rc, want)
			}
			if res != nil && len(res.RolledBack) > 0 {
				t.Errorf("a refused rollback rolled back %v", res.RolledBack)
			}
			assertTree(t, before, e.Root)
			assertTree(t, backups, filepath.Join(e.Cfg.StateDir, "backups"))
			if got := installed(t, e); len(got) != 3 {
				t.Fatalf("installed after a refused rollback: %v", got)
			}

			opts.Force = true
			res, err = c.Rollback(ctx, opts)
			if err != nil {
				t.Fatalf("rollback --force: %v", err)
			}
			if len(res.Kept) != len(want) {
				t.Fatalf("kept %+v, want one per changed file %v", res.Kept, want)
			}
			for i, k := range res.Kept {
				if k.Path != want[i] || !strings.HasPrefix(k.KeptAs, want[i]+keptSuffix) {
					t.Errorf("kept %+v, want %s kept as %s%s...", k, want[i], want[i], keptSuffix)
				}
				rel, _ := filepath.Rel(e.Root, k.Path)
				if content, ok := tc.content[filepath.ToSlash(rel)]; ok {
					if got, _ := os.ReadFile(k.KeptAs); string(got) != content {
						t.Errorf("kept %s holds %q, want the local %q", k.KeptAs, got, content)
					}
				} else if _, err := os.Lstat(k.KeptAs); err != nil {
					t.Errorf("kept copy: %v", err)
				}
			}
			// Without the kept copies, the root is what the rolled back
			// fixes found.
			for _, k := range res.Kept {
				if err := os.Remove(k.KeptAs); err != nil {
					t.Fatal(err)
				}
			}
			if tc.to == "2.4.1" {
				assertTree(t, base, e.Root, "var")
			}
			hist, err := ReadAudit(e.Cfg.LogDir)
			if err != nil {
				t.Fatal(err)
			}
			if last := hist[len(hist)-len(res.RolledBack)]; !strings.Contains(last.Detail, "kept the locally changed "+want[0]) {
				t.Errorf("audit record of the forced rollback: %+v", last)
			}
		})
	}
}

// TestRollbackUnchangedAndUntouchedFiles: a file deleted by hand loses
// nothing, and a changed file that the rolled back fix does not touch is
// not its business; neither is refused.
func TestRollbackUnchangedAndUntouchedFiles(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	c := e.client(t)
	ctx := context.Background()
	if _, err := c.Install(ctx, InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	writeRoot(t, e.Root, "lib/tax.php", "<?php // fix 2.4.1.1 edited, but only 2.4.1.3 goes\n")
	if err := os.Remove(filepath.Join(e.Root, "app", "checkout.php")); err != nil {
		t.Fatal(err)
	}
	res, err := c.Rollback(ctx, RollbackOptions{})
	if err != nil || len(res.Kept) != 0 || len(res.RolledBack) != 1 {
		t.Fatalf("rollback: %+v, %v", res, err)
	}
}

// TestRollbackDirectoryLinkNotFollowed: a directory of the root turned
// into a link to a directory outside it makes the local-modification
// test refuse the rollback, --force or not, naming the link; nothing
// outside the root is read as the root's or touched.
func TestRollbackDirectoryLinkNotFollowed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	c := e.client(t)
	ctx := context.Background()
	if _, err := c.Install(ctx, InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "app")
	if err := os.Rename(filepath.Join(e.Root, "app"), outside); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(e.Root, "app")); err != nil {
		t.Fatal(err)
	}
	before, out := snapshot(t, e.Root), snapshot(t, outside)
	for _, force := range []bool{false, true} {
		_, err := c.Rollback(ctx, RollbackOptions{Force: force})
		if err == nil {
			t.Fatalf("rollback (force %v) through a directory link succeeded", force)
		}
		wantErr(t, err, beneath.ErrLink, filepath.Join(e.Root, "app")+" is a symbolic link")
		assertTree(t, before, e.Root)
		assertTree(t, out, outside)
	}
}

// TestReinstallLocalChanges: --reinstall starts with a rollback, which
// must not discard local changes either.
func TestReinstallLocalChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	c := e.client(t)
	ctx := context.Background()
	if _, err := c.Install(ctx, InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	local := "<?php // edited after 2.4.1.3\n"
	writeRoot(t, e.Root, "app/checkout.php", local)
	before := snapshot(t, e.Root)
	for _, dry := range []bool{true, false} {
		_, err := c.Install(ctx, InstallOptions{Reinstall: ver("2.4.1.3"), DryRun: dry})
		wantErr(t, err, ErrLocalChanges, filepath.Join(e.Root, "app", "checkout.php"))
		assertTree(t, before, e.Root)
	}
	res, err := c.Install(ctx, InstallOptions{Reinstall: ver("2.4.1.3"), Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Kept) != 1 || len(res.Installed) != 1 {
		t.Fatalf("forced reinstall: %+v", res)
	}
	if got, _ := os.ReadFile(res.Kept[0].KeptAs); string(got) != local {
		t.Errorf("kept copy holds %q", got)
	}
}

func writeRoot(t *testing.T, root, rel, data string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
