package cmd

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestMetricsFileFromCommands: the real binary's check, status and cron
// each rewrite metrics_file, and promtool accepts every version of it; a
// check that fails still rewrites it, saying so.
func TestMetricsFileFromCommands(t *testing.T) {
	dir := t.TempDir()
	metrics := filepath.Join(dir, "hotfix.prom")
	e := newUAEnv(t, fmt.Sprintf("[notify]\nmetrics_file = %q\n", metrics))
	read := func(step string) string {
		t.Helper()
		data, err := os.ReadFile(metrics)
		if err != nil {
			t.Fatalf("after %s: %v", step, err)
		}
		cmd := exec.Command("promtool", "check", "metrics")
		cmd.Stdin = strings.NewReader(string(data))
		if out, err := cmd.CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
			t.Fatalf("after %s: promtool check metrics: %v\n%s", step, err, out)
		}
		os.Remove(metrics)
		return string(data)
	}
	for _, step := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"status"}, ExitOK, []string{"hotfix_fixes_pending 0\n", "hotfix_last_check_timestamp_seconds 0\n"}},
		{[]string{"check"}, ExitPending, []string{"hotfix_fixes_pending 3\n", "hotfix_last_check_success 1\n"}},
		{[]string{"cron", "--now"}, ExitOK, []string{"hotfix_fixes_pending 0\n", "hotfix_fixes_installed 3\n", "hotfix_last_run_success 1\n"}},
	} {
		code, _, stderr := e.run(t, step.args...)
		if code != step.code {
			t.Fatalf("%v: exit %d, want %d\n%s", step.args, code, step.code, stderr)
		}
		got := read(strings.Join(step.args, " "))
		for _, w := range step.want {
			if !strings.Contains(got, w) {
				t.Errorf("after %v, metrics lack %q:\n%s", step.args, w, got)
			}
		}
	}
	// The repository gone: the check fails and the file says so.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/"
	l.Close()
	e.base = regexp.MustCompile(`(?m)^repo = ".*"$`).ReplaceAllString(e.base, fmt.Sprintf("repo = %q", closed))
	e.write(t, fmt.Sprintf("[notify]\nmetrics_file = %q\n", metrics))
	if code, _, _ := e.run(t, "check"); code != ExitError {
		t.Fatalf("check against no repository: exit %d", code)
	}
	if got := read("a failed check"); !strings.Contains(got, "hotfix_last_check_success 0\n") {
		t.Errorf("a failed check is not in the metrics:\n%s", got)
	}
}
