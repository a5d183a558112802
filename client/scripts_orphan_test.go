package client

import (
	"context"
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
		script := "echo $$ > " + filepath.Join(dir, "pid") + "; sleep 1; touch " + filepath.Join(dir, "survived")
		runCommand(context.Background(), command{name: "test", dir: dir, log: io.Discard, timeout: time.Minute, argv: shellCommand(script)})
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
	for running(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("script pid %d still runs after its parent was killed", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Had the script lived, it would have finished its work by now.
	time.Sleep(1500 * time.Millisecond)
	if _, err := os.Stat(filepath.Join(dir, "survived")); err == nil {
		t.Error("the script finished its work after its parent was killed")
	}
}

// running reports whether pid is a live process: not gone, and not a
// zombie nobody reaped (a container's PID 1 may not reap orphans).
func running(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses.
	i := strings.LastIndexByte(string(stat), ')')
	return i < 0 || !strings.HasPrefix(string(stat[i+1:]), " Z")
}
