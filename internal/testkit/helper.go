package testkit

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// Helper is a second process of the test binary (StartHelper): a real
// process that holds a lock or a stage, so that a test can see it held
// and then kill it with SIGKILL.
type Helper struct {
	Cmd *exec.Cmd
	// Line is the first line the helper printed (trimmed): its "ready",
	// or what went wrong.
	Line  string
	stdin io.WriteCloser
	once  sync.Once
}

// StartHelper re-executes the test binary to run only the test named
// test, with env (KEY=VALUE) added to its environment, and waits for the
// first line it prints. The helper test does its part only when it finds
// its variable set, prints one line, and then waits for its stdin to
// close (HelperWait). The process is killed at cleanup if the test did
// not Kill it.
func StartHelper(tb testing.TB, test string, env ...string) *Helper {
	tb.Helper()
	h := &Helper{Cmd: exec.Command(os.Args[0], "-test.run=^"+test+"$")}
	h.Cmd.Env = append(os.Environ(), env...)
	h.Cmd.Stderr = os.Stderr
	var err error
	if h.stdin, err = h.Cmd.StdinPipe(); err != nil {
		tb.Fatal(err)
	}
	stdout, err := h.Cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := h.Cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(h.Kill)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		tb.Fatalf("helper %s said %q, then: %v", test, line, err)
	}
	h.Line = strings.TrimSpace(line)
	return h
}

// Pid is the helper's process id.
func (h *Helper) Pid() int { return h.Cmd.Process.Pid }

// Kill kills the helper with SIGKILL, as a crash would, and waits for
// it to exit. It is safe to call twice.
func (h *Helper) Kill() {
	h.once.Do(func() {
		_ = h.Cmd.Process.Kill()
		_ = h.Cmd.Wait()
		_ = h.stdin.Close()
	})
}

// HelperWait is the end of a helper test: it blocks until the test that
// started it closes its stdin or kills it.
func HelperWait() {
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
}
