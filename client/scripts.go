package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"runtime"
	"syscall"
	"time"

	"github.com/hotfix-project/hotfix/repo"
)

// ScriptsForRole picks the install scripts a role runs, in name order:
// single runs all; primary all but *-local.*; secondary all but
// *-shared.* and *-final.*.
func ScriptsForRole(scripts []repo.FileEntry, role string) []repo.FileEntry {
	var out []repo.FileEntry
	for _, s := range scripts {
		skip := false
		switch role {
		case RolePrimary:
			skip = match("*-local.*", s.Path)
		case RoleSecondary:
			skip = match("*-shared.*", s.Path) || match("*-final.*", s.Path)
		}
		if !skip {
			out = append(out, s)
		}
	}
	return out
}

func match(pattern, name string) bool {
	ok, _ := path.Match(pattern, name)
	return ok
}

// StepError says which fix failed at which step, and where its log is.
type StepError struct {
	Version repo.Version
	Step    string
	Log     string
	Err     error
}

func (e *StepError) Error() string {
	s := fmt.Sprintf("fix %s: %s: %v", e.Version, e.Step, e.Err)
	if e.Log != "" {
		s += " (log: " + e.Log + ")"
	}
	return s
}

func (e *StepError) Unwrap() error { return e.Err }

// runCommand runs argv (or "/bin/sh -c cmd" when shell is set) with env,
// output to log, killed with its process group after timeout or when ctx
// ends.
func runCommand(ctx context.Context, dir string, env []string, log io.Writer, timeout time.Duration, shell bool, argv ...string) error {
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if shell {
		argv = []string{"/bin/sh", "-c", argv[0]}
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = log, log
	// If hotfix itself dies (kill -9, OOM), the script must not go on
	// changing the root behind the recovery that the next run does: the
	// kernel kills it when the thread that started it exits, so that
	// thread is pinned until the script has been waited for.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("timed out after %s", timeout)
	}
	return err
}
