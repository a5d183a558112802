package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/testkit"
)

// clusterNode is one node of a test cluster: its own root, state and
// configuration, the cluster's shared_dir in common.
type clusterNode struct {
	Name, Dir, Root, Config string
}

func newClusterNode(t testing.TB, shared, name, role string) *clusterNode {
	t.Helper()
	dir := t.TempDir()
	n := &clusterNode{Name: name, Dir: dir, Root: filepath.Join(dir, "roots", "app"), Config: filepath.Join(dir, "hotfix.toml")}
	data, err := os.ReadFile(keyPath("vendor.pub.asc"))
	if err != nil {
		t.Fatal(err)
	}
	testkit.WriteFile(t, filepath.Join(dir, "keys"), "vendor.pub.asc", string(data), 0o644)
	testkit.WriteFile(t, n.Root, "VERSION", "1.0\n", 0o644)
	testkit.WriteFile(t, n.Root, "app/v.txt", "v1.0\n", 0o644)
	cfg := SandboxConfig("file://"+filepath.ToSlash(treeRepo(t)), "tree", n.Root, filepath.Join(dir, "keys"), dir) +
		fmt.Sprintf("role = %q\nscript_timeout = \"30s\"\n[notify]\nsystem_name = %q\n[cluster]\nshared_dir = %q\nstale_after = \"1h\"\n", role, name, shared)
	testkit.WriteFile(t, dir, "hotfix.toml", cfg, 0o644)
	return n
}

func (n *clusterNode) hotfix(t testing.TB, args ...string) runResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	return run(t, ctx, append([]string{"--config", n.Config}, args...)...)
}

// TestClusterSecondaryWaitsForPrimary runs two node processes sharing
// one shared_dir: the secondary refuses (exit 75, "waiting for the
// primary") until the primary recorded a fix, goes only as far as the
// primary, waits with --wait while the primary installs, and cluster
// status lists both nodes, marking one behind and, once its report is
// old, stale.
func TestClusterSecondaryWaitsForPrimary(t *testing.T) {
	t.Parallel()
	shared := t.TempDir()
	primary := newClusterNode(t, shared, "web01", RolePrimary)
	secondary := newClusterNode(t, shared, "web02", RoleSecondary)
	pristine := snapshot(t, secondary.Root)

	res := secondary.hotfix(t, "install", "--yes")
	if res.Code != 75 || !strings.Contains(res.Stderr, "waiting for the primary (the primary has recorded no fix yet)") {
		t.Fatalf("secondary first: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	assertTree(t, pristine, secondary.Root)
	// A scheduled run waits too: exit 75, its report says why, not "failed".
	res = secondary.hotfix(t, "cron", "--now", "--json")
	var rep struct{ Outcome, Waiting, Error string }
	if err := json.Unmarshal([]byte(res.Stdout), &rep); err != nil || res.Code != 75 || rep.Outcome != "waiting" || rep.Error != "" ||
		!strings.Contains(rep.Waiting, "waiting for the primary") {
		t.Errorf("secondary cron: exit %d %+v %v\n%s%s", res.Code, rep, err, res.Stdout, res.Stderr)
	}
	assertTree(t, pristine, secondary.Root)
	// A damaged primary record stops a secondary with the file named.
	testkit.WriteFile(t, shared, "primary/_.json", "{not json", 0o644)
	res = secondary.hotfix(t, "install", "--yes")
	if res.Code != 1 || !strings.Contains(res.Stderr, filepath.Join(shared, "primary", "_.json")) {
		t.Errorf("secondary with a damaged record: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	assertTree(t, pristine, secondary.Root)

	// The primary goes to 1.0.1; the secondary follows that far, no further.
	if res = primary.hotfix(t, "install", "1.0.1", "--yes"); res.Code != 0 {
		t.Fatalf("primary 1.0.1: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	res = secondary.hotfix(t, "install", "--yes")
	if res.Code != 75 || !strings.Contains(res.Stderr, "waiting for the primary (primary web01 at 1.0.1)") || !strings.Contains(res.Stdout, "installed 1.0.1") {
		t.Fatalf("secondary after 1.0.1: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	assertTree(t, expectedRoot(t, 1), secondary.Root)

	// cluster status: web02 reported at 1.0.1 like the primary; web01 current.
	res = secondary.hotfix(t, "cluster", "status", "--json")
	var cs ClusterStatus
	if err := json.Unmarshal([]byte(res.Stdout), &cs); err != nil || res.Code != 0 || len(cs.Nodes) != 2 {
		t.Fatalf("cluster status: exit %d %v\n%s%s", res.Code, err, res.Stdout, res.Stderr)
	}
	if cs.Primary["_"].Level.String() != "1.0.1" || cs.Nodes[0].Node != "web01" || cs.Nodes[1].Node != "web02" || cs.Nodes[1].Role != RoleSecondary {
		t.Errorf("cluster status %+v", cs)
	}

	// The secondary waits (--wait) while the primary installs 1.0.2.
	wait := exec.Command(hotfixBinary(t), "--config", secondary.Config, "install", "--yes", "--wait", "60s")
	wait.Env = append(os.Environ(), "HOTFIX_CONFIG=")
	var wout, werr bytes.Buffer
	wait.Stdout, wait.Stderr = &wout, &werr
	if err := wait.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if res = primary.hotfix(t, "install", "--yes"); res.Code != 0 {
		wait.Process.Kill()
		wait.Wait()
		t.Fatalf("primary: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	if err := wait.Wait(); err != nil {
		t.Fatalf("secondary --wait: %v\n%s%s", err, wout.String(), werr.String())
	}
	if !strings.Contains(wout.String(), "installed 1.0.2") {
		t.Errorf("secondary --wait said:\n%s%s", wout.String(), werr.String())
	}
	assertTree(t, expectedRoot(t, 2), secondary.Root)
	assertTree(t, expectedRoot(t, 2), primary.Root)
	// The primary ran first: its script of 1.0.2 ended before the secondary's began.
	pst, sst := readStamps(t, primary.Dir), readStamps(t, secondary.Dir)
	if len(pst) != 4 || len(sst) != 4 || pst[3].at >= sst[2].at {
		t.Errorf("stamps: primary %v, secondary %v", pst, sst)
	}

	res = primary.hotfix(t, "cluster", "status")
	if res.Code != 0 || !strings.Contains(res.Stdout, "web01") || !strings.Contains(res.Stdout, "web02") || strings.Contains(res.Stdout, "BEHIND") {
		t.Errorf("cluster status: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	// A node whose report is old is stale; one below the primary is behind.
	var ns NodeStatus
	if _, err := readShared(filepath.Join(shared, "nodes", "web02.json"), &ns); err != nil {
		t.Fatal(err)
	}
	ns.At = ns.At.Add(-2 * time.Hour)
	ns.Instances[0].Level = ns.Instances[0].Base
	if err := writeShared(filepath.Join(shared, "nodes", "web02.json"), &ns); err != nil {
		t.Fatal(err)
	}
	res = primary.hotfix(t, "cluster", "status")
	if res.Code != 1 || !strings.Contains(res.Stdout, "BEHIND the primary, STALE") || !strings.Contains(res.Stderr, "nodes behind the primary or stale: web02") {
		t.Errorf("cluster status with web02 old: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	// A file in shared_dir that hotfix did not write is named, not trusted.
	testkit.WriteFile(t, shared, "nodes/web03.json", "{\"node\": \"web03\", \"extra\": 1}", 0o644)
	res = primary.hotfix(t, "cluster", "status", "--json")
	if res.Code != 1 || !strings.Contains(res.Stdout, "web03.json") {
		t.Errorf("cluster status with a foreign file: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
}

// readStamps reads DIR/stamps/app, what treeStampScript wrote for a
// node's root.
func readStamps(t testing.TB, dir string) []stamp {
	t.Helper()
	e := &treeEnv{Dir: dir}
	data, err := os.ReadFile(filepath.Join(dir, "stamps", "app"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "stamps", "a"), data, 0o644)
	return e.stamps(t)["a"]
}
