package cmd

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/server"
)

// vendorRepo copies the signed sample repository (acme 2.4.1 with three
// fixes) so that a test can change it with the vendor's commands.
func vendorRepo(t *testing.T) string {
	t.Helper()
	uaSetup(t)
	dir := filepath.Join(t.TempDir(), "repo")
	testkit.CopyTree(t, uaRepo, dir)
	return dir
}

// newEnvOn is newUAEnv on a repository of the test's own, served over
// HTTP (or, with fileURL, read as file://), for a server whose installed
// base is base.
func newEnvOn(t *testing.T, repoDir, base string, fileURL bool) *uaEnv {
	t.Helper()
	uaSetup(t)
	url := "file://" + repoDir
	if !fileURL {
		h, err := server.New(repoDir, server.Options{})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		t.Cleanup(func() { srv.CloseClientConnections(); srv.Close(); h.Close() })
		url = srv.URL
	}
	dir := t.TempDir()
	e := &uaEnv{Dir: dir, Root: filepath.Join(dir, "root"), Config: filepath.Join(dir, "hotfix.toml")}
	testkit.CopyTree(t, uaRoot, e.Root)
	testkit.WriteFile(t, e.Root, "VERSION", base+"\n", 0o644)
	keys := filepath.Join(dir, "keys")
	pub, err := os.ReadFile(testPublic)
	if err != nil {
		t.Fatal(err)
	}
	testkit.WriteFile(t, keys, "vendor.pub.asc", string(pub), 0o644)
	e.base = client.SandboxConfig(url, demo.Product, e.Root, keys, dir)
	e.write(t, "")
	return e
}

func (e *uaEnv) hotfix(t *testing.T, want int, args ...string) (string, string) {
	t.Helper()
	code, out, errOut := runHotfix(t, append([]string{"--config", e.Config}, args...)...)
	if code != want {
		t.Fatalf("hotfix %v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, code, want, out, errOut)
	}
	return out, errOut
}

// TestEmptyChannel: a vendor declares the channel of a new base before any
// fix of it exists; servers patched to that base hear "no fixes published
// yet", exit 0, and their scheduled runs stay quiet. A base or product
// the signed repo.json does not list stays an error that says so.
func TestEmptyChannel(t *testing.T) {
	repoDir := vendorRepo(t)
	// The vendor's side, through the real commands.
	out := mustHotfix(t, ExitOK, "repo", "add", repoDir, "--product", "acme", "--base", "2.5.0")
	if !strings.Contains(out, "added the empty channel acme/2.5.0/") {
		t.Errorf("repo add --product --base said:\n%s", out)
	}
	if out := mustHotfix(t, ExitOK, "repo", "add", repoDir, "--product", "acme", "--base", "2.5.0"); !strings.Contains(out, "unchanged acme/2.5.0/") {
		t.Errorf("declaring it again said:\n%s", out)
	}
	if code, _, errOut := runHotfix(t, "repo", "add", repoDir, "--product", "../x", "--base", "2.5.0"); code != ExitError || !strings.Contains(errOut, "not changed") {
		t.Errorf("a bad product name: exit %d, %s", code, errOut)
	}
	if code, _, errOut := runHotfix(t, "repo", "add", repoDir, "--product", "acme", "--base", "2..5"); code != ExitUsage {
		t.Errorf("a bad base: exit %d, %s", code, errOut)
	}
	build := mustHotfix(t, ExitOK, "repo", "build", repoDir, "--key", testSecret)
	if !strings.Contains(build, "acme 2.5.0: serial 1, 0 fixes, no fixes") || !strings.Contains(build, "acme 2.4.1: serial 2, 3 fixes") {
		t.Errorf("repo build said:\n%s", build)
	}

	for _, fileURL := range []bool{false, true} {
		name := "http"
		if fileURL {
			name = "file"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnvOn(t, repoDir, "2.5.0", fileURL)
			out, _ := e.hotfix(t, ExitOK, "check")
			if out != "no fixes published yet for acme 2.5.0\n" {
				t.Errorf("check said %q", out)
			}
			js, _ := e.hotfix(t, ExitOK, "--json", "check")
			testkit.Golden(t, "check-empty-channel.json", normalize(t, js, e.Dir))
			// The scheduled run: exit 0 and nothing for cron to mail.
			if out, errOut := e.hotfix(t, ExitOK, "cron", "--now"); out != "" || errOut != "" {
				t.Errorf("a scheduled run on an empty channel printed:\nstdout: %s\nstderr: %s", out, errOut)
			}
			if out, _ := e.hotfix(t, ExitOK, "install", "--yes"); !strings.Contains(out, "nothing to install") {
				t.Errorf("install said %q", out)
			}

			for _, tc := range []struct{ product, base, want string }{
				{"acme", "2.6.0", "the vendor publishes no channel for acme 2.6.0 (its channels of acme: 2.4.1, 2.5.0): check the installed version in version_file"},
				{"acme", "2.4", "no channel for acme 2.4 (its channels of acme: 2.4.1, 2.5.0)"},
				{"shop", "2.5.0", `has no product "shop" (it publishes: acme): check product in`},
			} {
				u := newEnvOn(t, repoDir, tc.base, fileURL)
				u.write(t, "")
				cfg := strings.Replace(u.base, `product = "acme"`, `product = "`+tc.product+`"`, 1)
				testkit.WriteFile(t, u.Dir, "hotfix.toml", cfg, 0o644)
				_, errOut := u.hotfix(t, ExitError, "check")
				if !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 {
					t.Errorf("%s %s: check said %q, want one line with %q", tc.product, tc.base, errOut, tc.want)
				}
				// A scheduled run reports the error (exit 1): the vendor
				// must hear of a base nobody declared.
				u.hotfix(t, ExitError, "cron", "--now")
			}
		})
	}
}

// TestEmptyChannelUnverifiedRepoJSON: only a repo.json that verifies
// against trusted_keys may explain a missing index; a forged or unsigned
// one leaves the plain "not found" error.
func TestEmptyChannelUnverifiedRepoJSON(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(t *testing.T, repoDir string)
	}{
		{"forged repo.json", func(t *testing.T, repoDir string) {
			p := filepath.Join(repoDir, "repo.json")
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			testkit.WriteFile(t, repoDir, "repo.json", strings.Replace(string(b), `"name": "acme"`, `"name": "acmf"`, 1), 0o644)
		}},
		{"unsigned repo.json", func(t *testing.T, repoDir string) {
			if err := os.Remove(filepath.Join(repoDir, "repo.json.asc")); err != nil {
				t.Fatal(err)
			}
		}},
		{"no repo.json", func(t *testing.T, repoDir string) {
			if err := os.Remove(filepath.Join(repoDir, "repo.json")); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repoDir := vendorRepo(t)
			tc.spoil(t, repoDir)
			e := newEnvOn(t, repoDir, "2.6.0", false)
			_, errOut := e.hotfix(t, ExitError, "check")
			if strings.Contains(errOut, "no channel") || strings.Contains(errOut, "no product") || !strings.Contains(errOut, "404") {
				t.Errorf("check said %q, want the plain 404", errOut)
			}
		})
	}
}

// mustHotfix runs hotfix (no configuration) and insists on the exit code.
func mustHotfix(t *testing.T, want int, args ...string) string {
	t.Helper()
	code, out, errOut := runHotfix(t, args...)
	if code != want {
		t.Fatalf("hotfix %v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, code, want, out, errOut)
	}
	return out
}
