package cron

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/client/notify"
	"github.com/hotfix-project/hotfix/internal/lockfile"
	"github.com/hotfix-project/hotfix/repo"
)

// TestEndedOneMapping: ended is the one mapping from the error that ended
// a run (or an instance's part) to its outcome and the field that says
// why, for Run and the tree run alike; a child's BlockedError counts as
// its parent's reason when the parent had one.
func TestEndedOneMapping(t *testing.T) {
	locked := &lockfile.LockedError{Path: "/run/hotfix/run.lock", Holder: &lockfile.Holder{PID: 42, Command: "hotfix cron"}}
	paused := &client.PausedError{Info: client.PauseInfo{By: "root", Since: time.Date(2025, 1, 6, 4, 0, 0, 0, time.UTC), Reason: "audit"}}
	waiting := &client.WaitingError{Instance: "b", Next: repo.MustParseVersion("1.0.1")}
	blocked := &client.BlockedError{Instance: "b", Parent: "a", ParentLevel: repo.MustParseVersion("1.0")}
	signalled := fmt.Errorf("%w between fixes: 2.4.1.2 still pending (the next run installs them)", errSignalled)
	for _, tt := range []struct {
		name    string
		err     error
		outcome string
		why     func(r *Report) string // the field that carries the reason
	}{
		{"locked", locked, notify.OutcomeLocked, func(r *Report) string { return r.LockedBy }},
		{"locked, wrapped", fmt.Errorf("instance b: %w", locked), notify.OutcomeLocked, func(r *Report) string { return r.LockedBy }},
		{"paused", paused, notify.OutcomePaused, func(r *Report) string { return r.Paused.Sentence() }},
		{"waiting for the primary", waiting, notify.OutcomeWaiting, func(r *Report) string { return r.Waiting }},
		{"blocked by the parent", blocked, notify.OutcomeBlocked, func(r *Report) string { return r.Waiting }},
		{"blocked behind a waiting parent", &client.BlockedError{Instance: "b", Parent: "a", Failed: true, Cause: waiting},
			notify.OutcomeWaiting, func(r *Report) string { return r.Waiting }},
		{"blocked behind a locked parent", &client.BlockedError{Instance: "b", Parent: "a", Failed: true, Cause: locked},
			notify.OutcomeLocked, func(r *Report) string { return r.LockedBy }},
		{"stopped by a signal", signalled, notify.OutcomeStopped, func(r *Report) string { return r.Error }},
		{"anything else", errors.New("download: connection refused"), notify.OutcomeFailed, func(r *Report) string { return r.Error }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rep := &Report{}
			ended(rep, tt.err)
			if rep.Outcome != tt.outcome {
				t.Errorf("outcome %q, want %q", rep.Outcome, tt.outcome)
			}
			want := tt.err.Error()
			if tt.outcome == notify.OutcomePaused {
				want = paused.Pause().Sentence()
			}
			if got := tt.why(rep); got != want {
				t.Errorf("reason %q, want %q", got, want)
			}
		})
	}
}

// TestOutcomeOfPart: an instance's part of a tree run gets its outcome
// from what it found and installed when nothing stopped it, and from
// ended otherwise.
func TestOutcomeOfPart(t *testing.T) {
	fixes := func(vs ...string) []notify.ReportFix {
		out := []notify.ReportFix{}
		for _, v := range vs {
			out = append(out, notify.ReportFix{Version: v})
		}
		return out
	}
	plain := &client.Config{}
	checkOnly := &client.Config{Schedule: client.Schedule{CheckOnly: true}}
	downloadOnly := &client.Config{Schedule: client.Schedule{DownloadOnly: true}}
	for _, tt := range []struct {
		name               string
		found, installed   []notify.ReportFix
		err                error
		signalled          bool
		cfg                *client.Config
		outcome, errorText string
	}{
		{"nothing found", nil, nil, nil, false, plain, notify.OutcomeUpToDate, ""},
		{"check only", fixes("1.0.1"), nil, nil, false, checkOnly, notify.OutcomePending, ""},
		{"download only", fixes("1.0.1"), nil, nil, false, downloadOnly, notify.OutcomeDownloaded, ""},
		{"installed", fixes("1.0.1", "1.0.2"), fixes("1.0.1", "1.0.2"), nil, false, plain, notify.OutcomeInstalled, ""},
		{"another install got there first", fixes("1.0.1"), nil, nil, false, plain, notify.OutcomeUpToDate, ""},
		{"signal between fixes", fixes("1.0.1", "1.0.2"), fixes("1.0.1"), nil, true, plain, notify.OutcomeStopped,
			"stopped by a signal between fixes: the next run installs the rest"},
		{"signal after the last fix", fixes("1.0.1"), fixes("1.0.1"), nil, true, plain, notify.OutcomeInstalled, ""},
		{"signal before it started", fixes("1.0.1"), nil, errStopped, true, plain, notify.OutcomeStopped,
			"stopped by a signal between fixes: the next run installs the rest"},
		{"failed", fixes("1.0.1"), nil, errors.New("post_install exited 1"), false, plain, notify.OutcomeFailed, "post_install exited 1"},
		{"blocked", fixes("1.0.1"), nil, &client.BlockedError{Instance: "b", Parent: "a"}, false, plain, notify.OutcomeBlocked, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			part := &Report{Found: tt.found, Installed: tt.installed}
			outcome(part, tt.err, tt.signalled, tt.cfg)
			if part.Outcome != tt.outcome || part.Error != tt.errorText {
				t.Errorf("outcome %q, error %q; want %q, %q", part.Outcome, part.Error, tt.outcome, tt.errorText)
			}
		})
	}
}
