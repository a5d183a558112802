package cmd

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestCronTimerDoesNotWaitAgain: started by hotfix.timer (which already
// waited its RandomizedDelaySec), "hotfix cron --timer" does not draw a
// second random wait, even with random_wait = 1h and no terminal, but
// still keeps to days_of_week.
func TestCronTimerDoesNotWaitAgain(t *testing.T) {
	t.Run("runs at once", func(t *testing.T) {
		e := newUAEnv(t, "[schedule]\nrandom_wait = \"1h\"\n")
		start := time.Now()
		code, _, stderr := e.run(t, "-v", "cron", "--timer")
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		if strings.Contains(stderr, "random wait before the run") {
			t.Errorf("--timer waited a second time:\n%s", stderr)
		}
		if d := time.Since(start); d > 30*time.Second {
			t.Errorf("--timer took %v", d)
		}
		if got := e.installed(t); !slices.Equal(got, allFixes) {
			t.Errorf("installed %v", got)
		}
	})
	t.Run("keeps the day filter", func(t *testing.T) {
		other := (time.Now().Weekday() + 3) % 7
		e := newUAEnv(t, fmt.Sprintf("[schedule]\ndays_of_week = \"%d\"\nrandom_wait = \"1h\"\n", other))
		code, stdout, stderr := e.run(t, "cron", "--timer")
		if code != 0 || stdout != "" || stderr != "" {
			t.Fatalf("not a day to run: exit %d, stdout %q, stderr %q; want a quiet 0", code, stdout, stderr)
		}
		if got := e.installed(t); len(got) != 0 {
			t.Errorf("installed %v on a day not allowed", got)
		}
	})
	t.Run("reports the timer as trigger", func(t *testing.T) {
		e := newUAEnv(t, "[schedule]\nrandom_wait = \"1h\"\n")
		code, stdout, stderr := e.run(t, "--json", "cron", "--timer")
		if code != 0 || !strings.Contains(stdout, `"trigger": "timer"`) {
			t.Errorf("exit %d, stdout %s, stderr %s", code, stdout, stderr)
		}
	})
}
