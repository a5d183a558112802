package schedule

import (
	"errors"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests must not depend on the machine's zoneinfo
)

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func mustSchedule(t *testing.T, spec, days string) *Schedule {
	t.Helper()
	s, err := New(spec, days, 0)
	if err != nil {
		t.Fatalf("New(%q, %q): %v", spec, days, err)
	}
	return s
}

func TestNext(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	tokyo := mustLoad(t, "Asia/Tokyo")
	ny := mustLoad(t, "America/New_York")
	// 2026-11-20 is a Friday.
	tests := []struct {
		name  string
		spec  string
		days  string
		after time.Time
		want  time.Time
	}{
		{"weekdays skip the weekend", "2 4 * * *", "12345",
			time.Date(2026, 11, 20, 5, 0, 0, 0, time.UTC), time.Date(2026, 11, 23, 4, 2, 0, 0, time.UTC)},
		{"same day when still to come", "2 4 * * *", "12345",
			time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC), time.Date(2026, 11, 20, 4, 2, 0, 0, time.UTC)},
		{"strictly after", "2 4 * * *", "0123456",
			time.Date(2026, 11, 20, 4, 2, 0, 0, time.UTC), time.Date(2026, 11, 21, 4, 2, 0, 0, time.UTC)},
		{"weekend only", "2 4 * * *", "06",
			time.Date(2026, 11, 16, 12, 0, 0, 0, time.UTC), time.Date(2026, 11, 21, 4, 2, 0, 0, time.UTC)},
		{"spec in after's zone without CRON_TZ", "0 3 * * *", "0123456",
			time.Date(2026, 11, 20, 12, 0, 0, 0, ny), time.Date(2026, 11, 21, 3, 0, 0, 0, ny)},
		// 03:00 Tokyo is 18:00 UTC the day before; the returned time is in
		// after's zone.
		{"CRON_TZ honoured", "CRON_TZ=Asia/Tokyo 0 3 * * *", "0123456",
			time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC), time.Date(2026, 11, 20, 18, 0, 0, 0, time.UTC)},
		{"TZ honoured", "TZ=Asia/Tokyo 0 3 * * *", "0123456",
			time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC), time.Date(2026, 11, 20, 18, 0, 0, 0, time.UTC)},
		// Days are the zone's days: Monday 03:00 in Tokyo is Sunday 18:00 UTC,
		// so from Friday noon UTC the next weekday run is Sunday in UTC.
		{"days counted in the CRON_TZ zone", "CRON_TZ=Asia/Tokyo 0 3 * * *", "12345",
			time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC), time.Date(2026, 11, 22, 18, 0, 0, 0, time.UTC)},
		{"CRON_TZ with after in another zone", "CRON_TZ=Asia/Tokyo 0 3 * * 1", "1",
			time.Date(2026, 11, 20, 12, 0, 0, 0, berlin), time.Date(2026, 11, 23, 3, 0, 0, 0, tokyo)},
		{"@every jumps over refused days", "@every 1m", "1",
			time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC), time.Date(2026, 11, 23, 0, 0, 59, 0, time.UTC)},
		{"leap day", "0 0 29 2 *", "0123456",
			time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2028, 2, 29, 0, 0, 0, 0, time.UTC)},
		// DST, as robfig/cron v3.0.1 behaves (documented in the package
		// comment and the README). Europe/Berlin springs forward on
		// 2026-03-29 from 02:00 to 03:00: 02:30 does not exist that day and
		// the job is skipped, not moved to 03:00 — the next run is 02:30 on
		// the 30th.
		{"DST spring forward skips the day", "CRON_TZ=Europe/Berlin 30 2 * * *", "0123456",
			time.Date(2026, 3, 28, 12, 0, 0, 0, berlin), time.Date(2026, 3, 30, 2, 30, 0, 0, berlin)},
		{"DST spring forward, zone from after", "30 2 * * *", "0123456",
			time.Date(2026, 3, 28, 12, 0, 0, 0, berlin), time.Date(2026, 3, 30, 2, 30, 0, 0, berlin)},
		// Berlin falls back on 2026-10-25 from 03:00 CEST to 02:00 CET, so
		// 02:30 happens twice, and the job runs at both: 00:30 UTC, then
		// 01:30 UTC.
		{"DST fall back, first 02:30", "CRON_TZ=Europe/Berlin 30 2 * * *", "0123456",
			time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC)},
		{"DST fall back, second 02:30", "CRON_TZ=Europe/Berlin 30 2 * * *", "0123456",
			time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustSchedule(t, tt.spec, tt.days)
			got := s.Next(tt.after)
			if !got.Equal(tt.want) {
				t.Errorf("Next(%v) = %v, want %v", tt.after, got, tt.want)
			}
			if !got.After(tt.after) {
				t.Errorf("Next(%v) = %v, not after", tt.after, got)
			}
			if !s.AllowedDay(got) {
				t.Errorf("Next returned %v, which AllowedDay refuses", got)
			}
		})
	}
}

func TestNextNoneWithinHorizon(t *testing.T) {
	// Feb 29 falls on a Monday in 2044, the first time after 2030, which is
	// beyond the five-year horizon. New rejects this combination, so
	// build the Schedule directly to test Next's own limit.
	spec, _, err := parseSpec("0 0 29 2 *")
	if err != nil {
		t.Fatal(err)
	}
	days, _ := parseDays("1")
	sched := &Schedule{spec: spec, Days: days}
	after := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := sched.Next(after); !got.IsZero() {
		t.Errorf("Next(%v) = %v, want zero time", after, got)
	}
}

func TestAllowedDay(t *testing.T) {
	s := mustSchedule(t, "0 4 * * *", "12345")
	for d := 15; d <= 21; d++ { // 2026-11-15 is a Sunday
		day := time.Date(2026, 11, d, 12, 0, 0, 0, time.UTC)
		want := day.Weekday() != time.Saturday && day.Weekday() != time.Sunday
		if got := s.AllowedDay(day); got != want {
			t.Errorf("AllowedDay(%v, %v) = %v, want %v", day, day.Weekday(), got, want)
		}
	}
}

// TestNewErrors pins the message of every refusal and the setting it is
// charged to (configuration loading names that key and its line).
func TestNewErrors(t *testing.T) {
	tests := []struct {
		name, spec, days string
		wait             time.Duration
		key              string
		want             string // substring of the error
	}{
		{"never fires", "0 0 30 2 *", "0123456", 0, KeyCron, `cron: "0 0 30 2 *" never fires (no date matches it within 5 years)`},
		{"never fires on those days", "0 0 29 2 *", "1", 0, KeyDaysOfWeek, `days_of_week: "1": cron spec "0 0 29 2 *" never fires on these days`},
		{"never fires on that weekday", "0 4 * * 1", "0", 0, KeyDaysOfWeek, `never fires on these days`},
		// robfig v3.0.1 reads "UTC*" as the zone name here (measured: an
		// error, not a panic) ...
		{"zone glued to fields", "TZ=UTC* * * * *", "0123456", 0, KeyCron, `"TZ=UTC* * * * *": provided bad location UTC*: unknown time zone UTC*`},
		// ... and panics (slice bounds out of range) when no space follows
		// the zone at all.
		{"zone without schedule", "TZ=UTC", "0123456", 0, KeyCron, `"TZ=UTC" is malformed: TZ=UTC must be followed by a space and the schedule`},
		{"CRON_TZ without schedule", "CRON_TZ=Europe/Berlin", "0123456", 0, KeyCron, "CRON_TZ=Europe/Berlin must be followed"},
		{"CRON_TZ alone", "CRON_TZ=", "0123456", 0, KeyCron, `"CRON_TZ=" is malformed`},
		{"zone and a tab", "TZ=UTC\t0 4 * * *", "0123456", 0, KeyCron, "provided bad location UTC\t0"},
		// robfig reads an empty zone as UTC; the daemon used to refuse
		// what configuration loading accepted.
		{"empty zone", "CRON_TZ= 0 4 * * *", "0123456", 0, KeyCron, "CRON_TZ= names no zone (write CRON_TZ=UTC for UTC)"},
		{"empty TZ zone", "TZ= 0 4 * * *", "0123456", 0, KeyCron, "TZ= names no zone"},
		{"bad zone", "CRON_TZ=Mars/Olympus 0 4 * * *", "0123456", 0, KeyCron, "unknown time zone Mars/Olympus"},
		{"bad TZ zone", "TZ=Nowhere 0 4 * * *", "0123456", 0, KeyCron, "Nowhere"},
		{"empty spec", "  ", "0123456", 0, KeyCron, "empty cron spec: want five fields"},
		{"too few fields", "0 4 * *", "0123456", 0, KeyCron, `"0 4 * *": expected exactly 5 fields`},
		{"three fields", "* * *", "0123456", 0, KeyCron, "expected exactly 5 fields"},
		{"out of range", "61 4 * * *", "0123456", 0, KeyCron, `"61 4 * * *"`},
		{"seconds field not accepted", "0 0 4 * * *", "0123456", 0, KeyCron, `"0 0 4 * * *": expected exactly 5 fields`},
		{"unknown descriptor", "@reboot", "0123456", 0, KeyCron, "@reboot"},
		{"descriptor with junk", "@yearly x", "0123456", 0, KeyCron, "unrecognized descriptor"},
		// The daemon used to accept what configuration loading refused.
		{"every 30s", "@every 30s", "0123456", 0, KeyCron, `"@every 30s" fires more often than once a minute`},
		{"every 1s", "@every 1s", "0123456", 0, KeyCron, "more often than once a minute"},
		{"empty days", "0 4 * * *", "", 0, KeyDaysOfWeek, "days_of_week: empty: no day would ever run"},
		{"day 7", "0 4 * * *", "1237", 0, KeyDaysOfWeek, `days_of_week: "1237": day 7 is not 0-6 (Sunday = 0)`},
		{"letters", "0 4 * * *", "mon", 0, KeyDaysOfWeek, `"mon": 'm' is not a day`},
		{"separators", "0 4 * * *", "1,2", 0, KeyDaysOfWeek, `',' is not a day`},
		{"repeat", "0 4 * * *", "1231", 0, KeyDaysOfWeek, `days_of_week: "1231": day 1 is given twice`},
		{"negative wait", "0 4 * * *", "1", -time.Second, KeyRandomWait, "random_wait: -1s is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.spec, tt.days, tt.wait)
			if err == nil {
				t.Fatalf("New(%q, %q) = %+v, want error", tt.spec, tt.days, s)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			var se *Error
			if !errors.As(err, &se) || se.Key != tt.key {
				t.Errorf("error %q is not an *Error for %s", err, tt.key)
			}
		})
	}
}

// TestNewErrorsEverySetting: every setting at fault is named, not only the
// first, so that configuration loading can list them all.
func TestNewErrorsEverySetting(t *testing.T) {
	_, err := New("@every 1s", "0128", -time.Minute)
	var keys []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var se *Error
		if !errors.As(e, &se) {
			t.Fatalf("%v is not an *Error", e)
		}
		keys = append(keys, se.Key)
	}
	if strings.Join(keys, " ") != "cron days_of_week random_wait" {
		t.Errorf("keys %v of %v", keys, err)
	}
}

func TestNewAccepts(t *testing.T) {
	for _, spec := range []string{"2 4 * * *", "@daily", "@weekly", "@monthly", "@yearly", "@hourly", "@midnight", "@every 6h", "@every 1m",
		"CRON_TZ=UTC 0 3 * * 1-5", "TZ=Local 0 3 * * *", "CRON_TZ=Asia/Tokyo @every 1h", "TZ=UTC @daily", "  0 3 * * *  ", "0 0 29 2 *"} {
		t.Run(spec, func(t *testing.T) {
			s, err := New(spec, "0123456", 30*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if s.RandomWait != 30*time.Minute {
				t.Errorf("RandomWait = %v", s.RandomWait)
			}
			if s.Days != [7]bool{true, true, true, true, true, true, true} {
				t.Errorf("Days = %v", s.Days)
			}
		})
	}
}

func TestNextFromSpec(t *testing.T) {
	ref := time.Date(2025, time.March, 3, 12, 0, 0, 0, time.UTC) // a Monday
	for _, g := range []struct {
		spec string
		next time.Time
	}{
		{"CRON_TZ=UTC 2 4 * * *", time.Date(2025, time.March, 4, 4, 2, 0, 0, time.UTC)},
		{"TZ=UTC 0 0 29 2 *", time.Date(2028, time.February, 29, 0, 0, 0, 0, time.UTC)},
		{"  CRON_TZ=UTC @daily", time.Date(2025, time.March, 4, 0, 0, 0, 0, time.UTC)},
	} {
		s, err := New(g.spec, "0123456", 0)
		if err != nil {
			t.Errorf("%q: %v", g.spec, err)
			continue
		}
		if n := s.Next(ref); !n.Equal(g.next) {
			t.Errorf("%q: Next = %v, want %v", g.spec, n, g.next)
		}
	}
}

// TestEveryDaysInZone: a zone prefix on @every decides the days, as it
// does for a five-field spec.
func TestEveryDaysInZone(t *testing.T) {
	s := mustSchedule(t, "CRON_TZ=Asia/Tokyo @every 1h", "1")
	// Sunday 2026-11-22 15:30 UTC is Monday 00:30 in Tokyo.
	if !s.AllowedDay(time.Date(2026, 11, 22, 15, 30, 0, 0, time.UTC)) {
		t.Error("Monday in Tokyo refused")
	}
	if s.AllowedDay(time.Date(2026, 11, 23, 15, 30, 0, 0, time.UTC)) {
		t.Error("Tuesday in Tokyo allowed")
	}
}

func FuzzNew(f *testing.F) {
	for _, seed := range []struct{ spec, days string }{
		{"2 4 * * *", "12345"},
		{"TZ=UTC* * * * *", "0123456"},
		{"TZ=UTC", "1"},
		{"CRON_TZ=", "1"},
		{"CRON_TZ=Europe/Berlin 30 2 * * *", "06"},
		{"0 0 30 2 *", "0"},
		{"@every 1s", "3"},
		{"*/0 * * * *", "0"},
		{"5-1 * * * *", "11"},
		{"@", "x"},
	} {
		f.Add(seed.spec, seed.days)
	}
	from := time.Date(2026, 11, 20, 5, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, spec, days string) {
		s, err := New(spec, days, time.Minute)
		if err != nil {
			if err.Error() == "" {
				t.Error("empty error message")
			}
			return
		}
		next := s.Next(from)
		if next.IsZero() {
			return // possible from a later start than New's reference
		}
		if !next.After(from) || !s.AllowedDay(next) {
			t.Errorf("New(%q, %q).Next(%v) = %v", spec, days, from, next)
		}
	})
}

func FuzzParseSpec(f *testing.F) {
	for _, seed := range []string{"2 4 * * *", "TZ=UTC", "TZ=UTC* * * * *", "CRON_TZ= x", "CRON_TZ=Nowhere/City 0 4 * * *",
		"0 0 30 2 *", "@every 1s", "@daily", "TZ=x=y", "*/0 * * * *", "1-0 * * * *", "0 0 * * 7"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		s, _, err := parseSpec(spec)
		if err == nil && s.Next(reference).IsZero() {
			t.Fatalf("%q accepted but never fires", spec)
		}
	})
}
