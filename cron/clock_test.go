package cron

import (
	"context"
	"errors"
	"testing"
	"time"
	_ "time/tzdata" // the tests must not depend on the machine's zoneinfo
)

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
