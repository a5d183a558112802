package atomicfile

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hotfix-project/hotfix/internal/testkit"
)

const staleHelperEnv = "ATOMICFILE_STALE_HELPER"

// TestStaleHelperProcess is the live writer of TestStaleTemporaries: it
// starts an atomic write of the file named by the environment (a File or
// a Batch, by the second field), says which temporary it holds, and waits
// to be killed in the middle of that write.
func TestStaleHelperProcess(t *testing.T) {
	env := os.Getenv(staleHelperEnv)
	if env == "" {
		return
	}
	kind, target, _ := strings.Cut(env, ":")
	var temp string
	switch kind {
	case "file":
		f, err := Create(target, 0o644)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		f.WriteString("half written")
		temp = f.Name()
	default:
		var b Batch
		if err := b.WriteBytes(target, []byte("half written"), 0o644); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		temp = b.items[0].temp
	}
	fmt.Println("writing", temp)
	testkit.HelperWait()
	os.Exit(0)
}

// startWriter runs TestStaleHelperProcess and returns it with the name of
// the temporary it holds.
func startWriter(t *testing.T, kind, target string) (*testkit.Helper, string) {
	t.Helper()
	h := testkit.StartHelper(t, "TestStaleHelperProcess", staleHelperEnv+"="+kind+":"+target)
	temp, ok := strings.CutPrefix(h.Line, "writing ")
	if !ok {
		t.Fatalf("helper said %q; want \"writing TEMP\"", h.Line)
	}
	return h, temp
}

// The ways of writing a file atomically; each must remove what killed
// writes of the same file left.
var staleWrites = []struct {
	name  string
	write func(path string) error
}{
	{"WriteFile", func(p string) error { return WriteFile(p, []byte("new"), 0o644) }},
	{"WriteFrom", func(p string) error { _, err := WriteFrom(p, strings.NewReader("new"), 0o644); return err }},
	{"WriteUnsynced", func(p string) error { return WriteUnsynced(p, []byte("new"), 0o644) }},
	{"CreateNew", func(p string) error {
		os.Remove(p) // CreateNew never replaces: give it a fresh name
		return CreateNew(p, []byte("new"), 0o644)
	}},
	{"Batch", func(p string) error {
		var b Batch
		defer b.Abort()
		if err := b.WriteBytes(p, []byte("new"), 0o644); err != nil {
			return err
		}
		return b.Commit(context.Background())
	}},
	{"Batch.Adopt", func(p string) error {
		src := filepath.Join(filepath.Dir(p), "scratch")
		if err := os.WriteFile(src, []byte("new"), 0o600); err != nil {
			return err
		}
		var b Batch
		defer b.Abort()
		if err := b.Adopt(src, p, 0o644, -1, -1); err != nil {
			return err
		}
		return b.Commit(context.Background())
	}},
}

// TestStaleTemporaries: the temporary of a writer that was killed (a real
// process, SIGKILL) in the middle of an atomic write is removed by the
// next write of the same file, whichever way it writes; the temporary of a
// writer still alive is kept, and so is anything else that is not a
// temporary of that file: another file's temporary, a name that only
// looks like one, a link named like a temporary (and what it points to).
func TestStaleTemporaries(t *testing.T) {
	for _, w := range staleWrites {
		for _, kind := range []string{"file", "batch"} {
			t.Run(w.name+"/"+kind, func(t *testing.T) {
				dir := t.TempDir()
				target := filepath.Join(dir, "index.json")
				outside := filepath.Join(t.TempDir(), "precious")
				mustWrite(t, outside, "keep")
				keep := []string{".other.json.tmp-123", ".index.json.tmp-abc", "index.json.tmp-1", ".index.json.tmp-"}
				for _, k := range keep {
					mustWrite(t, filepath.Join(dir, k), "not ours")
				}
				if err := os.Symlink(outside, filepath.Join(dir, ".index.json.tmp-77")); err != nil {
					t.Fatal(err)
				}
				keep = append(keep, ".index.json.tmp-77")

				// Two writers are killed, one goes on living.
				var dead []string
				for range 2 {
					h, temp := startWriter(t, kind, target)
					h.Kill()
					dead = append(dead, filepath.Base(temp))
				}
				_, live := startWriter(t, kind, target)

				if err := w.write(target); err != nil {
					t.Fatal(err)
				}
				if got, err := os.ReadFile(target); err != nil || string(got) != "new" {
					t.Fatalf("target holds %q, %v", got, err)
				}
				want := append([]string{"index.json", filepath.Base(live)}, keep...)
				slices.Sort(want)
				if got := listDir(t, dir); !slices.Equal(got, want) {
					t.Errorf("after the write the directory holds %v\nwant %v (the killed writers' %v removed)", got, want, dead)
				}
				if got, err := os.ReadFile(outside); err != nil || string(got) != "keep" {
					t.Errorf("the file behind the link holds %q, %v", got, err)
				}
			})
		}
	}
}

// TestStaleCleanupRacesWriters: many writers of one file at once, each
// removing the others' stale temporaries while they write theirs: no
// write fails or loses its temporary to another's cleanup, the file is
// whole, and nothing is left beside it.
func TestStaleCleanupRacesWriters(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "state.json")
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Go(func() {
			for i := range 40 {
				data := bytes.Repeat([]byte{byte('a' + g)}, 100+i)
				var err error
				if i%2 == 0 {
					err = WriteFile(target, data, 0o644)
				} else {
					err = WriteUnsynced(target, data, 0o644)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, err := os.ReadFile(target)
	if err != nil || len(got) < 100 || bytes.Count(got, got[:1]) != len(got) {
		t.Fatalf("target holds %q, %v: not one writer's whole content", got, err)
	}
	if names := listDir(t, dir); !slices.Equal(names, []string{"state.json"}) {
		t.Errorf("left beside the file: %v", names)
	}
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
