package cmd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/internal/testkit"
)

// runTTY runs hotfix as at a terminal: stdin, stdout and stderr are
// terminals, and stdin holds input (the answers to its questions).
func (e *uaEnv) runTTY(t *testing.T, input string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Execute(context.Background(), append([]string{"--config", e.Config}, args...), Streams{
		In: strings.NewReader(input), Out: &out, Err: &errb, IsTerminal: func(any) bool { return true }})
	return code, out.String(), errb.String()
}

// TestRollbackConfirms: on a terminal rollback shows the fixes it would
// remove and asks; no answer, "n" and --assumeno change nothing; --yes and
// a script (no terminal) do not ask; --dry-run tests and changes nothing.
func TestRollbackConfirms(t *testing.T) {
	e := newUAEnv(t, "")
	e.hotfix(t, ExitOK, "install", "--yes")
	want := []string{"2.4.1.1", "2.4.1.2", "2.4.1.3"}
	for _, tc := range []struct {
		name, input string
		args        []string
		code        int
		out         string
	}{
		{"no answer", "", nil, ExitError, ""},
		{"answered n", "n\n", nil, ExitError, ""},
		{"answered something else", "maybe\n", nil, ExitError, ""},
		{"assumeno", "y\n", []string{"--assumeno"}, ExitOK, "Proceed? [y/N] no (--assumeno): nothing was rolled back\n"},
		{"dry run", "", []string{"--dry-run"}, ExitOK, "would roll back (dry run, tests passed) 2.4.1.3\nwould roll back (dry run, tests passed) 2.4.1.2\nwould roll back (dry run, tests passed) 2.4.1.1\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := e.runTTY(t, tc.input, append([]string{"rollback", "--to", "2.4.1"}, tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.code, out, errOut)
			}
			if tc.code == ExitError && !strings.Contains(errOut, "hotfix: cancelled: nothing was rolled back") {
				t.Errorf("stderr %q", errOut)
			}
			if !strings.HasSuffix(out, tc.out) {
				t.Errorf("stdout ends %q, want %q", out, tc.out)
			}
			if got := e.installed(t); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("installed %v after %s, want %v unchanged", got, tc.name, want)
			}
		})
	}
	// The question itself, pinned.
	_, out, _ := e.runTTY(t, "n\n", "rollback", "--to", "2.4.1")
	testkit.Golden(t, "rollback-prompt.txt", normalize(t, out, e.Dir))

	code, out, _ := e.runTTY(t, "y\n", "rollback")
	if code != ExitOK || !strings.HasSuffix(out, "rolled back 2.4.1.3\n") || !strings.Contains(out, "Newest installed afterwards: 2.4.1.2") {
		t.Fatalf("yes: exit %d\n%s", code, out)
	}
	if code, out, _ := e.runTTY(t, "", "rollback", "--yes"); code != ExitOK || strings.Contains(out, "Proceed?") {
		t.Fatalf("--yes asked or failed: exit %d\n%s", code, out)
	}
	// Not a terminal: a script is never asked.
	if out, _ := e.hotfix(t, ExitOK, "rollback"); out != "rolled back 2.4.1.1\n" {
		t.Errorf("rollback from a script said %q", out)
	}
	// Nothing left: the plan is refused before any question.
	if code, out, errOut := e.runTTY(t, "y\n", "rollback"); code != ExitError || strings.Contains(out, "Proceed?") || !strings.Contains(errOut, "nothing to roll back") {
		t.Errorf("nothing installed: exit %d\n%s%s", code, out, errOut)
	}
}

// TestRollbackDryRunRefusals: --dry-run runs the same tests as a real
// rollback (local changes, missing backups) and refuses the same way,
// changing nothing.
func TestRollbackDryRunRefusals(t *testing.T) {
	e := newUAEnv(t, "")
	e.hotfix(t, ExitOK, "install", "--yes")
	changed := filepath.Join(e.Root, "lib", "tax.php")
	if err := os.WriteFile(changed, []byte("<?php // changed by hand\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut := e.hotfix(t, ExitError, "rollback", "--to", "2.4.1", "--dry-run")
	if !strings.Contains(errOut, changed) || !strings.Contains(errOut, "--force") {
		t.Errorf("dry run over a changed file said %q", errOut)
	}
	out, _ := e.hotfix(t, ExitOK, "rollback", "--to", "2.4.1", "--dry-run", "--force")
	if !strings.Contains(out, "would roll back (dry run, tests passed) 2.4.1.1") {
		t.Errorf("forced dry run said %q", out)
	}
	if b, _ := os.ReadFile(changed); string(b) != "<?php // changed by hand\n" {
		t.Errorf("a dry run touched %s", changed)
	}
	matches, _ := filepath.Glob(changed + ".hotfix-kept-*")
	if len(matches) != 0 {
		t.Errorf("a dry run kept copies: %v", matches)
	}
	if got := e.installed(t); len(got) != 3 {
		t.Errorf("installed %v after dry runs", got)
	}
	js, _ := e.hotfix(t, ExitOK, "--json", "rollback", "--dry-run", "--force")
	testkit.Golden(t, "rollback-dry-run.json", normalize(t, js, e.Dir))
}
