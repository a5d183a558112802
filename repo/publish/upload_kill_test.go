package publish

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/lockfile"
	"github.com/hotfix-project/hotfix/internal/testkit"
)

// TestPublishS3ServerKilled: the object store itself dies mid-publish.
// versitygw, a real S3 server that keeps its objects on disk, is killed
// (SIGKILL) at several points of a publish that grows a repository from
// 2 fixes to 3, and started again on the same data. A client reads the
// bucket over plain HTTP, as through a CDN, after every object the
// publish put and after the restart: it accepts every state (the old
// chain or the new), but for one upload's time between an index and its
// signature. The publish that lost its server fails; a re-run (breaking
// the lock the dead publish could not remove) finishes it, uploading
// killSetup makes the repository of the server-kill tests: a copy of it
// at v1 (two fixes), the repository itself grown by one fix, and a
// versitygw serving the public bucket "cdn".
func killSetup(t *testing.T) (*pubRepo, string, *testkit.Server) {
	t.Helper()
	r := newPubRepo(t, 2, 1, true)
	v1 := filepath.Join(t.TempDir(), "v1")
	testkit.CopyTree(t, r.Root, v1)
	r.grow(t, 1)
	gw := testkit.StartVersityGW(t, t.TempDir())
	gw.CreatePublicBucket(t, "cdn")
	return r, v1, gw
}

// only what was missing.
func TestPublishS3ServerKilled(t *testing.T) {
	r, v1, gw := killSetup(t)

	// The order of a whole publish names the points to kill at.
	d, _ := publishOld(t, gw, v1, "order")
	var order []string
	if _, err := Publish(t.Context(), r.Root, d, PublishOptions{Workers: 1, AfterObject: func(key string) { order = append(order, key) }}); err != nil {
		t.Fatal(err)
	}
	checkOrder(t, order)
	kills := []struct {
		name    string
		k       int // objects stored before the kill
		workers int
	}{
		{"after the first archive", 1, 1},
		{"after the first archive, others in flight", 1, 4},
		{"after an index, before its sig", slices.Index(order, "pub/1.0/index.json") + 1, 1},
		{"after an index's signature", slices.Index(order, "pub/1.0/index.json.asc") + 1, 1},
		{"after repo.json, before its sig", slices.Index(order, "repo.json") + 1, 1},
		{"after the last object", len(order), 1},
	}
	for i, kc := range kills {
		k := kc.k
		t.Run(kc.name, func(t *testing.T) {
			prefix := fmt.Sprintf("kill-%d", i)
			d, c := publishOld(t, gw, v1, prefix)
			var mu sync.Mutex // with several workers, objects end at once
			count := 0
			_, err := Publish(t.Context(), r.Root, d, PublishOptions{Workers: kc.workers, AfterObject: func(key string) {
				mu.Lock()
				defer mu.Unlock()
				if count++; count > k {
					return // stored as the server died: the restart shows it
				}
				checkOldOrNew(t, c, prefix, key)
				if count == k {
					gw.Kill()
				}
			}})
			if err == nil && k < len(order) {
				t.Fatal("the publish went on without its server")
			}
			gw.Restart(t)
			checkOldOrNew(t, c, prefix+" after the restart", order[k-1])
			// The publish could not remove its lock from the dead server,
			// and its process (this test's) still runs: a re-run is
			// refused, naming the lock, and takes it over when told to.
			_, err = Publish(t.Context(), r.Root, d, PublishOptions{})
			if k < len(order) && !errors.Is(err, lockfile.ErrLocked) {
				t.Fatalf("re-run over the dead publish's lock: %v, want it refused naming the lock", err)
			}
			res, err := Publish(t.Context(), r.Root, d, PublishOptions{BreakLock: true})
			if err != nil {
				t.Fatalf("re-run: %v", err)
			}
			if len(res.Actions) > len(order)-k+1 {
				t.Errorf("re-run uploaded %d objects, want at most the %d left and the one cut", len(res.Actions), len(order)-k)
			}
			if n, err := c.pending(t.Context()); err != nil || n != 3 {
				t.Fatalf("client after the re-run: %d pending, %v", n, err)
			}
		})
	}
}

// TestPublishS3ServerKilledMidObject: the object store dies in the
// middle of an archive's upload (a proxy in front of versitygw kills it
// once half of the body went through). After the restart no partial
// object is served: the client still accepts the old chain, and the
// re-run, which refuses an object with other bytes under an archive's
// name, uploads the archive whole and finishes.
func TestPublishS3ServerKilledMidObject(t *testing.T) {
	r, v1, gw := killSetup(t)
	target, err := url.Parse(gw.URL)
	if err != nil {
		t.Fatal(err)
	}
	var armed atomic.Bool // the next archive upload is cut
	killed := make(chan string, 1)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ErrorLog = log.New(io.Discard, "", 0) // a dead server is the point
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		isArchive := strings.HasSuffix(req.URL.Path, ".fix") || strings.HasSuffix(req.URL.Path, ".rpm")
		if req.Method == http.MethodPut && isArchive && req.ContentLength > 1 && armed.CompareAndSwap(true, false) {
			p := req.URL.Path
			req.Body = &killHalfway{ReadCloser: req.Body, left: req.ContentLength / 2, kill: func() {
				gw.Kill()
				killed <- p
			}}
		}
		rp.ServeHTTP(w, req)
	}))
	defer proxy.Close()

	d, err := NewS3Destination(t.Context(), S3Options{Bucket: "cdn", Prefix: "mid", Endpoint: proxy.URL, RequestTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Publish(t.Context(), v1, d, PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	armed.Store(true)
	c := newPubClient(t, gw.URL+"/cdn/mid")
	if n, err := c.pending(t.Context()); err != nil || n != 2 {
		t.Fatalf("client after the first publish: %d pending, %v", n, err)
	}
	if _, err := Publish(t.Context(), r.Root, d, PublishOptions{Workers: 1}); err == nil {
		t.Fatal("the publish went on without its server")
	}
	var cut string
	select {
	case cut = <-killed:
	default:
		t.Fatal("no archive upload was cut")
	}
	gw.Restart(t)
	if n, err := c.pending(t.Context()); err != nil || n != 2 {
		t.Fatalf("client after the restart (%s cut): %d pending, %v; want the old chain", cut, n, err)
	}
	res, err := Publish(t.Context(), r.Root, d, PublishOptions{BreakLock: true})
	if err != nil {
		t.Fatalf("re-run: %v", err)
	}
	if !slices.ContainsFunc(res.Actions, func(a Action) bool { return strings.HasSuffix(cut, "/mid/"+a.Key) }) {
		t.Errorf("the re-run did not upload the cut archive %s: %+v", cut, res.Actions)
	}
	if n, err := c.pending(t.Context()); err != nil || n != 3 {
		t.Fatalf("client after the re-run: %d pending, %v", n, err)
	}
}

// killHalfway passes a request body through and calls kill once left
// bytes went by.
type killHalfway struct {
	io.ReadCloser
	left int64
	kill func()
}

func (k *killHalfway) Read(p []byte) (int, error) {
	if k.left <= 0 {
		if k.kill != nil {
			k.kill()
			k.kill = nil
		}
		return 0, io.ErrUnexpectedEOF
	}
	if int64(len(p)) > k.left {
		p = p[:k.left]
	}
	n, err := k.ReadCloser.Read(p)
	k.left -= int64(n)
	return n, err
}
