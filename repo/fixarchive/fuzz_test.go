package fixarchive

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func mustOpenArchive(f *testing.F, path string) *ArchiveReader {
	f.Helper()
	file, err := os.Open(path)
	if err != nil {
		f.Fatal(err)
	}
	defer file.Close()
	a, err := NewArchiveReader(file)
	if err != nil {
		f.Fatal(err)
	}
	return a
}

func FuzzArchiveReader(f *testing.F) {
	for _, p := range packSample(f) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	hostile, _ := filepath.Glob(filepath.Join("testdata", "hostile", "*.fix"))
	for _, p := range hostile {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := NewArchiveReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		if a.Manifest == nil {
			t.Fatal("reader without a manifest")
		}
		for range 1000 {
			e, err := a.Next()
			if err != nil {
				return
			}
			// Read less than all of some entries: Next must drain them.
			n, err := io.Copy(io.Discard, io.LimitReader(e.Reader, 1<<20))
			if err == nil && n > e.Size {
				t.Fatalf("entry %s yielded %d bytes, declared %d", e.Path, n, e.Size)
			}
		}
	})
}
