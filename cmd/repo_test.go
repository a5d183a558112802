package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/publish"
	"github.com/hotfix-project/hotfix/sign"
)

var (
	testSecret = filepath.Join("..", "testdata", "keys", "vendor.sec.asc")
	testPublic = filepath.Join("..", "testdata", "keys", "vendor.pub.asc")
	otherKey   = filepath.Join("..", "testdata", "keys", "other.pub.asc")
)

// packDemo packs the sample fixes through the CLI and returns the archive
// paths in chain order.
func packDemo(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	if err := demo.WriteSample(dir); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	t.Setenv("SOURCE_DATE_EPOCH", "1714564800")
	var paths []string
	for _, v := range demo.FixVersions {
		code, stdout, stderr := runHotfix(t, "pack", filepath.Join(dir, "fixes", v), "--out", out)
		if code != ExitOK {
			t.Fatalf("pack %s: exit %d\n%s", v, code, stderr)
		}
		want := filepath.Join(out, "acme-"+v+".fix")
		if strings.TrimSpace(stdout) != want {
			t.Errorf("pack printed %q, want the archive path %s", stdout, want)
		}
		if !strings.Contains(stderr, "packed acme "+v) {
			t.Errorf("pack stderr %q", stderr)
		}
		paths = append(paths, want)
	}
	return paths
}

func TestPackCLIErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "fix.toml"), []byte("product = \"Acme\"\nversion = \"1.02.1\"\nsummary = \"x\"\n"), 0o644)
	code, stdout, stderr := runHotfix(t, "pack", dir, "--out", t.TempDir())
	if code != ExitError || stdout != "" {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
	for _, want := range []string{filepath.Join(dir, "fix.toml") + ":1:", filepath.Join(dir, "fix.toml") + ":2:", `"Acme"`, `"02"`} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if code, _, stderr := runHotfix(t, "pack"); code != ExitUsage {
		t.Errorf("pack without a directory: exit %d\n%s", code, stderr)
	}
	if code, _, _ := runHotfix(t, "pack", dir, "--format", "zip"); code != ExitUsage {
		t.Errorf("pack --format zip: exit %d", code)
	}
}

func TestRepoCLI(t *testing.T) {
	paths := packDemo(t)
	root := t.TempDir()

	// A gap is refused, naming the missing version; nothing is written.
	code, stdout, stderr := runHotfix(t, "repo", "add", root, paths[2])
	if code != ExitError || !strings.Contains(stderr, "2.4.1.1, 2.4.1.2 missing") || !strings.Contains(stderr, "not changed") {
		t.Fatalf("add with a gap: exit %d\n%s%s", code, stdout, stderr)
	}
	if ents, _ := os.ReadDir(root); len(ents) != 0 {
		t.Fatalf("a refused add left %d entries in the repository", len(ents))
	}

	code, stdout, stderr = runHotfix(t, "repo", "add", root, paths[0], paths[1])
	if code != ExitOK || !strings.Contains(stdout, "added acme/2.4.1/acme-2.4.1.1.fix") || !strings.Contains(stdout, "added acme/2.4.1/acme-2.4.1.2.fix") {
		t.Fatalf("add: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = runHotfix(t, "repo", "add", root, paths[1])
	if code != ExitOK || !strings.Contains(stdout, "unchanged acme/2.4.1/acme-2.4.1.2.fix") {
		t.Errorf("re-add: exit %d\n%s", code, stdout)
	}

	// Build: usage errors first.
	if code, _, stderr := runHotfix(t, "repo", "build", root); code != ExitUsage || !strings.Contains(stderr, "--key") {
		t.Errorf("build without --key: exit %d\n%s", code, stderr)
	}
	if code, _, _ := runHotfix(t, "repo", "build", root, "--key", testSecret, "--expires", "-1h"); code != ExitUsage {
		t.Errorf("build with a negative expiry: exit %d", code)
	}
	if code, _, stderr := runHotfix(t, "repo", "build", root, "--key", testPublic); code != ExitError {
		t.Errorf("build with a public key: exit %d\n%s", code, stderr)
	}

	code, stdout, stderr = runHotfix(t, "repo", "build", root, "--key", testSecret, "--expires", "48h")
	if code != ExitOK || !strings.Contains(stdout, "acme 2.4.1: serial 1, 2 fixes, latest 2.4.1.2") {
		t.Fatalf("build: exit %d\n%s%s", code, stdout, stderr)
	}
	data, _ := os.ReadFile(filepath.Join(root, "acme", "2.4.1", "index.json"))
	ix, err := repo.ParseIndex(data)
	if err != nil {
		t.Fatal(err)
	}
	if ix.Expires.Sub(ix.Generated) != 48*time.Hour {
		t.Errorf("--expires 48h gave %s", ix.Expires.Sub(ix.Generated))
	}

	code, _, stderr = runHotfix(t, "repo", "add", root, paths[2])
	if code != ExitOK {
		t.Fatalf("add 2.4.1.3: exit %d: %s", code, stderr)
	}
	code, stdout, stderr = runHotfix(t, "repo", "build", root, "--key", testSecret)
	if code != ExitOK || !strings.Contains(stdout, "serial 2, 3 fixes, latest 2.4.1.3") {
		t.Fatalf("rebuild: exit %d\n%s%s", code, stdout, stderr)
	}

	code, stdout, stderr = runHotfix(t, "repo", "verify", root, "--keyring", testPublic)
	if code != ExitOK || !strings.Contains(stdout, "OK") {
		t.Fatalf("verify: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr := runHotfix(t, "repo", "verify", root); code != ExitUsage || !strings.Contains(stderr, "--keyring") {
		t.Errorf("verify without --keyring: exit %d\n%s", code, stderr)
	}

	// An unknown key: every signature is a problem, exit 1.
	code, stdout, stderr = runHotfix(t, "repo", "verify", root, "--keyring", otherKey)
	if code != ExitError || strings.Count(stdout, ".asc:") != 2 || !strings.Contains(stderr, "2 problems") {
		t.Errorf("verify with another key: exit %d\n%s%s", code, stdout, stderr)
	}

	// A changed published archive is refused by add.
	changedDir := t.TempDir()
	demo.WriteSample(changedDir)
	os.WriteFile(filepath.Join(changedDir, "fixes", "2.4.1.1", "files", "lib", "tax.php"), []byte("<?php // changed\n"), 0o644)
	if code, _, stderr := runHotfix(t, "pack", filepath.Join(changedDir, "fixes", "2.4.1.1"), "--out", changedDir); code != ExitOK {
		t.Fatalf("pack changed: %s", stderr)
	}
	code, _, stderr = runHotfix(t, "repo", "add", root, filepath.Join(changedDir, "acme-2.4.1.1.fix"))
	if code != ExitError || !strings.Contains(stderr, "2.4.1.1 already published with different content") {
		t.Errorf("add changed 2.4.1.1: exit %d\n%s", code, stderr)
	}

	// A hostile archive is refused with its cause.
	code, _, stderr = runHotfix(t, "repo", "add", root, filepath.Join("..", "repo", "fixarchive", "testdata", "hostile", "traversal.fix"))
	if code != ExitError || !strings.Contains(stderr, "climbs out") {
		t.Errorf("add hostile: exit %d\n%s", code, stderr)
	}
}

// verify prints every problem and exits 1.
func TestRepoVerifyCLIProblems(t *testing.T) {
	paths := packDemo(t)
	root := t.TempDir()
	if code, _, stderr := runHotfix(t, append([]string{"repo", "add", root}, paths...)...); code != ExitOK {
		t.Fatal(stderr)
	}
	// Build in the past, so that the indexes are expired now.
	signer, err := sign.LoadSigner(testSecret, nil)
	if err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-60 * 24 * time.Hour)
	if _, err := publish.Build(t.Context(), root, publish.BuildOptions{Signer: signer, Now: func() time.Time { return past }}); err != nil {
		t.Fatal(err)
	}
	ch := filepath.Join(root, "acme", "2.4.1")
	a1 := filepath.Join(ch, "acme-2.4.1.1.fix")
	os.Truncate(a1, 100)
	a3 := filepath.Join(ch, "acme-2.4.1.3.fix")
	data, _ := os.ReadFile(a3)
	data[200] ^= 0xff
	os.WriteFile(a3, data, 0o644)

	code, stdout, stderr := runHotfix(t, "repo", "verify", root, "--keyring", testPublic)
	if code != ExitError {
		t.Fatalf("exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"repo.json: expired on",
		"acme/2.4.1/index.json: expired on",
		"acme/2.4.1/acme-2.4.1.1.fix: size 100, the index says",
		"acme/2.4.1/acme-2.4.1.3.fix: sha256",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("verify output lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "4 problems found") {
		t.Errorf("stderr %q", stderr)
	}

	// Tamper with the index too: its signature fails and is listed as well.
	index := filepath.Join(ch, "index.json")
	data, _ = os.ReadFile(index)
	os.WriteFile(index, []byte(strings.Replace(string(data), "ACME-101", "ACME-999", 1)), 0o644)
	code, stdout, _ = runHotfix(t, "repo", "verify", root, "--keyring", testPublic)
	if code != ExitError || !strings.Contains(stdout, "acme/2.4.1/index.json.asc:") || !strings.Contains(stdout, "repo.json: expired") {
		t.Errorf("exit %d\n%s", code, stdout)
	}
}
