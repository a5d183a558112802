package cmd

import (
	"path/filepath"
	"strings"
	"testing"
)

func genKey(t *testing.T, dir, name string) (sec, pub string) {
	t.Helper()
	sec, pub = filepath.Join(dir, name+".sec"), filepath.Join(dir, name+".pub")
	if code, _, errOut := runHotfix(t, "key", "generate", "--uid", name+" <"+name+"@example.com>", "--secret", sec, "--public", pub); code != ExitOK {
		t.Fatalf("key generate: %s", errOut)
	}
	return sec, pub
}

// The vendor's commands in the order README's "Rotating keys" gives them.
func TestRepoTrustCLI(t *testing.T) {
	t.Setenv(passphraseEnv, "")
	dir := t.TempDir()
	repoDir := t.TempDir()
	if code, _, errOut := runHotfix(t, append([]string{"repo", "add", repoDir}, packDemo(t)...)...); code != ExitOK {
		t.Fatalf("repo add: %s", errOut)
	}
	root1, root1Pub := genKey(t, dir, "root1")
	root2, root2Pub := genKey(t, dir, "root2")
	sign1, sign1Pub := genKey(t, dir, "sign1")
	sign2, sign2Pub := genKey(t, dir, "sign2")
	steps := []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"repo", "trust", repoDir, "--root-key", root1, "--signing", sign1Pub, "--expires", "365d"}, ExitOK, []string{"key list version 1", "threshold 1"}},
		{[]string{"repo", "build", repoDir, "--key", sign1}, ExitOK, []string{"under key list version 1"}},
		{[]string{"repo", "verify", repoDir, "--keyring", root1Pub}, ExitOK, []string{"OK"}},
		{[]string{"repo", "trust", repoDir, "--root-key", root1, "--signing", sign2Pub}, ExitOK, []string{"key list version 2"}},
		{[]string{"repo", "build", repoDir, "--key", sign1}, ExitError, []string{"not named by key list version 2", "--key one of the listed signing keys"}},
		{[]string{"repo", "build", repoDir, "--key", sign2}, ExitOK, []string{"under key list version 2"}},
		{[]string{"repo", "trust", repoDir, "--root-key", root2, "--root", root2Pub, "--signing", sign2Pub}, ExitError, []string{"root keys of version 2", "--root-key"}},
		{[]string{"repo", "trust", repoDir, "--root-key", root1, "--root-key", root2, "--root", root2Pub, "--signing", sign2Pub}, ExitOK, []string{"key list version 3"}},
		{[]string{"repo", "build", repoDir, "--key", sign2}, ExitOK, []string{"under key list version 3"}},
		{[]string{"repo", "verify", repoDir, "--keyring", root2Pub}, ExitOK, []string{"OK"}},
		{[]string{"repo", "verify", repoDir, "--keyring", root1Pub}, ExitOK, []string{"OK"}},
		{[]string{"repo", "trust", repoDir, "--root-key", root1}, ExitUsage, []string{"--signing SIGNING.pub is required"}},
		{[]string{"repo", "trust", repoDir, "--root-key", root1, "--signing", sign2Pub, "--expires", "0d"}, ExitUsage, []string{"positive number of days"}},
	}
	for _, s := range steps {
		code, out, errOut := runHotfix(t, s.args...)
		if code != s.code {
			t.Fatalf("%v: exit %d, want %d\n%s%s", s.args, code, s.code, out, errOut)
		}
		for _, w := range s.want {
			if !strings.Contains(out+errOut, w) {
				t.Errorf("%v: output lacks %q:\n%s%s", s.args, w, out, errOut)
			}
		}
	}
}
