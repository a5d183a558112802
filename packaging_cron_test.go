package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCronDaily runs the packaged /etc/cron.daily/hotfix with a stand-in
// hotfix (a script printing a report and exiting as told), logger and
// systemctl on PATH: what cron would mail (the script's output) and its
// exit status, for each outcome of a run.
func TestCronDaily(t *testing.T) {
	script, err := filepath.Abs(filepath.Join("packaging", "cron.daily", "hotfix"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		defaults string
		rc       string
		wantOut  string
		wantRC   int
		wantLog  string
	}{
		{"off by default", "HOTFIX_CRON=no\n", "0", "", 0, ""},
		{"a run with a report", "HOTFIX_CRON=yes\n", "0", "report line\n", 0, ""},
		{"an error is mailed", "HOTFIX_CRON=yes\n", "1", "report line\n", 1, ""},
		{"75 prints nothing", "HOTFIX_CRON=yes\n", "75", "", 0, "scheduled run skipped"},
		{"75 prints nothing from sysconfig too", "", "75", "", 0, "scheduled run skipped"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, logFile := cronDailyEnv(t, tc.defaults, tc.rc, "0")
			if tc.defaults == "" { // RPM systems: /etc/sysconfig/hotfix
				writeExec(t, filepath.Join(filepath.Dir(logFile), "sysconfig"), "HOTFIX_CRON=yes\n")
			}
			out, rc := runScript(t, script, env)
			if out != tc.wantOut || rc != tc.wantRC {
				t.Errorf("output %q exit %d, want %q exit %d", out, rc, tc.wantOut, tc.wantRC)
			}
			logged, _ := os.ReadFile(logFile)
			if !strings.Contains(string(logged), tc.wantLog) || (tc.wantLog == "" && len(logged) > 0) {
				t.Errorf("logged %q, want %q", logged, tc.wantLog)
			}
		})
	}
	// Detached: the script returns at once while the run (here 2 s of
	// "random wait") goes on; its output goes to syslog, not to cron.
	t.Run("detached", func(t *testing.T) {
		env, logFile := cronDailyEnv(t, "HOTFIX_CRON=yes\nHOTFIX_CRON_DETACH=yes\n", "0", "2")
		start := time.Now()
		out, rc := runScript(t, script, env)
		if el := time.Since(start); out != "" || rc != 0 || el > 1500*time.Millisecond {
			t.Errorf("output %q exit %d after %s, want nothing, 0, at once", out, rc, el)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			logged, _ := os.ReadFile(logFile)
			if strings.Contains(string(logged), "report line") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the detached run's report never reached syslog: %q", logged)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

// cronDailyEnv makes the stand-ins: hotfix sleeps sleep seconds, prints a
// report line and exits rc; logger appends its message to the returned
// file; systemctl says nothing is active.
func cronDailyEnv(t *testing.T, defaults, rc, sleep string) ([]string, string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	logFile := filepath.Join(dir, "syslog")
	writeExec(t, filepath.Join(bin, "hotfix"), "#!/bin/sh\nsleep "+sleep+"\necho report line\nexit "+rc+"\n")
	writeExec(t, filepath.Join(bin, "logger"), "#!/bin/sh\nif [ $# -gt 2 ]; then echo \"$3\" >> "+logFile+"; else cat >> "+logFile+"; fi\n")
	writeExec(t, filepath.Join(bin, "systemctl"), "#!/bin/sh\nexit 3\n")
	if defaults != "" {
		writeExec(t, filepath.Join(dir, "default"), defaults)
	}
	return []string{
		"PATH=" + bin + ":/usr/bin:/bin",
		"HOTFIX_BIN=" + filepath.Join(bin, "hotfix"),
		"HOTFIX_DEFAULTS=" + filepath.Join(dir, "default") + " " + filepath.Join(dir, "sysconfig"),
	}, logFile
}

func writeExec(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o755); err != nil {
		t.Fatal(err)
	}
}

// runScript runs the cron.daily script as run-parts does and returns what
// cron would collect from it: stdout and stderr, and the exit status.
func runScript(t *testing.T, script string, env []string) (string, int) {
	t.Helper()
	cmd := exec.Command("/bin/sh", script)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}
