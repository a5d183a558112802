package fixarchive

import (
	"context"
	"path/filepath"
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
