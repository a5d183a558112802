package cron

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/server"
)

// treeParents is the test tree: a; b and c under a; d and e under b.
var treeParents = map[string]string{"a": "", "b": "a", "c": "a", "d": "b", "e": "b"}

// newTreeConfig writes a configuration with five [[instance]] tables,
// each a copy of the sample root, pointed at the served sample
// repository, with the [schedule] given.
func newTreeConfig(t *testing.T, schedule string) (path string, roots map[string]string) {
	t.Helper()
	repoDir, sampleRoot := builtRepo(t)
	h, err := server.New(repoDir, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close(); h.Close() })
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	testkit.CopyTree(t, filepath.Join("..", "testdata", "keys"), keys)
	for _, n := range []string{"other.pub.asc", "protected.pub.asc", "vendor.sec.asc", "other.sec.asc", "protected.sec.asc", "README.md"} {
		os.Remove(filepath.Join(keys, n))
	}
	cfg := fmt.Sprintf("repo = %q\nproduct = %q\nversion_file = \"VERSION\"\ntrusted_keys = %q\n", srv.URL, demo.Product, keys)
	for _, d := range []string{"state", "cache", "log", "lock"} {
		cfg += fmt.Sprintf("%s_dir = %q\n", d, filepath.Join(dir, d))
	}
	cfg += "script_timeout = \"30s\"\nparallel = 2\n[schedule]\n" + schedule + "\n"
	roots = map[string]string{}
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		roots[name] = filepath.Join(dir, "roots", name)
		testkit.CopyTree(t, sampleRoot, roots[name])
		cfg += fmt.Sprintf("\n[[instance]]\nname = %q\nroot = %q\n", name, roots[name])
		if p := treeParents[name]; p != "" {
			cfg += fmt.Sprintf("parent = %q\n", p)
		}
	}
	path = filepath.Join(dir, "hotfix.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, roots
}

// TestDaemonInstallsTheTree: the daemon (a manual clock, a schedule
// allowed on Mondays only) over [[instance]] tables does nothing on
// Sunday and at Monday's fire time installs every instance by the real
// scheduled run: each instance at the newest fix, parents' fixes
// recorded before any of their children's, one audit record of the run
// per instance.
func TestDaemonInstallsTheTree(t *testing.T) {
	path, _ := newTreeConfig(t, "cron = \"0 4 * * *\"\ndays_of_week = \"1\"\nrandom_wait = \"0\"")
	log := &testkit.LockedBuffer{}
	load := func() (*client.Client, error) {
		cfg, err := client.LoadConfig(path)
		if err != nil {
			return nil, err
		}
		return client.New(cfg, nil)
	}
	cfg, err := client.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	// 2025-01-05 is a Sunday.
	clock := newManualClock(at("2025-01-05T10:00:00Z"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Daemon(ctx, DaemonOptions{Load: load, Clock: clock, MaxNap: 10000 * time.Hour,
			Log: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("daemon did not stop")
		}
	})

	clock.awaitSleeper(t, at("2025-01-06T04:00:00Z"))
	if strings.Contains(log.String(), "scheduled run starting") {
		t.Fatalf("ran on Sunday:\n%s", log)
	}
	clock.Advance(18 * time.Hour)
	for start := time.Now(); !strings.Contains(log.String(), "scheduled run done") && !strings.Contains(log.String(), "scheduled run failed"); time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > 60*time.Second {
			t.Fatalf("no run at Monday 04:00:\n%s", log)
		}
	}
	if !strings.Contains(log.String(), "outcome=installed") {
		t.Fatalf("run:\n%s", log)
	}

	first, last := map[string]time.Time{}, map[string]time.Time{}
	for name := range treeParents {
		icfg, err := cfg.ForInstance(name)
		if err != nil {
			t.Fatal(err)
		}
		cl, err := client.New(icfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		st, err := cl.Status()
		if err != nil {
			t.Fatal(err)
		}
		if st.Level != demo.FixVersions[len(demo.FixVersions)-1] || len(st.Installed) != len(demo.FixVersions) {
			t.Errorf("%s: level %s, %d installed", name, st.Level, len(st.Installed))
			continue
		}
		first[name], last[name] = st.Installed[0].InstalledAt, st.Installed[len(st.Installed)-1].InstalledAt
		recs, err := client.ReadAudit(icfg.LogDir)
		if err != nil {
			t.Fatal(err)
		}
		runs := 0
		for _, r := range recs {
			if r.Action == AuditAction && strings.HasPrefix(r.Detail, "daemon: ") {
				runs++
			}
		}
		if runs != 1 {
			t.Errorf("%s: %d audit records of the run, want 1", name, runs)
		}
	}
	for name, parent := range treeParents {
		if parent != "" && !first[name].After(last[parent]) {
			t.Errorf("%s's first fix (%v) not after its parent %s's last (%v)", name, first[name], parent, last[parent])
		}
	}
}
