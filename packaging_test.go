package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemdUnitsVerify runs `systemd-analyze verify` on every shipped
// unit. verify insists that ExecStart's binary exists, so a copy of each
// unit names this test's own executable instead of /usr/bin/hotfix; the
// rest is verified as shipped.
func TestSystemdUnitsVerify(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	units, err := filepath.Glob(filepath.Join("packaging", "*.service"))
	if err != nil {
		t.Fatal(err)
	}
	timers, _ := filepath.Glob(filepath.Join("packaging", "*.timer"))
	units = append(units, timers...)
	if len(units) < 3 {
		t.Fatalf("found only %v: want hotfix.service, hotfix-run.service and hotfix.timer", units)
	}
	dir := t.TempDir()
	args := []string{"verify"}
	for _, u := range units {
		data, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		data = bytes.ReplaceAll(data, []byte("/usr/bin/hotfix"), []byte(self))
		dst := filepath.Join(dir, filepath.Base(u))
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, dst)
	}
	out, err := exec.Command("systemd-analyze", args...).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestTimerUnits pins what the issue and README promise of the timer: a
// random delay, catching up after downtime, the run unit it starts, and a
// run that does not wait a second time.
func TestTimerUnits(t *testing.T) {
	timer, _ := os.ReadFile(filepath.Join("packaging", "hotfix.timer"))
	run, _ := os.ReadFile(filepath.Join("packaging", "hotfix-run.service"))
	for _, want := range []string{"\nRandomizedDelaySec=", "\nPersistent=true\n", "\nUnit=hotfix-run.service\n", "\nWantedBy=timers.target\n"} {
		if !strings.Contains(string(timer), want) {
			t.Errorf("hotfix.timer lacks %q", want)
		}
	}
	for _, want := range []string{"\nType=oneshot\n", "\nExecStart=/usr/bin/hotfix cron --timer\n", "\nSuccessExitStatus=75\n"} {
		if !strings.Contains(string(run), want) {
			t.Errorf("hotfix-run.service lacks %q", want)
		}
	}
	if strings.Contains(string(run), "[Install]") {
		t.Error("hotfix-run.service has an [Install] section: only the timer starts it")
	}
	// The package scripts never enable or start the timer themselves.
	scripts, _ := filepath.Glob(filepath.Join("packaging", "scripts", "*"))
	for _, s := range scripts {
		data, _ := os.ReadFile(s)
		for _, line := range strings.Split(string(data), "\n") {
			if strings.Contains(line, "hotfix.timer") && (strings.Contains(line, "enable") || strings.Contains(line, "start")) &&
				!strings.Contains(line, "disable") && !strings.Contains(line, "stop") {
				t.Errorf("%s enables or starts the timer: %s", s, line)
			}
		}
	}
	gr, _ := os.ReadFile("goreleaser.yaml")
	for _, want := range []string{"packaging/hotfix.timer", "packaging/hotfix-run.service", "packaging/hotfix-alerts.yml", "packaging/grafana-hotfix.json",
		// issue 17: man pages and completions generated at build, the
		// defaults file where RPM systems look for it.
		"go run . generate-docs build/docs", "dst: /usr/share/man/man1/", "dst: /usr/share/bash-completion/completions/hotfix",
		"dst: /usr/share/zsh/vendor-completions/_hotfix", "dst: /usr/share/zsh/site-functions/_hotfix",
		"dst: /usr/share/fish/vendor_completions.d/hotfix.fish", "dst: /etc/sysconfig/hotfix"} {
		if !strings.Contains(string(gr), want) {
			t.Errorf("goreleaser.yaml does not pack %s", want)
		}
	}
}
