package procgroup

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// start runs sh -c script as the leader of a new process group, with
// extra environment, and reaps it in the background.
func start(t *testing.T, script string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	})
	return cmd
}

// alive reports whether pid runs (a zombie does not).
func alive(pid int) bool {
	s, err := readStat(pid)
	return err == nil && s.state != 'Z' && s.state != 'X'
}

// waitPids reads n pids, one a line, that a script writes to file.
func waitPids(t *testing.T, file string, n int) []int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(file)
		if lines := strings.Fields(string(b)); len(lines) >= n && strings.HasSuffix(string(b), "\n") {
			var pids []int
			for _, l := range lines[:n] {
				pid, err := strconv.Atoi(l)
				if err != nil {
					t.Fatal(err)
				}
				pids = append(pids, pid)
			}
			return pids
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s: the script never wrote %d pids", file, n)
	return nil
}

// TestStopKillsEveryDescendant: background children, a double fork, and
// setsid (which leaves the group but keeps the mark) all go.
func TestStopKillsEveryDescendant(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pids")
	g, err := New("test script")
	if err != nil {
		t.Fatal(err)
	}
	script := `sleep 60 & echo $! >> ` + pidFile + `
( sh -c 'echo $$ >> ` + pidFile + `; exec sleep 60' & ) 
setsid sh -c 'echo $$ >> ` + pidFile + `; exec sleep 60' &
wait`
	cmd := start(t, script, g.Env())
	if err := g.Started(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	pids := waitPids(t, pidFile, 3)
	n, err := Stop(context.Background(), g)
	if err != nil {
		t.Fatal(err)
	}
	if n < 4 {
		t.Errorf("Stop killed %d processes, want at least 4 (leader and three children)", n)
	}
	for _, pid := range append(pids, cmd.Process.Pid) {
		if alive(pid) {
			t.Errorf("pid %d still runs after Stop", pid)
		}
	}
}

// TestStopSparesOthers: a process that merely shares a number with what
// the record names — a reused pid, another boot, another session, another
// mark — is never killed.
func TestStopSparesOthers(t *testing.T) {
	t.Parallel()
	other, err := New("someone else")
	if err != nil {
		t.Fatal(err)
	}
	cmd := start(t, "exec sleep 60", other.Env())
	pid := cmd.Process.Pid
	var real Group
	real.Name, real.ID, real.BootID = "ours", "0123456789abcdef0123456789abcdef", other.BootID
	if err := real.Started(pid); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(g *Group)
	}{
		{"pid reused: the leader's start time differs", func(g *Group) { g.Start-- }},
		{"another boot", func(g *Group) { g.BootID = "00000000-0000-0000-0000-000000000000" }},
		{"another session", func(g *Group) { g.SID++ }},
		{"no group recorded, another mark", func(g *Group) { g.PGID, g.SID, g.Start = 0, 0, 0 }},
		{"the mark of another boot", func(g *Group) { *g = other; g.BootID = "00000000-0000-0000-0000-000000000000" }},
	}
	for _, tt := range tests {
		g := real
		tt.edit(&g)
		n, err := Stop(context.Background(), g)
		if err != nil || n != 0 || !alive(pid) {
			t.Errorf("%s: Stop killed %d (%v); alive %v", tt.name, n, err, alive(pid))
		}
	}
	// The control: the record that does name it.
	if n, err := Stop(context.Background(), real); err != nil || n != 1 || alive(pid) {
		t.Errorf("the true record: Stop killed %d (%v); alive %v", n, err, alive(pid))
	}
}

// TestStopFindsTheMark: with only the mark recorded (a crash between the
// start and the record of the leader), a process that left the group is
// still found.
func TestStopFindsTheMark(t *testing.T) {
	t.Parallel()
	g, err := New("test script")
	if err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(t.TempDir(), "pids")
	start(t, "setsid sh -c 'echo $$ > "+pidFile+"; exec sleep 60' & wait", g.Env())
	pid := waitPids(t, pidFile, 1)[0]
	if n, err := Stop(context.Background(), g); err != nil || n < 1 || alive(pid) {
		t.Errorf("Stop killed %d (%v); pid %d alive %v", n, err, pid, alive(pid))
	}
}

// TestStopWithEndedCtx: an ended ctx still gets one round of kills, and
// no error when that round was enough.
func TestStopWithEndedCtx(t *testing.T) {
	t.Parallel()
	g, err := New("test script")
	if err != nil {
		t.Fatal(err)
	}
	cmd := start(t, "exec sleep 60", g.Env())
	if err := g.Started(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if n, err := Stop(ctx, g); err != nil || n != 1 || alive(cmd.Process.Pid) {
		t.Errorf("Stop with an ended ctx: killed %d, %v; alive %v", n, err, alive(cmd.Process.Pid))
	}
}
