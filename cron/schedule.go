package cron

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	robfig "github.com/robfig/cron/v3"
)

// horizon is how far ahead Next looks; robfig gives up after five years too.
const horizon = 5

// reference is a fixed instant from which NewSchedule checks that a spec
// fires at all, so that the check does not depend on when it runs.
var reference = time.Date(2024, time.January, 1, 0, 0, 0, 0, time.UTC)

// Schedule is a cron spec restricted to some days of the week, with a random
// wait applied by the caller before each run.
type Schedule struct {
	Spec       robfig.Schedule
	Days       [7]bool // indexed by time.Weekday: Sunday = 0
	RandomWait time.Duration
}

// NewSchedule parses a cron spec, a days_of_week string of distinct digits
// 0-6 (Sunday = 0) and a random wait. It rejects specs that robfig cannot
// parse (including inputs on which its parser panics), zones that do not
// load, and schedules that would not fire within five years.
func NewSchedule(spec string, daysOfWeek string, randomWait time.Duration) (*Schedule, error) {
	sched, err := parseSpec(spec)
	if err != nil {
		return nil, err
	}
	days, err := parseDays(daysOfWeek)
	if err != nil {
		return nil, err
	}
	if randomWait < 0 {
		return nil, fmt.Errorf("random_wait %v is negative", randomWait)
	}
	s := &Schedule{Spec: sched, Days: days, RandomWait: randomWait}
	if sched.Next(reference).IsZero() {
		return nil, fmt.Errorf("cron spec %q never fires", spec)
	}
	if s.Next(reference).IsZero() {
		return nil, fmt.Errorf("cron spec %q never fires on days_of_week %q", spec, daysOfWeek)
	}
	return s, nil
}

// parseSpec wraps robfig's parser, which panics on some inputs (a zone
// prefix with no space after it, "TZ=UTC").
func parseSpec(spec string) (sched robfig.Schedule, err error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, errors.New("cron spec is empty")
	}
	for _, prefix := range []string{"CRON_TZ=", "TZ="} {
		rest, ok := strings.CutPrefix(spec, prefix)
		if !ok {
			continue
		}
		zone, fields, ok := strings.Cut(rest, " ")
		if !ok || strings.TrimSpace(fields) == "" {
			return nil, fmt.Errorf("cron spec %q: %s%s must be followed by a space and the schedule", spec, prefix, zone)
		}
		if zone == "" {
			// time.LoadLocation("") is UTC; say so explicitly instead.
			return nil, fmt.Errorf("cron spec %q: %s names no zone (write %sUTC for UTC)", spec, prefix, prefix)
		}
	}
	defer func() {
		if r := recover(); r != nil {
			sched, err = nil, fmt.Errorf("cron spec %q: cannot parse (%v)", spec, r)
		}
	}()
	sched, err = robfig.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("cron spec %q: %w", spec, err)
	}
	return sched, nil
}

func parseDays(daysOfWeek string) ([7]bool, error) {
	var days [7]bool
	if daysOfWeek == "" {
		return days, errors.New("days_of_week is empty: give the days to run on as digits, 0 = Sunday to 6 = Saturday")
	}
	for _, c := range daysOfWeek {
		if c < '0' || c > '6' {
			return days, fmt.Errorf("days_of_week %q: %q is not a day (digits 0 = Sunday to 6 = Saturday)", daysOfWeek, c)
		}
		if days[c-'0'] {
			return days, fmt.Errorf("days_of_week %q: day %c appears twice", daysOfWeek, c)
		}
		days[c-'0'] = true
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
		t = s.Spec.Next(t)
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
// weekday is taken in the schedule's CRON_TZ/TZ zone when the spec names one
// (robfig returns fire times in the caller's zone, and a Tokyo schedule's
// Monday is Tokyo's Monday), otherwise in t's own location.
func (s *Schedule) AllowedDay(t time.Time) bool {
	return s.Days[t.In(s.dayLocation(t)).Weekday()]
}

func (s *Schedule) dayLocation(t time.Time) *time.Location {
	if spec, ok := s.Spec.(*robfig.SpecSchedule); ok && spec.Location != nil && spec.Location != time.Local {
		return spec.Location
	}
	return t.Location()
}

// RandomDelay returns a delay drawn uniformly from [0, max]. rnd(n) must
// return a value in [0, n); nil means math/rand/v2's Int64N.
func RandomDelay(max time.Duration, rnd func(n int64) int64) time.Duration {
	if max <= 0 {
		return 0
	}
	if rnd == nil {
		rnd = rand.Int64N
	}
	n := int64(max)
	if n < math.MaxInt64 {
		n++ // make max itself reachable
	}
	return time.Duration(rnd(n))
}

// Clock is the time source Sleep waits on; tests substitute a fake.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// RealClock is the system clock.
var RealClock Clock = realClock{}

// Sleep waits for d on clock (nil means RealClock), returning ctx's error as
// soon as ctx is done.
func Sleep(ctx context.Context, d time.Duration, clock Clock) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	if clock == nil {
		clock = RealClock
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-clock.After(d):
		return nil
	}
}
