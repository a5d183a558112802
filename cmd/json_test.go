package cmd

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo/fixarchive"
	"github.com/spf13/cobra"
)

// TestJSONOutputs pins the --json outputs monitoring scripts read
// (DESIGN.md "Machine-readable output"): the real commands, run through
// Execute against the signed sample repository served on 127.0.0.1, in
// the states a server goes through. Times, the user, ports and the scratch
// directory vary between runs and are normalized (see volatile).
func TestJSONOutputs(t *testing.T) {
	e := newUAEnv(t, "")
	hotfix := func(want int, args ...string) string {
		t.Helper()
		code, out, errOut := runHotfix(t, append([]string{"--config", e.Config}, args...)...)
		if code != want {
			t.Fatalf("hotfix %v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, code, want, out, errOut)
		}
		return out
	}
	golden := func(name, out string) {
		t.Helper()
		testkit.Golden(t, name, normalize(t, out, e.Dir))
	}

	// A new server: nothing installed, never checked, nothing in history.
	golden("status-new.json", hotfix(ExitOK, "--json", "status"))
	golden("history-new.json", hotfix(ExitOK, "--json", "history"))

	golden("check-pending.json", hotfix(ExitPending, "--json", "check"))
	hotfix(ExitOK, "install", "--yes", "2.4.1.2")
	hotfix(ExitPending, "check")
	hotfix(ExitOK, "pause", "--for", "1h", "--reason", "patch 2.5.0")
	// Installed, one pending, checked, paused for a while.
	golden("status-paused.json", hotfix(ExitOK, "--json", "status"))
	hotfix(ExitOK, "resume")
	hotfix(ExitOK, "install", "--yes")
	golden("check-up-to-date.json", hotfix(ExitOK, "--json", "check"))
	hotfix(ExitOK, "rollback")
	golden("history.json", hotfix(ExitOK, "--json", "history"))

	// A crash left the install of 2.4.1.3 changing the root: monitoring
	// sees the interrupted transaction, and what recover will do.
	txn := filepath.Join(e.Dir, "state", "txn")
	if err := os.MkdirAll(txn, 0o700); err != nil {
		t.Fatal(err)
	}
	journal := `{"op": "install", "version": "2.4.1.3", "phase": "apply", "entries": []}`
	if err := os.WriteFile(filepath.Join(txn, "journal.json"), []byte(journal), 0o600); err != nil {
		t.Fatal(err)
	}
	golden("status-interrupted.json", hotfix(ExitOK, "--json", "status"))
}

// TestUninstallJSON: uninstall --json reports the customer fix removed
// and its files; a refusal (not installed, changed by hand, paused)
// prints nothing on stdout and keeps its exit code, the system as it was.
func TestUninstallJSON(t *testing.T) {
	e := newUAEnvRepo(t, customRepo(t), "customer = \"shop-a\"\n")
	e.hotfix(t, ExitOK, "install", "--yes")
	file := filepath.Join(e.Root, "app", "shop-a.php")
	for _, c := range []struct {
		name  string
		setup func()
		args  []string
		code  int
		want  string
	}{
		{"not installed", nil, []string{"IS-2"}, ExitError, "installed customer fixes: IS-1"},
		{"paused", func() { e.hotfix(t, ExitOK, "pause", "--reason", "freeze") }, []string{"IS-1"}, ExitTempFail, "paused"},
		{"changed by hand", func() {
			e.hotfix(t, ExitOK, "resume")
			testkit.WriteFile(t, filepath.Dir(file), "shop-a.php", "<?php // edited\n", 0o644)
		}, []string{"IS-1"}, ExitError, "--force"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.setup != nil {
				c.setup()
			}
			code, out, errOut := runHotfix(t, append([]string{"--config", e.Config, "--json", "uninstall"}, c.args...)...)
			if code != c.code || out != "" || !strings.Contains(errOut, c.want) {
				t.Errorf("exit %d, want %d with nothing on stdout and %q on stderr\nstdout:\n%s\nstderr:\n%s", code, c.code, c.want, out, errOut)
			}
			if _, err := os.Stat(file); err != nil {
				t.Errorf("the refused uninstall removed %s: %v", file, err)
			}
		})
	}
	out, _ := e.hotfix(t, ExitOK, "--json", "uninstall", "--force", "IS-1")
	testkit.Golden(t, "uninstall.json", normalize(t, out, e.Dir))
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("after uninstall %s is still there: %v", file, err)
	}
}

// TestUninstallJSONLeavesOverridden: a customer fix file a vendor fix
// overrode (install --force) is listed under "left", the others under
// "restored".
func TestUninstallJSONLeavesOverridden(t *testing.T) {
	uaSetup(t)
	archives := packDemo(t)
	dir := filepath.Join(t.TempDir(), "repo")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	testkit.WriteFile(t, src, "fix.toml", "product = \""+demo.Product+"\"\nkind = \"custom\"\ncustomer = \"shop-a\"\nid = \"IS-1\"\nversion = \"1\"\nbase = \""+demo.Base+"\"\nsummary = \"Shop A checkout\"\n", 0o644)
	testkit.WriteFile(t, src, "files/app/checkout.php", "<?php // shop a checkout\n", 0o644)
	testkit.WriteFile(t, src, "files/app/extra.php", "extra\n", 0o644)
	custom, _, err := fixarchive.Pack(t.Context(), src, filepath.Join(src, "out"), fixarchive.PackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mustHotfix(t, ExitOK, append([]string{"repo", "add", dir, custom}, archives[:2]...)...)
	mustHotfix(t, ExitOK, "repo", "build", dir, "--key", testSecret)
	e := newUAEnvRepo(t, dir, "customer = \"shop-a\"\n")
	e.hotfix(t, ExitOK, "install", "--yes")
	// 2.4.1.3 changes app/checkout.php: forced over the customer's file.
	mustHotfix(t, ExitOK, "repo", "add", dir, archives[2])
	mustHotfix(t, ExitOK, "repo", "build", dir, "--key", testSecret)
	e.hotfix(t, ExitOK, "install", "--yes", "--force")
	out, _ := e.hotfix(t, ExitOK, "--json", "uninstall", "IS-1")
	var got uninstallJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil || !slices.Equal(got.Restored, []string{"app/extra.php"}) || !slices.Equal(got.Left, []string{"app/checkout.php"}) {
		t.Errorf("uninstall --json: %v\n%s", err, out)
	}
}

// TestJSONRefusedOnlyWhereNothingToRead: every command has a --json form
// but the few whose output is for people or a shell (the long-running
// server and daemon, the demo, completion scripts), and those refuse
// --json (exit 2) rather than ignore it.
func TestJSONRefusedOnlyWhereNothingToRead(t *testing.T) {
	refusing := map[string]bool{"serve": true, "daemon": true, "demo": true, "completion": true, "help": true}
	root := newRootCmd(&globalOptions{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
			path := strings.TrimPrefix(sub.CommandPath(), "hotfix ")
			if sub.Hidden || !sub.Runnable() || sub.HasSubCommands() || sub.Annotations["json"] == "yes" {
				continue
			}
			if !refusing[strings.Fields(path)[0]] {
				t.Errorf("%s has no --json form", path)
			}
		}
	}
	walk(root)
	for _, args := range [][]string{{"serve", "repo"}, {"daemon"}, {"demo"}, {"completion", "bash"}} {
		code, out, errOut := runHotfix(t, append([]string{"--json"}, args...)...)
		if code != ExitUsage || out != "" || !strings.Contains(errOut, args[0]) || !strings.Contains(errOut, "has no JSON output") {
			t.Errorf("--json %v: exit %d, want 2 refusing --json\nstdout:\n%s\nstderr:\n%s", args, code, out, errOut)
		}
	}
}
