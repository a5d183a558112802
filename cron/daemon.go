package cron

import (
	"context"
	"errors"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/internal/schedule"
)

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
// fire time of the cron spec that falls on an allowed day it does one
// Scheduled run (a random wait up to random_wait, then Run); RunNow does
// one without day filter or wait. A run (with its
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
	log := orDiscard(opts.Log)
	clock := orRealClock(opts.Clock)
	maxNap := opts.MaxNap
	if maxNap <= 0 {
		maxNap = time.Minute
	}
	load := func() (*client.Client, *schedule.Schedule, error) {
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

	runs := &oneAtATime{log: log}
	start := func(cl *client.Client, trigger string, now bool, due time.Time) {
		runs.start(due, func() {
			// Run logs and reports its own outcome, and an interrupted
			// random wait means the daemon is stopping: nothing to add.
			_, _ = Scheduled(ctx, cl, ScheduledOptions{Trigger: trigger, Due: due, Now: now,
				Log: log, Clock: clock, Rand: opts.Rand, Run: opts.Run})
		})
	}

	next := sched.Next(clock.Now())
	log.Info("daemon started", "cron", cl.Cfg.Schedule.Cron, "days_of_week", cl.Cfg.Schedule.DaysOfWeek,
		"random_wait", cl.Cfg.Schedule.RandomWait.String(), "config", cl.Cfg.Path, "next", next.Format(time.RFC3339))
	for {
		if next.IsZero() {
			runs.wait()
			return errors.New("the schedule does not fire again within five years")
		}
		if d := next.Sub(clock.Now()); d <= 0 {
			start(cl, "daemon", false, next)
			// From now, not from next: after a suspend, missed fire times
			// are skipped rather than run one after another.
			next = sched.Next(clock.Now())
			log.Info("next run", "at", next.Format(time.RFC3339))
			continue
		} else {
			select {
			case <-ctx.Done():
				if runs.busy() {
					log.Info("stopping: waiting for the current run to stop after the fix it is installing")
				}
				runs.wait()
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
				start(cl, "daemon (run now)", true, clock.Now())
			case <-clock.After(min(d, maxNap)):
			}
		}
	}
}

// oneAtATime starts runs in the background, one at a time: a run due while
// another is going is skipped and logged, as robfig/cron's
// SkipIfStillRunning, and a panic in one is logged, not fatal.
type oneAtATime struct {
	log     *slog.Logger
	mu      sync.Mutex
	running bool
	wg      sync.WaitGroup
}

func (o *oneAtATime) start(due time.Time, run func()) {
	o.mu.Lock()
	if o.running {
		o.mu.Unlock()
		o.log.Warn("run skipped: the previous run is still going", "due", due.Format(time.RFC3339))
		return
	}
	o.running = true
	o.mu.Unlock()
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		defer func() {
			o.mu.Lock()
			o.running = false
			o.mu.Unlock()
			o.log.Debug("scheduled run ended", "due", due.Format(time.RFC3339))
		}()
		defer func() {
			if r := recover(); r != nil {
				o.log.Error("panic in scheduled run", "panic", r, "stack", string(debug.Stack()))
			}
		}()
		run()
	}()
}

func (o *oneAtATime) busy() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.running
}

// wait returns when the run in progress, if any, has ended.
func (o *oneAtATime) wait() { o.wg.Wait() }
