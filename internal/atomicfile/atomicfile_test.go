package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFileReplacesAndLeavesNoTemporaries(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "index.json")
	for _, content := range []string{"old", "new content"} {
		if err := WriteFile(p, []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(p)
		if err != nil || string(got) != content {
			t.Fatalf("read back %q, %v; want %q", got, err, content)
		}
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", fi.Mode().Perm())
	}
	if names := listDir(t, dir); len(names) != 1 {
		t.Errorf("directory holds %v, want only index.json", names)
	}
}

func TestAbortKeepsTheOldFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Create(p, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("half-written")); err != nil {
		t.Fatal(err)
	}
	// A reader during the write sees the old content.
	if got, _ := os.ReadFile(p); string(got) != "old" {
		t.Errorf("during write, read %q; want old", got)
	}
	f.Abort()
	f.Abort() // idempotent
	if got, _ := os.ReadFile(p); string(got) != "old" {
		t.Errorf("after abort, read %q; want old", got)
	}
	if names := listDir(t, dir); len(names) != 1 {
		t.Errorf("temporaries left behind: %v", names)
	}
	if err := f.Commit(); err == nil {
		t.Error("Commit after Abort succeeded")
	}
}

func TestWriteFromAndErrors(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "g")
	n, err := WriteFrom(p, strings.NewReader("streamed"), 0o600)
	if err != nil || n != 8 {
		t.Fatalf("WriteFrom = %d, %v", n, err)
	}
	_, err = WriteFrom(filepath.Join(dir, "h"), errReader{}, 0o600)
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("WriteFrom with failing reader: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "h")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("failed write left a file: %v", err)
	}
	if err := WriteFile(filepath.Join(dir, "missing", "x"), nil, 0o644); err == nil {
		t.Error("write into a missing directory succeeded")
	}
	if err := SyncDir(filepath.Join(dir, "missing")); err == nil {
		t.Error("SyncDir of a missing directory succeeded")
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("boom") }
