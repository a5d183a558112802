package notify

import "time"

// State is where one installation stands after a run, a check or a
// status: the one model that `status --json`, the report of a scheduled
// run (mail and webhook) and the metrics file are all written from, so
// that they never disagree. The client fills it (Client.State); this
// package only renders it. Its JSON names are part of `status --json`;
// keep them.
type State struct {
	Product   string         `json:"product"`
	Base      string         `json:"base"`
	Installed []InstalledFix `json:"installed"`
	// Pending counts the fixes of the last verified index not installed
	// yet; Held those the rollout withholds (not counted as pending).
	Pending   int          `json:"pending"`
	Paused    *Pause       `json:"paused"`
	LastCheck *CheckRecord `json:"last_check"`
	// Level is the newest installed version, the base when none.
	Level string `json:"level"`
	Held  int    `json:"held"`
	// PendingSince is when checks first found fixes pending without a
	// break; nil when nothing is pending.
	PendingSince *time.Time `json:"pending_since"`
	// IndexExpires is when the last verified index expires: past it,
	// checks refuse the index and the installation is frozen.
	IndexExpires *time.Time `json:"index_expires"`
	LastRun      *RunRecord `json:"last_run"`
	// Instance names the installation when hotfix.toml has several.
	Instance string `json:"instance,omitempty"`
}

// InstalledFix is one installed fix in a State.
type InstalledFix struct {
	Version     string    `json:"version"`
	InstalledAt time.Time `json:"installed_at"`
	By          string    `json:"by"`
}

// CheckRecord is the last check in a State.
type CheckRecord struct {
	At      time.Time `json:"at"`
	Outcome string    `json:"outcome"`
	// Failed is true when the check ended in an error (Outcome says which).
	Failed bool `json:"failed,omitempty"`
}

// RunRecord is the last scheduled run that took the run lock (a run
// skipped because another held it leaves the previous record, so that
// "no run for 2 days" sees a stuck lock).
type RunRecord struct {
	At      time.Time `json:"at"` // when it finished
	Outcome string    `json:"outcome"`
	Success bool      `json:"success"`
	// InstallSeconds is how long the last install of fixes took, carried
	// over from earlier runs while a run installs nothing.
	InstallSeconds float64 `json:"install_seconds"`
}

// RunSucceeded says whether a run with this outcome counts as a success
// in the metrics: a failure or a stop by a signal does not; a run skipped
// because hotfix is paused does (the pause has its own series and alert).
func RunSucceeded(outcome string) bool {
	return outcome != OutcomeFailed && outcome != OutcomeStopped && outcome != ""
}
