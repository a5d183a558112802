package repo

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/hotfix-project/hotfix/internal/demo"
)

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

// sampleManifests prepares the demo fixes and returns their manifests,
// digests and all, as the packers would write them.
func sampleManifests(t testing.TB) []*Manifest {
	t.Helper()
	dir := sample(t)
	var out []*Manifest
	for _, v := range demo.FixVersions {
		src, err := PrepareSource(context.Background(), filepath.Join(dir, "fixes", v))
		if err != nil {
			t.Fatalf("prepare %s: %v", v, err)
		}
		out = append(out, &src.Manifest)
	}
	return out
}
