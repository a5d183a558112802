package txn

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/repo"
)

// tree maps each path under a directory to its type, mode and content.
type tree map[string]string

func snapshot(t *testing.T, root string) tree {
	t.Helper()
	out := tree{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			out[rel] = fmt.Sprintf("dir %v", info.Mode())
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[rel] = fmt.Sprintf("file %v %q", info.Mode(), data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func write(t *testing.T, p, data string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

// fixture is a root, a state directory and a staged fix that replaces
// one file, adds one in a new directory and deletes one.
type fixture struct {
	store   Store
	staging string
	m       *repo.Manifest
}

func newFixture(t *testing.T, dir string) *fixture {
	t.Helper()
	f := &fixture{store: Store{Root: filepath.Join(dir, "root"), StateDir: filepath.Join(dir, "state")}, staging: filepath.Join(dir, "staging")}
	write(t, filepath.Join(f.store.Root, "bin/app"), "app 1.0\n", 0o755)
	write(t, filepath.Join(f.store.Root, "etc/app.conf"), "secret\n", 0o600)
	write(t, filepath.Join(f.store.Root, "lib/old.php"), "old\n", 0o644)
	f.m = &repo.Manifest{Product: "acme", Version: repo.MustParseVersion("1.0.1"), Delete: []string{"lib/old.php", "lib/never.php"}}
	// A slice, not a map: the manifest's order is the plan's.
	for _, fd := range [][2]string{{"bin/app", "app 1.0.1\n"}, {"share/new/doc.txt", "new\n"}} {
		rel, data := fd[0], fd[1]
		write(t, filepath.Join(f.staging, "files", rel), data, 0o644)
		sum := sha256.Sum256([]byte(data))
		f.m.Files = append(f.m.Files, repo.FileEntry{Path: rel, Size: int64(len(data)), Mode: 0o755, SHA256: hex.EncodeToString(sum[:])})
	}
	return f
}

// install runs the transaction up to and including stop ("begin",
// "backup", "apply", "commit"), as the client would.
func (f *fixture) install(t *testing.T, stop string) *Txn {
	t.Helper()
	ctx := context.Background()
	j, err := Plan(f.store.Root, f.m)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.Preflight(j, f.m); err != nil {
		t.Fatal(err)
	}
	tx, err := f.store.Begin(j)
	if err != nil || stop == "begin" {
		return must(t, tx, err)
	}
	if err := tx.BackUp(ctx); err != nil || stop == "backup" {
		return must(t, tx, err)
	}
	if err := tx.Apply(ctx, f.m, f.staging); err != nil || stop == "apply" {
		return must(t, tx, err)
	}
	return must(t, tx, tx.Commit())
}

func must(t *testing.T, tx *Txn, err error) *Txn {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

func TestPlan(t *testing.T) {
	f := newFixture(t, t.TempDir())
	j, err := Plan(f.store.Root, f.m)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range j.Entries {
		got = append(got, e.Action+" "+e.Path)
	}
	want := []string{"replace bin/app", "add share/new/doc.txt", "delete lib/old.php"}
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(j.CreatedDirs, []string{"share", "share/new"}) || j.Phase != PhasePrepare {
		t.Errorf("plan: entries %v, dirs %v, phase %s; want %v, [share share/new], prepare", got, j.CreatedDirs, j.Phase, want)
	}
	if err := os.Symlink("app", filepath.Join(f.store.Root, "bin/link")); err != nil {
		t.Fatal(err)
	}
	f.m.Delete = append(f.m.Delete, "bin/link")
	if _, err := Plan(f.store.Root, f.m); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("Plan over a link = %v, want a refusal naming the link", err)
	}
}

func TestInstallRestoreAndRollback(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, t.TempDir())
	before := snapshot(t, f.store.Root)

	// Undo after apply (a script failed): the root is as before.
	tx := f.install(t, "apply")
	if reflect.DeepEqual(snapshot(t, f.store.Root), before) {
		t.Fatal("apply changed nothing")
	}
	if err := tx.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Discard(); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(t, f.store.Root); !reflect.DeepEqual(got, before) {
		t.Fatalf("after restore:\n%v\nwant\n%v", got, before)
	}
	if f.store.InProgress() != "" {
		t.Error("transaction left after Discard")
	}

	// Install for good, then roll back through the kept backups.
	f = newFixture(t, t.TempDir())
	before = snapshot(t, f.store.Root)
	f.install(t, "commit")
	after := snapshot(t, f.store.Root)
	if err := f.store.CheckBackups(f.m.Version); err != nil {
		t.Fatal(err)
	}
	rb, err := f.store.BeginRollback(f.m.Version)
	if err != nil {
		t.Fatal(err)
	}
	var forgot []repo.Version
	if err := rb.Finish(ctx, func(v repo.Version) error { forgot = append(forgot, v); return nil }); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(t, f.store.Root); !reflect.DeepEqual(got, before) || len(forgot) != 1 {
		t.Fatalf("after rollback (forgot %v):\n%v\nwant\n%v\n(installed was %v)", forgot, got, before, after)
	}
	if err := f.store.CheckBackups(f.m.Version); err == nil {
		t.Error("backups of a rolled back fix still count")
	}
}

func TestCheckBackupsRefusesMissingBackup(t *testing.T) {
	f := newFixture(t, t.TempDir())
	f.install(t, "commit")
	if err := os.Remove(filepath.Join(f.store.backupsOf(f.m.Version), backupSubdir, "bin", "app")); err != nil {
		t.Fatal(err)
	}
	err := f.store.CheckBackups(f.m.Version)
	if err == nil || !strings.Contains(err.Error(), "the backup of bin/app is missing") {
		t.Fatalf("CheckBackups = %v", err)
	}
	if _, err := f.store.BeginRollback(f.m.Version); err == nil {
		t.Fatal("BeginRollback without a backup succeeded")
	}
	if f.store.InProgress() != "" {
		t.Error("a refused rollback left a transaction")
	}
}

const crashEnv = "HOTFIX_TXN_CRASH"

// TestCrashHelper is not a test: TestRecoverAfterCrash runs the test
// binary again with crashEnv set to "DIR STEP", and this process runs an
// install up to STEP and exits at once, without any cleanup, as a killed
// process would.
func TestCrashHelper(t *testing.T) {
	arg := os.Getenv(crashEnv)
	if arg == "" {
		t.Skip("helper process only")
	}
	dir, stop, _ := strings.Cut(arg, " ")
	f := newFixture(t, dir)
	if stop == "rollback" {
		f.install(t, "commit")
		if _, err := f.store.BeginRollback(f.m.Version); err != nil {
			t.Fatal(err)
		}
	} else {
		f.install(t, stop)
	}
	os.Exit(7)
}

// TestRecoverAfterCrash: whatever step an install dies after, Recover
// leaves the root as before the fix (not recorded) or as after it
// (recorded), and no transaction behind.
func TestRecoverAfterCrash(t *testing.T) {
	for _, tt := range []struct {
		stop     string
		recorded bool
		did      string
		want     string // "before" or "after"
	}{
		{"begin", false, "had not started changing the root", "before"},
		{"backup", false, "restored the root from its backups", "before"},
		{"apply", false, "restored the root from its backups", "before"},
		{"apply", true, "had committed; kept it", "after"},
		{"rollback", true, "rollback of 1.0.1 was interrupted; finished it", "before"},
	} {
		t.Run(tt.stop+fmt.Sprint(tt.recorded), func(t *testing.T) {
			ref := t.TempDir()
			rf := newFixture(t, ref)
			before := snapshot(t, rf.store.Root)
			rf.install(t, "commit")
			after := snapshot(t, rf.store.Root)

			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$")
			cmd.Env = append(os.Environ(), crashEnv+"="+dir+" "+tt.stop)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 7 {
				t.Fatalf("helper: %v\n%s", err, out)
			}
			s := Store{Root: filepath.Join(dir, "root"), StateDir: filepath.Join(dir, "state")}
			if s.InProgress() == "" {
				t.Fatal("no transaction left by the crash")
			}
			var forgot []repo.Version
			forget := func(v repo.Version) error { forgot = append(forgot, v); return nil }
			rec, err := s.Recover(context.Background(), func(repo.Version) (bool, error) { return tt.recorded, nil }, forget)
			if err != nil || rec == nil || !strings.Contains(rec.Did, tt.did) {
				t.Fatalf("Recover = %+v, %v; want %q", rec, err, tt.did)
			}
			want := before
			if tt.want == "after" {
				want = after
			}
			if got := snapshot(t, s.Root); !reflect.DeepEqual(got, want) {
				t.Errorf("root after recover:\n%v\nwant (%s)\n%v", got, tt.want, want)
			}
			if s.InProgress() != "" {
				t.Error("transaction left after Recover")
			}
			if (tt.stop == "rollback") != (len(forgot) == 1) {
				t.Errorf("Recover forgot %v", forgot)
			}
			if rec, err := s.Recover(context.Background(), nil, nil); rec != nil || err != nil {
				t.Errorf("second Recover = %+v, %v; want nothing to do", rec, err)
			}
		})
	}
}
