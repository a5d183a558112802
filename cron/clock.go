package cron

import (
	"context"
	"math"
	"math/rand/v2"
	"time"
)

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
	clock = orRealClock(clock)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-clock.After(d):
		return nil
	}
}

// orRealClock is clock, or RealClock when clock is nil.
func orRealClock(clock Clock) Clock {
	if clock == nil {
		return RealClock
	}
	return clock
}
