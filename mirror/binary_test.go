package mirror

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/internal/demo"
)

// hotfix runs the real binary.
func hotfix(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, hotfixBinary(t), args...)
	cmd.Env = append(os.Environ(), "HOTFIX_CONFIG=/nonexistent/hotfix.toml")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestMirrorKilled: "hotfix mirror" killed by SIGKILL in the middle of an
// archive leaves the mirror as it was (the new index not yet in place);
// the next run resumes the partial archive with a Range request and ends
// with the same tree as a mirror made in one go.
func TestMirrorKilled(t *testing.T) {
	v := newVendorRepo(t, 3)
	var stall atomic.Bool
	stall.Store(true)
	srv, log := serve(t, v.dir, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if stall.Load() && strings.HasSuffix(r.URL.Path, "acme-2.4.1.3.fix") {
				// Half the archive, then nothing: the process is killed
				// while it waits.
				fi, _ := os.Stat(filepath.Join(v.channel(), "acme-2.4.1.3.fix"))
				data, _ := os.ReadFile(filepath.Join(v.channel(), "acme-2.4.1.3.fix"))
				w.Header().Set("Content-Length", fmt.Sprint(fi.Size()))
				w.Write(data[:len(data)/2])
				w.(http.Flusher).Flush()
				<-r.Context().Done()
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	dir := filepath.Join(t.TempDir(), "mirror")
	cmd := exec.Command(hotfixBinary(t), "mirror", srv.URL, dir, "--keyring", vendorPublic)
	cmd.Env = append(os.Environ(), "HOTFIX_CONFIG=/nonexistent/hotfix.toml")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	part := filepath.Join(dir, stagingName, demo.Product, demo.Base, "acme-2.4.1.3.fix.part")
	deadline := time.Now().Add(30 * time.Second)
	for {
		if fi, err := os.Stat(part); err == nil && fi.Size() > 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal("the mirror never started the stalled archive")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	// Nothing served changed: no index, no archive in place yet.
	if _, err := os.Stat(filepath.Join(dir, demo.Product, demo.Base, "index.json")); err == nil {
		t.Error("an index was put in place before all archives were verified")
	}
	stall.Store(false)
	if out, err := hotfix(t, "mirror", srv.URL, dir, "--keyring", vendorPublic); err != nil {
		t.Fatalf("rerun: %v\n%s", err, out)
	}
	resumed := false
	for _, s := range log.spans {
		resumed = resumed || strings.HasSuffix(strings.Fields(s)[0], "acme-2.4.1.3.fix")
	}
	if !resumed {
		t.Errorf("the rerun did not resume the partial archive with a Range request: %v", log.spans)
	}
	ref := filepath.Join(t.TempDir(), "ref")
	if _, err := run(t, srv.URL, ref); err != nil {
		t.Fatal(err)
	}
	if d := diff(tree(t, ref), tree(t, dir)); d != "" {
		t.Errorf("the resumed mirror differs from one made in one go:\n%s", d)
	}
	if _, err := os.Stat(filepath.Join(dir, stagingName)); err == nil {
		t.Error("the staging directory is left after a finished run")
	}
}

// TestMirrorServed: a mirror served by "hotfix serve" is what a client
// installs from, verified with the vendor's key.
func TestMirrorServed(t *testing.T) {
	v := newVendorRepo(t, 3)
	srv, _ := serve(t, v.dir, nil)
	dir := filepath.Join(t.TempDir(), "mirror")
	out, err := hotfix(t, "mirror", srv.URL, dir, "--keyring", vendorPublic, "--product", demo.Product, "--base", demo.Base)
	if err != nil || !strings.Contains(out, "acme 2.4.1: serial 1, 3 fixes") {
		t.Fatalf("mirror: %v\n%s", err, out)
	}
	srv.Close() // the vendor is out of reach from here on

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	serveCmd := exec.CommandContext(ctx, hotfixBinary(t), "serve", dir, "--addr", "127.0.0.1:0")
	stdout, err := serveCmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := serveCmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer serveCmd.Wait()
	defer cancel()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	url := strings.TrimSuffix(strings.Fields(line)[len(strings.Fields(line))-1], "/")

	site := t.TempDir()
	if err := demo.WriteSample(site); err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join(site, "keys")
	os.MkdirAll(keys, 0o755)
	pub, _ := os.ReadFile(vendorPublic)
	os.WriteFile(filepath.Join(keys, "vendor.asc"), pub, 0o644)
	cfg := client.SandboxConfig(url, demo.Product, filepath.Join(site, "root"), keys, site) + "role = \"single\"\n"
	config := filepath.Join(site, "hotfix.toml")
	os.WriteFile(config, []byte(cfg), 0o644)
	if out, err := hotfix(t, "--config", config, "install", "--yes"); err != nil || strings.Count(out, "installed 2.4.1.") != 3 {
		t.Fatalf("install from the mirror: %v\n%s", err, out)
	}
}
