package client

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/publish"
	"github.com/hotfix-project/hotfix/sign"
)

// assertNothingInstalled checks that a refused install left the root as
// it was and recorded no fix.
func assertNothingInstalled(t *testing.T, e *testEnv, before tree) {
	t.Helper()
	assertTree(t, before, e.Root)
	st, err := LoadState(e.Cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Installed) != 0 {
		t.Fatalf("state records installed fixes after a refusal: %+v", st.Installed)
	}
}

// assertCacheHasNo checks that no archive (only, at most, .part files and
// the verified metadata) is in the cache.
func assertNoArchiveInCache(t *testing.T, e *testEnv) {
	t.Helper()
	for _, f := range listFiles(t, e.Cfg.CacheDir) {
		if strings.HasSuffix(f, ".fix") {
			t.Errorf("unverified archive left in the cache: %s", f)
		}
	}
}

func wantErr(t *testing.T, err error, sentinel error, msgs ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if sentinel != nil && !errors.Is(err, sentinel) {
		t.Errorf("error is not %v: %v", sentinel, err)
	}
	for _, m := range msgs {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("error %q does not contain %q", err, m)
		}
	}
}

// TestHostileRepositoryNothingInstalled serves tampered repositories over
// real HTTP and installs from them: each is refused naming the cause, and
// the root is untouched. It is long because its table is, one row per
// kind of tampering.
func TestHostileRepositoryNothingInstalled(t *testing.T) {
	tests := []struct {
		name string
		opts func(t *testing.T) envOptions
		// prepare runs against the environment before the refused install.
		prepare  func(t *testing.T, e *testEnv, c *Client)
		sentinel error
		msgs     []string
	}{
		{
			name: "index changed after signing",
			prepare: func(t *testing.T, e *testEnv, c *Client) {
				p := e.Repo.indexPath()
				data, _ := os.ReadFile(p)
				data = bytes.Replace(data, []byte(`"Round tax to cents"`), []byte(`"Round tax to dimes"`), 1)
				if err := os.WriteFile(p, data, 0o644); err != nil {
					t.Fatal(err)
				}
			},
			sentinel: sign.ErrBadSignature,
			msgs:     []string{"index for acme 2.4.1", "changed after it was signed"},
		},
		{
			name: "signed by an unknown key",
			prepare: func(t *testing.T, e *testEnv, c *Client) {
				e.Repo.build(t, publish.BuildOptions{Signer: testSigner(t, "other.sec.asc")})
			},
			sentinel: sign.ErrUnknownKey,
			msgs:     []string{"index for acme 2.4.1", "unknown key", "trusted_keys"},
		},
		{
			name: "older signed index replayed",
			prepare: func(t *testing.T, e *testEnv, c *Client) {
				ix := e.Repo.indexPath()
				old, _ := os.ReadFile(ix)
				oldSig, _ := os.ReadFile(ix + repo.SigSuffix)
				e.Repo.build(t, publish.BuildOptions{})
				if _, err := c.Check(context.Background()); err != nil {
					t.Fatalf("check of serial 2: %v", err)
				}
				// A mirror (or an attacker) now serves the serial 1 copy.
				if err := os.WriteFile(ix, old, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(ix+repo.SigSuffix, oldSig, 0o644); err != nil {
					t.Fatal(err)
				}
			},
			sentinel: ErrReplayed,
			msgs:     []string{"index for acme 2.4.1", "serial 1 is lower than serial 2"},
		},
		{
			name: "expired index",
			prepare: func(t *testing.T, e *testEnv, c *Client) {
				e.Repo.build(t, publish.BuildOptions{Now: func() time.Time { return time.Now().Add(-60 * 24 * time.Hour) }})
			},
			sentinel: ErrExpired,
			msgs:     []string{"index for acme 2.4.1 expired on ", `the vendor must re-run "hotfix repo build"`},
		},
		{
			name:     "oversized index",
			opts:     func(t *testing.T) envOptions { return envOptions{Extra: "[network]\nmax_index_size = 200\n"} },
			sentinel: ErrTooLarge,
			msgs:     []string{"index", "limit 200", "[network] max_index_size = 200 bytes in"},
		},
		{
			name: "wrong archive hash",
			prepare: func(t *testing.T, e *testEnv, c *Client) {
				p := e.Repo.archivePath("2.4.1.1")
				data, _ := os.ReadFile(p)
				bad := bytes.Repeat([]byte{'x'}, len(data)) // same size, other bytes
				if err := os.WriteFile(p, bad, 0o644); err != nil {
					t.Fatal(err)
				}
			},
			sentinel: ErrMismatch,
			msgs:     []string{"fix 2.4.1.1: download", "acme-2.4.1.1.fix", "sha256 differs from the signed index"},
		},
		{
			name: "archive longer than declared",
			prepare: func(t *testing.T, e *testEnv, c *Client) {
				p := e.Repo.archivePath("2.4.1.1")
				data, _ := os.ReadFile(p)
				if err := os.WriteFile(p, append(data, 0), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			sentinel: ErrTooLarge,
			msgs:     []string{"fix 2.4.1.1: download", "more than the"},
		},
		{
			name: "archive missing",
			prepare: func(t *testing.T, e *testEnv, c *Client) {
				os.Remove(e.Repo.archivePath("2.4.1.1"))
			},
			msgs: []string{"fix 2.4.1.1: download", "404 Not Found"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var o envOptions
			if tt.opts != nil {
				o = tt.opts(t)
			}
			e := newEnv(t, o)
			c := e.client(t)
			c.Fetcher.retries = 0
			if tt.prepare != nil {
				tt.prepare(t, e, c)
			}
			before := snapshot(t, e.Root)
			_, err := c.Install(context.Background(), InstallOptions{})
			wantErr(t, err, tt.sentinel, tt.msgs...)
			assertNothingInstalled(t, e, before)
			assertNoArchiveInCache(t, e)
		})
	}
}

// faults is middleware that injects network faults into archive
// transfers and records the requests.
type faults struct {
	mu       sync.Mutex
	ranges   []string // Range headers of archive requests
	requests atomic.Int64
	cutAfter atomic.Int64 // >0: close the connection after this many body bytes of an archive
}

func (f *faults) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if path.Ext(r.URL.Path) != ".fix" {
			next.ServeHTTP(w, r)
			return
		}
		f.requests.Add(1)
		f.mu.Lock()
		f.ranges = append(f.ranges, r.Header.Get("Range"))
		f.mu.Unlock()
		if n := f.cutAfter.Load(); n > 0 {
			w = &cuttingWriter{ResponseWriter: w, left: n}
		}
		next.ServeHTTP(w, r)
	})
}

func (f *faults) rangeHeaders() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.ranges...)
}

// cuttingWriter sends left body bytes, then drops the connection, as a
// proxy or a network failure would mid-transfer.
type cuttingWriter struct {
	http.ResponseWriter
	left int64
}

func (c *cuttingWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > c.left {
		c.ResponseWriter.Write(p[:c.left])
		c.ResponseWriter.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // net/http closes the connection
	}
	c.left -= int64(len(p))
	return c.ResponseWriter.Write(p)
}

func TestTruncatedDownloadResumes(t *testing.T) {
	f := &faults{}
	f.cutAfter.Store(100)
	e := newEnv(t, envOptions{Wrap: f.wrap, Extra: "[network]\nretries = 2\n"})
	c := e.client(t)
	before := snapshot(t, e.Root)
	ctx := context.Background()

	_, err := c.Install(ctx, InstallOptions{})
	wantErr(t, err, nil, "fix 2.4.1.1: download", "acme-2.4.1.1.fix")
	if got := f.requests.Load(); got != 3 {
		t.Errorf("%d archive requests, want 3 (1 + 2 retries)", got)
	}
	assertNothingInstalled(t, e, before)
	assertNoArchiveInCache(t, e)
	part := e.cachePath("acme-2.4.1.1.fix.part")
	fi, err := os.Stat(part)
	if err != nil {
		t.Fatalf("no partial file kept for resuming: %v", err)
	}
	// Every retry resumed where the last one stopped.
	if fi.Size() != 300 {
		t.Errorf("partial file holds %d bytes, want 300", fi.Size())
	}
	if r := f.rangeHeaders(); len(r) != 3 || r[0] != "" || r[1] != "bytes=100-" || r[2] != "bytes=200-" {
		t.Errorf("Range headers %q, want none, bytes=100-, bytes=200-", r)
	}

	// The network heals: the next run resumes and installs.
	f.cutAfter.Store(0)
	res, err := c.Install(ctx, InstallOptions{})
	if err != nil {
		t.Fatalf("install after the network healed: %v", err)
	}
	if len(res.Installed) != 3 {
		t.Fatalf("installed %d fixes, want 3", len(res.Installed))
	}
	if r := f.rangeHeaders(); r[3] != "bytes=300-" {
		t.Errorf("resuming request sent Range %q, want bytes=300-", r[3])
	}
	if _, err := os.Stat(part); !os.IsNotExist(err) {
		t.Errorf("partial file still there after success: %v", err)
	}
	for _, v := range []string{"2.4.1.1", "2.4.1.2", "2.4.1.3"} {
		name := "acme-" + v + ".fix"
		if ok, err := fileMatches(e.cachePath(name), sizeOf(t, e.Repo.archivePath(v)), sha256File(t, e.Repo.archivePath(v))); err != nil || !ok {
			t.Errorf("cached %s does not match the repository's (%v)", name, err)
		}
	}
}

func TestDownloadVerifiesCache(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.client(t)
	ctx := context.Background()
	got, err := c.Download(ctx, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("downloaded %d, want 3", len(got))
	}
	// A damaged cached archive is not trusted: it is fetched again.
	p := got[0].Path
	if err := os.WriteFile(p, []byte("damaged"), 0o644); err != nil {
		t.Fatal(err)
	}
	target := repo.MustParseVersion("2.4.1.1")
	if _, err := c.Download(ctx, &target, nil); err != nil {
		t.Fatal(err)
	}
	if ok, _ := fileMatches(p, got[0].Fix.Size, got[0].Fix.SHA256); !ok {
		t.Error("damaged cached archive was not replaced")
	}
	missing := repo.MustParseVersion("2.4.1.9")
	_, err = c.Download(ctx, &missing, nil)
	wantErr(t, err, nil, "fix 2.4.1.9 is not in the index of acme 2.4.1")
}

func TestServerErrorRetriesThenFails(t *testing.T) {
	var n atomic.Int64
	e := newEnv(t, envOptions{Handler: func(string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			http.Error(w, "boom", http.StatusInternalServerError)
		})
	}, Extra: "[network]\nretries = 2\n"})
	c := e.client(t)
	before := snapshot(t, e.Root)
	_, err := c.Install(context.Background(), InstallOptions{})
	wantErr(t, err, nil, "500 Internal Server Error", "the repository server failed; try again later", "/acme/2.4.1/index.json")
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 500 {
		t.Errorf("error does not carry the HTTP status: %v", err)
	}
	if got := n.Load(); got != 3 {
		t.Errorf("%d requests, want 3 (1 + 2 retries)", got)
	}
	assertNothingInstalled(t, e, before)

	// The outcome of the failed check is what status will show.
	s, err := loadSeen(e.Cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	if s.LastCheck == nil || !strings.Contains(s.LastCheck.Outcome, "500") {
		t.Errorf("last check outcome %+v does not record the failure", s.LastCheck)
	}
}

func TestRetryHonoursCancellation(t *testing.T) {
	var n atomic.Int64
	e := newEnv(t, envOptions{Handler: func(string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
		})
	}, Extra: "[network]\nretries = 5\n"})
	c := e.client(t)
	c.Fetcher.backoff = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Check(ctx)
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("check took %s after cancellation", el)
	}
	wantErr(t, err, context.DeadlineExceeded)
	if got := n.Load(); got != 1 {
		t.Errorf("%d requests, want 1: the backoff wait should have been cut short", got)
	}
}

func TestNotFoundIsNotRetried(t *testing.T) {
	var n atomic.Int64
	e := newEnv(t, envOptions{Handler: func(string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// repo.json is asked once too, to tell a channel the vendor
			// never published from a missing file: not a retry.
			if !strings.HasSuffix(r.URL.Path, "/repo.json") {
				n.Add(1)
			}
			http.NotFound(w, r)
		})
	}, Extra: "[network]\nretries = 3\n"})
	_, err := e.client(t).Check(context.Background())
	wantErr(t, err, nil, "404 Not Found", "check repo and product in the configuration")
	if got := n.Load(); got != 1 {
		t.Errorf("%d requests of the index, want 1", got)
	}
}

func TestStalledTransfer(t *testing.T) {
	release := make(chan struct{})
	e := newEnv(t, envOptions{Wrap: func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if path.Ext(r.URL.Path) != ".fix" {
				next.ServeHTTP(w, r)
				return
			}
			w.WriteHeader(http.StatusOK)
			w.Write([]byte("0123456789"))
			w.(http.Flusher).Flush()
			select { // stall, keeping the connection open
			case <-r.Context().Done():
			case <-release:
			case <-time.After(20 * time.Second):
			}
		})
	}})
	defer close(release)
	c := e.client(t)
	c.Fetcher.retries = 0
	c.Fetcher.minRate = 1000
	c.Fetcher.stallWindow = 200 * time.Millisecond
	before := snapshot(t, e.Root)
	start := time.Now()
	_, err := c.Install(context.Background(), InstallOptions{})
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("stall noticed only after %s", el)
	}
	wantErr(t, err, ErrStalled, "fix 2.4.1.1: download", "transfer too slow", "min_rate")
	assertNothingInstalled(t, e, before)
	assertNoArchiveInCache(t, e)
}

// TestMoreBytesThanDeclared: a server that keeps sending is cut off one
// byte after the size the signed index declares.
func TestMoreBytesThanDeclared(t *testing.T) {
	var sent atomic.Int64
	e := newEnv(t, envOptions{Wrap: func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if path.Ext(r.URL.Path) != ".fix" {
				next.ServeHTTP(w, r)
				return
			}
			// No Content-Length: the body runs on and on.
			w.WriteHeader(http.StatusOK)
			chunk := bytes.Repeat([]byte{'z'}, 4096)
			for i := 0; i < 4096 && r.Context().Err() == nil; i++ { // up to 16 MiB
				n, err := w.Write(chunk)
				sent.Add(int64(n))
				if err != nil {
					return
				}
			}
		})
	}})
	c := e.client(t)
	c.Fetcher.retries = 0
	ctx := context.Background()
	res, err := c.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f := res.Pending[0]
	dest := e.cachePath(f.File)
	before := c.Fetcher.Transferred.Load()
	err = c.Fetcher.Download(ctx, "acme/2.4.1/"+f.File, dest, f.Size, f.SHA256, nil)
	wantErr(t, err, ErrTooLarge, "server sent more than the", "bytes the index declares")
	if got := c.Fetcher.Transferred.Load() - before; got != f.Size+1 {
		t.Errorf("read %d body bytes, want size+1 = %d", got, f.Size+1)
	}
	if files := listFiles(t, filepath.Dir(dest)); strings.Contains(strings.Join(files, " "), ".fix") {
		t.Errorf("cache holds %v after the refusal", files)
	}
}

func sizeOf(t *testing.T, p string) int64 {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func sha256File(t *testing.T, p string) string {
	t.Helper()
	sum, _, err := repo.HashFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}
