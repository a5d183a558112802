package cron

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/client"
)

// policyClient has a schedule for Monday to Friday with a random wait of
// up to an hour.
func policyClient(t *testing.T) *client.Client {
	t.Helper()
	cl, err := daemonClient(t, t.TempDir(), "cron = \"0 4 * * *\"\ndays_of_week = \"12345\"\nrandom_wait = \"1h\"")
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// recordRun is a Run that records its trigger.
func recordRun(got *[]string) func(context.Context, *client.Client, RunOptions) (*Report, error) {
	return func(_ context.Context, _ *client.Client, ro RunOptions) (*Report, error) {
		*got = append(*got, ro.Trigger)
		return &Report{Trigger: ro.Trigger}, nil
	}
}

func TestScheduledDayFilter(t *testing.T) {
	cl := policyClient(t)
	var runs []string
	saturday := at("2026-11-21T04:00:00Z")
	opts := ScheduledOptions{Trigger: "cron", Due: saturday, NoWait: true, Clock: newManualClock(saturday), Run: recordRun(&runs)}
	rep, err := Scheduled(context.Background(), cl, opts)
	if !errors.Is(err, ErrNotRunDay) || rep != nil || len(runs) != 0 {
		t.Fatalf("Saturday: %+v, %v, runs %v", rep, err, runs)
	}
	// Without Due, the clock says which day it is.
	opts.Due = time.Time{}
	if _, err := Scheduled(context.Background(), cl, opts); !errors.Is(err, ErrNotRunDay) {
		t.Fatalf("Saturday by the clock: %v", err)
	}
	opts.Trigger, opts.Now = "cron --now", true
	if rep, err := Scheduled(context.Background(), cl, opts); err != nil || rep.Trigger != "cron --now" {
		t.Fatalf("--now on Saturday: %+v, %v", rep, err)
	}
	opts.Trigger, opts.Now, opts.Due = "cron", false, at("2026-11-23T04:00:00Z")
	if _, err := Scheduled(context.Background(), cl, opts); err != nil {
		t.Fatalf("Monday: %v", err)
	}
	if strings.Join(runs, ",") != "cron --now,cron" {
		t.Errorf("runs %v", runs)
	}
}

func TestScheduledRandomWait(t *testing.T) {
	cl := policyClient(t)
	monday := at("2026-11-23T04:00:00Z")
	clock := newManualClock(monday)
	var runs []string
	done := make(chan error, 1)
	go func() {
		_, err := Scheduled(context.Background(), cl, ScheduledOptions{Trigger: "cron", Clock: clock,
			Rand: func(int64) int64 { return int64(20 * time.Minute) }, Run: recordRun(&runs)})
		done <- err
	}()
	clock.awaitSleeper(t, monday.Add(20*time.Minute))
	select {
	case err := <-done:
		t.Fatalf("returned %v before the wait ended", err)
	default:
	}
	clock.Advance(20 * time.Minute)
	if err := <-done; err != nil || len(runs) != 1 {
		t.Fatalf("after the wait: %v, runs %v", err, runs)
	}
}

func TestScheduledInterruptedWait(t *testing.T) {
	cl := policyClient(t)
	monday := at("2026-11-23T04:00:00Z")
	clock := newManualClock(monday)
	ctx, cancel := context.WithCancel(context.Background())
	var runs []string
	done := make(chan error, 1)
	go func() {
		rep, err := Scheduled(ctx, cl, ScheduledOptions{Trigger: "cron", Clock: clock,
			Rand: func(n int64) int64 { return n - 1 }, Run: recordRun(&runs)})
		if rep != nil {
			err = errors.Join(err, errors.New("a report although nothing ran"))
		}
		done <- err
	}()
	clock.awaitSleeper(t, monday.Add(time.Hour))
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "interrupted during the random wait; nothing was done") || len(runs) != 0 {
		t.Fatalf("%v, runs %v", err, runs)
	}
}
