package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRepoRolloutCLI walks the vendor's staged rollout through the
// commands, in the order README's "Staged rollout" gives them, and checks
// what each prints and what the built index signs.
func TestRepoRolloutCLI(t *testing.T) {
	archives := packDemo(t)
	root := t.TempDir()
	index := filepath.Join(root, "acme", "2.4.1", "index.json")
	hotfix := func(want int, args ...string) string {
		t.Helper()
		code, out, errOut := runHotfix(t, args...)
		if code != want {
			t.Fatalf("hotfix %v: exit %d, want %d\n%s%s", args, code, want, out, errOut)
		}
		return out + errOut
	}
	out := hotfix(ExitOK, append([]string{"repo", "add", "--testing", root}, archives...)...)
	if !strings.Contains(out, "added acme/2.4.1/acme-2.4.1.3.fix (testing ring)") {
		t.Fatalf("repo add --testing printed:\n%s", out)
	}
	build := func(want string) {
		t.Helper()
		hotfix(ExitOK, "repo", "build", root, "--key", testSecret)
		data, err := os.ReadFile(index)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), want) {
			t.Fatalf("index lacks %s:\n%s", want, data)
		}
	}
	build(`"ring": "testing"`)

	for _, step := range []struct {
		args  []string
		print string
		index string
	}{
		{[]string{"--percent", "10", "--ramp", "10%/6h"}, "acme 2.4.1.3: 10 %, +10 % every 6h from", `"ramp": "10%/6h"`},
		{[]string{"--halt"}, "acme 2.4.1.3: halted (was 10 %, +10 % every 6h from", `"halted": true`},
		{[]string{"--testing", "--product", "acme"}, "acme 2.4.1.3: testing ring (was: halted", `"ring": "testing"`},
		{[]string{"--percent", "100"}, "acme 2.4.1.3: everyone (was: testing ring)", ``},
	} {
		out := hotfix(ExitOK, append([]string{"repo", "rollout", root, "2.4.1.3"}, step.args...)...)
		if !strings.Contains(out, step.print) || !strings.Contains(out, "run hotfix repo build "+root) {
			t.Fatalf("repo rollout %v printed:\n%s", step.args, out)
		}
		// The halted stage names what it stopped; a second "(was: ...)" only repeats it.
		if step.args[0] == "--halt" && strings.Contains(out, "(was: ") {
			t.Fatalf("repo rollout --halt repeats the previous stage:\n%s", out)
		}
		build(step.index)
	}
	data, _ := os.ReadFile(index)
	if strings.Count(string(data), `"rollout"`) != 2 {
		t.Fatalf("2.4.1.1 and 2.4.1.2 stay in testing, 2.4.1.3 goes to everyone:\n%s", data)
	}

	for _, bad := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"2.4.1.3"}, ExitUsage, "exactly one of --percent N, --halt, --full or --testing"},
		{[]string{"2.4.1.3", "--full", "--halt"}, ExitUsage, "exactly one of"},
		{[]string{"2.4.1.3", "--percent", "0", "--testing"}, ExitUsage, "exactly one of"},
		{[]string{"2.4.1.3", "--percent", "101"}, ExitUsage, "want 0 to 100"},
		{[]string{"2.4.1.3", "--full", "--ramp", "10%/6h"}, ExitUsage, "give --percent N too"},
		{[]string{"2.4.1.3", "--percent", "5", "--ramp", "10%6h"}, ExitUsage, "STEP%/INTERVAL"},
		{[]string{"2.4.1.3", "--percent", "5", "--ramp", "10%/10s"}, ExitUsage, "whole seconds from 1m"},
		{[]string{"2.4.1.x", "--full"}, ExitUsage, "2.4.1.x"},
		{[]string{"2.4.1.9", "--full"}, ExitError, "not in the repository"},
	} {
		code, _, errOut := runHotfix(t, append([]string{"repo", "rollout", root}, bad.args...)...)
		if code != bad.code || !strings.Contains(errOut, bad.want) {
			t.Errorf("repo rollout %v: exit %d, stderr %q; want %d with %q", bad.args, code, errOut, bad.code, bad.want)
		}
	}
	// Two products with the base: --product decides.
	if err := os.MkdirAll(filepath.Join(root, "shop", "2.4.1"), 0o755); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runHotfix(t, "repo", "rollout", root, "2.4.1.3", "--full")
	if code != ExitError || !strings.Contains(errOut, "acme, shop") || !strings.Contains(errOut, "--product NAME") {
		t.Errorf("ambiguous product: exit %d, %s", code, errOut)
	}
	hotfix(ExitOK, "repo", "rollout", root, "2.4.1.3", "--full", "--product", "acme")
}
