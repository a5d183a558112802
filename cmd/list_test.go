package cmd

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/internal/testkit"
)

// TestListInfoStatus: list, info by version and by bug id, and status
// after a rollback, in text and JSON, against the real repository.
func TestListInfoStatus(t *testing.T) {
	e := newUAEnv(t, "")
	// Text forms show local times to the minute.
	localTime := regexp.MustCompile(`[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}`)
	golden := func(name, out string) {
		t.Helper()
		testkit.Golden(t, name, localTime.ReplaceAll(normalize(t, out, e.Dir), []byte("YYYY-MM-DD HH:MM")))
	}
	// Never checked: only installed fixes are known, and list says so.
	out, errOut := e.hotfix(t, ExitOK, "list")
	if out != "acme 2.4.1: no fixes\n" || !strings.Contains(errOut, `run "hotfix check"`) {
		t.Errorf("list before a check: %q %q", out, errOut)
	}
	e.hotfix(t, ExitPending, "check")
	e.hotfix(t, ExitOK, "install", "--yes", "2.4.1.2")
	out, _ = e.hotfix(t, ExitOK, "list")
	golden("list.txt", out)
	js, _ := e.hotfix(t, ExitOK, "--json", "list")
	golden("list.json", js)
	if out, _ := e.hotfix(t, ExitOK, "list", "--available"); !strings.Contains(out, "2.4.1.3") || strings.Contains(out, "2.4.1.1") {
		t.Errorf("list --available:\n%s", out)
	}
	if out, _ := e.hotfix(t, ExitOK, "list", "--installed"); strings.Contains(out, "2.4.1.3") || !strings.Contains(out, "2.4.1.2") {
		t.Errorf("list --installed:\n%s", out)
	}

	// info by version: JSON keys are lowercase, no Go field names.
	js, _ = e.hotfix(t, ExitOK, "--json", "info", "2.4.1.2")
	golden("info-2.4.1.2.json", js)
	for _, goName := range []string{"Manifest", "Installed", "Index"} {
		if strings.Contains(js, `"`+goName+`"`) {
			t.Errorf("info --json shows the Go field %s", goName)
		}
	}
	// info by bug id, in any case, and an unknown bug.
	out, _ = e.hotfix(t, ExitOK, "info", "acme-131")
	golden("info-bug.txt", out)
	js, _ = e.hotfix(t, ExitOK, "--json", "info", "ACME-131")
	if !strings.Contains(js, `"bug": "ACME-131"`) || !strings.Contains(js, `"version": "2.4.1.3"`) {
		t.Errorf("info --json ACME-131:\n%s", js)
	}
	if _, errOut := e.hotfix(t, ExitError, "info", "ACME-999"); !strings.Contains(errOut, "no fix of acme 2.4.1 names bug ACME-999") {
		t.Errorf("unknown bug: %q", errOut)
	}
	if _, errOut := e.hotfix(t, ExitUsage, "info", "two words"); !strings.Contains(errOut, "neither a fix version") {
		t.Errorf("not a bug id: %q", errOut)
	}

	// After a rollback, status never says "up to date" beside a pending fix.
	e.hotfix(t, ExitOK, "install", "--yes")
	e.hotfix(t, ExitOK, "check")
	e.hotfix(t, ExitOK, "rollback")
	out, _ = e.hotfix(t, ExitOK, "status")
	if !strings.Contains(out, "pending:    1\n") || !strings.Contains(out, "up to date then; 1 fix pending now after a later install or rollback") {
		t.Errorf("status after a rollback:\n%s", out)
	}
	e.hotfix(t, ExitOK, "pause", "--reason", "patch")
	out, _ = e.hotfix(t, ExitOK, "status")
	if !strings.Contains(out, "paused:     yes, by ") || strings.Contains(out, "hotfix is paused") {
		t.Errorf("status while paused:\n%s", out)
	}
	_, errOut = e.hotfix(t, ExitTempFail, "install", "--yes")
	if !strings.HasPrefix(errOut, "hotfix: paused by ") || strings.Count(errOut, "hotfix") != 2 { // the prefix and "hotfix resume"
		t.Errorf("install while paused: %q", errOut)
	}
}

// TestCompletion: fix versions where versions belong, from the local
// state and cached index, never file names; the completion scripts need
// no bash-completion package to load.
func TestCompletion(t *testing.T) {
	e := newUAEnv(t, "")
	complete := func(args ...string) string {
		t.Helper()
		out, _ := e.hotfix(t, ExitOK, append([]string{"__complete"}, args...)...)
		return out
	}
	// Before any check nothing is known: no file names either.
	if out := complete("install", ""); !strings.HasSuffix(out, ":36\n") || strings.Contains(out, "hotfix.toml") {
		t.Errorf("install before a check:\n%s", out)
	}
	e.hotfix(t, ExitPending, "check")
	e.hotfix(t, ExitOK, "install", "--yes", "2.4.1.1")
	for _, tc := range []struct {
		args      []string
		want, not []string
	}{
		{[]string{"install", ""}, []string{"2.4.1.2\tCoupons", "2.4.1.3\t"}, []string{"2.4.1.1"}},
		{[]string{"download", ""}, []string{"2.4.1.2\t"}, []string{"2.4.1.1"}},
		{[]string{"rollback", "--to", ""}, []string{"2.4.1\tthe base", "2.4.1.1\tRound tax"}, []string{"2.4.1.2"}},
		{[]string{"install", "--reinstall", ""}, []string{"2.4.1.1\t"}, []string{"2.4.1.3"}},
		{[]string{"info", ""}, []string{"2.4.1.1\t", "2.4.1.3\t", "ACME-131\t2.4.1.3: Legacy export"}, nil},
		{[]string{"install", "2.4.1.2", ""}, nil, []string{"2.4.1"}},
	} {
		out := complete(tc.args...)
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("complete %v lacks %q:\n%s", tc.args, w, out)
			}
		}
		for _, w := range tc.not {
			if strings.Contains(out, w+"\t") || strings.Contains(out, w+"\n") {
				t.Errorf("complete %v offers %q:\n%s", tc.args, w, out)
			}
		}
	}
}

// TestCompleteInstances: --instance completes the [[instance]] names.
func TestCompleteInstances(t *testing.T) {
	e := newUAEnv(t, "")
	ref, live := filepath.Join(e.Dir, "ref"), filepath.Join(e.Dir, "live")
	testkit.CopyTree(t, e.Root, ref)
	testkit.CopyTree(t, e.Root, live)
	e.write(t, fmt.Sprintf("[[instance]]\nname = \"ref\"\nroot = %q\n\n[[instance]]\nname = \"live\"\nroot = %q\nparent = \"ref\"\n", ref, live))
	out, _ := e.hotfix(t, ExitOK, "__complete", "--instance", "")
	if !strings.HasPrefix(out, "ref\nlive\n") || strings.Contains(out, "hotfix.toml") {
		t.Errorf("--instance completes:\n%s", out)
	}
}
