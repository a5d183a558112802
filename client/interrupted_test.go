package client

// Classes 10 and 11 of issue 16: an interrupted transaction is visible in
// "status --json" ({version, step, since, recover}), and a dry run with
// one present changes nothing: it refuses, saying what recover would do.
// The first test kills the real binary (SIGKILL) while a script of a fix
// runs, so the root holds half a fix.

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/repo/publish"
)

func TestKilledInstallIsVisibleAndDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	src := writeFixSource(t, "2.4.1.4", "", map[string]string{"lib/tax.php": "<?php // 2.4.1.4\n", "lib/added.php": "<?php // new\n"},
		map[string]string{"10-slow.sh": "#!/bin/sh\nsleep 60\n"})
	archive := r.addSource(t, src)
	r.build(t, publish.BuildOptions{})
	e := newEnv(t, envOptions{Repo: r})
	ctx := context.Background()
	if _, err := e.client(t).Install(ctx, InstallOptions{Target: ver("2.4.1.3")}); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, e.Root, "var")

	// Kill hotfix -9 while the script of 2.4.1.4 runs: the files are in
	// place, the fix is not recorded.
	cmd := exec.Command(hotfixBinary(t), "--config", e.Config, "install", "--yes")
	cmd.Env = append(os.Environ(), "HOTFIX_CONFIG=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() && sc.Text() != "2.4.1.4: scripts" {
	}
	time.Sleep(100 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	half := snapshot(t, e.Root, "var")
	if before.diff(half) == "" {
		t.Fatal("the kill left nothing half done: the test proves nothing")
	}

	res := e.hotfix(t, "status", "--json")
	var st struct {
		Installed   []any              `json:"installed"`
		Interrupted *StatusInterrupted `json:"interrupted"`
	}
	if err := json.Unmarshal([]byte(res.Stdout), &st); err != nil || res.Code != 0 {
		t.Fatalf("status --json: exit %d, %v\n%s%s", res.Code, err, res.Stdout, res.Stderr)
	}
	in := st.Interrupted
	if in == nil || in.Version != "2.4.1.4" || in.Step != "apply" || in.Since.IsZero() || time.Since(in.Since) > time.Minute ||
		!strings.Contains(in.Recover, "undo the half install of 2.4.1.4") || len(st.Installed) != 3 {
		t.Fatalf("status --json after the kill:\n%s", res.Stdout)
	}
	text := e.hotfix(t, "status")
	for _, want := range []string{"WARNING", "2.4.1.4", "step apply", "hotfix recover"} {
		if !strings.Contains(text.Stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, text.Stdout)
		}
	}

	// Dry runs, from the repository and from a file, change nothing.
	state := snapshot(t, e.Cfg.StateDir, "seen.json")
	for _, args := range [][]string{{"install", "--dry-run"}, {"install", "--dry-run", "--from", archive}, {"install", "--dry-run", "2.4.1.4"}} {
		res := e.hotfix(t, args...)
		if res.Code != 1 {
			t.Errorf("%v: exit %d, want 1\n%s%s", args, res.Code, res.Stdout, res.Stderr)
		}
		for _, want := range []string{"interrupted transaction", "2.4.1.4", "step apply", "hotfix recover", "undo the half install", "changes nothing"} {
			if !strings.Contains(res.Stderr, want) {
				t.Errorf("%v: stderr lacks %q:\n%s", args, want, res.Stderr)
			}
		}
		assertTree(t, half, e.Root, "var")
		assertTree(t, state, e.Cfg.StateDir, "seen.json")
	}

	if res := e.hotfix(t, "recover"); res.Code != 0 || !strings.Contains(res.Stdout, "restored the root") {
		t.Fatalf("recover: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	assertTree(t, before, e.Root, "var")
	res = e.hotfix(t, "status", "--json")
	if !strings.Contains(res.Stdout, `"interrupted": null`) {
		t.Errorf("status --json after recover:\n%s", res.Stdout)
	}
}

// TestInterruptedSteps: each kind of interrupted transaction shows its
// step and what recover will do, a dry run refuses it changing nothing,
// and recover then does what status said.
func TestInterruptedSteps(t *testing.T) {
	tests := []struct {
		name    string
		make    func(t *testing.T, e *testEnv, c *Client)
		version string
		step    string
		recover string
	}{
		{"install making backups", func(t *testing.T, e *testEnv, _ *Client) {
			writeJournal(t, e, `{"op": "install", "version": "2.4.1.3", "phase": "prepare", "entries": []}`)
		}, "2.4.1.3", "backup", "discard the install of 2.4.1.3"},
		{"install committed, backups not yet kept", func(t *testing.T, e *testEnv, _ *Client) {
			writeJournal(t, e, `{"op": "install", "version": "2.4.1.2", "phase": "apply", "entries": []}`)
		}, "2.4.1.2", "apply", "keep the install of 2.4.1.2"},
		{"rollback", func(t *testing.T, e *testEnv, c *Client) {
			if _, err := c.store().BeginRollback(*ver("2.4.1.2")); err != nil {
				t.Fatal(err)
			}
		}, "2.4.1.2", "rollback", "finish the rollback of 2.4.1.2"},
		{"before the journal", func(t *testing.T, e *testEnv, _ *Client) {
			if err := os.MkdirAll(filepath.Join(e.Cfg.StateDir, "txn", "backup"), 0o700); err != nil {
				t.Fatal(err)
			}
		}, "", "begin", "remove an empty transaction"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{})
			c := e.client(t)
			ctx := context.Background()
			if _, err := c.Install(ctx, InstallOptions{Target: ver("2.4.1.2")}); err != nil {
				t.Fatal(err)
			}
			tc.make(t, e, c)
			st, err := c.Status()
			if err != nil {
				t.Fatal(err)
			}
			in := st.Interrupted
			if in == nil || in.Version != tc.version || in.Step != tc.step || !strings.Contains(in.Recover, tc.recover) {
				t.Fatalf("interrupted = %+v, want %s at %s, %q", in, tc.version, tc.step, tc.recover)
			}
			root, state := snapshot(t, e.Root), snapshot(t, e.Cfg.StateDir, "seen.json")
			_, err = c.Install(ctx, InstallOptions{DryRun: true})
			wantErr(t, err, ErrInterrupted, "step "+tc.step, tc.recover, "hotfix recover")
			assertTree(t, root, e.Root)
			assertTree(t, state, e.Cfg.StateDir, "seen.json")
			if _, err := c.Recover(ctx, 0); err != nil {
				t.Fatal(err)
			}
			if st, err := c.Status(); err != nil || st.Interrupted != nil {
				t.Fatalf("after recover: %+v, %v", st, err)
			}
			if _, err := c.Install(ctx, InstallOptions{DryRun: true}); err != nil {
				t.Fatalf("dry run after recover: %v", err)
			}
		})
	}
}

func writeJournal(t *testing.T, e *testEnv, journal string) {
	t.Helper()
	dir := filepath.Join(e.Cfg.StateDir, "txn")
	if err := os.MkdirAll(filepath.Join(dir, "backup"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "journal.json"), []byte(journal), 0o600); err != nil {
		t.Fatal(err)
	}
}
