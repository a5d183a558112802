package cron

import (
	"context"
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
	s, err := NewSchedule(spec, days, 0)
	if err != nil {
		t.Fatalf("NewSchedule(%q, %q): %v", spec, days, err)
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
	// beyond the five-year horizon. NewSchedule rejects this combination, so
	// build the Schedule directly to test Next's own limit.
	s, err := parseSpec("0 0 29 2 *")
	if err != nil {
		t.Fatal(err)
	}
	days, _ := parseDays("1")
	sched := &Schedule{Spec: s, Days: days}
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

func TestNewScheduleErrors(t *testing.T) {
	tests := []struct {
		name, spec, days string
		wait             time.Duration
		want             string // substring of the error
	}{
		{"never fires", "0 0 30 2 *", "0123456", 0, `cron spec "0 0 30 2 *" never fires`},
		{"never fires on those days", "0 0 29 2 *", "1", 0, `never fires on days_of_week "1"`},
		// robfig v3.0.1 reads "UTC*" as the zone name here (measured: an
		// error, not a panic) ...
		{"zone glued to fields", "TZ=UTC* * * * *", "0123456", 0, `cron spec "TZ=UTC* * * * *": provided bad location UTC*`},
		// ... and panics (slice bounds out of range) when no space follows
		// the zone at all.
		{"zone without schedule", "TZ=UTC", "0123456", 0, "TZ=UTC must be followed by a space and the schedule"},
		{"CRON_TZ without schedule", "CRON_TZ=Europe/Berlin", "0123456", 0, "CRON_TZ=Europe/Berlin must be followed"},
		{"empty zone", "CRON_TZ= 0 4 * * *", "0123456", 0, "CRON_TZ= names no zone"},
		{"bad zone", "CRON_TZ=Mars/Olympus 0 4 * * *", "0123456", 0, "Mars/Olympus"},
		{"bad TZ zone", "TZ=Nowhere 0 4 * * *", "0123456", 0, "Nowhere"},
		{"empty spec", "  ", "0123456", 0, "cron spec is empty"},
		{"too few fields", "0 4 * *", "0123456", 0, `cron spec "0 4 * *"`},
		{"out of range", "61 4 * * *", "0123456", 0, "61"},
		{"seconds field not accepted", "0 0 4 * * *", "0123456", 0, `cron spec "0 0 4 * * *"`},
		{"unknown descriptor", "@reboot", "0123456", 0, "@reboot"},
		{"empty days", "0 4 * * *", "", 0, "days_of_week is empty"},
		{"day 7", "0 4 * * *", "1237", 0, `days_of_week "1237": '7' is not a day`},
		{"letters", "0 4 * * *", "mon", 0, `'m' is not a day`},
		{"separators", "0 4 * * *", "1,2", 0, `',' is not a day`},
		{"repeat", "0 4 * * *", "1231", 0, `days_of_week "1231": day 1 appears twice`},
		{"negative wait", "0 4 * * *", "1", -time.Second, "random_wait -1s is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSchedule(tt.spec, tt.days, tt.wait)
			if err == nil {
				t.Fatalf("NewSchedule(%q, %q) = %+v, want error", tt.spec, tt.days, s)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestNewScheduleAccepts(t *testing.T) {
	for _, spec := range []string{"2 4 * * *", "@daily", "@weekly", "@every 6h", "CRON_TZ=UTC 0 3 * * 1-5", "TZ=Local 0 3 * * *", "  0 3 * * *  ", "0 0 29 2 *"} {
		t.Run(spec, func(t *testing.T) {
			s, err := NewSchedule(spec, "0123456", 30*time.Minute)
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

func TestRandomDelay(t *testing.T) {
	tests := []struct {
		name string
		max  time.Duration
		rnd  func(int64) int64
		want time.Duration
	}{
		{"zero max", 0, func(int64) int64 { panic("rnd called for max 0") }, 0},
		{"negative max", -time.Minute, nil, 0},
		{"lowest draw", time.Hour, func(int64) int64 { return 0 }, 0},
		{"highest draw reaches max", time.Hour, func(n int64) int64 { return n - 1 }, time.Hour},
		{"largest duration", time.Duration(1<<63 - 1), func(n int64) int64 { return n - 1 }, time.Duration(1<<63 - 2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RandomDelay(tt.max, tt.rnd); got != tt.want {
				t.Errorf("RandomDelay(%v) = %v, want %v", tt.max, got, tt.want)
			}
		})
	}

	t.Run("real source stays in bounds and spreads", func(t *testing.T) {
		const max = 10 * time.Second
		var low, high int
		for range 10000 {
			d := RandomDelay(max, nil)
			if d < 0 || d > max {
				t.Fatalf("RandomDelay(%v) = %v, out of [0, max]", max, d)
			}
			if d < max/2 {
				low++
			} else {
				high++
			}
		}
		// Each half should get about 5000; 4500 is over 10 standard
		// deviations away, so this never flakes on a uniform source.
		if low < 4500 || high < 4500 {
			t.Errorf("halves got %d and %d draws of 10000, not uniform", low, high)
		}
		if got := RandomDelay(time.Nanosecond, nil); got < 0 || got > time.Nanosecond {
			t.Errorf("RandomDelay(1ns) = %v", got)
		}
	})
}

// fakeClock never fires unless told to.
type fakeClock struct {
	now   time.Time
	fire  chan time.Time
	asked chan time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 20, 4, 0, 0, 0, time.UTC), fire: make(chan time.Time, 1), asked: make(chan time.Duration, 1)}
}

func (c *fakeClock) Now() time.Time { return c.now }
func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.asked <- d
	return c.fire
}

func TestSleep(t *testing.T) {
	t.Run("waits for the clock", func(t *testing.T) {
		c := newFakeClock()
		done := make(chan error, 1)
		go func() { done <- Sleep(context.Background(), time.Hour, c) }()
		if d := <-c.asked; d != time.Hour {
			t.Errorf("Sleep asked the clock for %v, want 1h", d)
		}
		select {
		case err := <-done:
			t.Fatalf("Sleep returned %v before the clock fired", err)
		default:
		}
		c.fire <- c.now.Add(time.Hour)
		if err := <-done; err != nil {
			t.Errorf("Sleep = %v, want nil", err)
		}
	})
	t.Run("cancel returns at once", func(t *testing.T) {
		c := newFakeClock()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- Sleep(ctx, 24*time.Hour, c) }()
		<-c.asked
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Sleep = %v, want context.Canceled", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Sleep did not return after cancel")
		}
	})
	t.Run("already cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := Sleep(ctx, time.Hour, newFakeClock()); !errors.Is(err, context.Canceled) {
			t.Errorf("Sleep = %v, want context.Canceled", err)
		}
	})
	t.Run("zero duration", func(t *testing.T) {
		if err := Sleep(context.Background(), 0, newFakeClock()); err != nil {
			t.Errorf("Sleep(0) = %v", err)
		}
	})
	t.Run("real clock", func(t *testing.T) {
		if err := Sleep(context.Background(), time.Millisecond, nil); err != nil {
			t.Errorf("Sleep(1ms, RealClock) = %v", err)
		}
		if now := RealClock.Now(); time.Since(now) > time.Minute || time.Since(now) < 0 {
			t.Errorf("RealClock.Now() = %v", now)
		}
	})
}

func FuzzNewSchedule(f *testing.F) {
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
		s, err := NewSchedule(spec, days, time.Minute)
		if err != nil {
			if err.Error() == "" {
				t.Error("empty error message")
			}
			return
		}
		next := s.Next(from)
		if next.IsZero() {
			return // possible from a later start than NewSchedule's reference
		}
		if !next.After(from) || !s.AllowedDay(next) {
			t.Errorf("NewSchedule(%q, %q).Next(%v) = %v", spec, days, from, next)
		}
	})
}
