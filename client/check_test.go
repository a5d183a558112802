package client

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/publish"
	"github.com/hotfix-project/hotfix/server"
)

// countingListener counts every byte that crosses its connections in
// either direction: HTTP headers, bodies and chunk framing included.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.n}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// statusRecorder notes the status codes the repository answered.
type statusRecorder struct {
	mu    sync.Mutex
	codes []int
}

func (s *statusRecorder) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := &codeWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rw, r)
		s.mu.Lock()
		s.codes = append(s.codes, rw.code)
		s.mu.Unlock()
	})
}

func (s *statusRecorder) take() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.codes
	s.codes = nil
	return c
}

type codeWriter struct {
	http.ResponseWriter
	code int
}

func (w *codeWriter) WriteHeader(code int) { w.code = code; w.ResponseWriter.WriteHeader(code) }

// TestConditionalCheck: an unchanged index costs two 304 answers and no
// body; a rebuilt one is fetched again; the whole exchange of an unchanged
// check stays under 1 KB on the wire.
func TestConditionalCheck(t *testing.T) {
	rec := &statusRecorder{}
	var wire atomic.Int64
	r := newRepo(t)
	e := newEnv(t, envOptions{Repo: r, Handler: func(dir string) http.Handler {
		h, err := server.New(dir, server.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		return rec.wrap(h)
	}})
	// Swap in a server whose listener counts bytes.
	e.Server.Close()
	srv := httptest.NewUnstartedServer(e.Server.Config.Handler)
	srv.Listener = countingListener{srv.Listener, &wire}
	srv.Start()
	t.Cleanup(srv.Close)
	e.Cfg.Repo = srv.URL
	ctx := context.Background()

	// Each check is a fresh client, as each CLI run is.
	check := func() (*CheckResult, int64, int64) {
		t.Helper()
		c := e.client(t)
		w0 := wire.Load()
		res, err := c.Check(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c.Fetcher.client.CloseIdleConnections()
		return res, c.Fetcher.Transferred.Load(), wire.Load() - w0
	}

	res, firstBody, first := check()
	if res.Index.Serial != 1 || len(res.Pending) != 3 {
		t.Fatalf("first check: serial %d, %d pending", res.Index.Serial, len(res.Pending))
	}
	if got := rec.take(); !reflect.DeepEqual(got, []int{200, 200}) {
		t.Errorf("first check answered %v, want [200 200]", got)
	}
	if firstBody == 0 {
		t.Error("first check transferred no body")
	}

	res, body, unchanged := check()
	if got := rec.take(); !reflect.DeepEqual(got, []int{304, 304}) {
		t.Errorf("unchanged check answered %v, want [304 304]", got)
	}
	if body != 0 {
		t.Errorf("unchanged check transferred %d body bytes, want 0", body)
	}
	if len(res.Pending) != 3 || res.Index.Serial != 1 {
		t.Errorf("unchanged check: serial %d, %d pending", res.Index.Serial, len(res.Pending))
	}
	if unchanged >= 1024 {
		t.Errorf("unchanged check moved %d bytes on the wire, aim < 1024", unchanged)
	}
	t.Logf("first check: %d body bytes, %d on the wire; unchanged check: %d body bytes, %d on the wire (headers included)", firstBody, first, body, unchanged)

	// The vendor rebuilds: the next check fetches the new index.
	time.Sleep(10 * time.Millisecond) // a new mtime, hence a new ETag, on coarse clocks too
	r.build(t, publish.BuildOptions{})
	res, body, _ = check()
	if got := rec.take(); !reflect.DeepEqual(got, []int{200, 200}) {
		t.Errorf("check after a rebuild answered %v, want [200 200]", got)
	}
	if body == 0 || res.Index.Serial != 2 {
		t.Errorf("check after a rebuild: %d body bytes, serial %d", body, res.Index.Serial)
	}

	// A cached index that was damaged on disk is not trusted on a 304:
	// verification fails loudly rather than acting on it.
	cached := e.cachePath(repo.IndexName)
	data, _ := os.ReadFile(cached)
	os.WriteFile(cached, []byte(strings.Replace(string(data), "Round tax", "Round TAX", 1)), 0o644)
	_, err := e.client(t).Check(ctx)
	if err == nil || !strings.Contains(err.Error(), "index for acme 2.4.1") {
		t.Errorf("check with a damaged cached index: %v", err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestCheckFromFileURL: a local mirror works without HTTP.
func TestCheckFromFileURL(t *testing.T) {
	e := newEnv(t, envOptions{FileURL: true})
	res, err := e.client(t).Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Pending) != 3 {
		t.Fatalf("%d pending, want 3", len(res.Pending))
	}
	got, err := e.client(t).Download(context.Background(), nil, nil)
	if err != nil || len(got) != 3 {
		t.Fatalf("download from file://: %d, %v", len(got), err)
	}
}

// TestCheckCLI drives the real binary: exit codes and the JSON shapes of
// DESIGN.md. It is long because it is one story on one root (check,
// install, check again, status), each step depending on the one before.
func TestCheckCLI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})

	r := e.hotfix(t, "check")
	if r.Code != 100 {
		t.Fatalf("check exit %d, want 100\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	for _, want := range []string{"3 fixes pending", "2.4.1.1", "Round tax to cents", "ACME-101", "2.4.1.3"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("check output lacks %q:\n%s", want, r.Stdout)
		}
	}

	r = e.hotfix(t, "check", "--json")
	if r.Code != 100 {
		t.Fatalf("check --json exit %d\n%s", r.Code, r.Stderr)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &got); err != nil {
		t.Fatalf("check --json: %v\n%s", err, r.Stdout)
	}
	assertKeys(t, "check", got, "base", "format", "held", "pending", "product", "published", "serial")
	if got["product"] != "acme" || got["base"] != "2.4.1" || got["serial"] != float64(1) {
		t.Errorf("check --json header: %v", got)
	}
	pending := got["pending"].([]any)
	if len(pending) != 3 {
		t.Fatalf("pending: %v", pending)
	}
	p0 := pending[0].(map[string]any)
	assertKeys(t, "pending[0]", p0, "bugs", "summary", "version")
	if p0["version"] != "2.4.1.1" || p0["summary"] != "Round tax to cents" {
		t.Errorf("pending[0] = %v", p0)
	}
	b0 := p0["bugs"].([]any)[0].(map[string]any)
	assertKeys(t, "bugs[0]", b0, "id", "summary")
	if b0["id"] != "ACME-101" {
		t.Errorf("bugs[0] = %v", b0)
	}

	r = e.hotfix(t, "install", "--yes")
	if r.Code != 0 {
		t.Fatalf("install exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	r = e.hotfix(t, "check", "--json")
	if r.Code != 0 {
		t.Fatalf("check after install exit %d, want 0\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if err := json.Unmarshal([]byte(r.Stdout), &got); err != nil {
		t.Fatal(err)
	}
	if p, ok := got["pending"].([]any); !ok || len(p) != 0 {
		t.Errorf("pending after install: %#v (want an empty list, not null)", got["pending"])
	}

	r = e.hotfix(t, "status", "--json")
	if r.Code != 0 {
		t.Fatalf("status exit %d\n%s", r.Code, r.Stderr)
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, r.Stdout)
	}
	assertKeys(t, "status", st, "base", "format", "held", "index_expires", "installed", "interrupted", "last_check", "last_run", "level", "lock", "paused", "pending", "pending_since", "product")
	if st["paused"] != nil || st["lock"] != nil || st["interrupted"] != nil || st["pending"] != float64(0) {
		t.Errorf("status: paused %v, lock %v, pending %v", st["paused"], st["lock"], st["pending"])
	}
	inst := st["installed"].([]any)
	if len(inst) != 3 {
		t.Fatalf("installed: %v", inst)
	}
	i0 := inst[0].(map[string]any)
	assertKeys(t, "installed[0]", i0, "by", "installed_at", "version")
	if i0["version"] != "2.4.1.1" || i0["by"] == "" {
		t.Errorf("installed[0] = %v", i0)
	}
	if _, err := time.Parse(time.RFC3339, i0["installed_at"].(string)); err != nil {
		t.Errorf("installed_at: %v", err)
	}
	lc := st["last_check"].(map[string]any)
	assertKeys(t, "last_check", lc, "at", "outcome")
	if lc["outcome"] != "up to date" {
		t.Errorf("last_check = %v", lc)
	}

	// Paused: status shows who and why.
	if r := e.hotfix(t, "pause", "--reason", "full patch 2.4.2"); r.Code != 0 {
		t.Fatalf("pause exit %d\n%s", r.Code, r.Stderr)
	}
	r = e.hotfix(t, "status", "--json")
	if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil {
		t.Fatal(err)
	}
	paused, ok := st["paused"].(map[string]any)
	if !ok {
		t.Fatalf("paused = %#v", st["paused"])
	}
	assertKeys(t, "paused", paused, "by", "reason", "since", "until")
	if paused["reason"] != "full patch 2.4.2" || paused["until"] != nil {
		t.Errorf("paused = %v", paused)
	}
}

// TestCheckCLIBrokenConfig: a configuration error exits 1 naming file and line.
func TestCheckCLIBrokenConfig(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	bad := filepath.Join(e.Dir, "bad.toml")
	data, _ := os.ReadFile(e.Config)
	lines := strings.Count(string(data), "\n")
	os.WriteFile(bad, append(data, []byte("role = \"leader\"\n")...), 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := run(t, ctx, "--config", bad, "check")
	if r.Code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	// role is set twice: the second one is the offender (TOML refuses
	// duplicate keys), or, if parsed, "leader" is not a role.
	if !strings.Contains(r.Stderr, bad+":"+itoa(int64(lines+1))) {
		t.Errorf("message does not name %s:%d:\n%s", bad, lines+1, r.Stderr)
	}

	os.WriteFile(bad, []byte(strings.Replace(string(data), `role = "single"`, `role = "leader"`, 1)), 0o644)
	r = run(t, ctx, "--config", bad, "check")
	if r.Code != 1 {
		t.Fatalf("exit %d, want 1\n%s", r.Code, r.Stderr)
	}
	line := 1 + strings.Count(string(data[:strings.Index(string(data), "role =")]), "\n")
	for _, want := range []string{bad + ":" + itoa(int64(line)), "role", "leader"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("message lacks %q:\n%s", want, r.Stderr)
		}
	}
}

func assertKeys(t *testing.T, what string, m map[string]any, want ...string) {
	t.Helper()
	var got []string
	for k := range m {
		got = append(got, k)
	}
	sort.Strings(got)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s keys = %v, want exactly %v", what, got, want)
	}
}
