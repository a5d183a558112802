package atomicfile

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestStagedFileContent: what a StagedFile holds after Close is exactly
// what was written, whatever the size against the 4 KiB alignment and the
// 1 MiB chunks, however the writes are cut, written around the page cache
// (O_DIRECT, where the file system takes it) or through it.
func TestStagedFileContent(t *testing.T) {
	sizes := []int{0, 1, 511, 4095, 4096, 4097, directChunk - 1, directChunk, directChunk + 1, 3*directChunk + 4096 + 5}
	cuts := []int{1 << 30, 65536, 7, 4096}
	rnd := rand.New(rand.NewPCG(1, 2))
	dir := t.TempDir()
	for _, direct := range []bool{true, false} {
		for _, size := range sizes {
			for _, cut := range cuts {
				if cut < 4096 && size > 2*directChunk {
					continue // a few million writes of 7 bytes say nothing more
				}
				name := fmt.Sprintf("direct=%v size=%d cut=%d", direct, size, cut)
				want := make([]byte, size)
				for i := range want {
					want[i] = byte(rnd.Uint32())
				}
				path := filepath.Join(dir, fmt.Sprintf("%v-%d-%d", direct, size, cut))
				f, err := createStaged(path, 0o644, direct)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				for p := want; len(p) > 0; {
					n := min(cut, len(p))
					if w, err := f.Write(p[:n]); err != nil || w != n {
						t.Fatalf("%s: write %d: %d, %v", name, n, w, err)
					}
					p = p[n:]
				}
				if err := f.Close(); err != nil {
					t.Fatalf("%s: close: %v", name, err)
				}
				if err := f.Close(); err == nil {
					t.Errorf("%s: a second Close succeeded", name)
				}
				if _, err := f.Write([]byte("x")); err == nil {
					t.Errorf("%s: a write after Close succeeded", name)
				}
				got, err := os.ReadFile(path)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("%s: read back %d bytes (%v), wrote %d", name, len(got), err, len(want))
				}
			}
		}
	}
}

// TestStagedFileErrors: a StagedFile that cannot be created says so, and
// Create never replaces a file already staged.
func TestStagedFileErrors(t *testing.T) {
	dir := t.TempDir()
	for _, direct := range []bool{true, false} {
		if _, err := createStaged(filepath.Join(dir, "absent", "f"), 0o644, direct); err == nil {
			t.Errorf("direct=%v: created a file in a missing directory", direct)
		}
		p := filepath.Join(dir, fmt.Sprint(direct))
		if err := os.WriteFile(p, []byte("there"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := createStaged(p, 0o644, direct); err == nil {
			t.Errorf("direct=%v: replaced an existing file", direct)
		}
		if data, _ := os.ReadFile(p); string(data) != "there" {
			t.Errorf("direct=%v: existing file changed to %q", direct, data)
		}
	}
}
