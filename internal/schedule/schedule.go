package schedule

import (
	"errors"
	"fmt"
	"strings"
	"time"

	robfig "github.com/robfig/cron/v3"
)

// horizon is how far ahead, in years, Next looks; robfig gives up after
// five years too.
const horizon = 5

// reference is the fixed instant from which New checks that a spec fires,
// so that the verdict does not depend on the day it is asked.
var reference = time.Date(2025, time.January, 1, 0, 0, 0, 0, time.UTC)

// want is the advice that ends every message about a malformed spec.
const want = `want five fields "minute hour day-of-month month day-of-week" such as "2 4 * * *", optionally after CRON_TZ=Area/City and a space`

// Keys of the [schedule] table that an Error can name.
const (
	KeyCron       = "cron"
	KeyDaysOfWeek = "days_of_week"
	KeyRandomWait = "random_wait"
)

// Error is a problem with one setting of a schedule. Key is the setting's
// name in the [schedule] table, so that configuration loading can name its
// line.
type Error struct {
	Key string // KeyCron, KeyDaysOfWeek or KeyRandomWait
	Err error
}

func (e *Error) Error() string { return e.Key + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Schedule is a cron spec restricted to some days of the week, with the
// longest random wait to apply before each run.
type Schedule struct {
	Days       [7]bool // indexed by time.Weekday: Sunday = 0
	RandomWait time.Duration
	spec       robfig.Schedule
	zone       *time.Location // of the CRON_TZ=/TZ= prefix; nil without one
}

// New parses a cron spec, a days_of_week string and a random wait, as the
// package comment describes. Every setting at fault gets its own *Error;
// when more than one is, they are joined with errors.Join.
func New(spec, daysOfWeek string, randomWait time.Duration) (*Schedule, error) {
	var errs []error
	sched, zone, err := parseSpec(spec)
	if err != nil {
		errs = append(errs, &Error{Key: KeyCron, Err: err})
	}
	days, err := parseDays(daysOfWeek)
	if err != nil {
		errs = append(errs, &Error{Key: KeyDaysOfWeek, Err: err})
	}
	if randomWait < 0 {
		errs = append(errs, &Error{Key: KeyRandomWait, Err: fmt.Errorf("%v is negative", randomWait)})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	s := &Schedule{Days: days, RandomWait: randomWait, spec: sched, zone: zone}
	if s.Next(reference).IsZero() {
		return nil, &Error{Key: KeyDaysOfWeek, Err: fmt.Errorf("%q: cron spec %q never fires on these days within %d years", daysOfWeek, strings.TrimSpace(spec), horizon)}
	}
	return s, nil
}

// parseSpec wraps robfig's parser, which panics on some inputs and reads
// others too kindly, and refuses specs that never fire or fire more than
// once a minute.
func parseSpec(spec string) (sched robfig.Schedule, zone *time.Location, err error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, nil, fmt.Errorf("empty cron spec: %s", want)
	}
	zoneName, err := checkZonePrefix(spec)
	if err != nil {
		return nil, nil, err
	}
	sched, err = parseStandard(spec)
	if err != nil {
		return nil, nil, err
	}
	if zoneName != "" {
		// robfig has loaded it already; load it again for the day filter,
		// which robfig does not know about.
		if zone, err = time.LoadLocation(zoneName); err != nil {
			return nil, nil, fmt.Errorf("%q: %w", spec, err)
		}
	}
	first := sched.Next(reference)
	if first.IsZero() {
		return nil, nil, fmt.Errorf("%q never fires (no date matches it within %d years): %s", spec, horizon, want)
	}
	second := sched.Next(first)
	if second.IsZero() {
		return nil, nil, fmt.Errorf("%q fires only once: %s", spec, want)
	}
	if second.Sub(first) < time.Minute {
		return nil, nil, fmt.Errorf("%q fires more often than once a minute", spec)
	}
	return sched, zone, nil
}

// checkZonePrefix returns the zone a CRON_TZ= or TZ= prefix names ("" when
// there is none). robfig slices out of range on a prefix with no space
// after it, and reads an empty zone as UTC; both are refused here.
func checkZonePrefix(spec string) (string, error) {
	for _, prefix := range []string{"CRON_TZ=", "TZ="} {
		rest, ok := strings.CutPrefix(spec, prefix)
		if !ok {
			continue
		}
		name, fields, ok := strings.Cut(rest, " ")
		if !ok || strings.TrimSpace(fields) == "" {
			return "", fmt.Errorf("%q is malformed: %s%s must be followed by a space and the schedule: %s", spec, prefix, name, want)
		}
		if name == "" {
			return "", fmt.Errorf("%q is malformed: %s names no zone (write %sUTC for UTC)", spec, prefix, prefix)
		}
		return name, nil
	}
	return "", nil
}

// parseStandard is robfig's ParseStandard, with a panic (which
// checkZonePrefix should have made impossible) turned into an error: its
// parser has no other way to tell us.
func parseStandard(spec string) (sched robfig.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			sched, err = nil, fmt.Errorf("%q is malformed: %s", spec, want)
		}
	}()
	sched, err = robfig.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("%q: %w: %s", spec, err, want)
	}
	return sched, nil
}

// parseDays reads days_of_week: digits 0-6, each at most once.
func parseDays(s string) ([7]bool, error) {
	var days [7]bool
	if s == "" {
		return days, errors.New(`empty: no day would ever run; want digits 0-6 such as "0123456" (Sunday = 0)`)
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return days, fmt.Errorf("%q: %q is not a day: want digits 0-6 such as \"12345\" (Sunday = 0)", s, r)
		}
		d := r - '0'
		if d > 6 {
			return days, fmt.Errorf("%q: day %d is not 0-6 (Sunday = 0)", s, d)
		}
		if days[d] {
			return days, fmt.Errorf("%q: day %d is given twice", s, d)
		}
		days[d] = true
	}
	return days, nil
}

// Next returns the first fire time strictly after after that falls on an
// allowed day, or the zero time if there is none within five years. The
// result is in after's location, as robfig returns it.
func (s *Schedule) Next(after time.Time) time.Time {
	limit := after.AddDate(horizon, 0, 0)
	t := after
	for {
		t = s.spec.Next(t)
		if t.IsZero() || t.After(limit) {
			return time.Time{}
		}
		if s.AllowedDay(t) {
			return t
		}
		// Every fire time before the next midnight is on the same refused
		// day: jump there rather than step through them (@every 1m would
		// otherwise take thousands of steps).
		local := t.In(s.dayLocation(t))
		y, m, d := local.Date()
		midnight := time.Date(y, m, d+1, 0, 0, 0, 0, local.Location())
		if !midnight.After(t) { // cannot happen, but never loop forever
			midnight = t.Add(time.Second)
		}
		t = midnight.Add(-time.Nanosecond)
	}
}

// AllowedDay reports whether t falls on one of the schedule's days. The
// weekday is taken in the spec's CRON_TZ/TZ zone when it names one (robfig
// returns fire times in the caller's zone, and a Tokyo schedule's Monday
// is Tokyo's Monday), otherwise in t's own location.
func (s *Schedule) AllowedDay(t time.Time) bool {
	return s.Days[t.In(s.dayLocation(t)).Weekday()]
}

func (s *Schedule) dayLocation(t time.Time) *time.Location {
	if s.zone != nil && s.zone != time.Local {
		return s.zone
	}
	return t.Location()
}
