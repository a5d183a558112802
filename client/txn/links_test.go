package txn

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/internal/beneath"
	"github.com/hotfix-project/hotfix/repo"
)

// The directories a link can replace: the first, a middle and the last
// directory component of every path the fixes below touch.
var linkDepths = []string{"a", "a/b", "a/b/c"}

// linkFixture is a root holding a/b/c/{f,old,keep}, a directory outside
// it holding the same tree (so that a followed link would find every
// file it looks for), and a fix of one kind: "new" adds a/b/c/new,
// "replace" replaces a/b/c/f, "delete" deletes a/b/c/old.
func linkFixture(t *testing.T, kind string) (*fixture, string) {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{store: Store{Root: filepath.Join(dir, "root"), StateDir: filepath.Join(dir, "state")}, staging: filepath.Join(dir, "staging")}
	outside := filepath.Join(dir, "outside")
	for _, base := range []string{f.store.Root, filepath.Join(outside, "a")} {
		write(t, filepath.Join(base, "a/b/c/f"), "f 1.0\n", 0o644)
		write(t, filepath.Join(base, "a/b/c/old"), "old\n", 0o644)
		write(t, filepath.Join(base, "a/b/c/keep"), "keep\n", 0o600)
	}
	f.m = &repo.Manifest{Product: "acme", Version: repo.MustParseVersion("1.0.1")}
	add := func(rel, data string) {
		write(t, filepath.Join(f.staging, "files", rel), data, 0o644)
		sum := sha256.Sum256([]byte(data))
		f.m.Files = append(f.m.Files, repo.FileEntry{Path: rel, Size: int64(len(data)), Mode: 0o644, SHA256: hex.EncodeToString(sum[:])})
	}
	switch kind {
	case "new":
		add("a/b/c/new", "new\n")
	case "replace":
		add("a/b/c/f", "f 1.0.1\n")
	case "delete":
		f.m.Delete = []string{"a/b/c/old"}
	default:
		t.Fatalf("unknown kind %q", kind)
	}
	return f, outside
}

// swapForLink replaces the directory rel of root by a link to the same
// directory in outside (what an attacker with write access to the root,
// or an unlucky administrator, does).
func swapForLink(t *testing.T, root, outside, rel string) {
	t.Helper()
	if err := os.RemoveAll(filepath.Join(root, rel)); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, rel), filepath.Join(root, rel)); err != nil {
		t.Fatal(err)
	}
}

// wantLink fails unless err is a refusal naming the link at rel.
func wantLink(t *testing.T, what string, err error, root, rel string) {
	t.Helper()
	var le *beneath.LinkError
	if !errors.Is(err, beneath.ErrLink) || !errors.As(err, &le) || le.Path != rel {
		t.Fatalf("%s = %v; want a refusal naming the link %s", what, err, rel)
	}
	if !strings.Contains(err.Error(), filepath.Join(root, rel)+" is a symbolic link") {
		t.Errorf("%s: message %q does not name the link", what, err)
	}
}

// eachLinkCase runs f for every kind of fix and every depth of link.
func eachLinkCase(t *testing.T, f func(t *testing.T, kind, at string)) {
	for _, kind := range []string{"new", "replace", "delete"} {
		for _, at := range linkDepths {
			t.Run(kind+"/"+strings.ReplaceAll(at, "/", "_"), func(t *testing.T) { f(t, kind, at) })
		}
	}
}

// TestPlanRefusesDirectoryLinks: a directory link inside the root at
// any depth stops the plan (the test step, dry runs included) for new,
// replaced and deleted files alike, and nothing outside changes.
func TestPlanRefusesDirectoryLinks(t *testing.T) {
	eachLinkCase(t, func(t *testing.T, kind, at string) {
		f, outside := linkFixture(t, kind)
		swapForLink(t, f.store.Root, outside, at)
		before := snapshot(t, outside)
		_, err := Plan(f.store.Root, f.m)
		wantLink(t, "Plan", err, f.store.Root, at)
		if !strings.Contains(err.Error(), "never writes through a link inside the root") {
			t.Errorf("Plan: %q does not say why the link is refused", err)
		}
		if got := snapshot(t, outside); !reflect.DeepEqual(got, before) {
			t.Errorf("outside changed:\n%v\nwant\n%v", got, before)
		}
	})
}

// TestLinkSwappedInAfterTheTest: a directory swapped for a link after
// the plan and the preflight, before the backup or before the apply,
// makes that step fail without writing, deleting or reading outside the
// root; restoring refuses the link too (the journal stays for recover,
// which refuses it again until the link is gone).
func TestLinkSwappedInAfterTheTest(t *testing.T) {
	for _, when := range []string{"backup", "apply"} {
		t.Run(when, func(t *testing.T) {
			eachLinkCase(t, func(t *testing.T, kind, at string) {
				ctx := context.Background()
				f, outside := linkFixture(t, kind)
				j, err := Plan(f.store.Root, f.m)
				if err != nil {
					t.Fatal(err)
				}
				if err := f.store.Preflight(j, f.m); err != nil {
					t.Fatal(err)
				}
				tx, err := f.store.Begin(j)
				if err != nil {
					t.Fatal(err)
				}
				if when == "apply" {
					if err := tx.BackUp(ctx); err != nil {
						t.Fatal(err)
					}
				}
				swapForLink(t, f.store.Root, outside, at)
				before := snapshot(t, outside)
				if when == "backup" {
					err := tx.BackUp(ctx)
					if kind == "new" {
						// Nothing to back up: the apply is what meets the link.
						if err != nil {
							t.Fatal(err)
						}
						err = tx.Apply(ctx, f.m, f.staging)
					}
					wantLink(t, "BackUp/Apply", err, f.store.Root, at)
				} else {
					wantLink(t, "Apply", tx.Apply(ctx, f.m, f.staging), f.store.Root, at)
					wantLink(t, "Restore", tx.Restore(ctx), f.store.Root, at)
					_, err := f.store.Recover(ctx, func(repo.Version) (bool, error) { return false, nil }, nil)
					wantLink(t, "Recover", err, f.store.Root, at)
				}
				if got := snapshot(t, outside); !reflect.DeepEqual(got, before) {
					t.Errorf("outside changed:\n%v\nwant\n%v", got, before)
				}
			})
		})
	}
}

// TestRollbackRefusesDirectoryLinks: after a committed install, a
// directory swapped for a link stops the rollback, and a rollback a
// crash interrupted stops recover, before anything outside changes.
func TestRollbackRefusesDirectoryLinks(t *testing.T) {
	for _, via := range []string{"rollback", "recover"} {
		t.Run(via, func(t *testing.T) {
			eachLinkCase(t, func(t *testing.T, kind, at string) {
				ctx := context.Background()
				f, outside := linkFixture(t, kind)
				f.install(t, "commit")
				swapForLink(t, f.store.Root, outside, at)
				before := snapshot(t, outside)
				rb, err := f.store.BeginRollback(f.m.Version)
				if err != nil {
					t.Fatal(err)
				}
				forget := func(repo.Version) error { t.Error("a refused rollback forgot the fix"); return nil }
				if via == "rollback" {
					err = rb.Finish(ctx, forget)
				} else {
					_, err = f.store.Recover(ctx, func(repo.Version) (bool, error) { return true, nil }, forget)
				}
				wantLink(t, via, err, f.store.Root, at)
				if f.store.InProgress() == "" {
					t.Error("the refused rollback left no journal for recover")
				}
				if got := snapshot(t, outside); !reflect.DeepEqual(got, before) {
					t.Errorf("outside changed:\n%v\nwant\n%v", got, before)
				}
			})
		})
	}
}
