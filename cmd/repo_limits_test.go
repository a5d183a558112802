package cmd

import (
	"strings"
	"testing"
)

// repo build and verify hold a repository to what clients accept: an
// expiry long enough to reach them, indexes no larger than they read;
// each refusal names the flag that changes it.
func TestRepoClientLimitsCLI(t *testing.T) {
	paths := packDemo(t)
	root := t.TempDir()
	if code, _, stderr := runHotfix(t, "repo", "add", root, paths[0]); code != ExitOK {
		t.Fatalf("add: exit %d: %s", code, stderr)
	}
	for _, d := range []string{"1s", "59m"} {
		code, _, stderr := runHotfix(t, "repo", "build", root, "--key", testSecret, "--expires", d)
		if code != ExitUsage || !strings.Contains(stderr, "--expires "+d) || !strings.Contains(stderr, "shorter than 1h") {
			t.Errorf("build --expires %s: exit %d\n%s", d, code, stderr)
		}
	}
	code, _, stderr := runHotfix(t, "repo", "build", root, "--key", testSecret, "--max-index-size", "100")
	if code != ExitError || !strings.Contains(stderr, "clients would refuse it") || !strings.Contains(stderr, "--max-index-size") {
		t.Errorf("build over --max-index-size: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := runHotfix(t, "repo", "build", root, "--key", testSecret, "--max-index-size", "0"); code != ExitUsage {
		t.Errorf("build --max-index-size 0: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := runHotfix(t, "repo", "build", root, "--key", testSecret, "--expires", "1h"); code != ExitOK {
		t.Fatalf("build --expires 1h: exit %d\n%s", code, stderr)
	}
	code, stdout, stderr := runHotfix(t, "repo", "verify", root, "--keyring", testPublic, "--max-index-size", "100")
	if code != ExitError || !strings.Contains(stdout, "acme/2.4.1/index.json") || !strings.Contains(stdout, "--max-index-size") {
		t.Errorf("verify over --max-index-size: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, stderr := runHotfix(t, "repo", "verify", root, "--keyring", testPublic); code != ExitOK {
		t.Errorf("verify: exit %d\n%s%s", code, stdout, stderr)
	}
}
