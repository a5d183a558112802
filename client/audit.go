package client

import (
	"encoding/json"
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
