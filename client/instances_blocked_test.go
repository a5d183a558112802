package client

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/repo"
)

// setInstanceKey adds key = value to the [[instance]] table of name in
// the tree's configuration and reloads it.
func (e *treeEnv) setInstanceKey(t testing.TB, name, line string) {
	t.Helper()
	data, err := os.ReadFile(e.Config)
	if err != nil {
		t.Fatal(err)
	}
	head := "name = \"" + name + "\"\n"
	cfg := strings.Replace(string(data), head, head+line+"\n", 1)
	if err := os.WriteFile(e.Config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if e.Cfg, err = LoadConfig(e.Config); err != nil {
		t.Fatalf("%v\n%s", err, cfg)
	}
}

// treeStatus runs "hotfix status --json" and returns each instance's
// state and blocked message by name.
func (e *treeEnv) treeStatus(t testing.TB) (states, blocked map[string]string) {
	t.Helper()
	res := e.hotfix(t, "status", "--json")
	var ts struct {
		Instances []struct{ Name, State, Blocked string } `json:"instances"`
	}
	if err := json.Unmarshal([]byte(res.Stdout), &ts); err != nil || res.Code != 0 {
		t.Fatalf("status --json: exit %d %v\n%s%s", res.Code, err, res.Stdout, res.Stderr)
	}
	states, blocked = map[string]string{}, map[string]string{}
	for _, is := range ts.Instances {
		states[is.Name], blocked[is.Name] = is.State, is.Blocked
	}
	return states, blocked
}

// TestTreeStatusBlocked: status shows state "blocked" (with "blocked:
// parent X is at V") for a child with fixes pending whose parent is not
// past it, whether the parent was held to a version or failed; a child
// its parent is ahead of is merely pending.
func TestTreeStatusBlocked(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, e *treeEnv)
		want  map[string]string // instance: state, blocked message after "|"
	}{
		{"parent held to a version", func(t *testing.T, e *treeEnv) {
			if res := e.hotfix(t, "--instance", "a", "install", "1.0.1", "--yes"); res.Code != 0 {
				t.Fatalf("a to 1.0.1: exit %d %s", res.Code, res.Stderr)
			}
			if res := e.hotfix(t, "--instance", "b", "install", "--yes"); res.Code != 1 {
				t.Fatalf("b past a: exit %d %s", res.Code, res.Stderr)
			}
		}, map[string]string{
			"a": "pending|", "b": "blocked|blocked: parent a is at 1.0.1", "c": "pending|",
			"d": "pending|", "e": "pending|",
		}},
		{"parent failed", func(t *testing.T, e *treeEnv) {
			if err := os.WriteFile(filepath.Join(e.Roots["a"], "FAIL-1.0.1"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if res := e.hotfix(t, "install", "--yes"); res.Code != 1 {
				t.Fatalf("install with a failing: exit %d %s", res.Code, res.Stderr)
			}
		}, map[string]string{
			"a": "pending|", "b": "blocked|blocked: parent a is at 1.0", "c": "blocked|blocked: parent a is at 1.0",
			"d": "blocked|blocked: parent b is at 1.0", "e": "blocked|blocked: parent b is at 1.0",
		}},
		{"parents ahead", func(t *testing.T, e *treeEnv) {
			if res := e.hotfix(t, "--instance", "a", "--instance", "b", "install", "--yes"); res.Code != 0 {
				t.Fatalf("a and b: exit %d %s", res.Code, res.Stderr)
			}
		}, map[string]string{
			"a": "up to date|", "b": "up to date|", "c": "pending|", "d": "pending|", "e": "pending|",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTreeEnv(t, "")
			tc.setup(t, e)
			if res := e.hotfix(t, "check"); res.Code != 100 {
				t.Fatalf("check: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
			}
			states, blocked := e.treeStatus(t)
			for name, want := range tc.want {
				if got := states[name] + "|" + blocked[name]; got != want {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}
			text := e.hotfix(t, "status").Stdout
			for name, want := range tc.want {
				if _, msg, _ := strings.Cut(want, "|"); msg != "" && !strings.Contains(text, "instance "+name+" ") || msg != "" && !strings.Contains(text, "  "+msg+"\n") {
					t.Errorf("status does not say %q for %s:\n%s", msg, name, text)
				}
			}
		})
	}
}

// TestTreeBlockedBehindWaitingParentExits75: a child held back only
// because its parent waits for the cluster's primary (or is paused)
// waits too: install and the scheduled run exit 75, not 1, and the
// message names the parent's reason; a child behind a parent that failed
// still makes the run fail (1).
func TestTreeBlockedBehindWaitingParentExits75(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, e *treeEnv, shared string)
		node  bool   // a cluster secondary
		level int    // every root's level after the run
		code  int    // of install and of cron
		say   string // in the output
	}{
		{"parent alone a secondary", func(t *testing.T, e *treeEnv, _ string) {
			for _, name := range []string{"b", "c", "d", "e"} {
				e.setInstanceKey(t, name, `role = "single"`)
			}
		}, true, 0, 75, "install 1.0.1 on a first (a waits for the cluster's primary"},
		{"parent's record behind the child's", func(t *testing.T, e *treeEnv, shared string) {
			for name, lv := range map[string]string{"a": "1.0.1", "b": "1.0.2", "c": "1.0.2", "d": "1.0.2", "e": "1.0.2"} {
				rec := PrimaryRecord{Node: "web01", Instance: name, Product: "tree", Base: repo.MustParseVersion("1.0"), Level: repo.MustParseVersion(lv), At: time.Now().UTC()}
				if err := writeShared(primaryPath(shared, name), &rec); err != nil {
					t.Fatal(err)
				}
			}
		}, true, 1, 75, "instance d: blocked: parent b is at 1.0.1"},
		{"parent paused", func(t *testing.T, e *treeEnv, _ string) {
			if res := e.hotfix(t, "--instance", "a", "pause", "--reason", "a by hand"); res.Code != 0 {
				t.Fatalf("pause a: exit %d %s", res.Code, res.Stderr)
			}
		}, false, 0, 75, "instance b: blocked: parent a failed"},
		{"parent failed", func(t *testing.T, e *treeEnv, _ string) {
			if err := os.WriteFile(filepath.Join(e.Roots["a"], "FAIL-1.0.1"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}, false, 0, 1, "instance b: blocked: parent a failed"},
	} {
		for _, cmd := range [][]string{{"install", "--yes"}, {"cron", "--now"}} {
			t.Run(tc.name+"/"+cmd[0], func(t *testing.T) {
				t.Parallel()
				shared := t.TempDir()
				extra := ""
				if tc.node {
					extra = "role = \"secondary\"\n[notify]\nsystem_name = \"web02\"\n[cluster]\nshared_dir = \"" + shared + "\"\n"
				}
				e := newTreeEnv(t, extra)
				tc.setup(t, e, shared)
				res := e.hotfix(t, cmd...)
				if res.Code != tc.code || !strings.Contains(res.Stdout+res.Stderr, tc.say) {
					t.Errorf("exit %d, want %d saying %q\n%s%s", res.Code, tc.code, tc.say, res.Stdout, res.Stderr)
				}
				for _, name := range treeNames() {
					if name == "a" && tc.name == "parent failed" {
						continue
					}
					assertTree(t, expectedRoot(t, tc.level), e.Roots[name])
				}
			})
		}
	}
}
