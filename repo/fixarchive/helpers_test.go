package fixarchive

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/demo"
)

// testEpoch is the fixed SOURCE_DATE_EPOCH of the test archives.
var testEpoch = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// sample writes the demo product into a fresh directory and returns it:
// DIR/root and DIR/fixes/2.4.1.N.
func sample(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := demo.WriteSample(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// packSample packs the demo fixes and returns their archive paths in chain
// order.
func packSample(t testing.TB) []string {
	t.Helper()
	return packSampleWith(t, Zstd)
}

// packSampleWith is packSample with the given compression.
func packSampleWith(t testing.TB, c Compression) []string {
	t.Helper()
	dir := sample(t)
	out := filepath.Join(dir, "out")
	var paths []string
	for _, v := range demo.FixVersions {
		p, _, err := Pack(context.Background(), filepath.Join(dir, "fixes", v), out, PackOptions{Epoch: testEpoch, Compression: c})
		if err != nil {
			t.Fatalf("pack %s: %v", v, err)
		}
		paths = append(paths, p)
	}
	return paths
}

// writeFile writes data to dir/rel, creating parents.
func writeFile(t testing.TB, dir, rel, data string, mode os.FileMode) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
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

// wantErr fails unless err is non-nil and mentions every one of wants.
func wantErr(t testing.TB, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one mentioning %q", wants)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}
