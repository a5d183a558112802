package atomicfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBatchCommit(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(dir, "index.json")
	if err := os.WriteFile(old, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	scratch := filepath.Join(dir, "scratch")
	if err := os.WriteFile(scratch, []byte("moved"), 0o600); err != nil {
		t.Fatal(err)
	}
	var b Batch
	if err := b.WriteBytes(old, []byte("new index"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := b.Write(filepath.Join(sub, "a"), strings.NewReader("A"), 0o755, -1, -1); err != nil {
		t.Fatal(err)
	}
	if err := b.Adopt(scratch, filepath.Join(sub, "m"), 0o640, -1, -1); err != nil {
		t.Fatal(err)
	}
	// Nothing is visible before Commit.
	if got, _ := os.ReadFile(old); string(got) != "old" {
		t.Fatalf("before commit %q", got)
	}
	if m, _ := filepath.Glob(TempGlob(old)); len(m) != 1 {
		t.Fatalf("temporaries of %s before commit: %v, want one", old, m)
	}
	if err := b.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]struct {
		content string
		mode    os.FileMode
	}{
		old:                     {"new index", 0o644},
		filepath.Join(sub, "a"): {"A", 0o755},
		filepath.Join(sub, "m"): {"moved", 0o640},
	} {
		got, err := os.ReadFile(path)
		fi, serr := os.Stat(path)
		if err != nil || serr != nil || string(got) != want.content || fi.Mode().Perm() != want.mode {
			t.Errorf("%s: %q %v mode %v, want %q %v", path, got, err, fi.Mode().Perm(), want.content, want.mode)
		}
	}
	if _, err := os.Stat(scratch); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("adopted file still at its old name: %v", err)
	}
	for _, d := range []string{dir, sub} {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			if strings.Contains(e.Name(), ".tmp-") {
				t.Errorf("temporary left: %s", e.Name())
			}
		}
	}
}

func TestBatchAbortAndFailure(t *testing.T) {
	dir := t.TempDir()
	var b Batch
	if err := b.WriteBytes(filepath.Join(dir, "x"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.Abort()
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("abort left %d entries", len(ents))
	}
	// A target whose rename fails (a directory in the way) fails the
	// commit, names the file, and leaves no temporary.
	if err := os.Mkdir(filepath.Join(dir, "busy"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "busy", "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var c Batch
	c.WriteBytes(filepath.Join(dir, "busy"), []byte("y"), 0o644)
	err := c.Commit(context.Background())
	if err == nil || !strings.Contains(err.Error(), "busy") {
		t.Fatalf("commit over a directory: %v", err)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary left: %s", e.Name())
		}
	}
	if err := c.WriteBytes(filepath.Join(dir, "missing", "f"), nil, 0o644); err == nil {
		t.Error("write into a missing directory succeeded")
	}
}

func TestWriteUnsynced(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ".cache")
	for _, data := range []string{"first", "second, longer"} {
		if err := WriteUnsynced(path, []byte(data), 0o640); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != data {
			t.Fatalf("read back %q (%v), want %q", got, err, data)
		}
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", fi.Mode().Perm())
	}
	// A target that cannot be replaced: an error naming it, and no
	// temporary file left behind.
	blocked := filepath.Join(dir, "blocked")
	if err := os.MkdirAll(filepath.Join(blocked, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteUnsynced(blocked, []byte("x"), 0o644); err == nil || !strings.Contains(err.Error(), blocked) {
		t.Fatalf("WriteUnsynced onto a directory = %v, want an error naming it", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("directory holds %d entries after a failed write, want 2 (no temporary left)", len(ents))
	}
}

type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errors.New("disk went away")
	}
	r.n--
	return copy(p, "data"), nil
}

// Broken input to a batch: a reader that fails halfway, a file to adopt
// that is not there, a context cancelled before Commit. Each is an error,
// no temporary stays behind and no target changes.
func TestBatchRefusesBrokenInput(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "index.json")
	if err := os.WriteFile(target, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, err error, want string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("error %v, want one containing %q", err, want)
		}
		if m, _ := filepath.Glob(TempGlob(target)); len(m) != 0 {
			t.Errorf("temporaries left: %v", m)
		}
		if got, _ := os.ReadFile(target); string(got) != "old" {
			t.Errorf("target changed to %q", got)
		}
	}
	t.Run("reader fails", func(t *testing.T) {
		var b Batch
		defer b.Abort()
		check(t, b.Write(target, &failingReader{n: 3}, 0o644, -1, -1), "disk went away")
	})
	t.Run("adopt a missing file", func(t *testing.T) {
		var b Batch
		defer b.Abort()
		check(t, b.Adopt(filepath.Join(dir, "missing"), target, 0o644, -1, -1), "missing")
	})
	t.Run("cancelled before commit", func(t *testing.T) {
		var b Batch
		if err := b.WriteBytes(target, []byte("new"), 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		check(t, b.Commit(ctx), "canceled")
	})
}
