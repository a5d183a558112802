package cron

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/client/notify"
	"github.com/hotfix-project/hotfix/internal/lockfile"
	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
)

func versionsOf(fs []notify.ReportFix) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Version)
	}
	return out
}

func TestRunInstallsAndReports(t *testing.T) {
	sink := testkit.NewWebhookSink[notify.Report](t, http.StatusOK)
	e := newRunEnv(t, "[notify]\nsystem_name = \"shop-prod-1\"\nwebhook = \""+sink.URL+"\"\n")
	rep, err := Run(context.Background(), e.client(t), RunOptions{Trigger: "cron"})
	if err != nil {
		t.Fatal(err)
	}
	all := []string{"2.4.1.1", "2.4.1.2", "2.4.1.3"}
	if rep.Outcome != notify.OutcomeInstalled || !slices.Equal(versionsOf(rep.Installed), all) ||
		!slices.Equal(versionsOf(rep.Found), all) || !slices.Equal(rep.Downloaded, all) || !slices.Equal(rep.New, all) {
		t.Fatalf("report %+v", rep)
	}
	if rep.Base != "2.4.1" || rep.SystemName != "shop-prod-1" || rep.Trigger != "cron" || rep.Finished.Before(rep.Started) {
		t.Errorf("report header %+v", rep)
	}
	if rep.Installed[1].Bugs[0].ID != "ACME-117" {
		t.Errorf("bugs of 2.4.1.2: %+v", rep.Installed[1].Bugs)
	}
	if len(rep.Logs) != 4 || rep.Logs[3] != filepath.Join(e.Cfg.LogDir, "audit.log") {
		t.Errorf("logs %v", rep.Logs)
	}
	for _, l := range rep.Logs {
		if _, err := os.Stat(l); err != nil {
			t.Errorf("log %s: %v", l, err)
		}
	}
	if got := e.installed(t); !slices.Equal(got, all) {
		t.Errorf("installed %v", got)
	}
	if posted := sink.Received(); len(posted) != 1 || posted[0].Outcome != notify.OutcomeInstalled {
		t.Errorf("webhook got %+v", posted)
	}
	runs := e.scheduledRuns(t)
	if len(runs) != 1 || runs[0].Outcome != notify.OutcomeInstalled || !slices.Equal(runs[0].Versions, all) ||
		!strings.Contains(runs[0].Detail, "cron: found 3, downloaded 3, installed 3") {
		t.Errorf("audit %+v", runs)
	}

	// The next run finds nothing, says so, and is audited too.
	rep, err = Run(context.Background(), e.client(t), RunOptions{Trigger: "daemon"})
	if err != nil || rep.Outcome != notify.OutcomeUpToDate || len(rep.Found) != 0 || rep.Changed() {
		t.Fatalf("second run: %v %+v", err, rep)
	}
	if n := len(e.scheduledRuns(t)); n != 2 {
		t.Errorf("%d scheduled runs audited, want 2", n)
	}
}

func TestRunCheckOnlyReportsNewOnce(t *testing.T) {
	e := newRunEnv(t, "[schedule]\ncheck_only = true\n")
	rep, err := Run(context.Background(), e.client(t), RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Outcome != notify.OutcomePending || len(rep.Found) != 3 || len(rep.New) != 3 || len(rep.Downloaded) != 0 || !rep.Changed() {
		t.Fatalf("first run %+v", rep)
	}
	if _, err := os.Stat(filepath.Join(e.Cfg.CacheDir, "acme", "2.4.1", "acme-2.4.1.1.fix")); err == nil {
		t.Errorf("check_only downloaded an archive")
	}
	rep, err = Run(context.Background(), e.client(t), RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Found) != 3 || len(rep.New) != 0 || rep.Changed() {
		t.Fatalf("second run reports the same fixes as new again: %+v", rep)
	}
}

func TestRunDownloadOnly(t *testing.T) {
	e := newRunEnv(t, "[schedule]\ndownload_only = true\n")
	rep, err := Run(context.Background(), e.client(t), RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Outcome != notify.OutcomeDownloaded || len(rep.Downloaded) != 3 || len(rep.Installed) != 0 {
		t.Fatalf("report %+v", rep)
	}
	if got := e.installed(t); len(got) != 0 {
		t.Errorf("download_only installed %v", got)
	}
	for _, v := range rep.Downloaded {
		if _, err := os.Stat(filepath.Join(e.Cfg.CacheDir, "acme", "2.4.1", "acme-"+v+".fix")); err != nil {
			t.Errorf("archive of %s not in the cache: %v", v, err)
		}
	}
}

func TestRunSkipsWhilePaused(t *testing.T) {
	sink := testkit.NewWebhookSink[notify.Report](t, http.StatusOK)
	e := newRunEnv(t, "[notify]\nwebhook = \""+sink.URL+"\"\n")
	t.Setenv("SUDO_USER", "patcher")
	if _, err := e.client(t).Pause(context.Background(), 0, time.Hour, "patch 2.5.0"); err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), e.client(t), RunOptions{Trigger: "cron"})
	var pe *client.PausedError
	if !errors.As(err, &pe) || !errors.Is(err, client.ErrPaused) {
		t.Fatalf("error %v, want a *client.PausedError", err)
	}
	if rep.Outcome != notify.OutcomePaused || rep.Paused == nil || rep.Paused.Reason != "patch 2.5.0" || rep.Error != "" {
		t.Errorf("report %+v", rep)
	}
	if !strings.Contains(rep.Text(), "paused by patcher") || !strings.Contains(rep.Text(), "patch 2.5.0") {
		t.Errorf("report text does not say who paused and why:\n%s", rep.Text())
	}
	if got := e.installed(t); len(got) != 0 {
		t.Errorf("installed %v while paused", got)
	}
	runs := e.scheduledRuns(t)
	if len(runs) != 1 || runs[0].Outcome != notify.OutcomePaused || !strings.Contains(runs[0].Detail, "patch 2.5.0") {
		t.Errorf("audit %+v", runs)
	}
	if posted := sink.Received(); len(posted) != 1 || posted[0].Outcome != notify.OutcomePaused {
		t.Errorf("webhook got %+v", posted)
	}
}

func TestRunLocked(t *testing.T) {
	for _, name := range []string{RunLock, client.TransactionLock} {
		t.Run(name, func(t *testing.T) {
			e := newRunEnv(t, "")
			lk, err := lockfile.TryAcquire(filepath.Join(e.Cfg.LockDir, name), "hotfix install (the test)")
			if err != nil {
				t.Fatal(err)
			}
			defer lk.Release()
			rep, err := Run(context.Background(), e.client(t), RunOptions{Trigger: "cron"})
			var le *lockfile.LockedError
			if !errors.As(err, &le) {
				t.Fatalf("error %v, want a *lockfile.LockedError", err)
			}
			if rep.Outcome != notify.OutcomeLocked || !strings.Contains(rep.LockedBy, "hotfix install (the test)") ||
				!strings.Contains(rep.LockedBy, name) {
				t.Errorf("report does not name the holder: %+v", rep)
			}
			if got := e.installed(t); len(got) != 0 {
				t.Errorf("installed %v under a held lock", got)
			}
			if runs := e.scheduledRuns(t); len(runs) != 1 || runs[0].Outcome != notify.OutcomeLocked {
				t.Errorf("audit %+v", runs)
			}
		})
	}
}

func TestRunFailedNotificationIsAnError(t *testing.T) {
	sink := testkit.NewWebhookSink[notify.Report](t, http.StatusBadGateway)
	e := newRunEnv(t, "[schedule]\ncheck_only = true\n[notify]\nwebhook = \""+sink.URL+"\"\n")
	rep, err := Run(context.Background(), e.client(t), RunOptions{})
	var ne *notify.SendError
	if !errors.As(err, &ne) || !strings.Contains(err.Error(), "502 Bad Gateway") {
		t.Fatalf("error %v, want a *notify.SendError naming the status", err)
	}
	if rep.Outcome != notify.OutcomePending {
		t.Errorf("outcome %q", rep.Outcome)
	}
	if runs := e.scheduledRuns(t); len(runs) != 1 || !strings.Contains(runs[0].Detail, "report not sent") {
		t.Errorf("audit does not record the lost report: %+v", runs)
	}
	// The report never reached anyone: the next run reports the fixes as
	// new again.
	sink.Status = http.StatusOK
	rep, err = Run(context.Background(), e.client(t), RunOptions{})
	if err != nil || len(rep.New) != 3 {
		t.Fatalf("after a lost report: %v, new %v", err, rep.New)
	}
}

// TestRunRecoversPanic: a panic inside a run (here in the install's
// progress callback, before the fix changes anything) fails the run and
// releases its locks.
func TestRunRecoversPanic(t *testing.T) {
	e := newRunEnv(t, "")
	boom := client.InstallOptions{Progress: func(repo.Version, string) { panic("boom in the test") }}
	rep, err := Run(context.Background(), e.client(t), RunOptions{Install: boom})
	if err == nil || !strings.Contains(err.Error(), "panic: boom in the test") {
		t.Fatalf("error %v", err)
	}
	if rep.Outcome != notify.OutcomeFailed || !strings.Contains(rep.Error, "boom in the test") {
		t.Errorf("report %+v", rep)
	}
	if got := e.installed(t); len(got) != 0 {
		t.Errorf("installed %v", got)
	}
	// The run lock and the transaction lock were released: the next run
	// goes through.
	if _, err := Run(context.Background(), e.client(t), RunOptions{}); err != nil {
		t.Fatalf("run after a panic: %v", err)
	}
}

func TestRunCheckError(t *testing.T) {
	e := newRunEnv(t, "")
	e.Cfg.Repo = "http://127.0.0.1:1"
	e.Cfg.Network.Retries = 0
	cl := e.client(t)
	rep, err := Run(context.Background(), cl, RunOptions{})
	if err == nil || rep.Outcome != notify.OutcomeFailed || rep.Error == "" || !rep.Changed() {
		t.Fatalf("%v %+v", err, rep)
	}
	if !strings.Contains(rep.Subject(), "FAILED") {
		t.Errorf("subject %q", rep.Subject())
	}
}

// TestRunStopsBetweenFixes: SIGTERM (ctx cancelled) while the first fix is
// being applied finishes that fix and installs no further one.
func TestRunStopsBetweenFixes(t *testing.T) {
	e := newRunEnv(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var steps []string
	progress := func(v repo.Version, step string) {
		steps = append(steps, v.String()+":"+step)
		if v.String() == "2.4.1.1" && step == "apply" {
			cancel()
		}
	}
	rep, err := Run(ctx, e.client(t), RunOptions{Install: client.InstallOptions{Progress: progress}})
	if err == nil || !strings.Contains(err.Error(), "stopped by a signal") || !strings.Contains(err.Error(), "2.4.1.2, 2.4.1.3 still pending") {
		t.Fatalf("error %v", err)
	}
	if rep.Outcome != notify.OutcomeStopped || !slices.Equal(versionsOf(rep.Installed), []string{"2.4.1.1"}) {
		t.Errorf("report %+v", rep)
	}
	if want := "stopped by a signal between fixes: 2.4.1.2, 2.4.1.3 still pending (the next run installs them)"; rep.Error != want {
		t.Errorf("report error %q, want %q", rep.Error, want)
	}
	if got := e.installed(t); !slices.Equal(got, []string{"2.4.1.1"}) {
		t.Errorf("installed %v, want exactly 2.4.1.1 (steps %v)", got, steps)
	}
	if !slices.Contains(steps, "2.4.1.1:done") {
		t.Errorf("2.4.1.1 did not finish: %v", steps)
	}
	// The next run picks up where this one stopped.
	rep, err = Run(context.Background(), e.client(t), RunOptions{})
	if err != nil || !slices.Equal(versionsOf(rep.Installed), []string{"2.4.1.2", "2.4.1.3"}) {
		t.Fatalf("next run: %v %+v", err, rep)
	}
}
