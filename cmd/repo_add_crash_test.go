package cmd

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

// TestRepoAddKilled kills "hotfix repo add" with SIGKILL at spread-out
// moments. Add copies each archive into a staging directory of the
// repository while it verifies it, then fsyncs and renames the copies into
// the channel in chain order and writes the channel's catalog. Whatever
// the moment of the kill, the channel holds a gap-free prefix of the
// chain, every archive in it whole and byte for byte the vendor's; the
// next add removes the killed run's staging directory and any temporary
// the kill left (the catalog's, say), completes the chain, and leaves
// nothing else behind. The test goes on killing until addKillsMidRun
// kills landed while a run was at work (it had left something in the
// repository), and fails if they do not within addKillRuns runs.
func TestRepoAddKilled(t *testing.T) {
	uaSetup(t)
	packed, err := filepath.Glob(filepath.Join(uaScratch, "packed", "*.fix"))
	if err != nil || len(packed) != 3 {
		t.Fatalf("packed archives: %v %v", packed, err)
	}
	// Runs to the end say how long a run takes here (the shortest of
	// three: the first pays for a cold start), over which the kills are
	// spread.
	full := time.Hour
	for range 3 {
		began := time.Now()
		if out, err := exec.Command(uaBin, append([]string{"repo", "add", t.TempDir()}, packed...)...).CombinedOutput(); err != nil {
			t.Fatalf("add: %v\n%s", err, out)
		}
		full = min(full, time.Since(began))
	}
	var killed, midRun, staged, temps, runs int
	for ; runs < addKillRuns && midRun < addKillsMidRun; runs++ {
		// Most of a short run is the process starting: the kills fall
		// in its second half, 8/16 to 15/16, over and over.
		after := full * time.Duration(runs%8+8) / 16
		root := t.TempDir()
		cmd := exec.Command(uaBin, append([]string{"repo", "add", root}, packed...)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(after)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
		wasKilled := ok && ws.Signaled()
		if wasKilled {
			killed++
		}
		left, _ := filepath.Glob(filepath.Join(root, "*"))
		hidden, _ := filepath.Glob(filepath.Join(root, ".*"))
		if wasKilled && len(left)+len(hidden) > 0 {
			midRun++
		}
		if len(hidden) > 0 {
			staged++
		}
		dir := filepath.Join(root, "acme", "2.4.1")
		if tmp, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*")); len(tmp) > 0 {
			temps++
		}
		checkChainPrefix(t, after, dir, packed)
		if out, err := exec.Command(uaBin, append([]string{"repo", "add", root}, packed...)...).CombinedOutput(); err != nil {
			t.Fatalf("kill after %s: add again: %v\n%s", after, err, out)
		}
		// The whole tree is the channel with its archives and catalog
		// (the next add writes it even when the kill came between the
		// last archive and the catalog and it has nothing to place): no
		// staging directory, no temporary of any file, the catalog's
		// included.
		want := []string{"acme", "acme/2.4.1", "acme/2.4.1/.catalog"}
		for _, src := range packed {
			want = append(want, "acme/2.4.1/"+filepath.Base(src))
		}
		if got := treeNames(t, root); !slices.Equal(got, want) {
			t.Fatalf("kill after %s: after the next add the repository holds %v, want %v", after, got, want)
		}
	}
	t.Logf("%d runs: %d killed before they ended, %d of them at work, %d leaving a staging directory, %d a temporary in the channel (a run takes %s)",
		runs, killed, midRun, staged, temps, full)
	if midRun < addKillsMidRun {
		t.Fatalf("only %d of %d kills landed while a run was at work (%d killed at all), want %d: the kills are not testing a run at work", midRun, runs, killed, addKillsMidRun)
	}
}

// addKillsMidRun kills must land while a repo add is at work within
// addKillRuns runs of TestRepoAddKilled.
const (
	addKillsMidRun = 6
	addKillRuns    = 32
)

// checkChainPrefix checks that the channel dir holds a prefix of the
// chain packed, each archive whole and the vendor's.
func checkChainPrefix(t *testing.T, after time.Duration, dir string, packed []string) {
	t.Helper()
	for n, src := range packed {
		got, err := os.ReadFile(filepath.Join(dir, filepath.Base(src)))
		if os.IsNotExist(err) {
			// Placed in chain order: nothing after the first missing.
			for _, later := range packed[n+1:] {
				if _, err := os.Stat(filepath.Join(dir, filepath.Base(later))); err == nil {
					t.Fatalf("kill after %s: %s placed without %s", after, filepath.Base(later), filepath.Base(src))
				}
			}
			return
		}
		want, _ := os.ReadFile(src)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("kill after %s: %s in the channel is not the vendor's archive (%d bytes of %d, %v)", after, filepath.Base(src), len(got), len(want), err)
		}
	}
}

// treeNames lists every path under root, relative and sorted.
func treeNames(t *testing.T, root string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, err := filepath.Rel(root, p)
		names = append(names, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}
