package publish

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/fixarchive"
)

// An archive whose channel lists its version already is verified as any
// other but not copied into the stage; a new one is.
func TestStageArchiveSkipsTheCopyOfListedArchives(t *testing.T) {
	paths := packSampleAs(t, fixarchive.Zstd)
	root := t.TempDir()
	if _, err := Add(t.Context(), root, paths[:2], AddOptions{}); err != nil {
		t.Fatal(err)
	}
	stage, err := atomicfile.NewStage(root, stagePrefix)
	if err != nil {
		t.Fatal(err)
	}
	defer stage.Remove()
	known := &knownArchives{root: root, cats: map[string]*catalog{}}
	tests := []struct {
		name   string
		path   string
		copied bool
	}{
		{"listed", paths[1], false},
		{"new", paths[2], true},
	}
	for i, tt := range tests {
		a, err := stageArchive(t.Context(), stage, known, i, tt.path, false)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !a.entry.Verified || a.m == nil {
			t.Errorf("%s: not verified", tt.name)
		}
		if got := a.staged.stage != nil; got != tt.copied {
			t.Errorf("%s: copied %v, want %v", tt.name, got, tt.copied)
		}
		_, serr := os.Stat(stage.Path(strconv.Itoa(i)))
		if tt.copied {
			want, _ := os.ReadFile(tt.path)
			if got, _ := os.ReadFile(stage.Path(a.staged.name)); !bytes.Equal(got, want) {
				t.Errorf("%s: the staged copy differs from the archive", tt.name)
			}
		} else if a.staged.name != "" || serr == nil {
			t.Errorf("%s: a copy was staged", tt.name)
		}
	}
	// Skipping the copy skips nothing of the verification: a listed
	// version with an entry hidden after the tar end is refused.
	data, _ := os.ReadFile(paths[1])
	bad := filepath.Join(t.TempDir(), filepath.Base(paths[1]))
	os.WriteFile(bad, hideEntry(t, data), 0o644)
	_, err = stageArchive(t.Context(), stage, known, 9, bad, false)
	testkit.WantErr(t, err, "data after the tar end-of-archive marker")
}

// Adding known archives again writes no copy and changes nothing; an
// archive the catalog lists but the channel lost (removed by hand) is
// read again, copied and put back.
func TestAddAgainAfterArchiveRemovedByHand(t *testing.T) {
	paths := packSampleAs(t, fixarchive.Zstd)
	root := t.TempDir()
	if _, err := Add(t.Context(), root, paths, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := Add(t.Context(), root, paths, AddOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Added) != 0 || len(res.Unchanged) != len(paths) {
		t.Fatalf("add again: added %v, unchanged %v", res.Added, res.Unchanged)
	}
	lost := filepath.Join(channelDir(root), filepath.Base(paths[2]))
	if err := os.Remove(lost); err != nil {
		t.Fatal(err)
	}
	res, err = Add(t.Context(), root, paths, AddOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Added) != 1 || filepath.Base(res.Added[0]) != filepath.Base(paths[2]) {
		t.Fatalf("added %v, want the removed archive back", res.Added)
	}
	want, _ := os.ReadFile(paths[2])
	if got, err := os.ReadFile(lost); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("the archive put back differs: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(root, stagePrefix+"*")); len(left) != 0 {
		t.Errorf("stages left: %v", left)
	}
}

// An add killed after placing its archives and while writing their
// catalog leaves the archives without records and the catalog's
// temporary: the next add of the same archives has nothing to place, yet
// brings the catalog up to date and removes the temporary.
func TestAddAgainAfterKilledCatalogWrite(t *testing.T) {
	paths := packSampleAs(t, fixarchive.Zstd)
	root := t.TempDir()
	if _, err := Add(t.Context(), root, paths, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := channelDir(root)
	catalogPath := filepath.Join(dir, catalogName)
	if err := os.Remove(catalogPath); err != nil {
		t.Fatal(err)
	}
	temp := filepath.Join(dir, "."+catalogName+".tmp-12345")
	testkit.WriteFile(t, dir, filepath.Base(temp), "half a catalog", 0o644)
	res, err := Add(t.Context(), root, paths, AddOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Added) != 0 || len(res.Unchanged) != len(paths) {
		t.Fatalf("added %v, unchanged %v", res.Added, res.Unchanged)
	}
	if _, err := os.Stat(temp); err == nil {
		t.Error("the killed write's temporary is still there")
	}
	cat := loadCatalog(dir)
	for _, p := range paths {
		if cat.Archives[filepath.Base(p)] == nil {
			t.Errorf("the catalog has no record of %s", filepath.Base(p))
		}
	}
}

// lazyCopy holds at most maxPending bytes waiting for a manifest: past
// that it copies without waiting, and a later "skip" keeps the copy
// whole. Before the bound it drops what it held when told to skip.
func TestLazyCopyBoundsWhatItHolds(t *testing.T) {
	stage, err := atomicfile.NewStage(t.TempDir(), stagePrefix)
	if err != nil {
		t.Fatal(err)
	}
	defer stage.Remove()
	chunk := bytes.Repeat([]byte("x"), 1<<20)
	for _, tt := range []struct {
		name   string
		before int // MiB written before the manifest
		copied bool
	}{
		{"manifest early", 1, false},
		{"manifest after the bound", maxPending>>20 + 2, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lc := &lazyCopy{
				create: func() (*atomicfile.StagedFile, error) { return stage.Create(tt.name, 0o644) },
				skip:   func(*repo.Manifest) bool { return true },
			}
			for range tt.before {
				if _, err := lc.Write(chunk); err != nil {
					t.Fatal(err)
				}
				if lc.pending != nil && len(*lc.pending) > maxPending {
					t.Fatalf("holds %d bytes, bound %d", len(*lc.pending), maxPending)
				}
			}
			if err := lc.manifestRead(&repo.Manifest{}); err != nil {
				t.Fatal(err)
			}
			lc.Write(chunk)
			copied, err := lc.close()
			if err != nil || copied != tt.copied {
				t.Fatalf("copied %v (%v), want %v", copied, err, tt.copied)
			}
			if copied {
				fi, err := os.Stat(stage.Path(tt.name))
				if err != nil || fi.Size() != int64(tt.before+1)<<20 {
					t.Fatalf("the copy: %v, %v; want %d MiB", fi, err, tt.before+1)
				}
			}
		})
	}
}
