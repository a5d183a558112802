package server

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/testkit"
)

func writeFile(t *testing.T, root, name, content string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// archive is long enough for range requests.
const archive = "0123456789abcdefghijklmnopqrstuvwxyz"

// newRepo builds a small repository with the hostile bits a real one may
// hold: atomic-write temporaries, dot-files and a symlink out of the root.
func newRepo(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	root := filepath.Join(base, "repo")
	files := map[string]string{
		"repo.json":                        `{"products":[]}`,
		"repo.json.asc":                    "-----BEGIN PGP SIGNATURE-----\n",
		"p/6.14.2/index.json":              `{"serial":1}`,
		"p/6.14.2/index.json.asc":          "-----BEGIN PGP SIGNATURE-----\n",
		"p/6.14.2/index.html":              "<html>fixes</html>",
		"p/6.14.2/p-6.14.2.1.fix":          archive,
		"p/6.14.2/p-6.14.2.1.rpm":          archive,
		"p/6.14.2/repodata/repomd.xml":     "<repomd/>",
		"p/6.14.2/repodata/primary.xml.gz": "gz",
		"p/6.14.2/repodata/other.xml.xz":   "xz",
		"p/6.14.2/repodata/filelists.zst":  "zst",
		"keys/vendor.txt":                  "key",
		"keys/blob.qqqz":                   "blob",
		"x":                                "inside x",
		".hidden":                          "secret",
		"p/6.14.2/.index.json.tmp-123":     "half-written",
		"a/.tmp-x/file":                    "temp",
	}
	for name, content := range files {
		writeFile(t, root, name, content)
	}
	if err := os.MkdirAll(filepath.Join(root, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, base, "outside/secret.txt", "outside the root")
	if err := os.Symlink(filepath.Join(base, "outside", "secret.txt"), filepath.Join(root, "escape.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../outside", filepath.Join(root, "escapedir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("p/6.14.2/index.json", filepath.Join(root, "latest.json")); err != nil {
		t.Fatal(err)
	}
	return root
}

func newTestServer(t *testing.T, root string, logger *slog.Logger) *httptest.Server {
	t.Helper()
	h, err := New(root, Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// noRedirect lets tests see 301s.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
	return http.ErrUseLastResponse
}}

func do(t *testing.T, method, url string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestServeFiles(t *testing.T) {
	srv := newTestServer(t, newRepo(t), nil)
	const (
		revalidate = "no-cache"
		immutable  = "public, max-age=31536000, immutable"
	)
	tests := []struct {
		path, body, ctype, cache string
	}{
		{"/repo.json", `{"products":[]}`, "application/json", revalidate},
		{"/repo.json.asc", "-----BEGIN PGP SIGNATURE-----\n", "application/pgp-signature", revalidate},
		{"/p/6.14.2/index.json", `{"serial":1}`, "application/json", revalidate},
		{"/p/6.14.2/index.json.asc", "-----BEGIN PGP SIGNATURE-----\n", "application/pgp-signature", revalidate},
		{"/p/6.14.2/index.html", "<html>fixes</html>", "text/html; charset=utf-8", revalidate},
		{"/p/6.14.2/", "<html>fixes</html>", "text/html; charset=utf-8", revalidate},
		{"/p/6.14.2/p-6.14.2.1.fix", archive, "application/x-xz", immutable},
		{"/p/6.14.2/p-6.14.2.1.rpm", archive, "application/x-rpm", immutable},
		{"/p/6.14.2/repodata/repomd.xml", "<repomd/>", "application/xml", revalidate},
		{"/p/6.14.2/repodata/primary.xml.gz", "gz", "application/gzip", revalidate},
		{"/p/6.14.2/repodata/other.xml.xz", "xz", "application/x-xz", revalidate},
		{"/p/6.14.2/repodata/filelists.zst", "zst", "application/zstd", revalidate},
		{"/keys/vendor.txt", "key", "text/plain; charset=utf-8", revalidate},
		{"/keys/blob.qqqz", "blob", "application/octet-stream", revalidate},
		{"/x", "inside x", "application/octet-stream", revalidate},
		{"/latest.json", `{"serial":1}`, "application/json", revalidate},
		{"/p//6.14.2/index.json", `{"serial":1}`, "application/json", revalidate},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := do(t, "GET", srv.URL+tt.path, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, want 200 (body %q)", resp.StatusCode, body)
			}
			if body != tt.body {
				t.Errorf("body = %q, want %q", body, tt.body)
			}
			checkHeader(t, resp, "Content-Type", tt.ctype)
			checkHeader(t, resp, "Cache-Control", tt.cache)
			checkHeader(t, resp, "X-Content-Type-Options", "nosniff")
			if resp.Header.Get("ETag") == "" || resp.Header.Get("Last-Modified") == "" {
				t.Errorf("missing validators: ETag %q Last-Modified %q", resp.Header.Get("ETag"), resp.Header.Get("Last-Modified"))
			}
			if !strings.HasPrefix(resp.Header.Get("ETag"), `"`) {
				t.Errorf("ETag %q is not a strong validator", resp.Header.Get("ETag"))
			}

			head, hbody := do(t, "HEAD", srv.URL+tt.path, nil)
			if head.StatusCode != http.StatusOK || hbody != "" {
				t.Errorf("HEAD: status %d body %q, want 200 and no body", head.StatusCode, hbody)
			}
			checkHeader(t, head, "Content-Length", fmt.Sprint(len(tt.body)))
			checkHeader(t, head, "ETag", resp.Header.Get("ETag"))
		})
	}
}

func checkHeader(t *testing.T, resp *http.Response, key, want string) {
	t.Helper()
	if got := resp.Header.Get(key); got != want {
		t.Errorf("%s = %q, want %q", key, got, want)
	}
}

func TestRejected(t *testing.T) {
	srv := newTestServer(t, newRepo(t), nil)
	tests := []struct {
		name, method, path string
		status             int
	}{
		{"dot-file", "GET", "/.hidden", 404},
		{"dot-directory", "GET", "/a/.tmp-x/file", 404},
		{"atomic temporary", "GET", "/p/6.14.2/.index.json.tmp-123", 404},
		{"encoded dot-file", "GET", "/%2ehidden", 404},
		{"symlink out of root", "GET", "/escape.txt", 404},
		{"through symlinked dir out of root", "GET", "/escapedir/secret.txt", 404},
		{"missing", "GET", "/nope.json", 404},
		{"directory without index", "GET", "/empty/", 404},
		{"root without index", "GET", "/", 404},
		{"file with trailing slash", "GET", "/repo.json/", 404},
		{"below a file", "GET", "/repo.json/x", 404},
		{"POST", "POST", "/repo.json", 405},
		{"PUT", "PUT", "/repo.json", 405},
		{"DELETE", "DELETE", "/repo.json", 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, tt.method, srv.URL+tt.path, nil)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d (body %q)", resp.StatusCode, tt.status, body)
			}
			if strings.Contains(body, "secret") || strings.Contains(body, "outside") || strings.Contains(body, "temp") {
				t.Errorf("body leaks content: %q", body)
			}
			if tt.status == 405 {
				checkHeader(t, resp, "Allow", "GET, HEAD")
			}
		})
	}
}

// rawGet sends the request line exactly as given, so that no client cleans
// the path first.
func rawGet(t *testing.T, addr, target string) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n", target)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestRawPathsClimbingOut(t *testing.T) {
	srv := newTestServer(t, newRepo(t), nil)
	addr := strings.TrimPrefix(srv.URL, "http://")
	// Each would reach an existing file if the server cleaned instead of
	// refusing (/x and /p/6.14.2/index.json exist).
	for _, target := range []string{
		"/../x",
		"/../etc/passwd",
		"/../../../../etc/passwd",
		"/p/../x",
		"/p/6.14.2/../6.14.2/index.json",
		"/%2e%2e/x",
		"/p/%2e%2e/x",
		"/./x",
		"/p/6.14.2/..%2f..%2fx",
		"x",
	} {
		t.Run(target, func(t *testing.T) {
			resp, body := rawGet(t, addr, target)
			if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status = %d, want 404 (body %q)", resp.StatusCode, body)
			}
		})
	}
	// The control: the same connection code does fetch a legitimate path.
	if resp, body := rawGet(t, addr, "/x"); resp.StatusCode != 200 || body != "inside x" {
		t.Fatalf("/x: status %d body %q", resp.StatusCode, body)
	}
}

func TestDirectoryRedirect(t *testing.T) {
	srv := newTestServer(t, newRepo(t), nil)
	tests := []struct{ path, location string }{
		{"/p/6.14.2", "/p/6.14.2/"},
		{"/p/6.14.2?x=1", "/p/6.14.2/?x=1"},
		{"/empty", "/empty/"},
		// Never a protocol-relative redirect to another host.
		{"//p/6.14.2", "/p/6.14.2/"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, _ := rawGet(t, strings.TrimPrefix(srv.URL, "http://"), tt.path)
			if resp.StatusCode != http.StatusMovedPermanently {
				t.Fatalf("status = %d, want 301", resp.StatusCode)
			}
			checkHeader(t, resp, "Location", tt.location)
		})
	}
}

func TestConditionalAndRange(t *testing.T) {
	srv := newTestServer(t, newRepo(t), nil)
	url := srv.URL + "/p/6.14.2/p-6.14.2.1.fix"
	first, _ := do(t, "GET", url, nil)
	etag, lastMod := first.Header.Get("ETag"), first.Header.Get("Last-Modified")

	tests := []struct {
		name   string
		hdr    map[string]string
		status int
		body   string
	}{
		{"If-None-Match", map[string]string{"If-None-Match": etag}, 304, ""},
		{"If-None-Match list", map[string]string{"If-None-Match": `"other", ` + etag}, 304, ""},
		{"If-None-Match stale", map[string]string{"If-None-Match": `"stale"`}, 200, archive},
		{"If-Modified-Since", map[string]string{"If-Modified-Since": lastMod}, 304, ""},
		{"If-Modified-Since old", map[string]string{"If-Modified-Since": "Mon, 02 Jan 2006 15:04:05 GMT"}, 200, archive},
		{"Range", map[string]string{"Range": "bytes=10-19"}, 206, archive[10:20]},
		{"Range suffix", map[string]string{"Range": "bytes=-6"}, 206, archive[len(archive)-6:]},
		{"Range unsatisfiable", map[string]string{"Range": "bytes=1000-2000"}, 416, ""},
		{"If-Range match", map[string]string{"Range": "bytes=10-19", "If-Range": etag}, 206, archive[10:20]},
		{"If-Range stale", map[string]string{"Range": "bytes=10-19", "If-Range": `"stale"`}, 200, archive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, "GET", url, tt.hdr)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.status != 416 && body != tt.body {
				t.Errorf("body = %q, want %q", body, tt.body)
			}
			switch tt.status {
			case 304:
				checkHeader(t, resp, "ETag", etag)
			case 206:
				if tt.name == "Range" {
					checkHeader(t, resp, "Content-Range", fmt.Sprintf("bytes 10-19/%d", len(archive)))
				}
			case 416:
				checkHeader(t, resp, "Content-Range", fmt.Sprintf("bytes */%d", len(archive)))
			}
		})
	}
}

// A file replaced by rename with identical size and time must get a new
// ETag, or a client would keep a stale index.
func TestETagChangesOnReplace(t *testing.T) {
	root := newRepo(t)
	srv := newTestServer(t, root, nil)
	p := filepath.Join(root, "repo.json")
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := do(t, "GET", srv.URL+"/repo.json", nil)

	tmp := filepath.Join(root, ".repo.json.tmp-1")
	if err := os.WriteFile(tmp, []byte(`{"products":[1]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(tmp, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	after, body := do(t, "GET", srv.URL+"/repo.json", map[string]string{"If-None-Match": before.Header.Get("ETag")})
	if after.StatusCode != 200 || body != `{"products":[1]}` {
		t.Fatalf("after replace: status %d body %q, want 200 with the new content", after.StatusCode, body)
	}
	if after.Header.Get("ETag") == before.Header.Get("ETag") {
		t.Errorf("ETag %s did not change after the file was replaced", after.Header.Get("ETag"))
	}
}

func TestHealthz(t *testing.T) {
	srv := newTestServer(t, newRepo(t), nil)
	resp, body := do(t, "GET", srv.URL+"/healthz", nil)
	if resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("status %d body %q, want 200 ok", resp.StatusCode, body)
	}
	checkHeader(t, resp, "Content-Type", "text/plain; charset=utf-8")
}

func TestAccessLog(t *testing.T) {
	var buf testkit.LockedBuffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	srv := newTestServer(t, newRepo(t), logger)
	do(t, "GET", srv.URL+"/p/6.14.2/p-6.14.2.1.fix", nil)
	do(t, "GET", srv.URL+"/.hidden", nil)
	srv.Close() // waits for handlers, and so for their log lines

	log := buf.String()
	for _, want := range []string{
		"method=GET path=/p/6.14.2/p-6.14.2.1.fix status=200 bytes=36 duration=",
		"path=/.hidden status=404",
		"remote=127.0.0.1:",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("access log lacks %q:\n%s", want, log)
		}
	}
}

func TestNewMissingRoot(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	_, err := New(missing, Options{})
	if err == nil || !strings.Contains(err.Error(), "open repository "+missing) {
		t.Fatalf("err = %v, want one naming the repository", err)
	}
}

func TestCleanPath(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"/", ".", true},
		{"/a/b.json", "a/b.json", true},
		{"/a//b/", "a/b", true},
		{"/a/b..c", "a/b..c", true},
		{"", "", false},
		{"a", "", false},
		{"/..", "", false},
		{"/../x", "", false},
		{"/a/../x", "", false},
		{"/./x", "", false},
		{"/.hidden", "", false},
		{"/a/.tmp-x/file", "", false},
		{"/a\\..\\x", "", false},
		{"/a\x00", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := cleanPath(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("cleanPath(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func FuzzCleanPath(f *testing.F) {
	for _, s := range []string{"/", "/a/b.json", "/../x", "/a/./b", "//x", "/.tmp", "/a/..", "/a\\b", "/%2e%2e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		name, ok := cleanPath(in)
		if !ok {
			return
		}
		if name == "." {
			return
		}
		for _, seg := range strings.Split(name, "/") {
			if seg == "" || strings.HasPrefix(seg, ".") {
				t.Fatalf("cleanPath(%q) = %q: empty or dot segment %q", in, name, seg)
			}
		}
		if strings.HasPrefix(name, "/") || strings.Contains(name, "\\") || strings.Contains(name, "\x00") {
			t.Fatalf("cleanPath(%q) = %q: not a plain relative name", in, name)
		}
		for _, seg := range strings.Split(in, "/") {
			if strings.HasPrefix(seg, ".") {
				t.Fatalf("cleanPath(%q) accepted input with dot segment %q", in, seg)
			}
		}
	})
}
