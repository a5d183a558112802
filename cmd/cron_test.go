package cmd

// Tests of "hotfix cron" with real processes, on the harness of
// daemon_test.go.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/client/notify"
	"github.com/hotfix-project/hotfix/internal/testkit"
)

func TestCronNowInstallsAndPrints(t *testing.T) {
	e := newUAEnv(t, "")
	code, stdout, stderr := e.run(t, "cron", "--now")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	// No mail_to and no webhook: the report goes to stdout, for cron's MAILTO.
	for _, want := range []string{"outcome: installed", "ACME-117", "audit.log"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	// Up to date: nothing to say.
	code, stdout, stderr = e.run(t, "cron", "--now")
	if code != 0 || stdout != "" {
		t.Errorf("second run: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, stdout, _ = e.run(t, "--json", "cron", "--now")
	var rep notify.Report
	if err := json.Unmarshal([]byte(stdout), &rep); code != 0 || err != nil || rep.Outcome != notify.OutcomeUpToDate || rep.Trigger != "cron --now" {
		t.Errorf("--json: exit %d, %v, %+v", code, err, rep)
	}
}

func TestCronDayFilter(t *testing.T) {
	// Neither yesterday, today nor tomorrow: safe around midnight.
	other := (time.Now().Weekday() + 3) % 7
	e := newUAEnv(t, fmt.Sprintf("[schedule]\ndays_of_week = \"%d\"\nrandom_wait = \"0\"\n", other))
	code, stdout, stderr := e.run(t, "cron")
	if code != 0 || stdout != "" || stderr != "" {
		t.Fatalf("not a day to run: exit %d, stdout %q, stderr %q; want a quiet 0", code, stdout, stderr)
	}
	if got := e.installed(t); len(got) != 0 {
		t.Fatalf("installed %v on a day not allowed", got)
	}
	if recs, _ := client.ReadAudit(e.Cfg.LogDir); len(recs) != 0 {
		t.Errorf("audit records %+v for a day not allowed", recs)
	}
	if code, _, stderr := e.run(t, "cron", "--now"); code != 0 {
		t.Fatalf("--now: exit %d\n%s", code, stderr)
	}
	if got := e.installed(t); !slices.Equal(got, allFixes) {
		t.Errorf("--now installed %v", got)
	}
}

func TestCronRandomWait(t *testing.T) {
	e := newUAEnv(t, "[schedule]\nrandom_wait = \"1h\"\n")
	p := e.start(t, "-v", "cron")
	p.stderr.Await(t, "random wait before the run")
	start := time.Now()
	p.cmd.Process.Signal(syscall.SIGTERM)
	code := p.wait(t, 5*time.Second)
	if code != ExitError || !strings.Contains(p.stderr.String(), "interrupted during the random wait") {
		t.Errorf("exit %d, stderr %s", code, p.stderr)
	}
	if time.Since(start) > time.Second {
		t.Errorf("SIGTERM during the random wait took %v", time.Since(start))
	}
	if got := e.installed(t); len(got) != 0 {
		t.Errorf("installed %v", got)
	}
}

// TestCronTwoAtOnce: the second of two runs exits 75 naming the first.
func TestCronTwoAtOnce(t *testing.T) {
	e := newUAEnv(t, "[hooks]\npre_install = \"sleep 2\"\n")
	first := e.start(t, "cron", "--now")
	holder := e.awaitLock(t, "run.lock")
	if holder.PID != first.cmd.Process.Pid {
		t.Fatalf("run lock held by pid %d, want %d", holder.PID, first.cmd.Process.Pid)
	}
	code, _, stderr := e.run(t, "cron", "--now")
	if code != ExitTempFail || !strings.Contains(stderr, fmt.Sprintf("pid %d", first.cmd.Process.Pid)) ||
		!strings.Contains(stderr, "hotfix cron --now") || !strings.Contains(stderr, "run.lock") {
		t.Errorf("second run: exit %d, stderr %q; want 75 naming the holder", code, stderr)
	}
	if code := first.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("first run: exit %d\n%s", code, first.stderr)
	}
	if got := e.installed(t); !slices.Equal(got, allFixes) {
		t.Errorf("installed %v", got)
	}
	var outcomes []string
	recs, _ := client.ReadAudit(e.Cfg.LogDir)
	for _, r := range recs {
		if r.Action == "scheduled-run" {
			outcomes = append(outcomes, r.Outcome)
		}
	}
	if !slices.Equal(outcomes, []string{notify.OutcomeLocked, notify.OutcomeInstalled}) {
		t.Errorf("audited scheduled runs %v", outcomes)
	}
}

// TestCronDuringManualInstall: a scheduled run exits 75 while a person
// installs.
func TestCronDuringManualInstall(t *testing.T) {
	e := newUAEnv(t, "[hooks]\npre_install = \"sleep 2\"\n")
	manual := e.start(t, "install", "--yes")
	holder := e.awaitLock(t, client.TransactionLock)
	code, _, stderr := e.run(t, "cron", "--now")
	if code != ExitTempFail || !strings.Contains(stderr, fmt.Sprintf("pid %d", holder.PID)) || !strings.Contains(stderr, "transaction.lock") {
		t.Errorf("cron during install: exit %d, stderr %q; want 75 naming the install", code, stderr)
	}
	if code := manual.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("manual install: exit %d\n%s", code, manual.stderr)
	}
	if got := e.installed(t); !slices.Equal(got, allFixes) {
		t.Errorf("installed %v", got)
	}
}

// TestCronFailedNotificationExits1: the run went well, the report did not
// reach anyone: exit 1, and the error says so.
func TestCronFailedNotificationExits1(t *testing.T) {
	sink := testkit.NewWebhookSink[notify.Report](t, http.StatusServiceUnavailable)
	e := newUAEnv(t, "[notify]\nwebhook = \""+sink.URL+"\"\n")
	code, _, stderr := e.run(t, "cron", "--now")
	if code != ExitError || !strings.Contains(stderr, "report not sent") || !strings.Contains(stderr, "503") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if got := e.installed(t); !slices.Equal(got, allFixes) {
		t.Errorf("installed %v", got)
	}
	// Paused (75) with a lost report is still 1.
	e.run(t, "pause")
	if code, _, _ := e.run(t, "cron", "--now"); code != ExitError {
		t.Errorf("paused run with a lost report: exit %d, want 1", code)
	}
}

// TestCronMailsBySendmail: the whole path through a sendmail binary.
func TestCronMailsBySendmail(t *testing.T) {
	dir := t.TempDir()
	msg := filepath.Join(dir, "msg")
	bin := filepath.Join(dir, "sendmail")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\ncat > "+msg+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	e := newUAEnv(t, "[notify]\nmail_to = \"ops@example.com\"\nsystem_name = \"shop-prod-1\"\nsendmail = \""+bin+"\"\n")
	code, stdout, stderr := e.run(t, "cron", "--now")
	if code != 0 || stdout != "" {
		t.Fatalf("exit %d, stdout %q (a mailed report is not printed too), stderr %q", code, stdout, stderr)
	}
	data, err := os.ReadFile(msg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "Subject: [shop-prod-1] hotfix: installed acme 2.4.1.1, 2.4.1.2, 2.4.1.3") {
		t.Errorf("mail:\n%s", data)
	}
}
