package client

// From issue 16's "also unclear": a failing post_install still runs
// health_check and says what state the fixes are in; an audit log that
// cannot be written refuses a change before it, and fails the command
// (never a silent exit 0) when it breaks after the change.

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPostInstallFailure(t *testing.T) {
	tests := []struct {
		name      string
		hooks     string
		installed int
		msgs      []string
	}{
		{"healthy: fixes stay", "post_install = \"exit 4\"\nhealth_check = \"true\"\n", 3,
			[]string{"post_install hook failed", "health_check passed", "2.4.1.1, 2.4.1.2, 2.4.1.3", "stay installed"}},
		{"no health check: fixes stay", "post_install = \"exit 4\"\n", 3,
			[]string{"post_install hook failed", "no health_check is configured", "stay installed"}},
		{"unhealthy: rolled back, both reported", "post_install = \"exit 4\"\nhealth_check = \"exit 5\"\n", 0,
			[]string{"health_check hook failed", "before it", "post_install hook failed"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{Extra: "[hooks]\n" + tc.hooks})
			c := e.client(t)
			res, err := c.Install(context.Background(), InstallOptions{})
			wantErr(t, err, nil, tc.msgs...)
			if got := installed(t, e); len(got) != tc.installed || len(res.Installed) != tc.installed {
				t.Errorf("recorded %v, result %d; want %d", got, len(res.Installed), tc.installed)
			}
			hooks, _ := os.ReadFile(filepath.Join(e.Cfg.LogDir, "hooks.log"))
			if !strings.Contains(string(hooks), "health_check") && strings.Contains(tc.hooks, "health_check") {
				t.Errorf("health_check did not run after post_install failed:\n%s", hooks)
			}
		})
	}
}

func TestUnwritableAuditLog(t *testing.T) {
	// An audit.log that is a directory cannot be opened for appending,
	// even by root (the tests may run as root, where modes do not bind).
	breakAudit := func(t *testing.T, e *testEnv) {
		t.Helper()
		p := filepath.Join(e.Cfg.LogDir, AuditName)
		os.Remove(p)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("refused before a change", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOptions{})
		c := e.client(t)
		ctx := context.Background()
		if _, err := c.Install(ctx, InstallOptions{Target: ver("2.4.1.1")}); err != nil {
			t.Fatal(err)
		}
		breakAudit(t, e)
		before, state := snapshot(t, e.Root), snapshot(t, e.Cfg.StateDir, "seen.json")
		_, err := c.Install(ctx, InstallOptions{})
		wantErr(t, err, ErrAudit, AuditName, "nothing was changed")
		_, err = c.Rollback(ctx, RollbackOptions{})
		wantErr(t, err, ErrAudit, AuditName, "nothing was changed")
		assertTree(t, before, e.Root)
		assertTree(t, state, e.Cfg.StateDir, "seen.json")
	})
	t.Run("broken during the install", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOptions{})
		p := filepath.Join(e.Cfg.LogDir, AuditName)
		e.Cfg.Hooks.PreInstall = "rm -f " + p + " && mkdir " + p
		res, err := e.client(t).Install(context.Background(), InstallOptions{})
		wantErr(t, err, ErrAudit, AuditName, "what was done stands")
		if len(res.Installed) != 3 || len(installed(t, e)) != 3 {
			t.Errorf("installed %d, recorded %v: the install itself stands", len(res.Installed), installed(t, e))
		}
	})
	t.Run("binary exits 1", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOptions{})
		breakAudit(t, e)
		for _, args := range [][]string{{"install", "--yes"}, {"rollback"}, {"pause", "--reason", "x"}} {
			res := e.hotfix(t, args...)
			if res.Code != 1 || !strings.Contains(res.Stderr, "audit log not written") {
				t.Errorf("%v: exit %d\n%s%s", args, res.Code, res.Stdout, res.Stderr)
			}
		}
	})
}
