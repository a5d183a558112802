package client

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hotfix-project/hotfix/repo"
)

// MachineIDFile is where the machine id comes from when machine_id is
// not set: systemd's, which every modern Linux has.
var MachineIDFile = "/etc/machine-id"

// maxMachineID bounds a machine id: /etc/machine-id holds 32 hex digits.
const maxMachineID = 128

// HeldFix is a fix of the channel the rollout withholds from this server
// for now, and why. Scheduled runs never take it; an administrator can,
// by naming its version (install VERSION).
type HeldFix struct {
	Fix    repo.IndexFix
	Reason string
}

// checkMachineID says what is wrong with a machine id, nil when nothing.
func checkMachineID(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty")
	case len(s) > maxMachineID:
		return fmt.Errorf("%d bytes, more than %d", len(s), maxMachineID)
	case s == "uninitialized":
		// What systemd writes before the id is committed: every such
		// machine would share one bucket.
		return fmt.Errorf("%q is systemd's placeholder, not an id", s)
	}
	for _, r := range s {
		if r <= ' ' || r > '~' {
			return fmt.Errorf("%q holds a space, a control or a non-ASCII character", s)
		}
	}
	return nil
}

// machineID validates the machine_id key.
func (v *validator) machineID(key, s string) string {
	if !v.set(key) {
		return ""
	}
	if err := checkMachineID(s); err != nil {
		v.fail(key, "%v: want %s, or remove the line to use %s", err, knownKeys[key], MachineIDFile)
		return ""
	}
	return s
}

// machineID is this server's id for rollout buckets: machine_id, else
// the first line of MachineIDFile.
func (c *Client) machineID() (string, error) {
	if c.Cfg.MachineID != "" {
		return c.Cfg.MachineID, nil
	}
	f, err := openRegular(MachineIDFile)
	if err != nil {
		return "", err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxMachineID+2))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", MachineIDFile, err)
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	id := strings.TrimSpace(string(line))
	if err := checkMachineID(id); err != nil {
		return "", fmt.Errorf("%s: %w", MachineIDFile, err)
	}
	return id, nil
}

// bucket is this server's rollout bucket in the channel of base, or
// repo.NoBucket (logged) when it has no usable machine id: such a server
// is held back from every partial rollout rather than placed by chance.
func (c *Client) bucket(base repo.Version) int {
	id, err := c.machineID()
	if err != nil {
		logOrDiscard(c.Log).Warn("no machine id: fixes in a partial rollout are held back from this server; set machine_id in the configuration",
			"err", err, "config", c.Cfg.Path)
		return repo.NoBucket
	}
	return repo.Bucket(id, c.Cfg.Product, base)
}

// split divides the fixes of ix after latest into those this server
// takes now and those the rollout holds back.
func (c *Client) split(ix *repo.Index, latest repo.Version) ([]repo.IndexFix, []HeldFix) {
	after := Pending(ix, latest)
	staged := false
	for _, f := range after {
		staged = staged || f.Rollout != nil
	}
	if !staged {
		return after, nil // no machine id needed
	}
	return SplitRollout(after, c.Cfg.Ring, c.bucket(ix.Base), c.Now())
}

// SplitRollout divides fixes (in chain order) into those a server in
// ring with bucket takes at now and those held back, each with its
// reason. A held fix holds every fix after it: the chain has no gaps. It
// is pure.
func SplitRollout(fixes []repo.IndexFix, ring string, bucket int, now time.Time) ([]repo.IndexFix, []HeldFix) {
	var pending []repo.IndexFix
	var held []HeldFix
	for _, f := range fixes {
		reason, hold := f.Rollout.Hold(ring, bucket, now)
		if !hold && len(held) > 0 {
			reason, hold = fmt.Sprintf("comes after %s, which is held back", held[0].Fix.Version), true
		}
		if hold {
			held = append(held, HeldFix{Fix: f, Reason: reason})
		} else {
			pending = append(pending, f)
		}
	}
	return pending, held
}

// Through lists the fixes of the check up to and including target, held
// ones too: what an administrator who names a version asks for.
func (r *CheckResult) Through(target repo.Version) []repo.IndexFix {
	var out []repo.IndexFix
	for _, f := range r.Pending {
		if f.Version.Compare(target) <= 0 {
			out = append(out, f)
		}
	}
	for _, h := range r.Held {
		if h.Fix.Version.Compare(target) <= 0 {
			out = append(out, h.Fix)
		}
	}
	return out
}

// heldReason is the reason r holds fix v back, "" when it does not.
func (r *CheckResult) heldReason(v repo.Version) string {
	for _, h := range r.Held {
		if h.Fix.Version.Equal(v) {
			return h.Reason
		}
	}
	return ""
}
