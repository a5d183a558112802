package repo

import (
	"context"
	"os"
	"path/filepath"
	"strings"
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
