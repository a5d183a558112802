package client

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/server"
)

// pathRecorder notes each request's path and the status answered.
type pathRecorder struct {
	mu  sync.Mutex
	got []string // "PATH CODE"
}

func (p *pathRecorder) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := &codeWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rw, r)
		p.mu.Lock()
		p.got = append(p.got, r.URL.Path+" "+itoa(int64(rw.code)))
		p.mu.Unlock()
	})
}

func (p *pathRecorder) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.got
	p.got = nil
	return out
}

// nginxLog reads the requests of an nginx access log from line from on
// as "PATH CODE".
func nginxLog(t *testing.T, path string, from *int) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	re := regexp.MustCompile(`"GET (\S+) HTTP/[0-9.]+" (\d+)`)
	var out []string
	for _, l := range lines[*from:] {
		if m := re.FindStringSubmatch(l); m != nil {
			out = append(out, m[1]+" "+m[2])
		}
	}
	*from = len(lines)
	return out
}

// TestConditionalCustomCheck: the customer index is fetched as the
// channel index is: a second check costs a 304 for it and its signature
// (by ETag from the hotfix server and nginx, by Last-Modified from a
// server that sends no ETag), a republished index is fetched again, a
// cached copy answered 304 is verified again and a damaged one refused,
// a lost one fetched whole.
func TestConditionalCustomCheck(t *testing.T) {
	t.Parallel()
	index := "/" + repo.CustomIndexPath("acme", repo.MustParseVersion("2.4.1"), "shop-a") + "/" + repo.IndexName
	for _, tc := range []struct {
		name    string
		handler func(dir string) http.Handler // nil: nginx
		pause   time.Duration                 // before republishing: the validator's granularity
	}{
		{"hotfix server, ETag", func(dir string) http.Handler {
			h, err := server.New(dir, server.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { h.Close() })
			return h
		}, 10 * time.Millisecond},
		{"Last-Modified only", func(dir string) http.Handler {
			return http.FileServer(http.Dir(dir))
		}, 1100 * time.Millisecond},
		{"nginx", nil, 1100 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRepo(t, "2.4.1.1")
			r.addCustom(t, packCustomFix(t, "shop-a", "IS-1", "1", map[string]string{"app/x.php": "x\n"}, ""))
			rec := &pathRecorder{}
			o := envOptions{Repo: r, Extra: customerLine}
			if tc.handler != nil {
				o.Handler = func(dir string) http.Handler { return rec.wrap(tc.handler(dir)) }
			}
			e := newEnv(t, o)
			take := rec.take
			if tc.handler == nil {
				ng := testkit.StartNginx(t, r.Dir)
				e.Cfg.Repo = ng.URL
				from := 0
				take = func() []string { return nginxLog(t, ng.AccessLog, &from) }
			}
			// The answers for the customer index and its signature, and
			// for the vendor's.
			vendor := "/acme/2.4.1/" + repo.IndexName
			answers := func() (custom, vendors []string) {
				t.Helper()
				for _, g := range take() {
					switch {
					case strings.HasPrefix(g, index):
						custom = append(custom, strings.TrimPrefix(g, index))
					case strings.HasPrefix(g, vendor):
						vendors = append(vendors, strings.TrimPrefix(g, vendor))
					}
				}
				return custom, vendors
			}
			check := func(pending int) {
				t.Helper()
				res, err := e.client(t).Check(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if res.Custom == nil || len(res.Custom.Pending) != pending {
					t.Fatalf("check: customer fixes %+v, want %d pending", res.Custom, pending)
				}
			}
			want := func(what string, codes ...string) {
				t.Helper()
				got, vendors := answers()
				if strings.Join(got, ",") != strings.Join(codes, ",") {
					t.Errorf("%s: the customer index and signature were answered %q, want %q", what, got, codes)
				}
				// The vendor's index, unchanged since the first check,
				// is answered alike.
				if what == "unchanged check" && strings.Join(vendors, ",") != " 304,.asc 304" {
					t.Errorf("%s: the vendor index and signature were answered %q, want 304s", what, vendors)
				}
			}
			check(1)
			want("first check", " 200", ".asc 200")
			check(1)
			want("unchanged check", " 304", ".asc 304")

			time.Sleep(tc.pause)
			r.addCustom(t, packCustomFix(t, "shop-a", "IS-2", "1", map[string]string{"app/y.php": "y\n"}, ""))
			check(2)
			want("check after the vendor republished", " 200", ".asc 200")

			cache := filepath.Join(e.Cfg.CacheDir, filepath.FromSlash(strings.TrimPrefix(index, "/")))
			data, err := os.ReadFile(cache)
			if err != nil {
				t.Fatalf("the customer index is not cached: %v", err)
			}
			testkit.WriteFile(t, filepath.Dir(cache), repo.IndexName, strings.Replace(string(data), "IS-2", "IS-3", 1), 0o644)
			_, err = e.client(t).Check(t.Context())
			testkit.WantErr(t, err, "customer index of shop-a")
			want("check with a damaged cached copy", " 304", ".asc 304")

			remove(t, cache)
			check(2)
			want("check with the cached copy lost", " 200", ".asc 200")
		})
	}
}
