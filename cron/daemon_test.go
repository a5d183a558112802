package cron

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/internal/testkit"
)

// manualClock moves only when the test advances it, and remembers every
// sleeper so the test can wait until the daemon sleeps until a given time.
type manualClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []manualWaiter
}

type manualWaiter struct {
	deadline time.Time
	ch       chan time.Time
}

func newManualClock(start time.Time) *manualClock { return &manualClock{now: start} }

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, manualWaiter{c.now.Add(d), ch})
	return ch
}

// Advance moves the clock and wakes every sleeper whose time has come.
func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.deadline.After(c.now) {
			kept = append(kept, w)
		} else {
			w.ch <- c.now
		}
	}
	c.waiters = kept
}

// awaitSleeper waits until somebody sleeps until exactly deadline.
func (c *manualClock) awaitSleeper(t *testing.T, deadline time.Time) {
	t.Helper()
	c.awaitSleepers(t, deadline, 1)
}

// awaitSleepers waits until n sleeps end at deadline (a sleep abandoned by
// a select that took another case stays counted).
func (c *manualClock) awaitSleepers(t *testing.T, deadline time.Time, n int) {
	t.Helper()
	for start := time.Now(); time.Since(start) < 10*time.Second; time.Sleep(time.Millisecond) {
		c.mu.Lock()
		count := 0
		for _, w := range c.waiters {
			if w.deadline.Equal(deadline) {
				count++
			}
		}
		c.mu.Unlock()
		if count >= n {
			return
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var got []string
	for _, w := range c.waiters {
		got = append(got, w.deadline.Format(time.RFC3339))
	}
	t.Fatalf("nobody sleeps until %s; sleepers: %v", deadline.Format(time.RFC3339), got)
}

// daemonClient makes a client from a configuration whose [schedule] is
// given; the network is never used (Run is replaced).
func daemonClient(t *testing.T, dir, schedule string) (*client.Client, error) {
	t.Helper()
	data := fmt.Sprintf(`repo = "http://127.0.0.1:1"
product = "acme"
root = %q
version = "2.4.1"
state_dir = %q
log_dir = %q
lock_dir = %q
cache_dir = %q
[schedule]
%s
`, dir, filepath.Join(dir, "state"), filepath.Join(dir, "log"), filepath.Join(dir, "lock"), filepath.Join(dir, "cache"), schedule)
	cfg, err := client.ParseConfig(filepath.Join(dir, "hotfix.toml"), []byte(data))
	if err != nil {
		return nil, err
	}
	return client.New(cfg, nil)
}

// daemonHarness runs Daemon in the background with a manual clock and a
// recording Run.
type daemonHarness struct {
	clock  *manualClock
	log    *testkit.LockedBuffer
	runs   chan string // the clock's time (RFC 3339) and trigger of each run
	reload chan struct{}
	runNow chan struct{}
	cancel context.CancelFunc
	done   chan error
}

type harnessOptions struct {
	start     time.Time
	schedules []string // configuration's [schedule] at start and at each reload; "!" fails to load
	rand      func(int64) int64
	run       func(ctx context.Context) // runs inside each Run; nil returns at once
}

func startDaemon(t *testing.T, o harnessOptions) *daemonHarness {
	t.Helper()
	dir := t.TempDir()
	h := &daemonHarness{
		clock: newManualClock(o.start), log: &testkit.LockedBuffer{}, runs: make(chan string, 10),
		reload: make(chan struct{}), runNow: make(chan struct{}), done: make(chan error, 1),
	}
	loads := 0
	load := func() (*client.Client, error) {
		s := o.schedules[min(loads, len(o.schedules)-1)]
		loads++
		if s == "!" {
			return nil, errors.New("hotfix.toml:3: schedule.cron: broken on purpose")
		}
		return daemonClient(t, dir, s)
	}
	run := func(ctx context.Context, cl *client.Client, ro RunOptions) (*Report, error) {
		h.runs <- h.clock.Now().Format(time.RFC3339) + " " + ro.Trigger
		if o.run != nil {
			o.run(ctx)
		}
		return &Report{}, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() {
		h.done <- Daemon(ctx, DaemonOptions{
			Load: load, Reload: h.reload, RunNow: h.runNow,
			Log:   slog.New(slog.NewTextHandler(h.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
			Clock: h.clock, Rand: o.rand, MaxNap: 10000 * time.Hour, Run: run,
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(10 * time.Second):
			t.Error("daemon did not stop")
		}
	})
	return h
}

func (h *daemonHarness) expectRun(t *testing.T, want string) {
	t.Helper()
	select {
	case got := <-h.runs:
		if got != want {
			t.Fatalf("run %q, want %q", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no run, want %q; log:\n%s", want, h.log.String())
	}
}

func (h *daemonHarness) expectNoRun(t *testing.T) {
	t.Helper()
	select {
	case got := <-h.runs:
		t.Fatalf("unexpected run %q", got)
	case <-time.After(50 * time.Millisecond):
	}
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestDaemonRunsOnAllowedDaysOnly(t *testing.T) {
	// 2025-01-05 is a Sunday; only Mondays (1) are allowed.
	h := startDaemon(t, harnessOptions{start: at("2025-01-05T10:00:00Z"),
		schedules: []string{`cron = "0 4 * * *"` + "\ndays_of_week = \"1\"\nrandom_wait = \"0\""}})
	h.clock.awaitSleeper(t, at("2025-01-06T04:00:00Z"))
	h.expectNoRun(t)
	h.clock.Advance(18 * time.Hour)
	h.expectRun(t, "2025-01-06T04:00:00Z daemon")
	// The run must have ended before the clock jumps, or the daemon rightly
	// skips the next one as overlapping (seen on a loaded machine).
	h.log.Await(t, "scheduled run ended")
	// Tuesday to Sunday are skipped: the next sleep ends a week later.
	h.clock.awaitSleeper(t, at("2025-01-13T04:00:00Z"))
	h.clock.Advance(7 * 24 * time.Hour)
	h.expectRun(t, "2025-01-13T04:00:00Z daemon")
	h.log.Await(t, "next=2025-01-06T04:00:00Z")
}

func TestDaemonRandomWaitBounds(t *testing.T) {
	tests := []struct {
		name string
		rand func(n int64) int64
		want string
	}{
		{"shortest", func(n int64) int64 { return 0 }, "2025-01-06T04:00:00Z daemon"},
		{"longest", func(n int64) int64 { return n - 1 }, "2025-01-06T04:30:00Z daemon"},
		{"middle", func(n int64) int64 { return n / 2 }, "2025-01-06T04:15:00Z daemon"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var asked int64
			rnd := func(n int64) int64 { asked = n; return tt.rand(n) }
			h := startDaemon(t, harnessOptions{start: at("2025-01-06T03:00:00Z"), rand: rnd,
				schedules: []string{"cron = \"0 4 * * *\"\nrandom_wait = \"30m\""}})
			h.clock.awaitSleeper(t, at("2025-01-06T04:00:00Z"))
			h.clock.Advance(time.Hour)
			if tt.name != "shortest" {
				wantTime := strings.Fields(tt.want)[0]
				h.clock.awaitSleeper(t, at(wantTime))
				h.expectNoRun(t)
				h.clock.Advance(at(wantTime).Sub(at("2025-01-06T04:00:00Z")))
			}
			h.expectRun(t, tt.want)
			if asked != int64(30*time.Minute)+1 {
				t.Errorf("random draw over [0, %d), want [0, 30m] inclusive", asked)
			}
		})
	}
}

func TestDaemonSkipsWhileStillRunning(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	h := startDaemon(t, harnessOptions{start: at("2025-01-06T04:00:30Z"),
		schedules: []string{"cron = \"* * * * *\"\nrandom_wait = \"0\""},
		run: func(ctx context.Context) {
			once.Do(func() { <-release })
		}})
	h.clock.awaitSleeper(t, at("2025-01-06T04:01:00Z"))
	h.clock.Advance(30 * time.Second)
	h.expectRun(t, "2025-01-06T04:01:00Z daemon")
	h.clock.awaitSleeper(t, at("2025-01-06T04:02:00Z"))
	h.clock.Advance(time.Minute)
	h.log.Await(t, "run skipped: the previous run is still going")
	h.log.Await(t, "due=2025-01-06T04:02:00Z")
	h.expectNoRun(t)
	close(release)
	h.clock.awaitSleeper(t, at("2025-01-06T04:03:00Z"))
	// Let the first run's goroutine finish before the next fire time.
	time.Sleep(20 * time.Millisecond)
	h.clock.Advance(time.Minute)
	h.expectRun(t, "2025-01-06T04:03:00Z daemon")
}

func TestDaemonReload(t *testing.T) {
	h := startDaemon(t, harnessOptions{start: at("2025-01-06T03:00:00Z"),
		schedules: []string{"cron = \"0 4 * * *\"\nrandom_wait = \"0\"", "cron = \"30 5 * * *\"\nrandom_wait = \"0\"", "!"}})
	h.clock.awaitSleeper(t, at("2025-01-06T04:00:00Z"))
	h.reload <- struct{}{}
	h.log.Await(t, "configuration reloaded")
	h.clock.awaitSleeper(t, at("2025-01-06T05:30:00Z"))
	h.reload <- struct{}{}
	h.log.Await(t, "configuration not reloaded: keeping the previous one")
	h.log.Await(t, "schedule.cron: broken on purpose")
	// The loop sleeps again until 05:30 before the clock moves on.
	h.clock.awaitSleepers(t, at("2025-01-06T05:30:00Z"), 2)
	h.clock.Advance(time.Hour)
	h.expectNoRun(t) // 04:00 belongs to the old configuration
	h.clock.Advance(90 * time.Minute)
	h.expectRun(t, "2025-01-06T05:30:00Z daemon")
}

func TestDaemonRunNow(t *testing.T) {
	h := startDaemon(t, harnessOptions{start: at("2025-01-06T03:00:00Z"),
		schedules: []string{"cron = \"0 4 * * *\"\nrandom_wait = \"1h\"\ndays_of_week = \"0\""}})
	h.clock.awaitSleeper(t, at("2025-01-12T04:00:00Z"))
	h.runNow <- struct{}{}
	// No day filter, no random wait.
	h.expectRun(t, "2025-01-06T03:00:00Z daemon (run now)")
}

func TestDaemonStopsAtOnceWhileWaiting(t *testing.T) {
	h := startDaemon(t, harnessOptions{start: at("2025-01-06T03:00:00Z"), schedules: []string{"random_wait = \"0\""}})
	h.clock.awaitSleeper(t, at("2025-01-06T04:02:00Z"))
	start := time.Now()
	h.cancel()
	select {
	case err := <-h.done:
		if err != nil {
			t.Errorf("Daemon = %v, want nil", err)
		}
		h.done <- err // for the cleanup
	case <-time.After(time.Second):
		t.Fatal("daemon still waiting a second after cancel")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("stopping took %v", d)
	}
	h.log.Await(t, "daemon stopped")
}

func TestDaemonStopsDuringRandomWait(t *testing.T) {
	h := startDaemon(t, harnessOptions{start: at("2025-01-06T03:00:00Z"), rand: func(n int64) int64 { return n - 1 },
		schedules: []string{"cron = \"0 4 * * *\"\nrandom_wait = \"1h\""}})
	h.clock.awaitSleeper(t, at("2025-01-06T04:00:00Z"))
	h.clock.Advance(time.Hour)
	h.clock.awaitSleeper(t, at("2025-01-06T05:00:00Z"))
	h.cancel()
	select {
	case err := <-h.done:
		h.done <- err
	case <-time.After(time.Second):
		t.Fatal("daemon did not stop during the random wait")
	}
	h.expectNoRun(t)
}

func TestDaemonWaitsForTheRunningRun(t *testing.T) {
	var mu sync.Mutex
	done := false
	h := startDaemon(t, harnessOptions{start: at("2025-01-06T03:59:00Z"),
		schedules: []string{"cron = \"0 4 * * *\"\nrandom_wait = \"0\""},
		run: func(ctx context.Context) {
			<-ctx.Done()
			time.Sleep(100 * time.Millisecond) // finishing the current fix
			mu.Lock()
			done = true
			mu.Unlock()
		}})
	h.clock.awaitSleeper(t, at("2025-01-06T04:00:00Z"))
	h.clock.Advance(time.Minute)
	h.expectRun(t, "2025-01-06T04:00:00Z daemon")
	h.cancel()
	err := <-h.done
	h.done <- err
	mu.Lock()
	defer mu.Unlock()
	if !done {
		t.Fatal("Daemon returned before the run finished")
	}
	h.log.Await(t, "waiting for the current run to stop after the fix it is installing")
}

func TestDaemonRecoversPanic(t *testing.T) {
	var n int
	var mu sync.Mutex
	h := startDaemon(t, harnessOptions{start: at("2025-01-06T03:59:00Z"),
		schedules: []string{"cron = \"0 * * * *\"\nrandom_wait = \"0\""},
		run: func(ctx context.Context) {
			mu.Lock()
			n++
			first := n == 1
			mu.Unlock()
			if first {
				panic("run exploded")
			}
		}})
	h.clock.awaitSleeper(t, at("2025-01-06T04:00:00Z"))
	h.clock.Advance(time.Minute)
	h.expectRun(t, "2025-01-06T04:00:00Z daemon")
	h.log.Await(t, "run exploded")
	h.clock.awaitSleeper(t, at("2025-01-06T05:00:00Z"))
	time.Sleep(20 * time.Millisecond)
	h.clock.Advance(time.Hour)
	h.expectRun(t, "2025-01-06T05:00:00Z daemon")
}

func TestDaemonBadConfigurationAtStart(t *testing.T) {
	err := Daemon(context.Background(), DaemonOptions{Load: func() (*client.Client, error) {
		return nil, errors.New("hotfix.toml:7: schedule.days_of_week: day 9 is not 0-6")
	}})
	if err == nil || !strings.Contains(err.Error(), "schedule.days_of_week") {
		t.Fatalf("Daemon = %v", err)
	}
}

func TestDaemonScheduleOf(t *testing.T) {
	cl, err := daemonClient(t, t.TempDir(), "cron = \"CRON_TZ=Asia/Tokyo 0 4 * * *\"\ndays_of_week = \"1\"\nrandom_wait = \"2h\"")
	if err != nil {
		t.Fatal(err)
	}
	s, err := ScheduleOf(cl.Cfg)
	if err != nil {
		t.Fatal(err)
	}
	if s.RandomWait != 2*time.Hour || !s.Days[1] || s.Days[0] {
		t.Errorf("schedule %+v", s)
	}
	// Monday 04:00 in Tokyo is Sunday 19:00 UTC.
	if got := s.Next(at("2025-01-05T00:00:00Z")); !got.Equal(at("2025-01-05T19:00:00Z")) {
		t.Errorf("Next = %v", got)
	}
	cl.Cfg.Schedule.Cron = "0 0 30 2 *"
	if _, err := ScheduleOf(cl.Cfg); err == nil || !strings.Contains(err.Error(), "[schedule]") || !strings.Contains(err.Error(), "never fires") {
		t.Errorf("ScheduleOf(never) = %v", err)
	}
}
