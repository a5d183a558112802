package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// AuditRecord is one line of log_dir/audit.log.
type AuditRecord struct {
	Time     time.Time `json:"time"`
	User     string    `json:"user"`
	Action   string    `json:"action"`
	Versions []string  `json:"versions,omitempty"`
	Outcome  string    `json:"outcome"`
	Detail   string    `json:"detail,omitempty"`
}

// AuditName is the audit log's file name inside log_dir.
const AuditName = "audit.log"

// ErrAudit means the audit log could not be written; see AuditError.
var ErrAudit = errors.New("audit log not written")

// AuditError is an audit log that cannot be written. Before a change it
// refuses the change (nothing was done); after one, the change stands
// and the command fails with this error, so that a change the audit log
// does not record is never silent (a scheduled run reports it, cron
// mails it, the exit code is 1).
type AuditError struct {
	Path  string
	After bool // the change was made; only its record is missing
	Err   error
}

func (e *AuditError) Error() string {
	if e.After {
		return fmt.Sprintf("%s: %s: %v: what was done stands, but it is not recorded there; make the audit log writable (permissions, immutable flag, free space in log_dir)", ErrAudit, e.Path, e.Err)
	}
	return fmt.Sprintf("%s: %s: %v: nothing was changed, because every change must be recorded there; make the audit log writable (permissions, immutable flag, free space in log_dir)", ErrAudit, e.Path, e.Err)
}

func (e *AuditError) Unwrap() []error { return []error{ErrAudit, e.Err} }

// probeAudit checks, before a change, that the audit log can be opened
// for appending (creating it and log_dir when missing), so that a change
// is refused rather than made unrecorded. It writes nothing.
func probeAudit(logDir string) error {
	path := filepath.Join(logDir, AuditName)
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return &AuditError{Path: path, Err: err}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return &AuditError{Path: path, Err: err}
	}
	return f.Close()
}

// Audit appends one record to the audit log. Each record is one write of
// one line to a file opened with O_APPEND, then synced, so concurrent
// writers never interleave within a line.
func Audit(logDir string, rec AuditRecord) error {
	if rec.Time.IsZero() {
		rec.Time = time.Now().UTC()
	}
	if rec.User == "" {
		rec.User = currentUser()
	}
	line, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(logDir, AuditName), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	defer f.Close()
	if _, err := f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	return f.Sync()
}

// ReadAudit returns every record of the audit log, oldest first. Lines
// that do not parse are skipped: the log is for people, and one damaged
// line must not hide the rest.
func ReadAudit(logDir string) ([]AuditRecord, error) {
	data, err := os.ReadFile(filepath.Join(logDir, AuditName))
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	var out []AuditRecord
	for _, line := range splitLines(data) {
		var r AuditRecord
		if json.Unmarshal(line, &r) == nil {
			out = append(out, r)
		}
	}
	return out, nil
}

func splitLines(b []byte) [][]byte {
	var out [][]byte
	start := 0
	for i, c := range b {
		if c == '\n' {
			if i > start {
				out = append(out, b[start:i])
			}
			start = i + 1
		}
	}
	if start < len(b) {
		out = append(out, b[start:])
	}
	return out
}

// joinErrs is errors.Join that returns a lone error as it is, so that
// the common case (no audit error) keeps the error's own type at the top.
func joinErrs(errs ...error) error {
	var nonNil []error
	for _, e := range errs {
		if e != nil {
			nonNil = append(nonNil, e)
		}
	}
	switch len(nonNil) {
	case 0:
		return nil
	case 1:
		return nonNil[0]
	}
	return errors.Join(nonNil...)
}
