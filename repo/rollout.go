package repo

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rings a fix can be published in and a server can be in.
const (
	RingStable  = "stable"  // every server (within the percentage, if any)
	RingTesting = "testing" // only servers with ring = "testing": the vendor's staging servers
)

// Bounds of a ramp's interval: shorter would be a rollout in name only,
// longer outlives any index.
const (
	MinRampInterval = time.Minute
	MaxRampInterval = 366 * 24 * time.Hour
)

// Rollout is how far a fix has been released. It is part of the fix's
// entry in the channel index, so it is signed with it: a mirror or proxy
// cannot widen (or narrow) a rollout without breaking the signature. A
// fix without one (IndexFix.Rollout nil) goes to every server, as before
// rollouts existed.
//
// The stages, in the order a vendor usually walks them:
//   - ring testing: only servers in the testing ring see the fix;
//   - a percentage (with Start, and optionally a Ramp that grows it on the
//     client from Start, so nothing is rebuilt every few hours): testing
//     servers and the stable servers whose bucket is below it;
//   - no rollout at all: everyone.
//
// Halted, at any stage, holds the fix back from every server, testing
// ones included: a true zero.
type Rollout struct {
	Ring    string     `json:"ring"`
	Percent *int       `json:"percent,omitempty"`
	Start   *time.Time `json:"start,omitempty"`
	Ramp    *Ramp      `json:"ramp,omitempty"`
	Halted  bool       `json:"halted,omitempty"`
}

// Validate checks that the rollout is one the client can act on.
func (r *Rollout) Validate() error {
	switch r.Ring {
	case RingStable, RingTesting:
	default:
		return fmt.Errorf("rollout ring %q: want %q or %q", r.Ring, RingStable, RingTesting)
	}
	if r.Percent == nil {
		if r.Start != nil || r.Ramp != nil {
			return errors.New("rollout: a start or a ramp needs a percentage")
		}
		return nil
	}
	if r.Ring == RingTesting {
		return errors.New("rollout: a fix in the testing ring has no percentage (testing servers take it whole)")
	}
	if *r.Percent < 0 || *r.Percent > 100 {
		return fmt.Errorf("rollout percentage %d: want 0 to 100", *r.Percent)
	}
	if r.Start == nil || r.Start.IsZero() {
		return errors.New("rollout: a percentage needs its start time")
	}
	if r.Ramp != nil {
		return r.Ramp.validate()
	}
	return nil
}

// PercentAt is the share of stable servers the fix is open to at now:
// the signed percentage, grown by the ramp's step for every whole
// interval since Start, at most 100. Without a percentage it is 100. A
// clock behind Start reads the starting percentage, never less.
func (r *Rollout) PercentAt(now time.Time) int {
	if r == nil || r.Percent == nil {
		return 100
	}
	p := *r.Percent
	if r.Ramp != nil && r.Start != nil && now.After(*r.Start) && r.Ramp.Every > 0 {
		steps := int64(now.Sub(*r.Start) / r.Ramp.Every)
		if steps >= 100 {
			return 100
		}
		p += int(steps) * r.Ramp.Step
	}
	return min(p, 100)
}

// NoBucket stands for a server whose bucket is unknown (no machine id):
// it is held back from every partial rollout.
const NoBucket = -1

// Hold decides whether r holds its fix back from a server in ring whose
// bucket (see Bucket) is bucket, at now. It returns the reason, for
// people, and true when it does. A nil rollout holds nothing. It is
// pure: the client injects its clock.
func (r *Rollout) Hold(ring string, bucket int, now time.Time) (string, bool) {
	switch {
	case r == nil:
		return "", false
	case r.Halted:
		return "rollout halted by the vendor", true
	case ring == RingTesting:
		return "", false // staging servers take every fix not halted
	case r.Ring == RingTesting:
		return "in the testing ring, and this server is in the stable ring", true
	}
	p := r.PercentAt(now)
	switch {
	case p >= 100:
		return "", false
	case bucket == NoBucket:
		return fmt.Sprintf("rollout at %d %%, and this server has no machine id to place it", p), true
	case bucket >= p:
		return fmt.Sprintf("rollout at %d %%, this server's bucket is %d", p, bucket), true
	}
	return "", false
}

// Stage describes the rollout for people (the vendor's page and
// commands), as signed: "everyone", "testing ring", "20 %", "20 %, +10 %
// every 6h from 2026-11-27 04:00 UTC", with ", halted" in front when
// halted.
func (r *Rollout) Stage() string {
	if r == nil {
		return "everyone"
	}
	var s string
	switch {
	case r.Ring == RingTesting:
		s = "testing ring"
	case r.Percent == nil:
		s = "everyone"
	default:
		s = fmt.Sprintf("%d %%", *r.Percent)
		if r.Ramp != nil && r.Start != nil {
			s += fmt.Sprintf(", +%d %% every %s from %s", r.Ramp.Step, formatInterval(r.Ramp.Every), r.Start.UTC().Format("2006-01-02 15:04 UTC"))
		} else if r.Start != nil {
			s += " since " + r.Start.UTC().Format("2006-01-02 15:04 UTC")
		}
	}
	if r.Halted {
		return "halted (was " + s + ")"
	}
	return s
}

// Bucket places a server among 100 buckets (0–99) for the rollouts of
// one channel: the first 8 bytes of sha256 over the machine id, the
// product and the base, modulo 100 (the bias of a 64-bit value modulo
// 100 is below 1e-17). It is pure. The fix version is deliberately not
// part of it: a server keeps its place along the whole chain, so the
// same servers go first for every fix of a base, and a held fix never
// sits between two fixes the server took.
func Bucket(machineID, product string, base Version) int {
	h := sha256.New()
	for _, part := range []string{"hotfix rollout", machineID, product, base.String()} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	sum := h.Sum(nil)
	return int(binary.BigEndian.Uint64(sum[:8]) % 100)
}

// Ramp grows a rollout's percentage by Step every Every, written
// "10%/6h" (Ubuntu's phasing ramps 10 % every 6 hours).
type Ramp struct {
	Step  int
	Every time.Duration
}

// ParseRamp reads STEP%/INTERVAL: STEP a whole percentage from 1 to 100,
// INTERVAL a duration such as "6h", "90m" or "2d" (days), in whole
// seconds, from 1m to 366d.
func ParseRamp(s string) (Ramp, error) {
	step, interval, ok := strings.Cut(s, "%/")
	if !ok {
		return Ramp{}, fmt.Errorf("ramp %q: want STEP%%/INTERVAL, such as \"10%%/6h\"", s)
	}
	if len(step) == 0 || len(step) > 3 || strings.Trim(step, "0123456789") != "" {
		return Ramp{}, fmt.Errorf("ramp %q: step %q is not a whole percentage, such as 10", s, step)
	}
	n, _ := strconv.Atoi(step)
	d, err := parseInterval(interval)
	if err != nil {
		return Ramp{}, fmt.Errorf("ramp %q: %w", s, err)
	}
	r := Ramp{Step: n, Every: d}
	if err := r.validate(); err != nil {
		return Ramp{}, fmt.Errorf("ramp %q: %w", s, err)
	}
	return r, nil
}

func (r Ramp) validate() error {
	if r.Step < 1 || r.Step > 100 {
		return fmt.Errorf("ramp step %d %%: want 1 to 100", r.Step)
	}
	if r.Every < MinRampInterval || r.Every > MaxRampInterval || r.Every%time.Second != 0 {
		return fmt.Errorf("ramp interval %s: want whole seconds from %s to %s", r.Every, formatInterval(MinRampInterval), formatInterval(MaxRampInterval))
	}
	return nil
}

// parseInterval reads a Go duration or a whole number of days ("2d").
func parseInterval(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if days == "" || len(days) > 3 || strings.Trim(days, "0123456789") != "" {
			return 0, fmt.Errorf("interval %q: want a duration such as \"6h\", \"90m\" or \"2d\"", s)
		}
		n, _ := strconv.Atoi(days)
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("interval %q: want a duration such as \"6h\", \"90m\" or \"2d\"", s)
	}
	return d, nil
}

// formatInterval writes a duration the way people give it: "2d", "6h",
// "1h30m", "90s".
func formatInterval(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// String gives the canonical form, which ParseRamp reads back.
func (r Ramp) String() string { return fmt.Sprintf("%d%%/%s", r.Step, formatInterval(r.Every)) }

// MarshalText writes the canonical form into the index.
func (r Ramp) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads a ramp from the index.
func (r *Ramp) UnmarshalText(b []byte) error {
	v, err := ParseRamp(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// UnmarshalJSON reads a rollout strictly, unlike the index around it
// (compat.go): a rollout only ever holds fixes back, so a key this hotfix
// does not know could be a restriction it would otherwise ignore, and
// the fix would reach servers the vendor held it from.
func (r *Rollout) UnmarshalJSON(data []byte) error {
	type plain Rollout // without this method
	var p plain
	if err := strictJSON(data, &p); err != nil {
		return fmt.Errorf("rollout: %w", err)
	}
	*r = Rollout(p)
	return nil
}
