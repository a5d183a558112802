package cmd

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/internal/lockfile"
	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo/publish"
	"github.com/hotfix-project/hotfix/sign"
)

func TestRepoPublishCLI(t *testing.T) {
	uaSetup(t)
	dest := filepath.Join(t.TempDir(), "www")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"repo", "publish", uaRepo, "s3:///x"}, "names no bucket"},
		{[]string{"repo", "publish", uaRepo, dest, "--endpoint", "http://127.0.0.1:1"}, "s3://"},
		{[]string{"repo", "publish", uaRepo, dest, "--timeout", "0s"}, "--timeout"},
		{[]string{"repo", "publish", uaRepo}, "missing DEST"},
	} {
		code, _, stderr := runHotfix(t, c.args...)
		if code != ExitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, want 2 saying %q:\n%s", c.args[3:], code, c.want, stderr)
		}
	}
	if _, err := os.Stat(dest); err == nil {
		t.Error("a refused publish created the destination")
	}

	code, stdout, stderr := runHotfix(t, "repo", "publish", uaRepo, dest, "--dry-run")
	if code != ExitOK || !strings.HasPrefix(stdout, "upload acme/2.4.1/acme-2.4.1.1.fix\n") || !strings.HasSuffix(stdout, "upload repo.json.asc\nupload index.html\n") || !strings.Contains(stderr, "would publish") {
		t.Fatalf("--dry-run: exit %d\n%s%s", code, stdout, stderr)
	}
	if ents, _ := os.ReadDir(dest); len(ents) != 0 {
		t.Errorf("--dry-run wrote %v", ents)
	}
	n := strings.Count(stdout, "\n")
	code, _, stderr = runHotfix(t, "repo", "publish", uaRepo, dest)
	if code != ExitOK || !strings.Contains(stderr, "published") || !strings.Contains(stderr, strconv.Itoa(n)+" uploaded, 0 unchanged") {
		t.Fatalf("publish: exit %d\n%s", code, stderr)
	}
	code, _, stderr = runHotfix(t, "repo", "publish", uaRepo, dest)
	if code != ExitOK || !strings.Contains(stderr, "0 uploaded, "+strconv.Itoa(n)+" unchanged") {
		t.Fatalf("second publish: exit %d\n%s", code, stderr)
	}

	l, err := lockfile.TryAcquire(filepath.Join(dest, ".hotfix-publish.lock"), "hotfix repo publish by release-bot")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	code, _, stderr = runHotfix(t, "repo", "publish", uaRepo, dest)
	if code != ExitTempFail || !strings.Contains(stderr, "release-bot") {
		t.Errorf("publish while another holds the lock: exit %d, want 75 naming the holder\n%s", code, stderr)
	}
}

// TestRepoPublishKilledMidway: the real binary publishes a grown
// repository to moto through a proxy that holds one upload while the test
// kills the process with SIGKILL. The bucket left behind is accepted by a
// client (the old chain or the new), and the same command run again
// takes over the dead publish's lock and finishes.
func TestRepoPublishKilledMidway(t *testing.T) {
	uaSetup(t)
	archives := packDemo(t)
	signer, err := sign.LoadSigner(testSecret, nil)
	if err != nil {
		t.Fatal(err)
	}
	moto := testkit.StartMoto(t)
	moto.CreatePublicBucket(t, "cdn")
	target, _ := url.Parse(moto.URL)
	// The incremental publish uploads the new archive, index.json, its
	// signature, the channel page, repo.json, its signature, the top page.
	// Killed after the archive (the old index still names only the old
	// chain) and after repo.json (the new index and signature are up).
	for _, hold := range []int{1, 5} {
		t.Run(strconv.Itoa(hold), func(t *testing.T) {
			root := t.TempDir()
			ctx := context.Background()
			if _, err := publish.Add(ctx, root, archives[:2], publish.AddOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := publish.Build(ctx, root, publish.BuildOptions{Signer: signer}); err != nil {
				t.Fatal(err)
			}
			dest := "s3://cdn/cut-" + strconv.Itoa(hold)
			if code, _, stderr := runHotfix(t, "repo", "publish", root, dest, "--endpoint", moto.URL); code != ExitOK {
				t.Fatalf("first publish: %s", stderr)
			}
			cl := bucketClient(t, moto.URL+"/cdn/cut-"+strconv.Itoa(hold))
			if n := pendingIn(t, cl); n != 2 {
				t.Fatalf("after the first publish %d pending", n)
			}
			if _, err := publish.Add(ctx, root, archives[2:], publish.AddOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := publish.Build(ctx, root, publish.BuildOptions{Signer: signer}); err != nil {
				t.Fatal(err)
			}

			var puts atomic.Int32
			reached, release := make(chan string, 1), make(chan struct{})
			proxy := httputil.NewSingleHostReverseProxy(target)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPut && !strings.Contains(r.URL.Path, ".hotfix-publish.lock") && puts.Add(1) == int32(hold+1) {
					reached <- r.URL.Path
					<-release
					http.Error(w, "cut", http.StatusBadGateway)
					return
				}
				proxy.ServeHTTP(w, r)
			}))
			defer srv.Close()
			e := &uaEnv{Config: filepath.Join(t.TempDir(), "none.toml")}
			p := e.start(t, "repo", "publish", root, dest, "--endpoint", srv.URL)
			select {
			case key := <-reached:
				t.Logf("killing the publish while it uploads %s", key)
			case <-p.done:
				t.Fatalf("the publish ended (exit %d) before the held upload:\n%s", p.code, p.stderr)
			case <-time.After(60 * time.Second):
				t.Fatal("the publish never reached the held upload")
			}
			p.cmd.Process.Signal(syscall.SIGKILL)
			if code := p.wait(t, 30*time.Second); code != -int(syscall.SIGKILL) {
				t.Errorf("publish exit %d, want killed", code)
			}
			close(release)
			want := 2
			if hold == 5 {
				want = 3
			}
			if n := pendingIn(t, cl); n != want {
				t.Errorf("after the kill the client sees %d pending, want %d", n, want)
			}
			code, _, stderr := runHotfix(t, "repo", "publish", root, dest, "--endpoint", moto.URL)
			if code != ExitOK || !strings.Contains(stderr, "no longer runs") {
				t.Fatalf("rerun: exit %d, want 0 after taking over the dead publish's lock\n%s", code, stderr)
			}
			if n := pendingIn(t, cl); n != 3 {
				t.Errorf("after the rerun the client sees %d pending, want 3", n)
			}
		})
	}
}

// bucketClient is a client of the demo product reading a bucket over
// plain HTTP.
func bucketClient(t *testing.T, repoURL string) *client.Client {
	t.Helper()
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	testkit.CopyTree(t, uaRoot, root)
	keys := filepath.Join(dir, "keys")
	os.MkdirAll(keys, 0o755)
	pub, _ := os.ReadFile(testPublic)
	os.WriteFile(filepath.Join(keys, "vendor.pub.asc"), pub, 0o644)
	cfgPath := filepath.Join(dir, "hotfix.toml")
	os.WriteFile(cfgPath, []byte(client.SandboxConfig(repoURL, demo.Product, root, keys, dir)), 0o644)
	cfg, err := client.LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// pendingIn checks and downloads (every pending archive verified) and
// returns how many fixes are pending.
func pendingIn(t *testing.T, cl *client.Client) int {
	t.Helper()
	got, err := cl.Download(t.Context(), nil, nil)
	if err != nil {
		t.Fatalf("the client refused the bucket: %v", err)
	}
	return len(got)
}
