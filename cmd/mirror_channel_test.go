package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMirrorWrongChannelNamesTheCommand: a source that holds none of the
// channels --product and --base choose (a bundle of another channel, a
// repository that lists none of them) is refused with the channel it
// holds and the command that mirrors it; that command, run as printed,
// works. Nothing is mirrored by the refused run.
func TestMirrorWrongChannelNamesTheCommand(t *testing.T) {
	uaSetup(t)
	bundle := filepath.Join(t.TempDir(), "acme-2.4.1.tar")
	if code, _, errOut := runHotfix(t, "repo", "export", uaRepo, "--product", "acme", "--base", "2.4.1", "--out", bundle); code != ExitOK {
		t.Fatalf("repo export: %s", errOut)
	}
	for _, tc := range []struct {
		name   string
		source string
		choose []string
		want   []string
	}{
		{"bundle, another base", bundle, []string{"--product", "acme", "--base", "9.9"},
			[]string{"the bundle holds the channel acme 2.4.1, not acme 9.9: nothing was mirrored",
				"for acme 9.9, ask for a bundle of it (hotfix repo export REPO --product acme --base 9.9 --out FILE)"}},
		{"bundle, another product", bundle, []string{"--product", "widget"},
			[]string{"the bundle holds the channel acme 2.4.1, not product widget", "for product widget, ask for a bundle of it"}},
		{"bundle, another base only", bundle, []string{"--base", "3.0"},
			[]string{"the bundle holds the channel acme 2.4.1, not base 3.0"}},
		{"directory, another product", uaRepo, []string{"--product", "widget"},
			[]string{uaRepo + " lists no channel of product widget (it lists acme 2.4.1): nothing was mirrored",
				"or leave out --product and --base to mirror every channel"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "mirror")
			args := append([]string{"mirror", tc.source, dir, "--keyring", testPublic}, tc.choose...)
			code, _, errOut := runHotfix(t, args...)
			if code != ExitError {
				t.Fatalf("exit %d, want %d\n%s", code, ExitError, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "acme")); !os.IsNotExist(err) {
				t.Errorf("the refused run mirrored something: %v", err)
			}
			// The advice, run as printed, mirrors the source's channel.
			_, advice, ok := strings.Cut(errOut, "run: hotfix ")
			advice, _, _ = strings.Cut(advice, " (or")
			if !ok {
				t.Fatalf("no command to run in:\n%s", errOut)
			}
			if code, out, errOut := runHotfix(t, strings.Fields(advice)...); code != ExitOK || !strings.Contains(out, "acme 2.4.1: serial") {
				t.Fatalf("the advised hotfix %s: exit %d\n%s%s", advice, code, out, errOut)
			}
		})
	}
}
