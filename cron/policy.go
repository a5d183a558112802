package cron

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/internal/schedule"
)

// ErrNotRunDay means a scheduled run did not start because the day it was
// due is not one of days_of_week; "hotfix cron" exits 0 on it.
var ErrNotRunDay = errors.New("not a day to run")

// ScheduleOf builds the schedule of a configuration's [schedule] table, by
// the parser that checked it when the configuration was loaded.
func ScheduleOf(cfg *client.Config) (*schedule.Schedule, error) {
	s, err := cfg.Schedule.Parse()
	if err != nil {
		return nil, fmt.Errorf("%s: [schedule]: %w", cfg.Path, err)
	}
	return s, nil
}

// ScheduledOptions describe one start of a scheduled run.
type ScheduledOptions struct {
	// Trigger says what started the run (see RunOptions).
	Trigger string
	// Due is when the run was due (the daemon's fire time); its weekday,
	// in the schedule's zone, decides. Zero means the clock's now.
	Due time.Time
	// Now runs at once: no day filter, no random wait (SIGUSR1, cron --now).
	Now bool
	// NoWait skips the random wait but keeps the day filter (cron started
	// by a person at a terminal, who wants the run now, as yum-cron does).
	NoWait bool

	Log   *slog.Logger
	Clock Clock                                                              // nil: RealClock
	Rand  func(n int64) int64                                                // random waits; nil: math/rand/v2
	Run   func(context.Context, *client.Client, RunOptions) (*Report, error) // nil: Run
}

// Scheduled is the one policy of a scheduled run, for "hotfix daemon" and
// "hotfix cron" alike: unless opts.Now, it returns ErrNotRunDay when the
// run is due on a day not in days_of_week, and otherwise first waits a
// random time up to random_wait (unless opts.NoWait). Then it does one Run
// and returns what Run returns.
//
// The wait ends as soon as ctx does; nothing has been done then, and the
// error wraps ctx's. The report is nil whenever Run was not reached.
func Scheduled(ctx context.Context, cl *client.Client, opts ScheduledOptions) (*Report, error) {
	log := orDiscard(opts.Log)
	clock := orRealClock(opts.Clock)
	run := opts.Run
	if run == nil {
		run = Run
	}
	if !opts.Now {
		sched, err := ScheduleOf(cl.Cfg)
		if err != nil {
			return nil, err
		}
		due := opts.Due
		if due.IsZero() {
			due = clock.Now()
		}
		if !sched.AllowedDay(due) {
			log.Info("not a day to run", "days_of_week", cl.Cfg.Schedule.DaysOfWeek, "today", due.Weekday().String())
			return nil, ErrNotRunDay
		}
		if !opts.NoWait {
			d := RandomDelay(sched.RandomWait, opts.Rand)
			if d > 0 {
				log.Info("random wait before the run", "wait", d.Round(time.Second).String(), "until", clock.Now().Add(d).Format(time.RFC3339))
			}
			if err := Sleep(ctx, d, clock); err != nil {
				return nil, fmt.Errorf("interrupted during the random wait; nothing was done: %w", err)
			}
		}
	}
	log.Info("scheduled run starting", "trigger", opts.Trigger)
	return run(ctx, cl, RunOptions{Trigger: opts.Trigger, Log: log})
}
