package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/hotfix-project/hotfix/internal/procgroup"
	"github.com/hotfix-project/hotfix/internal/statefile"
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

// command is one script or hook to run.
type command struct {
	name    string   // for messages: "script 10-fix.sh", "post_install hook"
	dir     string   // working directory
	env     []string // added to hotfix's own environment
	log     io.Writer
	timeout time.Duration // 0: 10 minutes
	argv    []string
	// record, when set, notes the command's processes durably (nil once
	// they are all gone), so that recover can stop them after a crash.
	record func(g *procgroup.Group) error
}

// shellCommand is argv for running line with /bin/sh, as hooks run.
func shellCommand(line string) []string { return []string{"/bin/sh", "-c", line} }

// runCommand runs c with its output, capped, in c.log, and returns once
// nothing it started is left running: the command leads its own process
// group and marks its descendants (internal/procgroup), and when it ends
// — by itself, by timeout or because ctx ended — every process of its
// group or bearing its mark is killed. A script's background child must
// never change the root after its fix was restored or recorded.
func runCommand(ctx context.Context, c command) error {
	g, err := procgroup.New(c.name)
	if err != nil {
		return err
	}
	record := c.record
	if record == nil {
		record = func(*procgroup.Group) error { return nil }
	}
	// Noted before the start, so that a crash at any instant after it
	// leaves at least the mark for recover to find.
	if err := record(&g); err != nil {
		return fmt.Errorf("note the processes of %s: %w", c.name, err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	out := newCappedLog(c.log, scriptLogHead, scriptLogTail)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = io.Copy(out, pr)
	}()
	werr := runGroup(ctx, c, &g, pw, record)
	// Whatever happened, nothing of the group may outlive this call;
	// the stop runs even when ctx ended, as the restore after it does.
	n, serr := procgroup.Stop(context.WithoutCancel(ctx), g)
	// The group is gone, and with it its ends of the pipe; a process
	// that escaped may still hold one: do not wait for it long.
	select {
	case <-copied:
	case <-time.After(2 * time.Second):
	}
	pr.Close()
	<-copied
	out.finish()
	if n > 0 {
		fmt.Fprintf(c.log, "hotfix: stopped %d process(es) that %s left running\n", n, c.name)
	}
	if serr == nil {
		if err := record(nil); err != nil {
			fmt.Fprintf(c.log, "hotfix: warning: %v\n", err)
		}
	}
	return errors.Join(werr, serr)
}

// runGroup starts c as the leader of a new process group, its output to
// w (which it closes), and waits for the leader, killing its group after
// c's timeout or when ctx ends.
func runGroup(ctx context.Context, c command, g *procgroup.Group, w *os.File, record func(*procgroup.Group) error) error {
	timeout := c.timeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.argv[0], c.argv[1:]...)
	cmd.Dir = c.dir
	cmd.Env = append(append(os.Environ(), c.env...), g.Env())
	cmd.Stdout, cmd.Stderr = w, w
	// If hotfix itself dies (kill -9, OOM), the leader must not go on
	// changing the root behind the recovery that the next run does: the
	// kernel kills it when the thread that started it exits, so that
	// thread is pinned until it has been waited for. Its descendants are
	// for recover, which finds them through the journal.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	err := cmd.Start()
	w.Close()
	if err != nil {
		return err
	}
	// Without the leader's identity, recover still finds the group's
	// processes by their mark; only a failed record is fatal.
	if err := g.Started(cmd.Process.Pid); err != nil {
		fmt.Fprintf(c.log, "hotfix: warning: %v\n", err)
	}
	if err := record(g); err != nil {
		_ = cmd.Cancel()
		_ = cmd.Wait()
		return fmt.Errorf("note the processes of %s: %w", c.name, err)
	}
	err = cmd.Wait()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("timed out after %s", timeout)
	}
	return err
}

// hookProcsName is the file, in the state directory, naming the hook
// that is running: hooks run outside any fix's journal, and a crash
// during one must not leave its children running past the recover.
const hookProcsName = "hook-processes.json"

// hookProcs is that file. Every writer holds the transaction lock.
func (c *Client) hookProcs() statefile.File[procgroup.Group] {
	return statefile.File[procgroup.Group]{Path: filepath.Join(c.Cfg.StateDir, hookProcsName), Perm: 0o600}
}

// recordHook notes the running hook's processes (nil: none are left).
func (c *Client) recordHook(g *procgroup.Group) error {
	if g == nil {
		if err := os.Remove(c.hookProcs().Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	if err := os.MkdirAll(c.Cfg.StateDir, 0o755); err != nil {
		return err
	}
	return c.hookProcs().Save(g)
}

// stopHook stops what a hook interrupted by a crash left running, and
// says what it did ("" when nothing was recorded or left).
func (c *Client) stopHook(ctx context.Context) (string, error) {
	g, found, err := c.hookProcs().Load()
	if err != nil || !found {
		// A damaged record names nothing we could stop safely.
		return "", c.recordHook(nil)
	}
	n, err := procgroup.Stop(ctx, *g)
	if err != nil {
		return "", fmt.Errorf("recover: %w: run \"hotfix recover\" again once they are gone", err)
	}
	if err := c.recordHook(nil); err != nil {
		return "", err
	}
	if n == 0 {
		return "", nil
	}
	return fmt.Sprintf("stopped %d process(es) that the %s left running", n, g.Name), nil
}
