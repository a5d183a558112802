package cmd

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRepoAddKilled kills "hotfix repo add" with SIGKILL at spread-out
// moments. Add copies each archive into a staging directory of the
// repository while it verifies it, then fsyncs and renames the copies into
// the channel in chain order. Whatever the moment of the kill, the channel
// holds a gap-free prefix of the chain, every archive in it whole and
// byte for byte the vendor's; the next add removes the killed run's
// staging directory, completes the chain, and leaves nothing behind.
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
	killed, staged := 0, 0
	for i := range 8 {
		after := full * time.Duration(i) / 8
		root := t.TempDir()
		cmd := exec.Command(uaBin, append([]string{"repo", "add", root}, packed...)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(after)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			killed++
		}
		if left, _ := filepath.Glob(filepath.Join(root, ".add-staging-*")); len(left) > 0 {
			staged++
		}
		dir := filepath.Join(root, "acme", "2.4.1")
		for n, src := range packed {
			got, err := os.ReadFile(filepath.Join(dir, filepath.Base(src)))
			if os.IsNotExist(err) {
				// Placed in chain order: nothing after the first missing.
				for _, later := range packed[n+1:] {
					if _, err := os.Stat(filepath.Join(dir, filepath.Base(later))); err == nil {
						t.Fatalf("kill after %s: %s placed without %s", after, filepath.Base(later), filepath.Base(src))
					}
				}
				break
			}
			want, _ := os.ReadFile(src)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("kill after %s: %s in the channel is not the vendor's archive (%d bytes of %d, %v)", after, filepath.Base(src), len(got), len(want), err)
			}
		}
		if out, err := exec.Command(uaBin, append([]string{"repo", "add", root}, packed...)...).CombinedOutput(); err != nil {
			t.Fatalf("kill after %s: add again: %v\n%s", after, err, out)
		}
		if left, _ := filepath.Glob(filepath.Join(root, ".add-staging-*")); len(left) != 0 {
			t.Fatalf("kill after %s: the next add left staging directories: %v", after, left)
		}
		// A kill while the catalog (a hidden cache that build, verify and
		// publish skip) is written may leave its temporary: litter the
		// next add does not clean yet (closing note), never a published
		// file. Any other temporary is a fault.
		left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
		left = slices.DeleteFunc(left, func(p string) bool { return strings.HasPrefix(filepath.Base(p), "..catalog.tmp-") })
		if len(left) != 0 {
			t.Fatalf("kill after %s: temporaries in the channel: %v", after, left)
		}
		for _, src := range packed {
			if _, err := os.Stat(filepath.Join(dir, filepath.Base(src))); err != nil {
				t.Fatalf("kill after %s: the second add did not place %s: %v", after, filepath.Base(src), err)
			}
		}
	}
	t.Logf("%d of 8 runs killed before they ended, %d leaving a staging directory (a run takes %s)", killed, staged, full)
}
