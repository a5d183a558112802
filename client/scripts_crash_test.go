package client

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRecoverStopsScriptChildren kills the real hotfix binary with
// SIGKILL while a script (or hook) and its children run: the kernel kills
// the script, not its children, so "hotfix recover" must stop them — from
// what the journal (or the hook's record) names — before it restores the
// root, and the root stays restored after they would have written.
func TestRecoverStopsScriptChildren(t *testing.T) {
	t.Parallel()
	const late = `sleep 3; echo late > "$HOTFIX_ROOT/lib/late.txt"; echo late >> "$HOTFIX_ROOT/lib/tax.php"`
	const started = `touch "$HOTFIX_TEST_MARK/started"; sleep 60`
	tests := []struct {
		name, script, hook string
		wantDid            []string
		wantInstalled      string
	}{
		{"background child", "( " + late + " ) &\n" + started, "",
			[]string{"process(es) that script 10-migrate.sh left running", "restored the root"}, "2.4.1.1 2.4.1.2 2.4.1.3"},
		{"children in and out of the group", "( " + late + " ) &\nsetsid sh -c '" + late + "' &\n( ( " + late + " ) & )\n" + started, "",
			[]string{"left running", "restored the root"}, "2.4.1.1 2.4.1.2 2.4.1.3"},
		{"post_install hook", "exit 0", "( " + strings.ReplaceAll(late, `"`, "") + " ) & " + strings.ReplaceAll(started, `"`, ""),
			[]string{"process(es) that the post_install hook left running"}, "2.4.1.1 2.4.1.2 2.4.1.3 2.4.1.4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, before := scriptFixEnv(t, tt.script, nil)
			if tt.hook != "" {
				withHook(t, e, func(cfg string) string { return cfg + "\n[hooks]\npost_install = '" + tt.hook + "'\n" })
			}
			mark := t.TempDir()
			cmd := exec.Command(hotfixBinary(t), "--config", e.Config, "install")
			cmd.Env = append(os.Environ(), "HOTFIX_CONFIG=", "HOTFIX_TEST_MARK="+mark)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(30 * time.Second)
			for {
				if _, err := os.Stat(filepath.Join(mark, "started")); err == nil {
					break
				}
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatal("the script never started")
				}
				time.Sleep(10 * time.Millisecond)
			}
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			if tt.hook != "" {
				// The fix committed before post_install: its tree is the
				// one to keep.
				before = snapshot(t, e.Root, "var")
			}
			res := e.hotfix(t, "recover")
			if res.Code != 0 {
				t.Fatalf("recover: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
			}
			for _, want := range tt.wantDid {
				if !strings.Contains(res.Stdout, want) {
					t.Errorf("recover says %q, want it to say %q", res.Stdout, want)
				}
			}
			time.Sleep(3500 * time.Millisecond) // past the children's delay
			assertTree(t, before, e.Root, "var")
			if got := installed(t, e); strings.Join(got, " ") != tt.wantInstalled {
				t.Errorf("installed: %v, want %s", got, tt.wantInstalled)
			}
			if again := e.hotfix(t, "recover"); again.Code != 0 || strings.TrimSpace(again.Stdout) != "nothing to recover" {
				t.Errorf("a second recover: exit %d, %q %q", again.Code, again.Stdout, again.Stderr)
			}
		})
	}
}
