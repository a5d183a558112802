package txn

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

// sh runs a command that makes a file unreplaceable, and undoes it when
// the test ends (before t.TempDir's removal, which it would stop). This
// machine runs the tests as root with chattr and mount available, so a
// failure is a failure, not a reason to skip.
func sh(t *testing.T, undo []string, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command(undo[0], undo[1:]...).CombinedOutput(); err != nil {
			t.Errorf("undo %v: %v\n%s", undo, err, out)
		}
	})
}

// unreplaceable makes rel under root something no rename or unlink can
// change, in one of several ways.
func unreplaceable(t *testing.T, root, how, rel string) {
	t.Helper()
	p := filepath.Join(root, rel)
	switch how {
	case "immutable":
		sh(t, []string{"chattr", "-i", p}, "chattr", "+i", p)
	case "append-only":
		sh(t, []string{"chattr", "-a", p}, "chattr", "+a", p)
	case "bind-mounted":
		src := filepath.Join(t.TempDir(), "other")
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(p)
		write(t, src, string(data), fi.Mode().Perm())
		sh(t, []string{"umount", p}, "mount", "--bind", src, p)
	case "read-only mount":
		sh(t, []string{"umount", p}, "mount", "--bind", p, p)
		if out, err := exec.Command("mount", "-o", "remount,ro,bind", p).CombinedOutput(); err != nil {
			t.Fatalf("remount ro: %v\n%s", err, out)
		}
	default:
		t.Fatalf("unknown way %q", how)
	}
}

// TestPreflightFindsUnreplaceableFiles: the test step finds every file
// the apply could not replace or delete, and every directory it could
// not write in, names it and says what to do; nothing is changed and no
// transaction begins.
func TestPreflightFindsUnreplaceableFiles(t *testing.T) {
	for _, tt := range []struct{ how, rel, want string }{
		{"immutable", "bin/app", "bin/app is immutable (chattr +i)"},
		{"append-only", "bin/app", "bin/app is append-only (chattr +a)"},
		{"bind-mounted", "bin/app", "bin/app is a mount point"},
		{"immutable", "lib/old.php", "lib/old.php is immutable"},
		{"bind-mounted", "lib/old.php", "lib/old.php is a mount point"},
		{"immutable", "lib", "cannot write in"},
		{"append-only", "bin", "cannot write in"},
		{"read-only mount", "bin", "cannot write in"},
		{"immutable", ".", "cannot write in"},
	} {
		t.Run(tt.how+"/"+tt.rel, func(t *testing.T) {
			f := newFixture(t, t.TempDir())
			unreplaceable(t, f.store.Root, tt.how, tt.rel)
			before := snapshot(t, f.store.Root)
			j, err := Plan(f.store.Root, f.m)
			if err != nil {
				t.Fatal(err)
			}
			err = f.store.Preflight(j, f.m)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Preflight = %v; want %q", err, tt.want)
			}
			if f.store.InProgress() != "" {
				t.Error("a refused preflight left a transaction")
			}
			if got := snapshot(t, f.store.Root); !reflect.DeepEqual(got, before) {
				t.Errorf("root changed:\n%v\nwant\n%v", got, before)
			}
		})
	}
}

// TestUnreplaceableAfterTheTest: a file made unreplaceable between the
// test step and the apply makes the apply fail; the restore leaves that
// untouched file alone instead of failing on it, restores the rest, and
// no journal stays behind.
func TestUnreplaceableAfterTheTest(t *testing.T) {
	for _, tt := range []struct{ how, rel string }{
		{"immutable", "bin/app"},
		{"append-only", "bin/app"},
		{"bind-mounted", "bin/app"},
		{"immutable", "lib/old.php"},
		{"bind-mounted", "lib/old.php"},
	} {
		t.Run(tt.how+"/"+tt.rel, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, t.TempDir())
			j, err := Plan(f.store.Root, f.m)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.store.Preflight(j, f.m); err != nil {
				t.Fatal(err)
			}
			unreplaceable(t, f.store.Root, tt.how, tt.rel)
			before := snapshot(t, f.store.Root)
			tx, err := f.store.Begin(j)
			if err != nil {
				t.Fatal(err)
			}
			if err := tx.BackUp(ctx); err != nil {
				t.Fatal(err)
			}
			if err := tx.Apply(ctx, f.m, f.staging); err == nil {
				t.Fatal("Apply over an unreplaceable file succeeded")
			}
			if err := tx.Restore(ctx); err != nil {
				t.Fatalf("Restore = %v; want the untouched file skipped", err)
			}
			if err := tx.Discard(); err != nil {
				t.Fatal(err)
			}
			if f.store.InProgress() != "" {
				t.Error("journal left behind")
			}
			if got := snapshot(t, f.store.Root); !reflect.DeepEqual(got, before) {
				t.Errorf("root after restore:\n%v\nwant\n%v", got, before)
			}
		})
	}
}

// TestRestoreSkipsOnlyExactMatches: a file that differs from its backup
// in content, mode or owner alone is restored; one equal in all three
// is not rewritten (its inode stays).
func TestRestoreSkipsOnlyExactMatches(t *testing.T) {
	ctx := context.Background()
	for _, change := range []string{"none", "content", "mode", "owner"} {
		t.Run(change, func(t *testing.T) {
			f := newFixture(t, t.TempDir())
			tx := f.install(t, "backup")
			p := filepath.Join(f.store.Root, "bin/app")
			switch change {
			case "content":
				write(t, p, "app 1.0\r\n", 0o755)
			case "mode":
				os.Chmod(p, 0o700)
			case "owner":
				os.Chown(p, 12345, 12345)
			}
			ino := inode(t, p)
			if err := tx.Restore(ctx); err != nil {
				t.Fatal(err)
			}
			if got, _ := os.ReadFile(p); string(got) != "app 1.0\n" {
				t.Errorf("bin/app = %q after restore", got)
			}
			if kept := inode(t, p) == ino; kept != (change == "none") {
				t.Errorf("change %s: inode kept = %v", change, kept)
			}
		})
	}
}

func inode(t *testing.T, p string) uint64 {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}
