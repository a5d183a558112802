package cron

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/hotfix-project/hotfix/client"
)

// ScheduleOf builds the schedule of a configuration's [schedule] table.
func ScheduleOf(cfg *client.Config) (*Schedule, error) {
	s, err := NewSchedule(cfg.Schedule.Cron, cfg.Schedule.DaysOfWeek, cfg.Schedule.RandomWait.Duration)
	if err != nil {
		return nil, fmt.Errorf("%s: [schedule]: %w", cfg.Path, err)
	}
	return s, nil
}

// DaemonOptions configure Daemon.
type DaemonOptions struct {
	// Load reads the configuration and prepares a client: once at start
	// (an error ends Daemon) and again at every Reload (an error is logged
	// and the previous configuration kept).
	Load func() (*client.Client, error)
	// Reload asks for Load again (SIGHUP).
	Reload <-chan struct{}
	// RunNow starts a run at once, without day filter or random wait
	// (SIGUSR1), unless one is going.
	RunNow <-chan struct{}
	Log    *slog.Logger
	Clock  Clock                                                              // nil: RealClock
	Rand   func(n int64) int64                                                // random waits; nil: math/rand/v2
	MaxNap time.Duration                                                      // longest single sleep; 0: one minute
	Run    func(context.Context, *client.Client, RunOptions) (*Report, error) // nil: Run
}

// Daemon runs the schedule in the foreground until ctx ends: at every
// fire time of the cron spec that falls on an allowed day it waits a
// random time up to random_wait and then does one Run. A run (with its
// random wait) that is still going when the next fire time comes makes
// that fire time skipped and logged, as robfig/cron's SkipIfStillRunning.
//
// It sleeps at most MaxNap at a time and then looks at the clock again,
// so that a suspended machine or a clock set forward delays a run by
// at most that much instead of by the whole time it slept.
//
// When ctx ends, Daemon stops waiting at once; a run in progress stops
// as Run describes (after the fix being installed), and Daemon returns
// nil once it has.
func Daemon(ctx context.Context, opts DaemonOptions) error {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	clock := opts.Clock
	if clock == nil {
		clock = RealClock
	}
	maxNap := opts.MaxNap
	if maxNap <= 0 {
		maxNap = time.Minute
	}
	runFn := opts.Run
	if runFn == nil {
		runFn = Run
	}
	load := func() (*client.Client, *Schedule, error) {
		cl, err := opts.Load()
		if err != nil {
			return nil, nil, err
		}
		s, err := ScheduleOf(cl.Cfg)
		if err != nil {
			return nil, nil, err
		}
		return cl, s, nil
	}
	cl, sched, err := load()
	if err != nil {
		return err
	}

	var (
		mu      sync.Mutex
		running bool
		wg      sync.WaitGroup
	)
	start := func(cl *client.Client, sched *Schedule, trigger string, wait bool, due time.Time) {
		mu.Lock()
		if running {
			mu.Unlock()
			log.Warn("run skipped: the previous run is still going", "due", due.Format(time.RFC3339))
			return
		}
		running = true
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				mu.Lock()
				running = false
				mu.Unlock()
			}()
			defer func() {
				if r := recover(); r != nil {
					log.Error("panic in scheduled run", "panic", r, "stack", string(debug.Stack()))
				}
			}()
			if wait {
				d := RandomDelay(sched.RandomWait, opts.Rand)
				if d > 0 {
					log.Info("random wait before the run", "wait", d.Round(time.Second).String(), "until", clock.Now().Add(d).Format(time.RFC3339))
				}
				if err := Sleep(ctx, d, clock); err != nil {
					return
				}
			}
			log.Info("scheduled run starting", "trigger", trigger)
			runFn(ctx, cl, RunOptions{Trigger: trigger, Log: log})
		}()
	}

	next := sched.Next(clock.Now())
	log.Info("daemon started", "cron", cl.Cfg.Schedule.Cron, "days_of_week", cl.Cfg.Schedule.DaysOfWeek,
		"random_wait", cl.Cfg.Schedule.RandomWait.String(), "config", cl.Cfg.Path, "next", next.Format(time.RFC3339))
	for {
		if next.IsZero() {
			wg.Wait()
			return errors.New("the schedule does not fire again within five years")
		}
		if d := next.Sub(clock.Now()); d <= 0 {
			start(cl, sched, "daemon", true, next)
			// From now, not from next: after a suspend, missed fire times
			// are skipped rather than run one after another.
			next = sched.Next(clock.Now())
			log.Info("next run", "at", next.Format(time.RFC3339))
			continue
		} else {
			select {
			case <-ctx.Done():
				mu.Lock()
				busy := running
				mu.Unlock()
				if busy {
					log.Info("stopping: waiting for the current run to stop after the fix it is installing")
				}
				wg.Wait()
				log.Info("daemon stopped")
				return nil
			case <-opts.Reload:
				ncl, nsched, err := load()
				if err != nil {
					log.Error("configuration not reloaded: keeping the previous one", "err", err)
					continue
				}
				cl, sched = ncl, nsched
				next = sched.Next(clock.Now())
				log.Info("configuration reloaded", "cron", cl.Cfg.Schedule.Cron, "days_of_week", cl.Cfg.Schedule.DaysOfWeek,
					"random_wait", cl.Cfg.Schedule.RandomWait.String(), "next", next.Format(time.RFC3339))
			case <-opts.RunNow:
				start(cl, sched, "daemon (run now)", false, clock.Now())
			case <-clock.After(min(d, maxNap)):
			}
		}
	}
}
