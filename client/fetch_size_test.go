package client

// Hostile-server tests of class 12 (issue 16): an archive served with
// another size than the signed index declares is refused as a size
// mismatch (not "416"), at once and without a partial file left; a 206
// of another range than asked drops the stale partial and starts over.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// archiveFixture is the first pending archive of a test environment, its
// real bytes and where Download puts it.
type archiveFixture struct {
	c    *Client
	rel  string
	dest string
	size int64
	sum  string
	body []byte
}

func newArchiveFixture(t *testing.T, e *testEnv) *archiveFixture {
	t.Helper()
	c := e.client(t)
	res, err := c.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f := res.Pending[0]
	body, err := os.ReadFile(e.Repo.archivePath(f.Version.String()))
	if err != nil {
		t.Fatal(err)
	}
	return &archiveFixture{c: c, rel: "acme/2.4.1/" + f.File, dest: e.cachePath(f.File), size: f.Size, sum: f.SHA256, body: body}
}

func (a *archiveFixture) download(partial []byte) error {
	if partial != nil {
		if err := os.MkdirAll(filepath.Dir(a.dest), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(a.dest+".part", partial, 0o644); err != nil {
			return err
		}
	}
	return a.c.Fetcher.Download(context.Background(), a.rel, a.dest, a.size, a.sum, nil)
}

func serveBytes(b []byte) func(http.ResponseWriter, *http.Request, []byte) {
	return func(w http.ResponseWriter, r *http.Request, _ []byte) {
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
	}
}

// TestServedSizeDiffers: the server holds another file than the signed
// one. Every variant is refused naming both sizes, after one request
// although retries are allowed, with nothing left in the cache.
func TestServedSizeDiffers(t *testing.T) {
	tests := []struct {
		name     string
		spoil    func(body []byte) func(http.ResponseWriter, *http.Request, []byte)
		partial  func(body []byte) []byte // an earlier attempt's .part
		sentinel error
		requests int64
	}{
		{"shorter, with Content-Length", func(b []byte) func(http.ResponseWriter, *http.Request, []byte) { return serveBytes(b[:len(b)-10]) },
			nil, ErrMismatch, 1},
		{"longer, with Content-Length", func(b []byte) func(http.ResponseWriter, *http.Request, []byte) {
			return serveBytes(append(append([]byte{}, b...), "trailing"...))
		}, nil, ErrTooLarge, 1},
		{"shorter, chunked", func(b []byte) func(http.ResponseWriter, *http.Request, []byte) {
			return func(w http.ResponseWriter, r *http.Request, _ []byte) {
				w.WriteHeader(http.StatusOK)
				w.(http.Flusher).Flush() // no Content-Length: chunked
				w.Write(b[:len(b)-10])
			}
		}, nil, ErrMismatch, 1},
		// The case of the issue: the resume of a longer partial gets 416.
		{"shorter, resumed past its end (416)", func(b []byte) func(http.ResponseWriter, *http.Request, []byte) { return serveBytes(b[:len(b)-10]) },
			func(b []byte) []byte { return b[:len(b)-5] }, ErrMismatch, 1},
		{"longer, resumed (206 of another total)", func(b []byte) func(http.ResponseWriter, *http.Request, []byte) {
			return serveBytes(append(append([]byte{}, b...), "trailing"...))
		}, func(b []byte) []byte { return b[:100] }, ErrTooLarge, 1},
		// A body ended by the connection's close cannot tell a cut from an
		// end: tried again, the resume names the size.
		{"shorter, ended by close, then 416", func(b []byte) func(http.ResponseWriter, *http.Request, []byte) {
			var n atomic.Int64
			return func(w http.ResponseWriter, r *http.Request, _ []byte) {
				if n.Add(1) > 1 {
					serveBytes(b[:len(b)-10])(w, r, nil)
					return
				}
				conn, buf, err := w.(http.Hijacker).Hijack()
				if err != nil {
					return
				}
				defer conn.Close()
				fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n%s", b[:len(b)-10])
				buf.Flush()
			}
		}, nil, ErrMismatch, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var requests atomic.Int64
			var spoil func(http.ResponseWriter, *http.Request, []byte)
			e := newEnv(t, envOptions{Extra: "[network]\nretries = 3\n", Wrap: misbehave(targetFix, func(w http.ResponseWriter, r *http.Request, body []byte) {
				requests.Add(1)
				spoil(w, r, body)
			})})
			a := newArchiveFixture(t, e)
			spoil = tt.spoil(a.body)
			var partial []byte
			if tt.partial != nil {
				partial = tt.partial(a.body)
			}
			err := a.download(partial)
			wantErr(t, err, tt.sentinel, "size differs", "the repository serves", strconv.FormatInt(a.size, 10)+" bytes the signed index declares", "nothing was kept")
			if err != nil && strings.Contains(err.Error(), "Not Satisfiable") {
				t.Errorf("error still says 416: %v", err)
			}
			if n := requests.Load(); n != tt.requests {
				t.Errorf("%d requests, want %d: a size mismatch is not worth retrying", n, tt.requests)
			}
			assertNoArchiveInCache(t, e)
			if _, err := os.Stat(a.dest + ".part"); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("partial file left: %v", err)
			}
		})
	}
}

// TestWrongRangeDropsPartial: a resume answered with another range than
// asked (a 206 from the start, a 206 without Content-Range, a 416 for a
// range the file has) drops the partial: without retries the error says
// so and nothing is left; with one retry the fresh download succeeds.
func TestWrongRangeDropsPartial(t *testing.T) {
	tests := []struct {
		name  string
		spoil func(body []byte) func(http.ResponseWriter, *http.Request)
		msg   string
	}{
		{"206 from the start", func(b []byte) func(http.ResponseWriter, *http.Request) {
			return func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-%d/%d", len(b)-1, len(b)))
				w.WriteHeader(http.StatusPartialContent)
				w.Write(b)
			}
		}, `206 Partial Content with Content-Range "bytes 0-`},
		{"206 from elsewhere", func(b []byte) func(http.ResponseWriter, *http.Request) {
			return func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Range", fmt.Sprintf("bytes 50-%d/%d", len(b)-1, len(b)))
				w.WriteHeader(http.StatusPartialContent)
				w.Write(b[50:])
			}
		}, `Content-Range "bytes 50-`},
		{"206 without Content-Range", func(b []byte) func(http.ResponseWriter, *http.Request) {
			return func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusPartialContent)
				w.Write(b[100:])
			}
		}, "answered 206 Partial Content; the partial"},
		{"416 for a range the file has", func([]byte) func(http.ResponseWriter, *http.Request) {
			return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusRequestedRangeNotSatisfiable) }
		}, "answered 416 Requested Range Not Satisfiable"},
	}
	for _, tt := range tests {
		for _, retries := range []int{0, 1} {
			t.Run(fmt.Sprintf("%s retries=%d", tt.name, retries), func(t *testing.T) {
				t.Parallel()
				var mu sync.Mutex
				var ranges []string
				var spoil func(http.ResponseWriter, *http.Request)
				var full func(http.ResponseWriter, *http.Request, []byte)
				e := newEnv(t, envOptions{Extra: fmt.Sprintf("[network]\nretries = %d\n", retries),
					Wrap: misbehave(targetFix, func(w http.ResponseWriter, r *http.Request, body []byte) {
						mu.Lock()
						ranges = append(ranges, r.Header.Get("Range"))
						mu.Unlock()
						if r.Header.Get("Range") == "" {
							full(w, r, body)
							return
						}
						spoil(w, r)
					})})
				a := newArchiveFixture(t, e)
				spoil, full = tt.spoil(a.body), serveBytes(a.body)
				err := a.download(a.body[:100])
				if retries == 0 {
					var re *RangeError
					wantErr(t, err, nil, "asked to resume at byte 100", tt.msg, "the partial download was dropped")
					if !errors.As(err, &re) {
						t.Errorf("error is not a RangeError: %v", err)
					}
					if _, err := os.Stat(a.dest + ".part"); !errors.Is(err, os.ErrNotExist) {
						t.Errorf("stale partial file left: %v", err)
					}
					return
				}
				if err != nil {
					t.Fatalf("the retry from the start failed: %v", err)
				}
				if got := sha256File(t, a.dest); got != a.sum {
					t.Errorf("downloaded sha256 %s, want %s", got, a.sum)
				}
				mu.Lock()
				defer mu.Unlock()
				if len(ranges) != 2 || ranges[0] != "bytes=100-" || ranges[1] != "" {
					t.Errorf("Range headers %q, want a resume then a fresh start", ranges)
				}
			})
		}
	}
}

// TestFileRepositorySizeDiffers: a file:// repository (a mounted mirror)
// whose archive differs in size is refused the same way, with the size
// the file really has.
func TestFileRepositorySizeDiffers(t *testing.T) {
	for _, tc := range []struct {
		name     string
		change   func([]byte) []byte
		sentinel error
	}{
		{"shorter", func(b []byte) []byte { return b[:len(b)-10] }, ErrMismatch},
		{"longer", func(b []byte) []byte { return append(b, make([]byte, 4096)...) }, ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{FileURL: true, Repo: newRepo(t)})
			a := newArchiveFixture(t, e)
			changed := tc.change(append([]byte{}, a.body...))
			if err := os.WriteFile(e.Repo.archivePath("2.4.1.1"), changed, 0o644); err != nil {
				t.Fatal(err)
			}
			err := a.download(nil)
			wantErr(t, err, tc.sentinel, "size differs", "the repository serves "+strconv.Itoa(len(changed))+" bytes")
			assertNoArchiveInCache(t, e)
		})
	}
}
