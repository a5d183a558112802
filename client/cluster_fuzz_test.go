package client

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzReadShared feeds the files of shared_dir, which other machines
// write, to readShared: it must refuse or decode, never panic, and what
// it decodes must be a complete record.
func FuzzReadShared(f *testing.F) {
	for _, seed := range []string{
		`{"node": "web01", "instance": "", "product": "tree", "base": "1.0", "level": "1.0.2", "at": "2026-01-02T03:04:05Z"}`,
		`{"node": "web02", "role": "secondary", "at": "2026-01-02T03:04:05Z", "outcome": "ok", "instances": [{"name": "a", "base": "1.0", "level": "1.0.1"}]}`,
		`{"node": "x", "level": "01.2"}`,
		`{"node": "x"} {"node": "y"}`,
		`{"level": "1.0", "extra": true}`,
		`{"instances": [{"base": "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0"}]}`,
		"\xff\xfe", "", "null", "[]",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "rec.json")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		var rec PrimaryRecord
		if found, err := readShared(path, &rec); err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error does not name the file: %v", err)
			}
		} else if !found {
			t.Fatal("an existing file read as missing")
		}
		var ns NodeStatus
		if _, err := readShared(path, &ns); err == nil {
			// What decodes can be written back and read again.
			again := filepath.Join(t.TempDir(), "again.json")
			if werr := writeShared(again, &ns); werr == nil {
				var back NodeStatus
				if _, rerr := readShared(again, &back); rerr != nil {
					t.Fatalf("a record it wrote does not read back: %v", rerr)
				}
			}
		}
	})
}
