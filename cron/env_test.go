package cron

// Test helpers for runs: a signed repository of the sample product built
// with the vendor test key, served by the real repository handler, and a
// client configuration whose every directory lives in t.TempDir().

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo/fixarchive"
	"github.com/hotfix-project/hotfix/repo/publish"
	"github.com/hotfix-project/hotfix/server"
	"github.com/hotfix-project/hotfix/sign"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if runRepoDir != "" {
		os.RemoveAll(filepath.Dir(runRepoDir))
	}
	os.Exit(code)
}

var (
	runRepoOnce sync.Once
	runRepoDir  string // a built repository, copied for each test
	runRootDir  string // the pristine sample root
	runRepoErr  error
)

// builtRepo builds the sample repository once per test binary.
func builtRepo(t *testing.T) (repoDir, sampleRoot string) {
	t.Helper()
	runRepoOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hotfix-cron-test-")
		if err != nil {
			runRepoErr = err
			return
		}
		src := filepath.Join(dir, "sample")
		if runRepoErr = demo.WriteSample(src); runRepoErr != nil {
			return
		}
		var archives []string
		for _, v := range demo.FixVersions {
			p, _, err := fixarchive.Pack(context.Background(), filepath.Join(src, "fixes", v), filepath.Join(dir, "packed"), fixarchive.PackOptions{})
			if err != nil {
				runRepoErr = fmt.Errorf("pack %s: %w", v, err)
				return
			}
			archives = append(archives, p)
		}
		rd := filepath.Join(dir, "repo")
		if runRepoErr = os.MkdirAll(rd, 0o755); runRepoErr != nil {
			return
		}
		if _, runRepoErr = publish.Add(context.Background(), rd, archives, publish.AddOptions{}); runRepoErr != nil {
			return
		}
		signer, err := sign.LoadSigner(filepath.Join("..", "testdata", "keys", "vendor.sec.asc"), nil)
		if err != nil {
			runRepoErr = err
			return
		}
		if _, runRepoErr = publish.Build(context.Background(), rd, publish.BuildOptions{Signer: signer}); runRepoErr != nil {
			return
		}
		runRepoDir, runRootDir = rd, filepath.Join(src, "root")
	})
	if runRepoErr != nil {
		t.Fatal(runRepoErr)
	}
	return runRepoDir, runRootDir
}

// runEnv is one server with its configuration, pointed at a served copy of
// the sample repository.
type runEnv struct {
	Dir    string
	Root   string
	Config string
	Cfg    *client.Config
	URL    string
}

// newRunEnv writes a configuration (extra is appended: top-level keys, then
// tables) and loads it.
func newRunEnv(t *testing.T, extra string) *runEnv {
	t.Helper()
	repoDir, sampleRoot := builtRepo(t)
	h, err := server.New(repoDir, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close(); h.Close() })
	dir := t.TempDir()
	e := &runEnv{Dir: dir, Root: filepath.Join(dir, "root"), URL: srv.URL}
	testkit.CopyTree(t, sampleRoot, e.Root)
	keys := filepath.Join(dir, "keys")
	testkit.CopyTree(t, filepath.Join("..", "testdata", "keys"), keys)
	os.Remove(filepath.Join(keys, "other.pub.asc"))
	os.Remove(filepath.Join(keys, "protected.pub.asc"))
	for _, n := range []string{"vendor.sec.asc", "other.sec.asc", "protected.sec.asc", "README.md"} {
		os.Remove(filepath.Join(keys, n))
	}
	cfg := client.SandboxConfig(srv.URL, demo.Product, e.Root, keys, dir) + "script_timeout = \"30s\"\n"
	e.Config = filepath.Join(dir, "hotfix.toml")
	if err := os.WriteFile(e.Config, []byte(cfg+extra), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := client.LoadConfig(e.Config)
	if err != nil {
		t.Fatalf("test configuration: %v\n%s", err, cfg+extra)
	}
	e.Cfg = c
	return e
}

func (e *runEnv) client(t *testing.T) *client.Client {
	t.Helper()
	c, err := client.New(e.Cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// installed lists the installed fixes, as status reports them.
func (e *runEnv) installed(t *testing.T) []string {
	t.Helper()
	st, err := e.client(t).Status()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range st.Installed {
		out = append(out, f.Version)
	}
	return out
}

// auditActions returns the audit records of scheduled runs.
func (e *runEnv) scheduledRuns(t *testing.T) []client.AuditRecord {
	t.Helper()
	recs, err := client.ReadAudit(e.Cfg.LogDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []client.AuditRecord
	for _, r := range recs {
		if r.Action == AuditAction {
			out = append(out, r)
		}
	}
	return out
}
