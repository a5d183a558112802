package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/internal/testkit"
)

const stageHelperEnv = "ATOMICFILE_STAGE_HELPER"

// TestStageHelperProcess is the second process of TestStageOfKilledProcess:
// it makes a stage in the directory named by the environment, writes a
// file into it, says so and waits to be killed.
func TestStageHelperProcess(t *testing.T) {
	parent := os.Getenv(stageHelperEnv)
	if parent == "" {
		return
	}
	s, err := NewStage(parent, ".stage-")
	if err == nil {
		err = writeStaged(s, "half", "written before the kill")
	}
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("staged", s.Dir())
	testkit.HelperWait()
	os.Exit(0)
}

func writeStaged(s *Stage, name, content string) error {
	f, err := s.Create(name, 0o644)
	if err != nil {
		return err
	}
	_, err = io.WriteString(f, content)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// TestStageOfKilledProcess: a stage is kept while the process that made it
// lives (its flock), and the next NewStage removes it, files and all, once
// that process was killed with SIGKILL.
func TestStageOfKilledProcess(t *testing.T) {
	parent := t.TempDir()
	h := testkit.StartHelper(t, "TestStageHelperProcess", stageHelperEnv+"="+parent)
	dir, ok := strings.CutPrefix(h.Line, "staged ")
	if !ok {
		t.Fatalf("helper said %q; want \"staged DIR\"", h.Line)
	}

	live, err := NewStage(parent, ".stage-")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "half")); err != nil {
		t.Fatalf("the stage of a live process was removed: %v", err)
	}
	h.Kill()
	next, err := NewStage(parent, ".stage-")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the killed process's stage is still there: %v", err)
	}
	for _, s := range []*Stage{live, next} {
		if _, err := os.Stat(s.Dir()); err != nil {
			t.Fatalf("a stage in use was removed: %v", err)
		}
	}
	live.Remove()
	next.Remove()
	if left, _ := filepath.Glob(filepath.Join(parent, "*")); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
}

// TestStageCleanup: NewStage removes unlocked leftovers of its own prefix
// only; other directories and plain files with the prefix stay.
func TestStageCleanup(t *testing.T) {
	parent := t.TempDir()
	for _, d := range []string{".stage-old/sub", ".other-x", "product"} {
		if err := os.MkdirAll(filepath.Join(parent, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(parent, ".stage-file"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := NewStage(parent, ".stage-")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Remove()
	var names []string
	ents, _ := os.ReadDir(parent)
	for _, e := range ents {
		if filepath.Join(parent, e.Name()) != s.Dir() {
			names = append(names, e.Name())
		}
	}
	if got := strings.Join(names, " "); got != ".other-x .stage-file product" {
		t.Fatalf("after NewStage: %s", got)
	}
	if _, err := NewStage(filepath.Join(parent, "absent"), ".stage-"); err == nil {
		t.Fatal("NewStage in a missing directory succeeded")
	}
}

// TestStageAdoptCommit: a staged file joins a Batch with Place, only
// after Sync, and lands under its target with the mode it was staged
// with; a file left in the stage goes with it.
func TestStageAdoptCommit(t *testing.T) {
	parent := t.TempDir()
	s, err := NewStage(parent, ".stage-")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"0", "1"} {
		if err := writeStaged(s, name, "content "+name); err != nil {
			t.Fatal(err)
		}
	}
	// The mode is the one asked for, whatever the umask (0022 here
	// would make 0666 into 0644): it is synced with the file.
	f, err := s.Create("wide", 0o666)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if fi, err := os.Stat(s.Path("wide")); err != nil || fi.Mode().Perm() != 0o666 {
		t.Fatalf("staged with 0666: %v, %v", fi.Mode(), err)
	}
	if err := writeStaged(s, "0", "again"); err == nil {
		t.Fatal("Create replaced a staged file")
	}
	target := filepath.Join(parent, "sub", "target")
	if err := os.Mkdir(filepath.Dir(target), 0o755); err != nil {
		t.Fatal(err)
	}
	var b Batch
	if err := s.Place(&b, "0", target); !errors.Is(err, ErrNotSynced) {
		t.Fatalf("Place before Sync: %v, want ErrNotSynced", err)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := s.Place(&b, "0", target); err != nil {
		t.Fatal(err)
	}
	if err := writeStaged(s, "late", "created after Sync"); err != nil {
		t.Fatal(err)
	}
	if err := s.Place(&b, "late", target+"2"); !errors.Is(err, ErrNotSynced) {
		t.Fatalf("Place of a file created after Sync: %v, want ErrNotSynced", err)
	}
	if err := b.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(target)
	if err != nil || string(data) != "content 0" {
		t.Fatalf("target: %q, %v", data, err)
	}
	if fi, _ := os.Stat(target); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	if err := s.Remove(); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(parent, ".stage-*")); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
}
