package cmd

import (
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/internal/testkit"
)

// TestInstallSummary: on a terminal install shows a transaction summary
// (per fix: bugs, size, files changed, added and deleted, scripts; then
// the hooks) and asks; no and --assumeno change nothing.
func TestInstallSummary(t *testing.T) {
	e := newUAEnv(t, `
[hooks]
pre_install = "true"
health_check = "test -f lib/tax.php"
`)
	code, out, errOut := e.runTTY(t, "n\n", "install")
	if code != ExitError || !strings.Contains(errOut, "hotfix: cancelled: nothing was installed") {
		t.Fatalf("answered n: exit %d\n%s", code, errOut)
	}
	testkit.Golden(t, "install-prompt.txt", normalize(t, out, e.Dir))
	for _, want := range []string{"change  lib/tax.php", "add     lib/coupon.php", "delete  app/legacy.php",
		"bug     ACME-131: Legacy export endpoint exposes order data", "script  10-clear-cache-local.sh", "health_check: test -f lib/tax.php"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	if got := e.installed(t); len(got) != 0 {
		t.Fatalf("installed %v after no", got)
	}

	// --assumeno: the summary, then no, exit 0, also from a script.
	for _, tty := range []bool{true, false} {
		var out string
		if tty {
			_, out, _ = e.runTTY(t, "y\n", "install", "--assumeno", "2.4.1.1")
		} else {
			out, _ = e.hotfix(t, ExitOK, "install", "--assumeno", "2.4.1.1")
		}
		if !strings.Contains(out, "Transaction summary: install 1 fix into") || !strings.HasSuffix(out, "nothing was installed\n") || strings.Contains(out, "2.4.1.2") {
			t.Errorf("--assumeno (terminal %v) said:\n%s", tty, out)
		}
	}
	js, _ := e.hotfix(t, ExitOK, "--json", "install", "--assumeno")
	testkit.Golden(t, "install-assumeno.json", normalize(t, js, e.Dir))
	if got := e.installed(t); len(got) != 0 {
		t.Fatalf("installed %v after --assumeno", got)
	}

	// Yes: one line per fix with its bar on the terminal, no step lines.
	code, out, errOut = e.runTTY(t, "y\n", "install", "2.4.1.2")
	if code != ExitOK || !strings.HasSuffix(out, "installed 2.4.1.1: Round tax to cents\ninstalled 2.4.1.2: Coupons no longer make the cart total negative\n") {
		t.Fatalf("yes: exit %d\n%s\n%s", code, out, errOut)
	}
	lines := strings.Split(strings.TrimRight(errOut, "\n"), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "2.4.1.1") || !strings.Contains(lines[1], "2.4.1.2") ||
		!strings.Contains(lines[1], "done") || !strings.Contains(lines[1], "9/9") || strings.Contains(errOut, "2.4.1.2: apply") {
		t.Errorf("progress on a terminal: %d lines\n%q", len(lines), errOut)
	}
	// In a log: one plain line per step, as before.
	_, errOut = e.hotfix(t, ExitOK, "install")
	for _, step := range installSteps {
		if !strings.Contains(errOut, "2.4.1.3: "+step+"\n") {
			t.Errorf("log lacks the step line %q:\n%s", "2.4.1.3: "+step, errOut)
		}
	}
	// Up to date: said, and nothing asked.
	if code, out, _ := e.runTTY(t, "", "install"); code != ExitOK || strings.Contains(out, "Proceed?") || !strings.Contains(out, "is up to date") {
		t.Errorf("up to date: exit %d\n%s", code, out)
	}
}
