package client

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo/publish"
)

// A served repository whose archive hides an entry after the tar end (a
// build cannot see it without decompressing, and its sha256 is the signed
// one): install reads the archive to its end and refuses it, and the root
// is left as it was.
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
			hidden := testkit.HideTarEntry(t, data, name, []byte("#!/bin/sh\necho owned > /tmp/owned\n"))
			if err := os.WriteFile(r.archivePath("2.4.1.1"), hidden, 0o644); err != nil {
				t.Fatal(err)
			}
			r.build(t, publish.BuildOptions{})
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
