package txn

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/hotfix-project/hotfix/repo"
)

// TestHandOverSurvivesRepeats: a customer fix (the fixture's: replaces
// bin/app, adds share/new/doc.txt in new directories, deletes
// lib/old.php) under a vendor fix that overrode all three paths (the
// deletion changing nothing) is rolled back handing the three over,
// interrupted at each point and finished by Recover; the root keeps the
// vendor's files, and the vendor fix's rollback then gives back exactly
// the root from before the customer fix, its directories gone too.
func TestHandOverSurvivesRepeats(t *testing.T) {
	vendorV, customV := repo.MustParseVersion("1.0.2"), repo.MustParseVersion("1.0.1")
	for _, stop := range []string{"none", "after BeginRollback", "after the heir took over", "after the handover"} {
		t.Run(stop, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			f := newFixture(t, dir)
			heir := f.store
			f.store = Store{Root: heir.Root, StateDir: filepath.Join(dir, "state", "custom", "C"), Heir: heir.StateDir}
			before := snapshot(t, f.store.Root)
			f.install(t, "commit")
			// The vendor fix over it, installed as the client does.
			vm := &repo.Manifest{Product: "acme", Version: vendorV, Delete: []string{"lib/old.php"}}
			for _, fd := range [][2]string{{"bin/app", "app vendor\n"}, {"share/new/doc.txt", "doc vendor\n"}} {
				write(t, filepath.Join(dir, "vstaging", "files", fd[0]), fd[1], 0o644)
				sum := sha256.Sum256([]byte(fd[1]))
				vm.Files = append(vm.Files, repo.FileEntry{Path: fd[0], Size: int64(len(fd[1])), Mode: 0o644, SHA256: hex.EncodeToString(sum[:])})
			}
			j, err := Plan(heir.Root, vm)
			if err != nil {
				t.Fatal(err)
			}
			vt, err := heir.Begin(j)
			vt = must(t, vt, err)
			if err := vt.BackUp(ctx); err != nil {
				t.Fatal(err)
			}
			if err := vt.Apply(ctx, vm, filepath.Join(dir, "vstaging")); err != nil {
				t.Fatal(err)
			}
			if err := vt.Commit(); err != nil {
				t.Fatal(err)
			}
			withVendor := snapshot(t, f.store.Root)

			var hand []HandOver
			for _, p := range []string{"bin/app", "lib/old.php", "share/new/doc.txt"} {
				hand = append(hand, HandOver{Path: p, To: vendorV})
			}
			tx, err := f.store.BeginRollback(customV, hand...)
			tx = must(t, tx, err)
			switch stop {
			case "after the heir took over":
				if err := heir.takeOver(vendorV, tx, hand); err != nil {
					t.Fatal(err)
				}
			case "after the handover":
				if err := tx.handOver(); err != nil {
					t.Fatal(err)
				}
			}
			forgot := 0
			forget := func(repo.Version) error { forgot++; return nil }
			if stop == "none" {
				err = tx.Finish(ctx, forget)
			} else {
				_, err = f.store.Recover(ctx, func(repo.Version) (bool, error) { return true, nil }, forget)
			}
			if err != nil || forgot != 1 {
				t.Fatalf("finish: %v (forgot %d)", err, forgot)
			}
			if got := snapshot(t, f.store.Root); !reflect.DeepEqual(got, withVendor) {
				t.Fatalf("after the customer fix went:\n%v\nwant the vendor's files\n%v", got, withVendor)
			}
			rb, err := heir.BeginRollback(vendorV)
			rb = must(t, rb, err)
			if err := rb.Finish(ctx, func(repo.Version) error { return nil }); err != nil {
				t.Fatal(err)
			}
			if got := snapshot(t, f.store.Root); !reflect.DeepEqual(got, before) {
				t.Fatalf("after the vendor rollback:\n%v\nwant the root from before both\n%v", got, before)
			}
		})
	}
}
