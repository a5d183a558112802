package cmd

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/fixarchive"
	"golang.org/x/sys/unix"
)

// holdTemp makes a temporary at path held by a live writer: a separate
// process (flock(1)) holding its lock, as an atomic write in progress
// does. The process is killed when the test ends.
func holdTemp(t *testing.T, path string) {
	t.Helper()
	cmd := exec.Command("flock", "--exclusive", path, "sleep", "120")
	if err := cmd.Start(); err != nil {
		t.Fatalf("flock(1): %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		err = unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB)
		f.Close()
		if err != nil {
			return // held
		}
	}
	t.Fatalf("flock(1) did not take %s", path)
}

// TestRepoCommandsRemoveStaleTemporaries: each repository command that
// writes files atomically (add, rollout, build, trust, in vendor and
// customer channels) removes the
// temporaries that killed runs left of the files it writes (a temporary
// no process holds, which is what kill -9 leaves), and keeps those of
// writers still at work, each in the channel or the folder it writes.
func TestRepoCommandsRemoveStaleTemporaries(t *testing.T) {
	t.Setenv(passphraseEnv, "")
	archives := packDemo(t)
	root := t.TempDir()
	if code, _, errOut := runHotfix(t, "repo", "add", root, archives[0], archives[1]); code != ExitOK {
		t.Fatalf("repo add: %s", errOut)
	}
	rootSec, _ := genKey(t, t.TempDir(), "root")
	_, signPub := genKey(t, t.TempDir(), "sign")
	signSec := strings.TrimSuffix(signPub, ".pub") + ".sec"
	if err := os.MkdirAll(filepath.Join(root, repo.KeysDir), 0o755); err != nil {
		t.Fatal(err)
	}
	// A customer channel, with its first fix: the second is added below.
	customDir := repo.CustomIndexPath("acme", repo.MustParseVersion("2.4.1"), "shop-a")
	if code, _, errOut := runHotfix(t, "repo", "add", root, packCustomFix(t, "1")); code != ExitOK {
		t.Fatalf("repo add of a customer fix: %s", errOut)
	}
	custom2 := packCustomFix(t, "2")
	for _, step := range []struct {
		args  []string
		files []string // written by the command, relative to root
	}{
		// The third fix: the catalog is appended to, not rewritten.
		{[]string{"repo", "add", root, archives[2]}, []string{"acme/2.4.1/.catalog"}},
		{[]string{"repo", "rollout", root, "2.4.1.3", "--percent", "10"}, []string{"acme/2.4.1/.rollout.json"}},
		{[]string{"repo", "trust", root, "--root-key", rootSec, "--signing", signPub}, []string{repo.KeyListPath(1), repo.KeyListPath(1) + repo.SigSuffix}},
		{[]string{"repo", "add", root, custom2}, []string{customDir + "/" + repo.CustomArchiveName("acme", "IS-1", repo.MustParseVersion("2"))}},
		{[]string{"repo", "build", root, "--key", signSec}, []string{
			"acme/2.4.1/" + repo.IndexName, "acme/2.4.1/" + repo.IndexName + repo.SigSuffix, "acme/2.4.1/index.html",
			"acme/2.4.1/.catalog", repo.RootIndexName, repo.RootIndexName + repo.SigSuffix, "index.html",
			customDir + "/" + repo.IndexName, customDir + "/" + repo.IndexName + repo.SigSuffix,
		}},
	} {
		var stale, live []string
		for i, f := range step.files {
			dir, base := filepath.Split(filepath.Join(root, filepath.FromSlash(f)))
			p := filepath.Join(dir, fmt.Sprintf(".%s.tmp-1%d", base, i))
			if err := os.WriteFile(p, []byte("left by a killed run"), 0o600); err != nil {
				t.Fatal(err)
			}
			stale = append(stale, p)
			p = filepath.Join(dir, fmt.Sprintf(".%s.tmp-2%d", base, i))
			holdTemp(t, p)
			live = append(live, p)
		}
		if code, out, errOut := runHotfix(t, step.args...); code != ExitOK {
			t.Fatalf("%v: exit %d\n%s%s", step.args, code, out, errOut)
		}
		for _, p := range stale {
			if _, err := os.Lstat(p); !os.IsNotExist(err) {
				t.Errorf("%v left the stale temporary %s (%v)", step.args[:2], p, err)
			}
		}
		for _, p := range live {
			if _, err := os.Lstat(p); err != nil {
				t.Errorf("%v removed %s, the temporary of a live writer: %v", step.args[:2], p, err)
			}
		}
	}
}

// packCustomFix packs version v of shop-a's customer fix IS-1 of acme
// 2.4.1 and returns the archive.
func packCustomFix(t *testing.T, v string) string {
	t.Helper()
	src := t.TempDir()
	testkit.WriteFile(t, src, "fix.toml", "product = \"acme\"\nkind = \"custom\"\ncustomer = \"shop-a\"\nid = \"IS-1\"\nversion = \""+v+"\"\nbase = \"2.4.1\"\nsummary = \"Shop A export\"\n", 0o644)
	testkit.WriteFile(t, src, "files/app/shop-a.php", "<?php // shop a "+v+"\n", 0o644)
	p, _, err := fixarchive.Pack(t.Context(), src, filepath.Join(src, "out"), fixarchive.PackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}
