package client

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/client/notify"
	"github.com/hotfix-project/hotfix/internal/testkit"
)

// overlap fails unless the scripts of siblings x and y ran at the same
// time at some point (parallel = 2 lets a level's instances run
// together).
func overlap(t testing.TB, st map[string][]stamp, x, y string) {
	t.Helper()
	sx, sy := st[x], st[y]
	if len(sx) == 0 || len(sy) == 0 {
		t.Errorf("%s or %s ran no script", x, y)
		return
	}
	if !(sx[0].at < sy[len(sy)-1].at && sy[0].at < sx[len(sx)-1].at) {
		t.Errorf("siblings %s [%d, %d] and %s [%d, %d] never ran at the same time", x, sx[0].at, sx[len(sx)-1].at, y, sy[0].at, sy[len(sy)-1].at)
	}
}

// partsOf is the instance parts of a run's report by name, and their
// names in the report's order.
func partsOf(rep notify.Report) (map[string]*notify.Report, string) {
	out := map[string]*notify.Report{}
	var order []string
	for _, p := range rep.Instances {
		out[p.Instance] = p
		order = append(order, p.Instance)
	}
	return out, strings.Join(order, "")
}

func versionsOf2(fs []notify.ReportFix) string {
	var s []string
	for _, f := range fs {
		s = append(s, f.Version)
	}
	return strings.Join(s, ",")
}

// TestTreeCronRunsTheTree: "hotfix cron --now" over a three-level tree
// of five instances installs it as "hotfix install" does: level by level
// (the scripts' own clocks), siblings at the same time (parallel = 2),
// under the one run lock, and sends one report for the run naming every
// instance; a failing leaf fails only itself, and the report says which
// instance failed at which fix.
func TestTreeCronRunsTheTree(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		failing string // instance whose root fails fix 1.0.1
		code    int
		outcome string
		parts   map[string]string // instance: outcome, installed
	}{
		{"every instance", "", 0, "installed", map[string]string{
			"a": "installed 1.0.1,1.0.2", "b": "installed 1.0.1,1.0.2", "c": "installed 1.0.1,1.0.2",
			"d": "installed 1.0.1,1.0.2", "e": "installed 1.0.1,1.0.2"}},
		{"a failing leaf", "e", 1, "failed", map[string]string{
			"a": "installed 1.0.1,1.0.2", "b": "installed 1.0.1,1.0.2", "c": "installed 1.0.1,1.0.2",
			"d": "installed 1.0.1,1.0.2", "e": "failed "}},
		{"a failing middle", "b", 1, "failed", map[string]string{
			"a": "installed 1.0.1,1.0.2", "b": "failed ", "c": "installed 1.0.1,1.0.2",
			"d": "blocked ", "e": "blocked "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sink := testkit.NewWebhookSink[notify.Report](t, http.StatusOK)
			e := newTreeEnv(t, "[notify]\nsystem_name = \"x3\"\nwebhook = \""+sink.URL+"\"\n")
			if tc.failing != "" {
				testkit.WriteFile(t, e.Roots[tc.failing], "FAIL-1.0.1", "", 0o644)
			} else {
				e.meet(t, [2]string{"b", "c"}, [2]string{"d", "e"})
			}
			res := e.hotfix(t, "cron", "--now", "--json")
			if res.Code != tc.code {
				t.Fatalf("cron: exit %d, want %d\n%s%s", res.Code, tc.code, res.Stdout, res.Stderr)
			}
			var rep notify.Report
			if err := json.Unmarshal([]byte(res.Stdout), &rep); err != nil {
				t.Fatalf("cron --json: %v\n%s", err, res.Stdout)
			}
			posts := sink.Await(t, 1)
			if len(posts) != 1 {
				t.Fatalf("%d reports posted for one run, want one", len(posts))
			}
			for _, r := range []notify.Report{rep, posts[0]} {
				parts, order := partsOf(r)
				if r.Outcome != tc.outcome || order != "abcde" || versionsOf2(r.Installed) != "1.0.1,1.0.2" || r.Base != "1.0" {
					t.Errorf("report: outcome %q, instances %q, installed %s, base %q", r.Outcome, order, versionsOf2(r.Installed), r.Base)
				}
				for name, want := range tc.parts {
					p := parts[name]
					if got := p.Outcome + " " + versionsOf2(p.Installed); got != want || p.Parent != treeParents[name] {
						t.Errorf("%s: %q (parent %q), want %q", name, got, p.Parent, want)
					}
					if strings.HasPrefix(want, "installed") && (p.State == nil || p.State.Level != "1.0.2" || p.State.Instance != name) {
						t.Errorf("%s: state after the run %+v", name, p.State)
					}
				}
				if tc.failing != "" && !strings.Contains(r.Error, "instance "+tc.failing+": fix 1.0.1: script 10-stamp.sh") {
					t.Errorf("error %q does not name instance, fix and step", r.Error)
				}
			}
			st := e.stamps(t)
			e.checkOrder(t, st)
			if tc.failing == "" {
				overlap(t, st, "b", "c")
				overlap(t, st, "d", "e")
			}
			for name, want := range tc.parts {
				level := 2
				if !strings.HasPrefix(want, "installed") {
					level = 0
				}
				root := e.Roots[name]
				if name == tc.failing {
					os.Remove(filepath.Join(root, "FAIL-1.0.1"))
				}
				assertTree(t, expectedRoot(t, level), root)
				// Each instance's own audit record of the run.
				data, err := os.ReadFile(filepath.Join(e.Dir, "log", "instances", name, AuditName))
				if err != nil || !strings.Contains(string(data), `"scheduled-run"`) {
					t.Errorf("%s: audit log %v\n%s", name, err, data)
				}
			}
			// One run lock for the run, the host's; none per instance.
			if _, err := os.Stat(filepath.Join(e.Dir, "lock", "run.lock")); err != nil {
				t.Errorf("the host's run lock: %v", err)
			}
			for _, name := range treeNames() {
				if _, err := os.Stat(filepath.Join(e.Dir, "lock", "instances", name, "run.lock")); err == nil {
					t.Errorf("instance %s took a run lock of its own", name)
				}
			}
		})
	}
}

// TestTreeCronTextReport: without mail_to and webhook, "hotfix cron"
// prints the one report of the run (as cron would mail it to MAILTO),
// one line per instance, parents first; a second run finds the tree up
// to date and prints nothing (mail_report = "on-change").
func TestTreeCronTextReport(t *testing.T) {
	t.Parallel()
	e := newTreeEnv(t, "[notify]\nsystem_name = \"x3\"\n")
	res := e.hotfix(t, "cron", "--now")
	if res.Code != 0 {
		t.Fatalf("cron: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	if n := strings.Count(res.Stdout, "hotfix scheduled run on x3"); n != 1 {
		t.Errorf("%d reports printed for one run, want one:\n%s", n, res.Stdout)
	}
	want := "Instances:\n" +
		"  a: installed 1.0.1, 1.0.2, at 1.0.2\n" +
		"  b (parent a): installed 1.0.1, 1.0.2, at 1.0.2\n" +
		"  c (parent a): installed 1.0.1, 1.0.2, at 1.0.2\n" +
		"  d (parent b): installed 1.0.1, 1.0.2, at 1.0.2\n" +
		"  e (parent b): installed 1.0.1, 1.0.2, at 1.0.2\n"
	if !strings.Contains(res.Stdout, want) || !strings.Contains(res.Stdout, "outcome: installed") {
		t.Errorf("report, want\n%s\ngot:\n%s", want, res.Stdout)
	}
	res = e.hotfix(t, "cron", "--now")
	if res.Code != 0 || res.Stdout != "" {
		t.Errorf("second run: exit %d, printed\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
}

// TestTreeDaemonRunsTheTree: the real "hotfix daemon" over a tree of
// five instances, told to run now (SIGUSR1, as systemctl kill -s USR1
// does; no day filter, so days_of_week names a day that is not today),
// installs the tree level by level with siblings together and posts one
// report for the run; a second run finds it up to date; SIGTERM stops
// it with exit 0.
func TestTreeDaemonRunsTheTree(t *testing.T) {
	t.Parallel()
	sink := testkit.NewWebhookSink[notify.Report](t, http.StatusOK)
	other := (time.Now().Weekday() + 3) % 7
	e := newTreeEnv(t, fmt.Sprintf("[schedule]\ncron = \"0 4 * * *\"\ndays_of_week = \"%d\"\nrandom_wait = \"1h\"\n", other)+
		"[notify]\nsystem_name = \"x3\"\nwebhook = \""+sink.URL+"\"\n")
	e.meet(t, [2]string{"b", "c"}, [2]string{"d", "e"})
	cmd := exec.Command(hotfixBinary(t), "--config", e.Config, "-v", "daemon")
	cmd.Env = append(os.Environ(), "HOTFIX_CONFIG=/nonexistent/hotfix.toml")
	stderr := &testkit.LockedBuffer{}
	cmd.Stdout, cmd.Stderr = stderr, stderr
	cmd.WaitDelay = 5 * time.Second // a script it started may hold the pipe
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			cmd.Process.Kill()
			<-done
		}
	})
	stderr.Await(t, "daemon started")

	cmd.Process.Signal(syscall.SIGUSR1)
	rep := sink.Await(t, 1)[0]
	parts, order := partsOf(rep)
	if rep.Outcome != notify.OutcomeInstalled || order != "abcde" || rep.Trigger != "daemon (run now)" {
		t.Errorf("report: outcome %q, instances %q, trigger %q", rep.Outcome, order, rep.Trigger)
	}
	for _, name := range treeNames() {
		if p := parts[name]; p.Outcome != notify.OutcomeInstalled || versionsOf2(p.Installed) != "1.0.1,1.0.2" {
			t.Errorf("%s: %s %s", name, p.Outcome, versionsOf2(p.Installed))
		}
		assertTree(t, expectedRoot(t, 2), e.Roots[name])
	}
	st := e.stamps(t)
	e.checkOrder(t, st)
	overlap(t, st, "b", "c")
	overlap(t, st, "d", "e")

	// Only once the daemon has seen the run end, or it rightly skips
	// the next as overlapping (a loaded machine widens that window).
	stderr.Await(t, "scheduled run ended")
	cmd.Process.Signal(syscall.SIGUSR1)
	if posts := sink.Await(t, 2); posts[1].Outcome != notify.OutcomeUpToDate || len(posts[1].Instances) != 5 {
		t.Errorf("second run: %q over %d instances", posts[1].Outcome, len(posts[1].Instances))
	}
	stderr.Await(t, "outcome=\"up to date\"")
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
		if waitErr != nil {
			t.Errorf("daemon after SIGTERM: %v\n%s", waitErr, stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("daemon did not stop:\n%s", stderr)
	}
}

// TestTreeCronLocked: a scheduled run over instances finding the tree
// busy skips it whole with exit 75 and changes nothing: another
// scheduled run holds the run lock, or an install over the instances
// holds the host's transaction lock (the report then says locked for
// every instance).
func TestTreeCronLocked(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		busy []string // what hangs in a's first script
	}{
		{"another scheduled run", []string{"cron", "--now"}},
		{"an install", []string{"install", "--yes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTreeEnv(t, "")
			testkit.WriteFile(t, filepath.Join(e.Dir, "hang"), "a", "", 0o644)
			busy := exec.Command(hotfixBinary(t), append([]string{"--config", e.Config}, tc.busy...)...)
			busy.Env = append(os.Environ(), "HOTFIX_CONFIG=")
			if err := busy.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { busy.Process.Kill(); busy.Wait() })
			waitFile(t, filepath.Join(e.Dir, "hang", "a.started"), busy)

			res := e.hotfix(t, "cron", "--now", "--json")
			var rep notify.Report
			if err := json.Unmarshal([]byte(res.Stdout), &rep); err != nil || res.Code != 75 || rep.Outcome != notify.OutcomeLocked {
				t.Fatalf("cron while busy: exit %d, outcome %q %v\n%s%s", res.Code, rep.Outcome, err, res.Stdout, res.Stderr)
			}
			if tc.busy[0] == "install" {
				parts, order := partsOf(rep)
				if order != "abcde" || parts["d"].Outcome != notify.OutcomeLocked || !strings.Contains(parts["d"].LockedBy, "transaction.lock") {
					t.Errorf("parts %q, d: %+v", order, parts["d"])
				}
			}
			if got := listFiles(t, filepath.Join(e.Dir, "stamps")); len(got) != 0 {
				t.Errorf("scripts ran beside the busy run: %v", got)
			}
			for _, name := range []string{"b", "c", "d", "e"} {
				assertTree(t, expectedRoot(t, 0), e.Roots[name])
			}
		})
	}
}

// TestTreeCronKillNine: a scheduled run killed with SIGKILL while an
// instance of the second level runs a script is finished by the next
// scheduled run: the interrupted instance recovers from its journal,
// finished ones are skipped, and every root ends as expected. An unknown
// --instance is a usage error (exit 2).
func TestTreeCronKillNine(t *testing.T) {
	t.Parallel()
	e := newTreeEnv(t, "")
	testkit.WriteFile(t, filepath.Join(e.Dir, "hang"), "c-1.0.2", "", 0o644)
	cmd := exec.Command(hotfixBinary(t), "--config", e.Config, "cron", "--now")
	cmd.Env = append(os.Environ(), "HOTFIX_CONFIG=")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFile(t, filepath.Join(e.Dir, "hang", "c.started"), cmd)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	os.Remove(filepath.Join(e.Dir, "hang", "c-1.0.2"))

	if res := e.hotfix(t, "--instance", "zz", "cron", "--now"); res.Code != 2 || !strings.Contains(res.Stderr, `"zz" is not an instance`) {
		t.Errorf("unknown instance: exit %d %s", res.Code, res.Stderr)
	}
	res := e.hotfix(t, "cron", "--now", "--json")
	var rep notify.Report
	if err := json.Unmarshal([]byte(res.Stdout), &rep); err != nil || res.Code != 0 {
		t.Fatalf("cron after the kill: exit %d %v\n%s%s", res.Code, err, res.Stdout, res.Stderr)
	}
	parts, _ := partsOf(rep)
	if a := parts["a"]; a.Outcome != notify.OutcomeUpToDate {
		t.Errorf("a, finished before the kill: %s %s", a.Outcome, versionsOf2(a.Installed))
	}
	if c := parts["c"]; c.Outcome != notify.OutcomeInstalled || versionsOf2(c.Installed) != "1.0.2" {
		t.Errorf("c, interrupted in 1.0.2: %s %s", c.Outcome, versionsOf2(c.Installed))
	}
	for _, name := range treeNames() {
		assertTree(t, expectedRoot(t, 2), e.Roots[name])
	}
	e.checkOrder(t, e.stamps(t))
}
