package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/publish"
)

// A served repository whose archive hides an entry after the tar end and
// whose index signs that archive's sha256 (repo build refuses to; a buggy
// or older build, or a hand-signed index, would not): install reads the
// archive to its end and refuses it, and the root is left as it was.
func TestInstallRefusesEntryHiddenAfterTarEnd(t *testing.T) {
	for _, name := range []string{"files/app/shell.php", "scripts/post_install.sh"} {
		t.Run(name, func(t *testing.T) {
			r := &testRepo{Dir: t.TempDir(), Signer: testSigner(t, "vendor.sec.asc")}
			data, err := os.ReadFile(sampleArchives(t)["2.4.1.1"])
			if err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(r.channel("2.4.1"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(r.archivePath("2.4.1.1"), data, 0o644); err != nil {
				t.Fatal(err)
			}
			r.build(t, publish.BuildOptions{})
			hidden := testkit.HideTarEntry(t, data, name, []byte("#!/bin/sh\necho owned > /tmp/owned\n"))
			if err := os.WriteFile(r.archivePath("2.4.1.1"), hidden, 0o644); err != nil {
				t.Fatal(err)
			}
			signArchiveAsIs(t, r, "2.4.1.1", hidden)
			env := newEnv(t, envOptions{Repo: r})
			before := snapshot(t, env.Root)
			_, err = env.client(t).Install(context.Background(), InstallOptions{})
			if err == nil || !strings.Contains(err.Error(), "data after the tar end-of-archive marker") {
				t.Fatalf("error %v, want one naming the data after the tar end", err)
			}
			if d := before.diff(snapshot(t, env.Root)); d != "" {
				t.Errorf("root changed:\n%s", d)
			}
			if _, err := os.Stat(filepath.Join(env.Root, "app", "shell.php")); err == nil {
				t.Error("the hidden entry was installed")
			}
		})
	}
}

// signArchiveAsIs rewrites the channel index so that fix v's entry names
// data's size and sha256, and signs it with the vendor key: a repository
// that vouches for whatever bytes its archive holds.
func signArchiveAsIs(t *testing.T, r *testRepo, v string, data []byte) {
	t.Helper()
	raw, err := os.ReadFile(r.indexPath())
	if err != nil {
		t.Fatal(err)
	}
	var ix map[string]any
	if err := json.Unmarshal(raw, &ix); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	found := false
	for _, f := range ix["fixes"].([]any) {
		if fix := f.(map[string]any); fix["version"] == v {
			fix["size"], fix["sha256"], found = len(data), hex.EncodeToString(sum[:]), true
		}
	}
	if !found {
		t.Fatalf("no fix %s in the index", v)
	}
	if raw, err = json.Marshal(ix); err != nil {
		t.Fatal(err)
	}
	sig, err := r.Signer.SignDetached(raw)
	if err != nil {
		t.Fatal(err)
	}
	testkit.WriteFile(t, r.channel(demo.Base), repo.IndexName, string(raw), 0o644)
	testkit.WriteFile(t, r.channel(demo.Base), repo.IndexName+repo.SigSuffix, string(sig), 0o644)
}
