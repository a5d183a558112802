package cmd

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRepoAddTestingKilled kills "hotfix repo add --testing" with SIGKILL
// at spread-out moments: whatever the moment, every fix that reached the
// channel has its testing-ring record (recorded before any archive is
// placed), so no build can ever publish it to everyone by accident; the
// add run again completes and the build signs the testing ring.
func TestRepoAddTestingKilled(t *testing.T) {
	uaSetup(t)
	packed, err := filepath.Glob(filepath.Join(uaScratch, "packed", "*.fix"))
	if err != nil || len(packed) != 3 {
		t.Fatalf("packed archives: %v %v", packed, err)
	}
	// One run to the end says how long a run takes here, over which the
	// kills are spread.
	began := time.Now()
	if out, err := exec.Command(uaBin, append([]string{"repo", "add", "--testing", t.TempDir()}, packed...)...).CombinedOutput(); err != nil {
		t.Fatalf("add: %v\n%s", err, out)
	}
	full := time.Since(began)
	killed := 0
	for i := range 8 {
		after := full * time.Duration(i) / 8
		root := t.TempDir()
		cmd := exec.Command(uaBin, append([]string{"repo", "add", "--testing", root}, packed...)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(after)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			killed++
		}
		dir := filepath.Join(root, "acme", "2.4.1")
		fixes, _ := filepath.Glob(filepath.Join(dir, "*.fix"))
		var rec struct {
			Fixes map[string]struct{ Ring string } `json:"fixes"`
		}
		if data, err := os.ReadFile(filepath.Join(dir, ".rollout.json")); err == nil {
			if err := json.Unmarshal(data, &rec); err != nil {
				t.Fatalf("kill after %s: a torn rollout record: %v", after, err)
			}
		} else if len(fixes) > 0 {
			t.Fatalf("kill after %s: %d fixes placed without a rollout record", after, len(fixes))
		}
		for _, f := range fixes {
			v := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "acme-"), ".fix")
			if rec.Fixes[v].Ring != "testing" {
				t.Fatalf("kill after %s: %s placed without its testing record (%+v)", after, v, rec.Fixes)
			}
		}
		// Again, to the end: the build signs every fix in the testing ring
		// (checked for a few of the runs: a build is slow).
		if i%3 != 1 {
			continue
		}
		if out, err := exec.Command(uaBin, append([]string{"repo", "add", "--testing", root}, packed...)...).CombinedOutput(); err != nil {
			t.Fatalf("add again: %v\n%s", err, out)
		}
		if out, err := exec.Command(uaBin, "repo", "build", root, "--key", testSecret).CombinedOutput(); err != nil {
			t.Fatalf("build: %v\n%s", err, out)
		}
		index, err := os.ReadFile(filepath.Join(dir, "index.json"))
		if err != nil || strings.Count(string(index), `"ring": "testing"`) != 3 {
			t.Fatalf("index after a killed add and a second one: %v\n%s", err, index)
		}
	}
	t.Logf("%d of 8 runs killed before they ended (a run takes %s)", killed, full)
}
