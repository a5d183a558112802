package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/internal/lockfile"
	"github.com/hotfix-project/hotfix/internal/testkit"
)

// jsonOnly runs hotfix --json ARGS, insists on the exit code and on stdout
// holding one JSON object whose first key is "format", nothing else, and
// returns stdout and stderr.
func jsonOnly(t *testing.T, want int, args ...string) (string, string) {
	t.Helper()
	code, out, errOut := runHotfix(t, append([]string{"--json"}, args...)...)
	if code != want {
		t.Fatalf("hotfix --json %v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, code, want, out, errOut)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	for i, want := range []json.Token{json.Delim('{'), "format", 1.0} {
		if tok, err := dec.Token(); err != nil || tok != want {
			t.Fatalf("hotfix --json %v: token %d is %v (%v), want %v:\n%s", args, i, tok, err, want, out)
		}
	}
	var rest map[string]any
	dec = json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&rest); err != nil {
		t.Fatalf("hotfix --json %v: %v:\n%s", args, err, out)
	}
	if dec.More() || strings.TrimSpace(out[dec.InputOffset():]) != "" {
		t.Fatalf("hotfix --json %v: something after the JSON object on stdout:\n%s", args, out)
	}
	return out, errOut
}

// TestVendorJSONOutputs pins the --json forms of the vendor's release
// commands a CI pipeline reads (README "Machine-readable output"): a
// repository added in the testing ring, staged, built and published to a
// directory, each step's JSON compared with its golden file.
func TestVendorJSONOutputs(t *testing.T) {
	archives := packDemo(t)
	scratch := t.TempDir()
	root, dest := filepath.Join(scratch, "repo"), filepath.Join(scratch, "www")
	golden := func(name, out string) {
		t.Helper()
		testkit.Golden(t, name, normalize(t, out, scratch))
	}
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	mustHotfix(t, ExitOK, append([]string{"repo", "add", "--testing", root}, archives...)...)

	out, _ := jsonOnly(t, ExitOK, "repo", "rollout", root, "2.4.1.3", "--percent", "10", "--ramp", "10%/6h")
	golden("repo-rollout-ramp.json", out)
	out, _ = jsonOnly(t, ExitOK, "repo", "rollout", root, "2.4.1.3", "--halt")
	golden("repo-rollout-halt.json", out)
	out, _ = jsonOnly(t, ExitOK, "repo", "rollout", root, "2.4.1.2", "--full")
	golden("repo-rollout-full.json", out)
	mustHotfix(t, ExitOK, "repo", "build", root, "--key", testSecret)

	out, errOut := jsonOnly(t, ExitOK, "repo", "publish", root, dest, "--dry-run")
	golden("repo-publish-dry-run.json", out)
	if errOut != "" {
		t.Errorf("repo publish --json --dry-run wrote to stderr:\n%s", errOut)
	}
	if ents, _ := os.ReadDir(dest); len(ents) != 0 {
		t.Errorf("--dry-run wrote %v", ents)
	}
	first, _ := jsonOnly(t, ExitOK, "repo", "publish", root, dest)
	if first != strings.Replace(out, `"dry_run": true`, `"dry_run": false`, 1) {
		t.Errorf("the publish did other than its dry run said:\n%s\nwant:\n%s", first, out)
	}
	var again repoPublishJSON
	out, _ = jsonOnly(t, ExitOK, "repo", "publish", root, dest)
	if err := json.Unmarshal([]byte(out), &again); err != nil || again.Uploaded != 0 || len(again.Actions) != 0 || again.Unchanged == 0 {
		t.Errorf("second publish: %v\n%s", err, out)
	}

	// An archive no index names: --prune deletes it, after the indexes.
	stray := filepath.Join(dest, "acme", "2.4.1", "acme-2.4.1.9.fix")
	testkit.WriteFile(t, filepath.Dir(stray), filepath.Base(stray), "withdrawn", 0o644)
	var pruned repoPublishJSON
	out, _ = jsonOnly(t, ExitOK, "repo", "publish", root, dest, "--prune")
	want := []repoPublishJSONAction{{Op: "delete", Key: "acme/2.4.1/acme-2.4.1.9.fix"}}
	if err := json.Unmarshal([]byte(out), &pruned); err != nil || pruned.Deleted != 1 || pruned.Uploaded != 0 || !slices.Equal(pruned.Actions, want) {
		t.Errorf("publish --prune: %v\n%s", err, out)
	}
	if _, err := os.Stat(stray); !os.IsNotExist(err) {
		t.Errorf("publish --prune left %s: %v", stray, err)
	}
}

// TestJSONErrorsKeepExitCodes: with --json a command that fails prints
// nothing on stdout (a script never reads half a result) and exits as it
// does without --json, the error on stderr.
func TestJSONErrorsKeepExitCodes(t *testing.T) {
	uaSetup(t)
	scratch := t.TempDir()
	dest := filepath.Join(scratch, "www")
	l, err := lockfile.TryAcquire(filepath.Join(dest, ".hotfix-publish.lock"), "hotfix repo publish by release-bot")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	// A destination whose published archive has other bytes than the
	// repository's: refused, the dry run too.
	differs := filepath.Join(scratch, "differs")
	testkit.WriteFile(t, differs, "acme/2.4.1/acme-2.4.1.1.fix", "other bytes", 0o644)
	// A mirror that holds a newer serial than its source: a source that
	// went back is refused.
	ahead, mirrored := filepath.Join(scratch, "ahead"), filepath.Join(scratch, "mirror")
	testkit.CopyTree(t, uaRepo, ahead)
	mustHotfix(t, ExitOK, "repo", "build", ahead, "--key", testSecret)
	mustHotfix(t, ExitOK, "mirror", ahead, mirrored, "--keyring", testPublic)
	_, otherPub := genKey(t, scratch, "other")
	t.Setenv(passphraseEnv, "")
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"publish locked", []string{"repo", "publish", uaRepo, dest}, ExitTempFail, "release-bot"},
		{"publish archive differs", []string{"repo", "publish", uaRepo, differs}, ExitError, "never changes"},
		{"publish dry run archive differs", []string{"repo", "publish", uaRepo, differs, "--dry-run"}, ExitError, "never changes"},
		{"publish not built", []string{"repo", "publish", scratch, filepath.Join(scratch, "www2")}, ExitError, "build the repository first"},
		{"publish bad bucket", []string{"repo", "publish", uaRepo, "s3:///x"}, ExitUsage, "names no bucket"},
		{"rollout unknown fix", []string{"repo", "rollout", uaRepo, "2.4.1.9", "--full"}, ExitError, "not in the repository"},
		{"mirror without keyring", []string{"mirror", uaRepo, filepath.Join(scratch, "m1")}, ExitUsage, "--keyring FILE|DIR is required"},
		{"mirror other key", []string{"mirror", uaRepo, filepath.Join(scratch, "m2"), "--keyring", otherPub}, ExitError, "add its public key to the mirror's keyring " + otherPub},
		{"mirror source went back", []string{"mirror", uaRepo, mirrored, "--keyring", testPublic}, ExitError, "mirror into a new directory"},
		{"mirror missing source", []string{"mirror", filepath.Join(scratch, "nothing"), filepath.Join(scratch, "m3"), "--keyring", testPublic}, ExitError, "nothing"},
		{"export without out", []string{"repo", "export", uaRepo, "--product", "acme", "--base", "2.4.1"}, ExitUsage, "--out are required"},
		{"export unknown channel", []string{"repo", "export", uaRepo, "--product", "acme", "--base", "9.9", "--out", filepath.Join(scratch, "b.tar")}, ExitError, "9.9"},
		{"trust without signing", []string{"repo", "trust", uaRepo, "--root-key", testSecret}, ExitUsage, "--signing SIGNING.pub is required"},
		{"trust unreadable key", []string{"repo", "trust", uaRepo, "--root-key", filepath.Join(scratch, "none.sec"), "--signing", testPublic}, ExitError, "none.sec"},
		{"rollout two stages", []string{"repo", "rollout", uaRepo, "2.4.1.3", "--full", "--halt"}, ExitUsage, "exactly one of"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runHotfix(t, append([]string{"--json"}, c.args...)...)
			if code != c.code || out != "" || !strings.Contains(errOut, c.want) {
				t.Errorf("exit %d, want %d with nothing on stdout and %q on stderr\nstdout:\n%s\nstderr:\n%s", code, c.code, c.want, out, errOut)
			}
		})
	}
}

// TestTrustExportMirrorJSON pins the --json forms of the key list, the
// air-gap bundle and the mirror: a copy of the sample repository put
// under a key list, exported, and mirrored from the directory and from
// the bundle, twice (the second run fetches nothing).
func TestTrustExportMirrorJSON(t *testing.T) {
	uaSetup(t)
	t.Setenv(passphraseEnv, "")
	scratch := t.TempDir()
	root := filepath.Join(scratch, "repo")
	testkit.CopyTree(t, uaRepo, root)
	golden := func(name, out string) {
		t.Helper()
		testkit.Golden(t, name, normalize(t, out, scratch))
	}
	root1, root1Pub := genKey(t, scratch, "root1")
	_, sign1Pub := genKey(t, scratch, "sign1")
	out, errOut := jsonOnly(t, ExitOK, "repo", "trust", root, "--root-key", root1, "--signing", sign1Pub, "--expires", "365d")
	golden("repo-trust.json", out)
	if !strings.Contains(errOut, "next: hotfix repo build") {
		t.Errorf("repo trust --json dropped the next step from stderr:\n%s", errOut)
	}
	var second repoTrustJSON
	out, _ = jsonOnly(t, ExitOK, "repo", "trust", root, "--root-key", root1, "--signing", sign1Pub, "--signing", testPublic)
	if err := json.Unmarshal([]byte(out), &second); err != nil || second.Version != 2 || second.Previous == nil || *second.Previous != 1 || len(second.SigningKeys) != 2 {
		t.Errorf("second key list: %v\n%s", err, out)
	}
	mustHotfix(t, ExitOK, "repo", "build", root, "--key", testSecret)

	bundle := filepath.Join(scratch, "acme-2.4.1.tar")
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	out, _ = jsonOnly(t, ExitOK, "repo", "export", root, "--product", "acme", "--base", "2.4.1", "--out", bundle)
	golden("repo-export.json", out)

	mirrorDir := filepath.Join(scratch, "mirror")
	out, _ = jsonOnly(t, ExitOK, "mirror", root, mirrorDir, "--keyring", root1Pub)
	golden("mirror.json", out)
	out, _ = jsonOnly(t, ExitOK, "mirror", root, mirrorDir, "--keyring", root1Pub)
	golden("mirror-again.json", out)
	var fromBundle mirrorJSON
	out, _ = jsonOnly(t, ExitOK, "mirror", bundle, filepath.Join(scratch, "site"), "--keyring", root1Pub)
	if err := json.Unmarshal([]byte(out), &fromBundle); err != nil || len(fromBundle.Channels) != 1 || fromBundle.Fetched == 0 || fromBundle.Source != bundle {
		t.Errorf("mirror of the bundle: %v\n%s", err, out)
	}
}
