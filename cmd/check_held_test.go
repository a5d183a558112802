package cmd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/publish"
	"github.com/hotfix-project/hotfix/sign"
)

// TestCheckHeld pins what an administrator and a monitoring script see of
// fixes a staged rollout holds back: check's text and --json, its exit
// code (held fixes are not pending), status --json and the metrics file,
// and install VERSION taking a held fix by hand.
func TestCheckHeld(t *testing.T) {
	uaSetup(t)
	repoDir := filepath.Join(t.TempDir(), "repo")
	testkit.CopyTree(t, uaRepo, repoDir)
	percent := 20
	if _, err := publish.SetRollout(context.Background(), repoDir, publish.RolloutChange{Version: repo.MustParseVersion("2.4.1.2"), Percent: &percent}, publish.RolloutOptions{}); err != nil {
		t.Fatal(err)
	}
	signer, err := sign.LoadSigner(testSecret, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := publish.Build(context.Background(), repoDir, publish.BuildOptions{Signer: signer}); err != nil {
		t.Fatal(err)
	}
	machine := ""
	for i := 0; machine == ""; i++ {
		if id := fmt.Sprintf("machine-%d", i); repo.Bucket(id, demo.Product, repo.MustParseVersion(demo.Base)) == 37 {
			machine = id
		}
	}
	e := newUAEnvRepo(t, repoDir, fmt.Sprintf("machine_id = %q\n", machine))
	metrics := filepath.Join(e.Dir, "hotfix.prom")
	e.write(t, fmt.Sprintf("machine_id = %q\n[notify]\nmetrics_file = %q\n", machine, metrics))
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
	golden("check-held-pending.txt", hotfix(ExitPending, "check"))
	golden("check-held-pending.json", hotfix(ExitPending, "--json", "check"))
	hotfix(ExitOK, "install", "--yes")
	golden("check-held.txt", hotfix(ExitOK, "check"))
	golden("check-held.json", hotfix(ExitOK, "--json", "check"))
	if out := hotfix(ExitOK, "--json", "status"); !strings.Contains(out, `"held": 2`) || !strings.Contains(out, `"pending": 0`) {
		t.Fatalf("status --json:\n%s", out)
	}
	data, err := os.ReadFile(metrics)
	if err != nil || !strings.Contains(string(data), "\nhotfix_fixes_held 2\n") || !strings.Contains(string(data), "\nhotfix_fixes_pending 0\n") {
		t.Fatalf("metrics: %v\n%s", err, data)
	}
	// A scheduled run takes nothing more; a named version takes the held
	// fix and the audit log says so.
	hotfix(ExitOK, "cron", "--now")
	if out := hotfix(ExitOK, "install", "--yes", "2.4.1.2"); !strings.Contains(out, "installed 2.4.1.2") {
		t.Fatalf("install 2.4.1.2:\n%s", out)
	}
	if out := hotfix(ExitOK, "--json", "history"); !strings.Contains(out, "held back by the rollout (rollout at 20 %, this server's bucket is 37), installed by hand") {
		t.Fatalf("history:\n%s", out)
	}
	// What held 2.4.1.3 back is installed: it is pending now.
	if out := hotfix(ExitPending, "check"); strings.Contains(out, "held") || !strings.Contains(out, "2.4.1.3") {
		t.Fatalf("check after install by hand:\n%s", out)
	}
}
