package client

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// hookLine is one line a test hook wrote: which hook, when (its own
// clock), HOTFIX_INSTANCES and HOTFIX_VERSIONS.
type hookLine struct {
	name                string
	at                  int64
	instances, versions string
}

// treeHookTable is a [hooks] table whose hooks log to DIR/hooks.txt;
// fail names the hooks that exit 1 after logging.
func treeHookTable(dir string, fail ...string) string {
	s := "[hooks]\n"
	for _, h := range []string{"pre_install", "post_install", "health_check"} {
		cmd := fmt.Sprintf(`echo "%s $(date +%%s%%N) [$HOTFIX_INSTANCES] [$HOTFIX_VERSIONS] $(pwd)" >> %s`, h, filepath.Join(dir, "hooks.txt"))
		for _, f := range fail {
			if f == h {
				cmd += "; exit 1"
			}
		}
		s += fmt.Sprintf("%s = %q\n", h, cmd)
	}
	return s
}

func (e *treeEnv) hookLines(t testing.TB) []hookLine {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(e.Dir, "hooks.txt"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []hookLine
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		name, rest, _ := strings.Cut(line, " ")
		at, rest, _ := strings.Cut(rest, " ")
		n, err := strconv.ParseInt(at, 10, 64)
		if err != nil {
			t.Fatalf("hook line %q", line)
		}
		ins, rest, _ := strings.Cut(strings.TrimPrefix(rest, "["), "] [")
		vs, dir, _ := strings.Cut(rest, "] ")
		if dir != "/" {
			t.Errorf("%s ran in %s, want / (a tree has no one root)", name, dir)
		}
		out = append(out, hookLine{name, n, ins, vs})
	}
	return out
}

func hookNames(hs []hookLine) string {
	var s []string
	for _, h := range hs {
		s = append(s, h.name)
	}
	return strings.Join(s, " ")
}

// TestTreeHooksOnceAroundTheTree: the host's hooks run once around a
// run over instances, by install and by the scheduled run alike:
// pre_install before the first script of any instance, post_install and
// health_check after the last, with HOTFIX_INSTANCES naming the tree and
// HOTFIX_VERSIONS the run's fixes. A failing leaf still gets the service
// started again for its siblings; an unhealthy host takes the run's
// fixes back from every instance; a failed pre_install installs nothing;
// a failed post_install on a healthy host keeps the fixes and says so; a
// run with nothing to install, and a dry run, run no hook.
func TestTreeHooksOnceAroundTheTree(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		args    []string
		fail    []string // hooks that fail
		failing string   // instance whose root fails fix 1.0.1
		code    int
		hooks   string
		levels  map[string]int // each instance's level after the run; nil: 2 everywhere
		say     string
	}{
		{"install", []string{"install", "--yes"}, nil, "", 0, "pre_install post_install health_check", nil, ""},
		{"cron", []string{"cron", "--now"}, nil, "", 0, "pre_install post_install health_check", nil, ""},
		{"a failing leaf", []string{"cron", "--now"}, nil, "e", 1, "pre_install post_install health_check",
			map[string]int{"a": 2, "b": 2, "c": 2, "d": 2, "e": 0}, "instance e: fix 1.0.1"},
		{"unhealthy", []string{"install", "--yes"}, []string{"health_check"}, "", 1, "pre_install post_install health_check",
			map[string]int{"a": 0, "b": 0, "c": 0, "d": 0, "e": 0}, "the fixes of this run (1.0.1, 1.0.2) were rolled back on d"},
		{"unhealthy by cron", []string{"cron", "--now"}, []string{"health_check"}, "", 1, "pre_install post_install health_check",
			map[string]int{"a": 0, "b": 0, "c": 0, "d": 0, "e": 0}, "health_check hook failed"},
		{"pre_install fails", []string{"install", "--yes"}, []string{"pre_install"}, "", 1, "pre_install",
			map[string]int{"a": 0, "b": 0, "c": 0, "d": 0, "e": 0}, "instance a: pre_install hook failed"},
		{"post_install fails", []string{"install", "--yes"}, []string{"post_install"}, "", 1, "pre_install post_install health_check",
			nil, "health_check passed, so the fixes of this run stay installed"},
		{"dry run", []string{"install", "--dry-run"}, nil, "", 0, "", map[string]int{"a": 0, "b": 0, "c": 0, "d": 0, "e": 0}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			e := newTreeEnv(t, treeHookTable(dir, tc.fail...))
			if tc.failing != "" {
				if err := os.WriteFile(filepath.Join(e.Roots[tc.failing], "FAIL-1.0.1"), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			res := e.hotfix(t, tc.args...)
			if res.Code != tc.code || !strings.Contains(res.Stdout+res.Stderr, tc.say) {
				t.Errorf("exit %d, want %d saying %q\n%s%s", res.Code, tc.code, tc.say, res.Stdout, res.Stderr)
			}
			hooks := (&treeEnv{Dir: dir}).hookLines(t)
			if got := hookNames(hooks); got != tc.hooks {
				t.Fatalf("hooks ran: %q, want %q (once each, in that order)", got, tc.hooks)
			}
			for _, h := range hooks {
				if h.instances != "a b c d e" {
					t.Errorf("%s: HOTFIX_INSTANCES %q", h.name, h.instances)
				}
				if h.name != "pre_install" && h.versions != "1.0.1, 1.0.2" {
					t.Errorf("%s: HOTFIX_VERSIONS %q", h.name, h.versions)
				}
			}
			st := e.stamps(t)
			for name, ss := range st {
				for _, s := range ss {
					if len(hooks) > 0 && s.at <= hooks[0].at {
						t.Errorf("%s's script of %s ran before pre_install", name, s.version)
					}
					if len(hooks) > 1 && s.at >= hooks[1].at {
						t.Errorf("%s's script of %s ran after post_install", name, s.version)
					}
				}
			}
			for _, name := range treeNames() {
				level := 2
				if tc.levels != nil {
					level = tc.levels[name]
				}
				root := e.Roots[name]
				if name == tc.failing {
					os.Remove(filepath.Join(root, "FAIL-1.0.1"))
				}
				assertTree(t, expectedRoot(t, level), root)
			}
			if tc.code != 0 || tc.name == "dry run" {
				return
			}
			// Nothing left to install: no hook runs.
			if res = e.hotfix(t, tc.args...); res.Code != 0 {
				t.Fatalf("second run: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
			}
			if got := hookNames((&treeEnv{Dir: dir}).hookLines(t)); got != tc.hooks {
				t.Errorf("hooks after a run with nothing to install: %q", got)
			}
		})
	}
}
