package notify

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/hotfix-project/hotfix/repo"
)

// Outcomes of a scheduled run, as Report.Outcome gives them.
const (
	OutcomeUpToDate   = "up to date" // nothing pending
	OutcomePending    = "pending"    // check_only: fixes found, nothing else done
	OutcomeDownloaded = "downloaded" // download_only: fixes in the cache, waiting for an administrator
	OutcomeInstalled  = "installed"  // every pending fix installed
	OutcomeStopped    = "stopped"    // stopped by a signal between fixes; the rest stay pending
	OutcomeFailed     = "failed"     // an error; see Report.Error
	OutcomePaused     = "paused"     // skipped: hotfix is paused
	OutcomeLocked     = "locked"     // skipped: another run or install holds a lock
	OutcomeWaiting    = "waiting"    // fixes held back until the cluster's primary (or the parent instance) has them; see Report.Waiting
	OutcomeBlocked    = "blocked"    // an instance held back because its parent instance is not that far or failed; see Report.Waiting
)

// Report is the outcome of one scheduled run (hotfix daemon or hotfix
// cron): what it found, downloaded and installed. It is the body of the
// mail and, as JSON, of the webhook POST; keep the JSON names stable.
type Report struct {
	SystemName string      `json:"system_name"`
	Product    string      `json:"product"`
	Base       string      `json:"base,omitempty"`
	Trigger    string      `json:"trigger"` // "daemon", "cron", "cron --now", ...
	Started    time.Time   `json:"started"`
	Finished   time.Time   `json:"finished"`
	Outcome    string      `json:"outcome"`
	Found      []ReportFix `json:"found"`      // pending when the run checked
	New        []string    `json:"new"`        // versions of Found that no earlier reported run found
	Downloaded []string    `json:"downloaded"` // versions now verified in the cache
	Installed  []ReportFix `json:"installed"`
	Error      string      `json:"error,omitempty"`
	Logs       []string    `json:"logs"` // install logs of this run, then the audit log
	Paused     *Pause      `json:"paused,omitempty"`
	LockedBy   string      `json:"locked_by,omitempty"` // the lock error, naming its holder
	Waiting    string      `json:"waiting,omitempty"`   // what held fixes back (OutcomeWaiting, OutcomeBlocked)
	// State is where the installation stands after the run: the same
	// State that status --json and the metrics file show.
	State *State `json:"state,omitempty"`
	// Instance and Parent name the instance of a part of a run over
	// [[instance]] tables; Instances are those parts, in tree order
	// (parents first), under one report for the whole run, whose fix
	// lists then hold every instance's fixes, each version once.
	Instance  string    `json:"instance,omitempty"`
	Parent    string    `json:"parent,omitempty"`
	Instances []*Report `json:"instances,omitempty"`
}

// ReportFix is one fix in a Report, with the bugs it fixes.
type ReportFix struct {
	Version string        `json:"version"`
	Summary string        `json:"summary"`
	Bugs    []repo.BugRef `json:"bugs"`
}

// ReportFixOf converts an index entry.
func ReportFixOf(f repo.IndexFix) ReportFix {
	bugs := f.Bugs
	if bugs == nil {
		bugs = []repo.BugRef{}
	}
	return ReportFix{Version: f.Version.String(), Summary: f.Summary, Bugs: bugs}
}

// Pause is the pause that made a run skip, as the report shows it: who
// paused hotfix, when, why and until when. The client's pause marker has
// the same fields (and converts to it), so report and marker read alike.
type Pause struct {
	By     string     `json:"by"`
	Since  time.Time  `json:"since"`
	Reason string     `json:"reason"`
	Until  *time.Time `json:"until"`
}

// Sentence says who paused hotfix and how to lift it, for people.
func (p *Pause) Sentence() string { return "hotfix is paused " + p.Detail() }

// Detail is Sentence without its subject: "by root since ... (reason)
// until ...: run ...". The client's paused error and status say it after
// their own words, since the command line already names hotfix.
func (p *Pause) Detail() string {
	s := fmt.Sprintf("by %s since %s", p.By, p.Since.Local().Format("2006-01-02 15:04"))
	if p.Reason != "" {
		s += fmt.Sprintf(" (%s)", p.Reason)
	}
	if p.Until != nil {
		s += fmt.Sprintf(" until %s", p.Until.Local().Format("2006-01-02 15:04"))
	}
	return s + `: run "hotfix resume" when the full patch is done`
}

// Changed reports whether the run changed something or learned something
// new: a fix installed, a fix found that no earlier run reported, or an
// error. This is what mail_report = "on-change" mails.
func (r *Report) Changed() bool {
	return len(r.Installed) > 0 || len(r.New) > 0 || r.Error != ""
}

// ShouldMail applies a mail_report policy (MailAlways, MailOnChange,
// MailOnError; "" means MailOnChange) to a report.
func ShouldMail(policy string, r *Report) bool {
	switch policy {
	case MailAlways:
		return true
	case MailOnError:
		return r.Error != ""
	default:
		return r.Changed()
	}
}

// Subject is the mail subject: "[system] hotfix: installed acme 2.4.1.2, 2.4.1.3".
func (r *Report) Subject() string {
	product := r.Product
	if r.Base != "" {
		product += " " + r.Base
	}
	var what string
	switch {
	case r.Error != "" && len(r.Installed) > 0:
		what = fmt.Sprintf("FAILED after installing %s %s: %s", r.Product, joinFixes(r.Installed), firstLine(r.Error))
	case r.Error != "":
		what = fmt.Sprintf("FAILED (%s): %s", product, firstLine(r.Error))
	case r.Outcome == OutcomeStopped:
		what = fmt.Sprintf("stopped after installing %s %s", r.Product, joinFixes(r.Installed))
	case len(r.Installed) > 0:
		what = fmt.Sprintf("installed %s %s", r.Product, joinFixes(r.Installed))
	case r.Outcome == OutcomeDownloaded:
		what = fmt.Sprintf("downloaded %s %s, ready to install", r.Product, strings.Join(r.Downloaded, ", "))
	case r.Outcome == OutcomePending:
		what = fmt.Sprintf("%s pending for %s", plural(len(r.Found), "fix", "fixes"), product)
	case r.Outcome == OutcomePaused:
		what = "paused, scheduled run skipped"
	case r.Outcome == OutcomeLocked:
		what = "another run holds the lock, scheduled run skipped"
	case r.Outcome == OutcomeWaiting || r.Outcome == OutcomeBlocked:
		what = firstLine(r.Waiting)
	default:
		what = product + " is up to date"
	}
	s := fmt.Sprintf("[%s] hotfix: %s", r.SystemName, what)
	s = strings.TrimSpace(clean(s))
	return truncate(s, 200)
}

// truncate shortens s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-3]) + "..."
}

// Text is the plain-text mail body.
func (r *Report) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "hotfix scheduled run on %s (%s)\n", r.SystemName, r.Trigger)
	if !r.Started.IsZero() {
		fmt.Fprintf(&b, "started %s, finished %s\n", r.Started.Format(time.RFC1123Z), r.Finished.Format(time.RFC1123Z))
	}
	fmt.Fprintf(&b, "product %s", r.Product)
	if r.Base != "" {
		fmt.Fprintf(&b, ", installed base %s", r.Base)
	}
	fmt.Fprintf(&b, "\noutcome: %s\n", r.Outcome)
	if r.Paused != nil {
		fmt.Fprintf(&b, "\n%s\n", r.Paused.Sentence())
	}
	if r.LockedBy != "" {
		fmt.Fprintf(&b, "\n%s\n", r.LockedBy)
	}
	if r.Waiting != "" {
		fmt.Fprintf(&b, "\n%s\n", r.Waiting)
	}
	if r.Error != "" {
		fmt.Fprintf(&b, "\nERROR:\n  %s\n", strings.ReplaceAll(r.Error, "\n", "\n  "))
	}
	writeFixes := func(title string, fixes []ReportFix) {
		if len(fixes) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n%s:\n", title)
		for _, f := range fixes {
			fmt.Fprintf(&b, "  %-12s %s\n", f.Version, f.Summary)
			for _, bug := range f.Bugs {
				fmt.Fprintf(&b, "  %-12s   %s: %s\n", "", bug.ID, bug.Summary)
			}
		}
	}
	writeInstances(&b, r.Instances)
	writeFixes("Installed", r.Installed)
	if len(r.Downloaded) > 0 {
		fmt.Fprintf(&b, "\nDownloaded (verified, in the cache): %s\n", strings.Join(r.Downloaded, ", "))
	}
	var pending []ReportFix
	done := map[string]bool{}
	for _, f := range r.Installed {
		done[f.Version] = true
	}
	for _, f := range r.Found {
		if !done[f.Version] {
			pending = append(pending, f)
		}
	}
	title := "Still pending"
	if len(r.Installed) == 0 {
		title = "Found pending"
	}
	if len(r.New) > 0 {
		title += " (new since the last report: " + strings.Join(r.New, ", ") + ")"
	}
	writeFixes(title, pending)
	writeState(&b, r.State)
	if len(r.Logs) > 0 {
		fmt.Fprintf(&b, "\nLogs:\n")
		for _, l := range r.Logs {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}
	return b.String()
}

// writeInstances is the block of a run over several instances: one
// line each, parents first, saying what the run did there and where the
// instance stands.
func writeInstances(b *strings.Builder, parts []*Report) {
	if len(parts) == 0 {
		return
	}
	fmt.Fprintf(b, "\nInstances:\n")
	for _, p := range parts {
		name := p.Instance
		if p.Parent != "" {
			name += " (parent " + p.Parent + ")"
		}
		what := p.Outcome
		if len(p.Installed) > 0 {
			what = "installed " + joinFixes(p.Installed)
			if p.Outcome != OutcomeInstalled {
				what += ", then " + p.Outcome
			}
		}
		if p.State != nil {
			what += ", at " + p.State.Level
		}
		fmt.Fprintf(b, "  %s: %s\n", name, what)
		for _, why := range []string{p.Error, p.Waiting, p.LockedBy} {
			if why != "" {
				fmt.Fprintf(b, "    %s\n", strings.ReplaceAll(why, "\n", "\n    "))
			}
		}
		if p.Paused != nil {
			fmt.Fprintf(b, "    %s\n", p.Paused.Sentence())
		}
	}
}

// writeState is the State block of the mail: the numbers the metrics
// and status --json show for the same moment.
func writeState(b *strings.Builder, st *State) {
	if st == nil {
		return
	}
	fmt.Fprintf(b, "\nState after the run:\n  level %s, %d installed, %d pending, %d held\n", st.Level, len(st.Installed), st.Pending, st.Held)
	if st.PendingSince != nil && st.Pending > 0 {
		fmt.Fprintf(b, "  pending since %s\n", st.PendingSince.Format(time.RFC1123Z))
	}
	if st.IndexExpires != nil {
		fmt.Fprintf(b, "  index expires %s\n", st.IndexExpires.Format(time.RFC1123Z))
	}
	if st.Paused != nil {
		fmt.Fprintf(b, "  paused since %s\n", st.Paused.Since.Format(time.RFC1123Z))
	}
}

func joinFixes(fs []ReportFix) string {
	var s []string
	for _, f := range fs {
		s = append(s, f.Version)
	}
	return strings.Join(s, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return truncate(s, 120)
}

// clean replaces control characters (CR and LF above all: a header must
// stay one header) by spaces.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}
