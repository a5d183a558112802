package cron

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/client"
)

// scheduleCases are [schedule] settings with the setting each is refused
// for ("" when valid). Configuration loading and the daemon must agree on
// every one: the two used to have parsers of their own, and
// "CRON_TZ= 0 4 * * *" loaded but did not run while "@every 30s" ran but
// did not load.
var scheduleCases = []struct {
	cron, days, wait string
	bad              string // the [schedule] key refused; "" for valid
}{
	// Five fields, names, steps and ranges.
	{"2 4 * * *", "0123456", "1h", ""},
	{"*/15 * * * *", "0123456", "0", ""},
	{"0 4 * * MON-FRI", "12345", "30m", ""},
	{"  0 3 * * *  ", "0123456", "0", ""},
	{"0 0 29 2 *", "0123456", "0", ""}, // every four years is often enough
	{"0 4 * * 1", "1", "0", ""},
	// Descriptors.
	{"@daily", "0123456", "1h", ""},
	{"@weekly", "06", "0", ""},
	{"@monthly", "0123456", "0", ""},
	{"@yearly", "0123456", "0", ""},
	{"@annually", "0123456", "0", ""},
	{"@hourly", "12345", "10m", ""},
	{"@midnight", "0123456", "0", ""},
	{"@every 1m", "0123456", "0", ""},
	{"@every 6h", "135", "2h", ""},
	{"@reboot", "0123456", "0", "cron"},
	{"@yearly x", "0123456", "0", "cron"},
	{"@every 30s", "0123456", "0", "cron"},
	{"@every 1s", "0123456", "0", "cron"},
	// Zones.
	{"CRON_TZ=Europe/Berlin 30 3 * * 1-5", "12345", "0", ""},
	{"TZ=Asia/Tokyo 0 3 * * *", "0123456", "0", ""},
	{"CRON_TZ=UTC @daily", "0123456", "0", ""},
	{"TZ=UTC @daily", "0123456", "0", ""},
	{"CRON_TZ=Asia/Tokyo @every 1h", "1", "0", ""},
	{"TZ=Local 0 3 * * *", "0123456", "0", ""},
	{"CRON_TZ= 0 4 * * *", "0123456", "0", "cron"},
	{"TZ= 0 4 * * *", "0123456", "0", "cron"},
	{"TZ=UTC", "0123456", "0", "cron"}, // robfig panics on this one
	{"CRON_TZ=UTC", "0123456", "0", "cron"},
	{"CRON_TZ=", "0123456", "0", "cron"},
	{"TZ=UTC* * * * *", "0123456", "0", "cron"},
	{"CRON_TZ=Nowhere/City 0 4 * * *", "0123456", "0", "cron"},
	{"TZ=Mars/Olympus @daily", "0123456", "0", "cron"},
	// Never firing, malformed.
	{"0 0 30 2 *", "0123456", "0", "cron"},
	{"0 0 31 4 *", "0123456", "0", "cron"},
	{"", "0123456", "0", "cron"},
	{"   ", "0123456", "0", "cron"},
	{"0 0 4 * * *", "0123456", "0", "cron"},
	{"* * *", "0123456", "0", "cron"},
	{"61 4 * * *", "0123456", "0", "cron"},
	{"5-1 * * * *", "0123456", "0", "cron"},
	{"bad", "0123456", "0", "cron"},
	// Days, and specs that never fire on them.
	{"0 4 * * *", "", "0", "days_of_week"},
	{"0 4 * * *", "0128", "0", "days_of_week"},
	{"0 4 * * *", "7", "0", "days_of_week"},
	{"0 4 * * *", "1231", "0", "days_of_week"},
	{"0 4 * * *", "Mon", "0", "days_of_week"},
	{"0 4 * * *", "1,2", "0", "days_of_week"},
	{"0 4 * * 1", "0", "0", "days_of_week"},
	{"0 0 29 2 *", "1", "0", "days_of_week"},
	// Random wait.
	{"0 4 * * *", "0123456", "-1s", "random_wait"},
}

// TestScheduleVerdictsAgree runs every schedule through configuration
// loading (client.ParseConfig of a real document), through the daemon's
// start and through the policy of "hotfix cron", and requires the same
// verdict, charged to the same setting.
func TestScheduleVerdictsAgree(t *testing.T) {
	dir := t.TempDir()
	base, err := daemonClient(t, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range scheduleCases {
		t.Run(fmt.Sprintf("%q/%q/%q", tc.cron, tc.days, tc.wait), func(t *testing.T) {
			loadErr := loadSchedule(t, dir, tc.cron, tc.days, tc.wait, tc.bad)

			// The daemon and cron get a configuration that holds these
			// settings whatever loading said of them.
			wait, err := time.ParseDuration(tc.wait)
			if err != nil {
				t.Fatal(err)
			}
			cfg := *base.Cfg
			cfg.Schedule.Cron, cfg.Schedule.DaysOfWeek, cfg.Schedule.RandomWait = tc.cron, tc.days, client.Duration{Duration: wait}
			cl, err := client.New(&cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			daemonErr := startDaemonOnce(cl)
			cronErr := cronOnce(cl)

			for name, err := range map[string]error{"configuration loading": loadErr, "daemon": daemonErr, "cron": cronErr} {
				switch {
				case tc.bad == "" && err != nil:
					t.Errorf("%s refused it: %v", name, err)
				case tc.bad != "" && err == nil:
					t.Errorf("%s accepted it, want %s refused", name, tc.bad)
				case tc.bad != "" && !strings.Contains(err.Error(), tc.bad+": "):
					t.Errorf("%s: %v does not name %s", name, err, tc.bad)
				}
			}
		})
	}
}

// loadSchedule loads a configuration document with these settings and
// checks that a refusal names the setting's key and line.
func loadSchedule(t *testing.T, dir, cron, days, wait, bad string) error {
	t.Helper()
	doc := fmt.Sprintf(`repo = "http://127.0.0.1:1"
product = "acme"
root = %q
version = "2.4.1"
[schedule]
cron = %q
days_of_week = %q
random_wait = %q
`, dir, cron, days, wait)
	_, err := client.ParseConfig(filepath.Join(dir, "hotfix.toml"), []byte(doc))
	if err == nil || bad == "" {
		return err
	}
	var ce *client.ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("%v is not a *client.ConfigError", err)
	}
	line := map[string]int{"cron": 6, "days_of_week": 7, "random_wait": 8}[bad]
	if ce.Key != "schedule."+bad || ce.Line != line {
		t.Errorf("%v: key %s line %d, want schedule.%s line %d", err, ce.Key, ce.Line, bad, line)
	}
	return err
}

// startDaemonOnce starts Daemon on cl and stops it at once: what it says
// of the schedule is what it says at start.
func startDaemonOnce(cl *client.Client) error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return Daemon(ctx, DaemonOptions{
		Load:  func() (*client.Client, error) { return cl, nil },
		Clock: newManualClock(at("2026-11-20T05:00:00Z")),
		Run: func(context.Context, *client.Client, RunOptions) (*Report, error) {
			return nil, errors.New("the daemon ran with a context that has ended")
		},
	})
}

// cronOnce is the policy of one "hotfix cron" on cl, without the random
// wait; a day the schedule does not allow still means it was accepted.
func cronOnce(cl *client.Client) error {
	monday := at("2026-11-23T05:00:00Z")
	_, err := Scheduled(context.Background(), cl, ScheduledOptions{Trigger: "cron", Due: monday, NoWait: true,
		Run: func(context.Context, *client.Client, RunOptions) (*Report, error) { return &Report{}, nil }})
	if errors.Is(err, ErrNotRunDay) {
		return nil // the schedule was accepted; today is just not its day
	}
	return err
}
