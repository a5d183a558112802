package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// dirNames lists dir, so that tests see leftover temporaries.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// Both ways of creating, the hard link and the exclusive-create fallback,
// must give the same result and the same refusals.
var creators = []struct {
	name   string
	create func(string, []byte, os.FileMode) error
}{
	{"link", CreateNew},
	{"exclusive", createExclusive},
}

func TestCreateNewWritesWithModeAndNoTemporaries(t *testing.T) {
	for _, c := range creators {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "secret.asc")
			if err := c.create(path, []byte("key"), 0o600); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want 0600", fi.Mode().Perm())
			}
			if b, _ := os.ReadFile(path); string(b) != "key" {
				t.Errorf("content %q", b)
			}
			if names := dirNames(t, dir); len(names) != 1 {
				t.Errorf("directory holds %v, want only secret.asc", names)
			}
		})
	}
}

func TestCreateNewNeverReplaces(t *testing.T) {
	for _, c := range creators {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			existing := filepath.Join(dir, "existing")
			if err := os.WriteFile(existing, []byte("keep me"), 0o644); err != nil {
				t.Fatal(err)
			}
			// A dangling symlink is an existing name too: never followed.
			dangling := filepath.Join(dir, "dangling")
			if err := os.Symlink(filepath.Join(dir, "nowhere"), dangling); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{existing, dangling} {
				err := c.create(p, []byte("new"), 0o600)
				if !errors.Is(err, fs.ErrExist) {
					t.Errorf("create over %s: %v, want fs.ErrExist", p, err)
				}
			}
			if b, _ := os.ReadFile(existing); string(b) != "keep me" {
				t.Errorf("existing file changed to %q", b)
			}
			if _, err := os.Lstat(filepath.Join(dir, "nowhere")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the symlink was followed: %v", err)
			}
			if names := dirNames(t, dir); len(names) != 2 {
				t.Errorf("refusals left files behind: %v", names)
			}
		})
	}
}

func TestCreateNewMissingDirectory(t *testing.T) {
	for _, c := range creators {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "no", "such", "file")
			err := c.create(path, []byte("x"), 0o644)
			if err == nil || errors.Is(err, fs.ErrExist) || !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("create in a missing directory: %v, want fs.ErrNotExist", err)
			}
		})
	}
}
