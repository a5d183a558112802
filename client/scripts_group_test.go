package client

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/repo/publish"
)

// lateWrite is a shell command that, after a second, writes into the
// root: what a script's forgotten background child does.
const lateWrite = `sleep 1; echo late > "$HOTFIX_ROOT/lib/late.txt"; echo late >> "$HOTFIX_ROOT/lib/tax.php"`

// scriptFixEnv makes an environment with 2.4.1.3 installed and a fix
// 2.4.1.4 whose one install script is body; edit rewrites the
// configuration. It returns the environment and the root's tree before
// 2.4.1.4.
func scriptFixEnv(t *testing.T, body string, edit func(string) string) (*testEnv, tree) {
	t.Helper()
	r := newRepo(t)
	r.addSource(t, writeFixSource(t, "2.4.1.4", "",
		map[string]string{"lib/tax.php": "<?php // 2.4.1.4\n", "lib/new/added.php": "<?php // new\n"},
		map[string]string{"10-migrate.sh": "#!/bin/sh\n" + body + "\n"}))
	r.build(t, publish.BuildOptions{})
	e := newEnv(t, envOptions{Repo: r, Edit: edit})
	if _, err := e.client(t).Install(context.Background(), InstallOptions{Target: ver("2.4.1.3")}); err != nil {
		t.Fatal(err)
	}
	return e, snapshot(t, e.Root, "var")
}

// afterLateWrites waits until every lateWrite started by the test would
// have landed.
func afterLateWrites() { time.Sleep(1800 * time.Millisecond) }

// TestScriptChildrenCannotOutliveFix: a failing script whose child would
// change the root after the restore — in the background, under nohup,
// double-forked, in a new session — leaves the root as it was before the
// fix, for good. What no variant here does, and only a cgroup could
// catch: leaving the process group AND clearing the environment
// (setsid env -i ...); see internal/procgroup.
func TestScriptChildrenCannotOutliveFix(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, script string }{
		{"background", "( " + lateWrite + " ) &\nexit 1"},
		{"nohup", "nohup sh -c '" + lateWrite + "' >/dev/null 2>&1 &\nexit 1"},
		{"double fork", "( ( " + lateWrite + " ) & )\nexit 1"},
		{"setsid", "setsid sh -c '" + lateWrite + "' &\nexit 1"},
		{"setsid, double fork", "setsid sh -c '( " + lateWrite + " ) &'\nexit 1"},
		{"closed output", "( exec >/dev/null 2>&1 </dev/null; " + lateWrite + " ) &\nexit 1"},
		{"exits by signal", "( " + lateWrite + " ) &\nkill -9 $$"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, before := scriptFixEnv(t, tt.script, nil)
			_, err := e.client(t).Install(context.Background(), InstallOptions{})
			wantErr(t, err, nil, "script 10-migrate.sh", "restored")
			afterLateWrites()
			assertTree(t, before, e.Root, "var")
			if got := installed(t, e); strings.Join(got, " ") != "2.4.1.1 2.4.1.2 2.4.1.3" {
				t.Errorf("installed: %v", got)
			}
			var se *StepError
			if errors.As(err, &se) {
				log, _ := os.ReadFile(se.Log)
				if !strings.Contains(string(log), "left running") {
					t.Errorf("the log does not say what was stopped:\n%s", log)
				}
			}
		})
	}
}

// TestScriptChildStoppedAfterSuccess: a script that succeeds does not
// leave its child to change the installed fix later.
func TestScriptChildStoppedAfterSuccess(t *testing.T) {
	t.Parallel()
	e, _ := scriptFixEnv(t, "( "+lateWrite+" ) &\nsetsid sh -c '"+lateWrite+"' &\nexit 0", nil)
	res, err := e.client(t).Install(context.Background(), InstallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	installedTree := snapshot(t, e.Root, "var")
	afterLateWrites()
	assertTree(t, installedTree, e.Root, "var")
	log, _ := os.ReadFile(res.Logs[0])
	if !strings.Contains(string(log), "process(es) that script 10-migrate.sh left running") {
		t.Errorf("the log does not say what was stopped:\n%s", log)
	}
}

// TestScriptTimeoutKillsGroup: at script_timeout the whole group goes,
// children that keep the output open included, and promptly.
func TestScriptTimeoutKillsGroup(t *testing.T) {
	t.Parallel()
	short := func(cfg string) string {
		return strings.Replace(cfg, `script_timeout = "30s"`, `script_timeout = "1s"`, 1)
	}
	tests := []struct{ name, script string }{
		{"waits on its child", "( sleep 1.5; " + lateWrite + " ) &\nwait"},
		{"child in a new session", "setsid sh -c 'sleep 1.5; " + lateWrite + "' &\nsleep 60"},
		{"ignores SIGTERM", "trap '' TERM\n( trap '' TERM; sleep 1.5; " + lateWrite + " ) &\nsleep 60"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, before := scriptFixEnv(t, tt.script, short)
			start := time.Now()
			_, err := e.client(t).Install(context.Background(), InstallOptions{})
			wantErr(t, err, nil, "script 10-migrate.sh", "timed out after 1s", "restored")
			if d := time.Since(start); d > 15*time.Second {
				t.Errorf("install took %v with a 1s script timeout", d)
			}
			time.Sleep(2500 * time.Millisecond)
			assertTree(t, before, e.Root, "var")
		})
	}
}

// TestScriptOutputCapped: a script that prints 50 MB leaves a log of
// bounded size that keeps the head and the tail and says it was cut.
func TestScriptOutputCapped(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, script string }{
		{"stdout", "echo FIRST-LINE; head -c 50000000 /dev/zero | tr '\\0' x; echo; echo LAST-LINE"},
		{"stderr", "echo FIRST-LINE >&2; head -c 50000000 /dev/zero | tr '\\0' y >&2; echo >&2; echo LAST-LINE >&2"},
		{"many lines", "echo FIRST-LINE; yes 'a line of output' | head -n 3000000; echo LAST-LINE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, _ := scriptFixEnv(t, tt.script, nil)
			res, err := e.client(t).Install(context.Background(), InstallOptions{})
			if err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(res.Logs[0])
			if err != nil {
				t.Fatal(err)
			}
			if max := int64(scriptLogHead + scriptLogTail + 4096); fi.Size() > max {
				t.Errorf("log is %d bytes, more than the cap of %d", fi.Size(), max)
			}
			log, _ := os.ReadFile(res.Logs[0])
			for _, want := range []string{"FIRST-LINE", "LAST-LINE", "[hotfix: output cut: ", "installed 2.4.1.4"} {
				if !strings.Contains(string(log), want) {
					t.Errorf("log lacks %q", want)
				}
			}
		})
	}
}

// TestHookChildrenCannotOutliveRun: hooks run as scripts do; a failing
// health check's child does not change the root after the rollback, nor
// a pre_install's after the refusal.
func TestHookChildrenCannotOutliveRun(t *testing.T) {
	t.Parallel()
	hook := func(key, line string) func(string) string {
		return func(cfg string) string { return cfg + "\n[hooks]\n" + key + " = '" + line + "'\n" }
	}
	tests := []struct {
		name string
		edit func(string) string
		want string
	}{
		{"health_check fails", hook("health_check", "( "+strings.ReplaceAll(lateWrite, `"`, ``)+" ) & exit 1"), "rolled back"},
		{"pre_install fails", hook("pre_install", "setsid sh -c \""+strings.ReplaceAll(lateWrite, `"`, ``)+"\" & exit 1"), "pre_install hook failed"},
		{"post_install fails", hook("post_install", "( "+strings.ReplaceAll(lateWrite, `"`, ``)+" ) & exit 1"), "post_install hook failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, before := scriptFixEnv(t, "exit 0", nil)
			withHook(t, e, tt.edit)
			_, err := e.client(t).Install(context.Background(), InstallOptions{})
			wantErr(t, err, nil, tt.want)
			afterLateWrites()
			if tt.name == "post_install fails" {
				// The fix stays (post_install failing keeps it); its
				// files must be as installed, without the late write.
				if b, _ := os.ReadFile(filepath.Join(e.Root, "lib", "tax.php")); string(b) != "<?php // 2.4.1.4\n" {
					t.Errorf("lib/tax.php = %q after the hook's child", b)
				}
				return
			}
			assertTree(t, before, e.Root, "var")
		})
	}
}

// withHook rewrites e's configuration with edit and loads it again.
func withHook(t *testing.T, e *testEnv, edit func(string) string) {
	t.Helper()
	b, err := os.ReadFile(e.Config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.Config, []byte(edit(string(b))), 0o644); err != nil {
		t.Fatal(err)
	}
	if e.Cfg, err = LoadConfig(e.Config); err != nil {
		t.Fatal(err)
	}
}

// TestCappedLog: what the log keeps of an output, by size.
func TestCappedLog(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		writes []string
		want   string
	}{
		{"under the head", []string{"abc"}, "abc"},
		{"head and tail exactly", []string{"abcdefgh"}, "abcdefgh"},
		{"one byte over", []string{"abcdefghi"}, "abcd\n[hotfix: output cut: 1 bytes left out; the first 4 and the last 4 bytes are kept]\nfghi"},
		{"many small writes", strings.Split("0123456789abcdef", ""), "0123\n[hotfix: output cut: 8 bytes left out; the first 4 and the last 4 bytes are kept]\ncdef"},
		{"one big write", []string{strings.Repeat("x", 1000) + "tail"}, "xxxx\n[hotfix: output cut: 996 bytes left out; the first 4 and the last 4 bytes are kept]\ntail"},
	}
	for _, tt := range tests {
		var b strings.Builder
		l := newCappedLog(&b, 4, 4)
		for _, w := range tt.writes {
			if n, err := l.Write([]byte(w)); n != len(w) || err != nil {
				t.Fatalf("%s: Write = %d, %v", tt.name, n, err)
			}
		}
		l.finish()
		if b.String() != tt.want {
			t.Errorf("%s: log %q, want %q", tt.name, b.String(), tt.want)
		}
	}
}
