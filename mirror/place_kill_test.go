package mirror

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/yum"
)

// placeKillsWanted kills must land while a run puts files in place (the
// mirror is then neither the old state nor the new) within placeKillRuns
// runs of TestMirrorKilledWhilePlacing.
const (
	placeKillsWanted = 6
	placeKillRuns    = 60
)

// TestMirrorKilledWhilePlacing: "hotfix mirror" (the real binary) killed
// with SIGKILL at many instants while it puts a new state in place (new
// archives, repodata, index, repo.json over the old ones). After each
// kill a client reading the mirror accepts the old state or the new, never
// a mix: every signed file it accepts (repo.json, the index, repomd.xml)
// names only files that are there, whole, and an index's serial is the
// old or the new one; the next run ends with the new state exactly. The
// test goes on until placeKillsWanted kills landed mid-placement, and
// fails if they do not within placeKillRuns runs.
func TestMirrorKilledWhilePlacing(t *testing.T) {
	v := newVendorRepo(t, 2)
	old := filepath.Join(t.TempDir(), "old")
	if _, err := run(t, v.dir, old); err != nil {
		t.Fatal(err)
	}
	v.add(t, demo.FixVersions[2])
	v.build(t)
	ref := filepath.Join(t.TempDir(), "new")
	if _, err := run(t, v.dir, ref); err != nil {
		t.Fatal(err)
	}
	newTree := tree(t, ref)
	bin := hotfixBinary(t)
	mirrorCmd := func(dir string) *exec.Cmd {
		cmd := exec.Command(bin, "mirror", v.dir, dir, "--keyring", vendorPublic)
		cmd.Env = append(os.Environ(), "HOTFIX_CONFIG=/nonexistent/hotfix.toml")
		return cmd
	}
	// Whole runs from the old state say how long one takes here (the
	// shortest of three), over which the kills are spread.
	full := time.Hour
	for range 3 {
		dir := copyTree(t, old)
		began := time.Now()
		if out, err := mirrorCmd(dir).CombinedOutput(); err != nil {
			t.Fatalf("mirror: %v\n%s", err, out)
		}
		full = min(full, time.Since(began))
	}
	var olds, news, mids, refused, runs int
	for ; runs < placeKillRuns && mids < placeKillsWanted; runs++ {
		dir := copyTree(t, old)
		// The files are put in place in the later part of a run, after
		// every download was verified: the kills fall from 6/16 to 15/16
		// of the shortest run, over and over.
		after := full * time.Duration(runs%10+6) / 16
		cmd := mirrorCmd(dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(after)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		served := servedTree(t, dir)
		switch {
		case diff(servedTree(t, old), served) == "":
			olds++
		case diff(servedTree(t, ref), served) == "":
			news++
		default:
			mids++
		}
		refused += clientView(t, dir, after)
		if out, err := mirrorCmd(dir).CombinedOutput(); err != nil {
			t.Fatalf("kill after %s: the next run: %v\n%s", after, err, out)
		}
		if d := diff(newTree, tree(t, dir)); d != "" {
			t.Fatalf("kill after %s: the next run did not end with the new state:\n%s", after, d)
		}
	}
	t.Logf("%d runs (a run takes %s): %d killed before placing, %d mid-placement (%d signed files refused as half placed), %d after",
		runs, full, olds, mids, refused, news)
	if mids < placeKillsWanted {
		t.Fatalf("only %d of %d kills landed while the run put files in place, want %d: the test did not test placement", mids, runs, placeKillsWanted)
	}
}

// servedTree is tree without what nobody serves: dot-files and
// dot-directories (the staging directory, temporaries).
func servedTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := tree(t, dir)
	for p := range out {
		for _, c := range strings.Split(p, "/") {
			if strings.HasPrefix(c, ".") {
				delete(out, p)
				break
			}
		}
	}
	return out
}

// clientView reads the mirror at dir as a client does and fails the test
// if a signed file the client accepts names a file that is missing or
// other than it says, or holds a serial of neither state. A signed file
// whose signature does not verify (the run was killed between the file
// and its signature) is refused by the client, which tries again later;
// clientView returns how many were.
func clientView(t *testing.T, dir string, after time.Duration) int {
	t.Helper()
	kr := keyring(t, vendorPublic)
	base := repo.MustParseVersion(demo.Base)
	check := client.IndexCheck{Keyring: kr, Now: time.Now(), Product: demo.Product, Base: base, MaxSize: repo.MaxIndexSize}
	refused := 0
	signed := func(rel string) (data, sig []byte) {
		data, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatalf("kill after %s: %s: %v", after, rel, err)
		}
		sig, err = os.ReadFile(filepath.Join(dir, rel+repo.SigSuffix))
		if err != nil {
			t.Fatalf("kill after %s: %s: %v", after, rel+repo.SigSuffix, err)
		}
		return data, sig
	}
	present := func(what, rel string, size int64, sum string) {
		if err := repo.CheckFile(filepath.Join(dir, filepath.FromSlash(rel)), size, sum); err != nil {
			t.Fatalf("kill after %s: a client accepts %s, which names %s: %v", after, what, rel, err)
		}
	}
	rootData, rootSig := signed(repo.RootIndexName)
	if _, err := client.VerifyRootIndex(rootData, rootSig, client.IndexCheck{Keyring: kr, Now: check.Now, MaxSize: repo.MaxIndexSize}); err != nil {
		refused++
	}
	channel := demo.Product + "/" + demo.Base
	data, sig := signed(channel + "/" + repo.IndexName)
	ix, err := client.VerifyIndex(data, sig, check)
	if err != nil {
		return refused + 1 + repomdView(t, dir, channel, check, after)
	}
	if ix.Serial != 1 && ix.Serial != 2 {
		t.Fatalf("kill after %s: a client accepts an index of serial %d, neither the old nor the new", after, ix.Serial)
	}
	for _, f := range archivesOf(ix) {
		present(fmt.Sprintf("the index of serial %d", ix.Serial), channel+"/"+f.name, f.size, f.sha256)
	}
	return refused + repomdView(t, dir, channel, check, after)
}

// repomdView is clientView for the channel's repodata, as dnf reads it.
func repomdView(t *testing.T, dir, channel string, check client.IndexCheck, after time.Duration) int {
	t.Helper()
	rel := channel + "/" + yum.Dir + "/" + yum.RepoMDName
	md, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		t.Fatalf("kill after %s: %v", after, err)
	}
	sig, err := os.ReadFile(filepath.Join(dir, rel+repo.SigSuffix))
	if err != nil {
		t.Fatalf("kill after %s: %v", after, err)
	}
	if client.VerifySignature(rel, md, sig, check) != nil {
		return 1
	}
	files, errs := yum.ParseRepoMD(md)
	if len(errs) > 0 {
		t.Fatalf("kill after %s: %s: %v", after, rel, errs)
	}
	for _, f := range files {
		if err := repo.CheckFile(filepath.Join(dir, filepath.FromSlash(channel+"/"+f.Href())), f.Size, f.SHA256); err != nil {
			t.Fatalf("kill after %s: dnf accepts %s, which names %s: %v", after, rel, f.Href(), err)
		}
	}
	return 0
}

// copyTree copies the mirror src into a new directory and returns it.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "mirror")
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	return dst
}
