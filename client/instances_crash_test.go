package client

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/testkit"
)

// hotfix runs the real binary against the tree's configuration.
func (e *treeEnv) hotfix(t testing.TB, args ...string) runResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	return run(t, ctx, append([]string{"--config", e.Config}, args...)...)
}

// waitFile waits for path to exist, failing the test after a while.
func waitFile(t testing.TB, path string, cmd *exec.Cmd) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("%s never appeared", path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTreeKillNineInSecondLevel kills the real binary with SIGKILL while
// an instance of the second level runs a script (its first fix, or its
// second after the first committed); the next "hotfix install" recovers
// that instance from its journal, skips what is finished, and finishes
// the tree: every root equal to the expected one.
func TestTreeKillNineInSecondLevel(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, hang string }{
		{"c in its first fix", "c-1.0.1"},
		{"b in its second fix", "b-1.0.2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTreeEnv(t, "")
			inst := strings.SplitN(tc.hang, "-", 2)[0]
			testkit.WriteFile(t, filepath.Join(e.Dir, "hang"), tc.hang, "", 0o644)
			cmd := exec.Command(hotfixBinary(t), "--config", e.Config, "install", "--yes")
			cmd.Env = append(os.Environ(), "HOTFIX_CONFIG=")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waitFile(t, filepath.Join(e.Dir, "hang", inst+".started"), cmd)
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			os.Remove(filepath.Join(e.Dir, "hang", tc.hang))

			st := e.hotfix(t, "status", "--json")
			var ts TreeStatus
			if err := json.Unmarshal([]byte(st.Stdout), &ts); err != nil {
				t.Fatalf("status --json: %v\n%s%s", err, st.Stdout, st.Stderr)
			}
			states := map[string]string{}
			for _, is := range ts.Instances {
				states[is.Name] = is.State
			}
			if states[inst] != "interrupted" || states["a"] != "up to date" || states["d"] == "interrupted" {
				t.Errorf("status after the kill: %v", states)
			}

			res := e.hotfix(t, "install", "--yes")
			if res.Code != 0 {
				t.Fatalf("install after the kill: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
			}
			if !strings.Contains(res.Stdout, "a: nothing to install: up to date at 1.0.2") {
				t.Errorf("the finished instance a was not skipped:\n%s", res.Stdout)
			}
			for _, name := range treeNames() {
				assertTree(t, expectedRoot(t, 2), e.Roots[name])
				st, err := LoadState(filepath.Join(e.Dir, "state", "instances", name))
				if err != nil || len(st.Installed) != 2 {
					t.Errorf("%s: state %+v, %v", name, st, err)
				}
			}
			e.checkOrder(t, e.stamps(t))
		})
	}
}

// TestTreeCommandLine runs the instance commands through the real
// binary: --instance refusing a child past its parent (exit 1, its root
// untouched), install --dry-run over the tree changing nothing, status
// --json listing every instance, and rollback going children first.
func TestTreeCommandLine(t *testing.T) {
	t.Parallel()
	e := newTreeEnv(t, "")
	before := map[string]tree{}
	for _, name := range treeNames() {
		before[name] = snapshot(t, e.Roots[name])
	}
	res := e.hotfix(t, "--instance", "b", "install", "--yes")
	if res.Code != 1 || !strings.Contains(res.Stderr, "instance b: blocked: parent a is at 1.0") {
		t.Errorf("b past a: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	res = e.hotfix(t, "install", "--instance", "d", "--instance", "b", "--yes")
	if res.Code != 1 || !strings.Contains(res.Stderr, "instance b: blocked") || !strings.Contains(res.Stderr, "instance d: blocked: parent b is at 1.0") {
		t.Errorf("b and d past a: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	res = e.hotfix(t, "install", "--dry-run")
	if res.Code != 0 || strings.Count(res.Stdout, "would install (dry run, tests passed) 1.0.2") != 5 {
		t.Errorf("dry run: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	for _, name := range treeNames() {
		assertTree(t, before[name], e.Roots[name])
	}
	if got := listFiles(t, filepath.Join(e.Dir, "stamps")); len(got) != 0 {
		t.Errorf("scripts ran: %v", got)
	}
	if res = e.hotfix(t, "--instance", "zz", "status"); res.Code != 2 || !strings.Contains(res.Stderr, `"zz" is not an instance`) {
		t.Errorf("unknown instance: exit %d %s", res.Code, res.Stderr)
	}
	if res = e.hotfix(t, "history"); res.Code != 2 || !strings.Contains(res.Stderr, "name one with --instance NAME (a, b, c, d, e)") {
		t.Errorf("history without --instance: exit %d %s", res.Code, res.Stderr)
	}
	if res = e.hotfix(t, "check"); res.Code != 100 || strings.Count(res.Stdout, "2 fixes pending (installed: 1.0)") != 5 || !strings.HasPrefix(res.Stdout, "a: tree 1.0") {
		t.Errorf("check over the tree: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	res = e.hotfix(t, "--json", "check", "--instance", "d", "--instance", "e")
	var cj struct {
		Instances []struct {
			Name    string
			Pending []struct{ Version string }
		}
	}
	if err := json.Unmarshal([]byte(res.Stdout), &cj); err != nil || res.Code != 100 || len(cj.Instances) != 2 || cj.Instances[1].Name != "e" || len(cj.Instances[1].Pending) != 2 {
		t.Errorf("check --json d, e: exit %d %v\n%s%s", res.Code, err, res.Stdout, res.Stderr)
	}
	if res = e.hotfix(t, "--instance", "c", "check"); res.Code != 100 {
		t.Errorf("check --instance c: exit %d %s%s", res.Code, res.Stdout, res.Stderr)
	}

	if res = e.hotfix(t, "install", "--yes"); res.Code != 0 {
		t.Fatalf("install: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	if res = e.hotfix(t, "--instance", "d", "history"); res.Code != 0 || !strings.Contains(res.Stdout, "1.0.2") {
		t.Errorf("history of d: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	res = e.hotfix(t, "status", "--json")
	var ts struct {
		Product   string `json:"product"`
		Instances []struct {
			Name, Parent, Base, Level, State string
			Pending                          int
			Installed                        []struct{ Version string }
		} `json:"instances"`
	}
	if err := json.Unmarshal([]byte(res.Stdout), &ts); err != nil || len(ts.Instances) != 5 {
		t.Fatalf("status --json: %v\n%s", err, res.Stdout)
	}
	for _, is := range ts.Instances {
		if is.Base != "1.0" || is.Level != "1.0.2" || len(is.Installed) != 2 || is.State != "up to date" || is.Parent != treeParents[is.Name] {
			t.Errorf("status of %s: %+v", is.Name, is)
		}
	}
	if order := ts.Instances[0].Name + ts.Instances[1].Name + ts.Instances[2].Name; order != "abc" {
		t.Errorf("status order %s, want parents first", order)
	}

	// Rolling back a alone would leave its children above it.
	if res = e.hotfix(t, "--instance", "a", "rollback"); res.Code != 1 || !strings.Contains(res.Stderr, "would leave its child b at 1.0.2 above it") {
		t.Errorf("rollback of a alone: exit %d %s", res.Code, res.Stderr)
	}
	assertTree(t, expectedRoot(t, 2), e.Roots["a"])
	// b and its subtree: children first, to 1.0.1.
	res = e.hotfix(t, "--instance", "b", "--instance", "d", "--instance", "e", "rollback")
	if res.Code != 0 {
		t.Fatalf("rollback b, d, e: exit %d %s%s", res.Code, res.Stdout, res.Stderr)
	}
	if !strings.Contains(res.Stdout, "d: rolled back 1.0.2") || strings.Index(res.Stdout, "b: rolled back") < strings.Index(res.Stdout, "d: rolled back") {
		t.Errorf("rollback output, want children first:\n%s", res.Stdout)
	}
	for name, level := range map[string]int{"a": 2, "b": 1, "c": 2, "d": 1, "e": 1} {
		assertTree(t, expectedRoot(t, level), e.Roots[name])
	}
}

// TestTreeScheduledRunAndHostPause: "hotfix cron --now" takes every
// instance parents first; "hotfix pause" (no --instance) holds off the
// tree and each instance alone (exit 75), and "resume" lets them go.
func TestTreeScheduledRunAndHostPause(t *testing.T) {
	t.Parallel()
	metrics := t.TempDir()
	e := newTreeEnv(t, "[notify]\nmetrics_file = \""+filepath.Join(metrics, "hotfix.prom")+"\"\n")
	if res := e.hotfix(t, "pause", "--reason", "full patch"); res.Code != 0 {
		t.Fatalf("pause: exit %d %s", res.Code, res.Stderr)
	}
	for _, args := range [][]string{{"install", "--yes"}, {"--instance", "c", "install", "--yes"}, {"cron", "--now"}, {"--instance", "d", "cron", "--now"}} {
		if res := e.hotfix(t, args...); res.Code != 75 || !strings.Contains(res.Stdout+res.Stderr, "full patch") {
			t.Errorf("%v while paused: exit %d\n%s%s", args, res.Code, res.Stdout, res.Stderr)
		}
	}
	for _, name := range treeNames() {
		assertTree(t, expectedRoot(t, 0), e.Roots[name])
	}
	if res := e.hotfix(t, "resume"); res.Code != 0 {
		t.Fatalf("resume: exit %d %s", res.Code, res.Stderr)
	}
	res := e.hotfix(t, "cron", "--now", "--json")
	if res.Code != 0 {
		t.Fatalf("cron --now: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	var out struct {
		Instances []struct {
			State struct{ Instance, Level string } `json:"state"`
		} `json:"instances"`
	}
	if err := json.Unmarshal([]byte(res.Stdout), &out); err != nil || len(out.Instances) != 5 {
		t.Fatalf("cron --json: %v\n%s", err, res.Stdout)
	}
	for _, name := range treeNames() {
		assertTree(t, expectedRoot(t, 2), e.Roots[name])
		// Each instance's metrics, in a file of its own, labelled.
		data, err := os.ReadFile(filepath.Join(metrics, "hotfix-"+name+".prom"))
		if err != nil || !strings.Contains(string(data), `hotfix_instance="`+name+`"`) || !strings.Contains(string(data), `level="1.0.2"`) {
			t.Errorf("metrics of %s: %v\n%s", name, err, data)
		}
	}
	if _, err := os.Stat(filepath.Join(metrics, "hotfix.prom")); err == nil {
		t.Error("an unlabelled hotfix.prom was written beside the instances' files")
	}
	e.checkOrder(t, e.stamps(t))
}

// TestTreeInstallFromHeldToParent: a local .fix takes a child no
// further past its parent than the repository would.
func TestTreeInstallFromHeldToParent(t *testing.T) {
	t.Parallel()
	e := newTreeEnv(t, "")
	e.installFromHeldToParent(t, filepath.Join(treeRepo(t), "tree", "1.0", "tree-1.0.1.fix"), 1)
}

// installFromHeldToParent checks that install --from (a .fix or an
// export bundle) takes child b no further than its parent a: refused
// with exit 1, naming a's level, and b untouched while a is at its
// base; taken to fix level want once a has installed from it too.
func (e *treeEnv) installFromHeldToParent(t *testing.T, from string, want int) {
	t.Helper()
	res := e.hotfix(t, "--instance", "b", "install", "--from", from)
	if res.Code != 1 || !strings.Contains(res.Stderr, "blocked: parent a is at 1.0") {
		t.Errorf("install --from %s past the parent: exit %d\n%s%s", from, res.Code, res.Stdout, res.Stderr)
	}
	assertTree(t, expectedRoot(t, 0), e.Roots["b"])
	if res = e.hotfix(t, "--instance", "a", "install", "--from", from); res.Code != 0 {
		t.Fatalf("install --from %s on a: exit %d\n%s%s", from, res.Code, res.Stdout, res.Stderr)
	}
	if res = e.hotfix(t, "--instance", "b", "install", "--from", from); res.Code != 0 {
		t.Fatalf("install --from %s on b after a: exit %d\n%s%s", from, res.Code, res.Stdout, res.Stderr)
	}
	assertTree(t, expectedRoot(t, want), e.Roots["b"])
}
