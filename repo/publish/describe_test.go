package publish

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/repo/fixarchive"
)

// manyArchives packs n chained fixes of product "many" 1.0, with payloads
// of different sizes (the first empty), each as a .fix and as an RPM.
func manyArchives(t testing.TB, n int) []string {
	t.Helper()
	return packChain(t, "many", n, func(i int) int { return (i - 1) * (i - 1) * 97 }, true)
}

// describeAll (many files hashed together, headers read from mappings)
// must say what describeArchive (one file, read and verified) says.
func TestDescribeAllAgreesWithDescribeArchive(t *testing.T) {
	paths := manyArchives(t, 40)
	got, err := describeAll(context.Background(), paths)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range paths {
		want, _, err := describeArchive(context.Background(), p, nil)
		if err != nil {
			t.Fatal(err)
		}
		g := got[i]
		if g.SHA256 != want.SHA256 || g.Size != want.Size || g.MTimeNS != want.MTimeNS ||
			g.Product != want.Product || g.Version.String() != want.Version.String() || g.Summary != want.Summary ||
			strings.TrimSpace(g.Description) != strings.TrimSpace(want.Description) || fmt.Sprint(g.Bugs) != fmt.Sprint(want.Bugs) {
			t.Errorf("%s:\n describeAll     %+v\n describeArchive %+v", filepath.Base(p), *g, *want)
		}
		if isRPMName(p) && (g.xml == nil || !strings.Contains(string(g.xml.Primary), want.SHA256)) {
			t.Errorf("%s: repodata not rendered with the package's sha256", filepath.Base(p))
		}
	}
}

// A broken archive among good ones is named; the others are still
// described, so the build can list every problem.
func TestDescribeAllNamesBrokenArchives(t *testing.T) {
	paths := manyArchives(t, 12)
	dir := t.TempDir()
	bad := map[string]string{
		"empty.rpm":   "",
		"garbage.rpm": strings.Repeat("not an rpm ", 100),
		"garbage.fix": strings.Repeat("not xz ", 100),
	}
	for name, data := range bad {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	paths = append(paths, filepath.Join(dir, "missing.fix"))
	_, err := describeAll(context.Background(), paths)
	if err == nil {
		t.Fatal("describeAll accepted broken archives")
	}
	for _, name := range []string{"empty.rpm", "garbage.rpm", "garbage.fix", "missing.fix"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
	if strings.Contains(err.Error(), "many-") {
		t.Errorf("error blames a good archive: %v", err)
	}
}

func TestDescribeAllStopsWhenCancelled(t *testing.T) {
	paths := manyArchives(t, 20)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := describeAll(ctx, paths); err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Fatalf("describeAll after cancel = %v, want context canceled", err)
	}
}

// An archive truncated after it was mapped makes the hashing fault: the
// build gets an error that says so instead of crashing.
func TestDescribeAllArchiveShrinks(t *testing.T) {
	paths := manyArchives(t, 20)
	victim := paths[len(paths)-3] // large enough to span pages
	truncating := func(path string) (*mappedArchive, error) {
		a, err := mapArchive(context.Background(), path)
		if err == nil && path == victim {
			if err := os.Truncate(path, 0); err != nil {
				t.Error(err)
			}
		}
		return a, err
	}
	_, err := describeMapped(context.Background(), paths, truncating)
	if err == nil || !strings.Contains(err.Error(), "shrank while it was read") {
		t.Fatalf("describeAll with a truncated archive = %v, want an error saying it shrank", err)
	}
}

// describeArchive with a copy: the copy is byte for byte the archive
// (.fix copied in the verifying read, RPM after it), and a copy that
// cannot be written is reported as such, not as a broken archive.
func TestDescribeArchiveCopies(t *testing.T) {
	paths := manyArchives(t, 3)
	dir := t.TempDir()
	for i, p := range paths {
		dst := filepath.Join(dir, fmt.Sprint(i))
		f, err := os.Create(dst)
		if err != nil {
			t.Fatal(err)
		}
		e, _, err := describeArchive(t.Context(), p, f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		want, _ := os.ReadFile(p)
		got, _ := os.ReadFile(dst)
		if !bytes.Equal(got, want) || e.Size != int64(len(want)) {
			t.Errorf("%s: copy of %d bytes, entry size %d, archive %d bytes", filepath.Base(p), len(got), e.Size, len(want))
		}
		ro, err := os.Open(dst)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = describeArchive(t.Context(), p, ro)
		ro.Close()
		if err == nil || !strings.Contains(err.Error(), "into the repository") && !strings.Contains(err.Error(), "copy "+p) || errors.Is(err, fixarchive.ErrArchive) {
			t.Errorf("%s: copy into a read-only file: %v, want a copy error", filepath.Base(p), err)
		}
	}
}
