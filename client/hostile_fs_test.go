package client

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/client/txn"
	"github.com/hotfix-project/hotfix/internal/beneath"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/publish"
)

// fsEnv is a client with 2.4.1.1 to 2.4.1.3 installed and a fix 2.4.1.4
// pending that replaces lib/tax.php, adds lib/new/added.php and deletes
// config/app.ini.
func fsEnv(t *testing.T) (*testEnv, *Client) {
	t.Helper()
	r := newRepo(t)
	r.addSource(t, writeFixSource(t, "2.4.1.4", `delete = ["config/app.ini"]`+"\n",
		map[string]string{"lib/tax.php": "<?php // 2.4.1.4\n", "lib/new/added.php": "<?php // new\n"}, nil))
	r.build(t, publish.BuildOptions{})
	e := newEnv(t, envOptions{Repo: r})
	c := e.client(t)
	if _, err := c.Install(context.Background(), InstallOptions{Target: ver("2.4.1.3")}); err != nil {
		t.Fatal(err)
	}
	return e, c
}

// moveOutside replaces the directory rel of the root by a link to a copy
// of it outside the root, and returns the copy.
func moveOutside(t *testing.T, root, rel string) string {
	t.Helper()
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.Rename(filepath.Join(root, rel), outside); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, rel)); err != nil {
		t.Fatal(err)
	}
	return outside
}

// TestInstallRefusesDirectoryLinks: with a directory of the root
// replaced by a link to a directory outside it, the dry run and the
// install refuse at the test step, naming the link; a rollback refuses
// too, the journal staying for recover. Nothing outside changes.
func TestInstallRefusesDirectoryLinks(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ op, dir string }{
		{"dry-run", "lib"},    // replaced and added files
		{"install", "lib"},    // replaced and added files
		{"install", "config"}, // a deleted file
		{"rollback", "lib"},
		{"rollback", "config"},
	} {
		t.Run(tt.op+"/"+tt.dir, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e, c := fsEnv(t)
			if tt.op == "rollback" {
				if _, err := c.Install(ctx, InstallOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			outside := moveOutside(t, e.Root, tt.dir)
			before := snapshot(t, outside)
			var err error
			if tt.op == "rollback" {
				_, err = c.Rollback(ctx, RollbackOptions{})
			} else {
				_, err = c.Install(ctx, InstallOptions{DryRun: tt.op == "dry-run"})
			}
			wantErr(t, err, beneath.ErrLink, filepath.Join(e.Root, tt.dir)+" is a symbolic link")
			t.Log(err)
			var se *StepError
			if tt.op != "rollback" && (!errors.As(err, &se) || se.Step != "test") {
				t.Errorf("error %v is not a StepError at the test step", err)
			}
			assertTree(t, before, outside)
			if tt.op != "rollback" && c.store().InProgress() != "" {
				t.Error("a refused install left a transaction")
			}
		})
	}
}

// chattr sets flag on p until the test ends.
func chattr(t *testing.T, flag, p string) {
	t.Helper()
	if out, err := exec.Command("chattr", "+"+flag, p).CombinedOutput(); err != nil {
		t.Fatalf("chattr +%s %s: %v\n%s", flag, p, err, out)
	}
	t.Cleanup(func() { exec.Command("chattr", "-"+flag, p).Run() })
}

// TestInstallUnreplaceableFile: a file the fix must replace or delete
// that no rename or unlink can change (immutable, or a bind mount) is
// reported by the dry run and refused by the install at the test step,
// with no journal left; one made immutable only after the test makes
// the apply fail, the root is restored without touching it, the
// messages agree, and no journal stays to block the next install.
func TestInstallUnreplaceableFile(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ how, rel, want string }{
		{"immutable", "lib/tax.php", "is immutable (chattr +i)"},
		{"immutable", "config/app.ini", "is immutable (chattr +i)"},
		{"bind-mounted", "lib/tax.php", "is a mount point"},
		{"immutable-after-test", "lib/tax.php", "put files in place"},
		{"immutable-after-test", "config/app.ini", "delete config/app.ini"},
	} {
		t.Run(tt.how+"/"+tt.rel, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e, c := fsEnv(t)
			p := filepath.Join(e.Root, filepath.FromSlash(tt.rel))
			opts := InstallOptions{}
			switch tt.how {
			case "immutable":
				chattr(t, "i", p)
			case "bind-mounted":
				other := filepath.Join(t.TempDir(), "other")
				data, _ := os.ReadFile(p)
				if err := os.WriteFile(other, data, 0o644); err != nil {
					t.Fatal(err)
				}
				if out, err := exec.Command("mount", "--bind", other, p).CombinedOutput(); err != nil {
					t.Fatalf("mount: %v\n%s", err, out)
				}
				t.Cleanup(func() { exec.Command("umount", p).Run() })
			case "immutable-after-test":
				opts.Progress = func(_ repo.Version, step string) {
					if step == "backup" {
						chattr(t, "i", p)
					}
				}
			}
			before := snapshot(t, e.Root)
			if tt.how != "immutable-after-test" {
				_, err := c.Install(ctx, InstallOptions{DryRun: true})
				wantErr(t, err, nil, p, tt.want)
				var se *StepError
				if !errors.As(err, &se) || se.Step != "test" {
					t.Errorf("dry run: %v is not a StepError at the test step", err)
				}
			}
			_, err := c.Install(ctx, opts)
			wantErr(t, err, nil, tt.want)
			t.Log(err)
			if strings.Contains(err.Error(), "also failed") || strings.Contains(err.Error(), "hotfix recover") {
				t.Errorf("install error contradicts itself or asks for recover: %v", err)
			}
			if tt.how == "immutable-after-test" && !strings.Contains(err.Error(), "the root was restored") {
				t.Errorf("install error %q does not say the root was restored", err)
			}
			assertTree(t, before, e.Root)
			if c.store().InProgress() != "" {
				t.Error("journal left behind")
			}
			if got := installed(t, e); strings.Join(got, " ") != "2.4.1.1 2.4.1.2 2.4.1.3" {
				t.Errorf("installed: %v", got)
			}
			if _, err := os.Stat(filepath.Join(e.Cfg.StateDir, "txn")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("transaction directory left: %v", err)
			}
			// Nothing is stuck: with the file replaceable again, the
			// install goes through.
			exec.Command("chattr", "-i", p).Run()
			exec.Command("umount", p).Run()
			if _, err := c.Install(ctx, InstallOptions{}); err != nil {
				t.Fatalf("install once the file is replaceable: %v", err)
			}
		})
	}
}

// TestLocalChangesNeverFollowLinks: the local-modification test reads
// the root without following links: a replaced file swapped for a link
// to an identical copy outside is not taken for the installed file.
func TestLocalChangesNeverFollowLinks(t *testing.T) {
	t.Parallel()
	e, _ := fsEnv(t)
	st, err := LoadState(e.Cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	tax := filepath.Join(e.Root, "lib", "tax.php")
	outside := filepath.Join(t.TempDir(), "tax.php")
	data, _ := os.ReadFile(tax)
	if err := os.WriteFile(outside, data, 0o644); err != nil {
		t.Fatal(err)
	}
	j := &txn.Journal{Entries: []txn.Entry{{Path: "lib/tax.php", Action: txn.ActReplace}}}
	m := &repo.Manifest{}
	if got, err := localChanges(e.Root, st, m, j); err != nil || len(got) != 0 {
		t.Fatalf("before the swap: %v, %v", got, err)
	}
	if err := os.Remove(tax); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, tax); err != nil {
		t.Fatal(err)
	}
	if got, err := localChanges(e.Root, st, m, j); err != nil || len(got) != 1 || got[0] != tax {
		t.Errorf("after the swap: %v, %v; want %s listed", got, err, tax)
	}
}
