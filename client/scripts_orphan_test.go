package client

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestScriptDiesWithHotfix kills a process that runs an install script
// with SIGKILL, as a crash would, and checks that the script dies too:
// a script left running could change the root behind the recovery.
func TestScriptDiesWithHotfix(t *testing.T) {
	if os.Getenv("HOTFIX_TEST_SCRIPT_PARENT") != "" {
		dir := os.Getenv("HOTFIX_TEST_SCRIPT_PARENT")
		script := "echo $$ > " + filepath.Join(dir, "pid") + "; sleep 5; touch " + filepath.Join(dir, "survived")
		runCommand(context.Background(), dir, nil, io.Discard, time.Minute, true, script)
		os.Exit(0)
	}
	dir := t.TempDir()
	parent := exec.Command(os.Args[0], "-test.run=^TestScriptDiesWithHotfix$")
	parent.Env = append(os.Environ(), "HOTFIX_TEST_SCRIPT_PARENT="+dir)
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	deadline := time.Now().Add(10 * time.Second)
	for pid == 0 && time.Now().Before(deadline) {
		if b, err := os.ReadFile(filepath.Join(dir, "pid")); err == nil && strings.HasSuffix(string(b), "\n") {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if pid == 0 {
		parent.Process.Kill()
		t.Fatal("the script never started")
	}
	parent.Process.Signal(syscall.SIGKILL)
	parent.Wait()
	deadline = time.Now().Add(3 * time.Second)
	for {
		// Signal 0 probes; a reaped or zombie-free pid gives ESRCH.
		err := syscall.Kill(pid, 0)
		if errors.Is(err, syscall.ESRCH) {
			break
		}
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("script pid %d still runs after its parent was killed", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := os.Stat(filepath.Join(dir, "survived")); err == nil {
		t.Error("the script finished its work after its parent was killed")
	}
}
