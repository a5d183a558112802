package publish

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/internal/lockfile"
	"github.com/hotfix-project/hotfix/internal/testkit"
)

// motoBucket starts moto with a public bucket and returns it with a
// destination at bucket/prefix.
func motoDest(t *testing.T, bucket, prefix string) (*testkit.Server, *S3Destination) {
	t.Helper()
	moto := testkit.StartMoto(t)
	moto.CreatePublicBucket(t, bucket)
	return moto, s3Dest(t, moto, bucket, prefix)
}

func s3Dest(t *testing.T, moto *testkit.Server, bucket, prefix string) *S3Destination {
	t.Helper()
	d, err := NewS3Destination(t.Context(), S3Options{Bucket: bucket, Prefix: prefix, Endpoint: moto.URL, RequestTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// httpGet reads a published object as a CDN would: plain HTTP, no
// credentials.
func httpGet(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// TestPublishToS3 against moto's real S3 protocol: the safe order, every
// object byte for byte with its Content-Type and Cache-Control over plain
// HTTP, nothing uploaded twice, a published archive with other bytes
// refused before anything changes, prune after the indexes, and the lock.
func TestPublishToS3(t *testing.T) {
	r := newPubRepo(t, 2, 1, true)
	moto, d := motoDest(t, "fixes", "vendor/repo")
	base := moto.URL + "/fixes/vendor/repo/"
	var rec orderRecorder
	if _, err := Publish(t.Context(), r.Root, d, PublishOptions{Workers: 1, AfterObject: rec.add}); err != nil {
		t.Fatal(err)
	}
	checkOrder(t, rec.keys)
	want := published(t, r.Root)
	for key := range want {
		resp, body := httpGet(t, base+key)
		data, _ := os.ReadFile(filepath.Join(r.Root, key))
		o := &localObject{Key: key, Phase: phaseOf(key)}
		if resp.StatusCode != 200 || string(body) != string(data) {
			t.Errorf("GET %s: %s, %d bytes; want the %d published", key, resp.Status, len(body), len(data))
		}
		if ct, cc := resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"); ct != o.ContentType() || cc != o.CacheControl() {
			t.Errorf("%s: Content-Type %q, Cache-Control %q", key, ct, cc)
		}
	}
	if resp, _ := httpGet(t, base+publishLockName); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the lock outlived the publish: %s", resp.Status)
	}

	res, err := Publish(t.Context(), r.Root, d, PublishOptions{})
	if err != nil || len(res.Actions) != 0 || res.Unchanged != len(want) {
		t.Fatalf("second publish: %v, %+v", err, res)
	}

	// The server itself refuses to create an archive twice.
	fix1 := &localObject{Key: "pub/1.0/pub-1.0.1.fix", Path: filepath.Join(r.Root, "pub/1.0/pub-1.0.1.fix"), Phase: phaseArchives}
	if err := hashObject(fix1); err != nil {
		t.Fatal(err)
	}
	if err := d.Put(t.Context(), fix1, true); !errors.Is(err, errObjectExists) {
		t.Fatalf("conditional create over an existing archive: %v", err)
	}

	// Another archive under a published name, and a grown repository:
	// refused, naming it, before anything is uploaded.
	other := filepath.Join(t.TempDir(), "other")
	os.WriteFile(other, []byte("other bytes"), 0o644)
	o := &localObject{Key: fix1.Key, Path: other, Phase: phaseArchives}
	hashObject(o)
	if err := d.Put(t.Context(), o, false); err != nil {
		t.Fatal(err)
	}
	r.grow(t, 1)
	before, err := d.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	_, err = Publish(t.Context(), r.Root, d, PublishOptions{})
	testkit.WantErr(t, err, fix1.Key, "other content")
	if after, _ := d.List(t.Context()); len(after) != len(before) {
		t.Errorf("a refused publish changed the bucket: %d objects, had %d", len(after), len(before))
	}
	if err := d.Put(t.Context(), fix1, false); err != nil {
		t.Fatal(err)
	}

	// A stray archive in a published channel and a foreign object; an
	// incremental publish leaves them and the old repodata; prune
	// deletes what no index names, and only that.
	stray := &localObject{Key: "pub/1.0/stray.fix", Path: other, Phase: phaseArchives}
	foreign := &localObject{Key: "notes/readme.fix", Path: other, Phase: phaseArchives}
	for _, x := range []*localObject{stray, foreign} {
		hashObject(x)
		if err := d.Put(t.Context(), x, false); err != nil {
			t.Fatal(err)
		}
	}
	rec = orderRecorder{}
	res, err = Publish(t.Context(), r.Root, d, PublishOptions{Workers: 1, AfterObject: rec.add})
	if err != nil {
		t.Fatal(err)
	}
	checkOrder(t, rec.keys)
	for _, a := range res.Actions {
		if a.Op != "upload" {
			t.Errorf("publish without --prune did %s %s", a.Op, a.Key)
		}
	}
	res, err = Publish(t.Context(), r.Root, d, PublishOptions{Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	var deleted []string
	for _, a := range res.Actions {
		if a.Op == "delete" {
			deleted = append(deleted, a.Key)
		}
	}
	if len(deleted) != 4 || deleted[3] != stray.Key || !strings.HasPrefix(deleted[0], "pub/1.0/repodata/") {
		t.Errorf("prune deleted %v; want the stray archive and the 3 old repodata files", deleted)
	}
	list, _ := d.List(t.Context())
	if _, ok := list[foreign.Key]; !ok {
		t.Error("prune deleted an object outside the published channels")
	}
	if len(list) != len(published(t, r.Root))+1 {
		t.Errorf("after prune the bucket holds %d objects, want %d", len(list), len(published(t, r.Root))+1)
	}
	testS3Lock(t, r, moto)
}

// testS3Lock: a lock held from another host refuses a second publish at
// once, naming holder, host and time; --break-lock removes it; a lock
// left by a dead publish on this host is taken over.
func testS3Lock(t *testing.T, r *pubRepo, moto *testkit.Server) {
	d := s3Dest(t, moto, "fixes", "vendor/repo")
	lock := filepath.Join(t.TempDir(), "lock")
	os.WriteFile(lock, []byte(`{"owner":"hotfix repo publish by ci","host":"build-7","pid":4242,"since":"2026-01-02T03:04:05Z"}`), 0o644)
	lo := &localObject{Key: publishLockName, Path: lock}
	hashObject(lo)
	if err := d.Put(t.Context(), lo, false); err != nil {
		t.Fatal(err)
	}
	_, err := Publish(t.Context(), r.Root, d, PublishOptions{})
	if !errors.Is(err, lockfile.ErrLocked) {
		t.Fatalf("publish while locked: %v", err)
	}
	testkit.WantErr(t, err, "build-7", "pid 4242", "by ci", publishLockName)
	if _, err := Publish(t.Context(), r.Root, d, PublishOptions{BreakLock: true}); err != nil {
		t.Fatalf("--break-lock: %v", err)
	}

	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	os.WriteFile(lock, []byte(`{"owner":"x","host":"`+host+`","pid":`+strconv.Itoa(dead.Process.Pid)+`,"since":"2026-01-02T03:04:05Z"}`), 0o644)
	hashObject(lo)
	if err := d.Put(t.Context(), lo, false); err != nil {
		t.Fatal(err)
	}
	if _, err := Publish(t.Context(), r.Root, d, PublishOptions{}); err != nil {
		t.Fatalf("a dead publish's lock on this host was not taken over: %v", err)
	}
}

// pubClient is a server that checks a published repository over HTTP.
type pubClient struct {
	cl *client.Client
}

// newPubClient is a client of product "pub" 1.0 with an empty root.
func newPubClient(t *testing.T, repoURL string) *pubClient {
	t.Helper()
	return newClientOf(t, repoURL, "pub", "")
}

// newClientOf is a client of product whose root is a copy of srcRoot
// (an empty root of base 1.0 when srcRoot is "").
func newClientOf(t *testing.T, repoURL, product, srcRoot string) *pubClient {
	t.Helper()
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	keys := filepath.Join(dir, "keys")
	os.MkdirAll(keys, 0o755)
	if srcRoot != "" {
		testkit.CopyTree(t, srcRoot, root)
	} else {
		os.MkdirAll(root, 0o755)
		os.WriteFile(filepath.Join(root, "VERSION"), []byte("1.0\n"), 0o644)
	}
	pub, err := os.ReadFile(vendorPublic)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(keys, "vendor.pub.asc"), pub, 0o644)
	cfgPath := filepath.Join(dir, "hotfix.toml")
	os.WriteFile(cfgPath, []byte(client.SandboxConfig(repoURL, product, root, keys, dir)), 0o644)
	cfg, err := client.LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &pubClient{cl: cl}
}

// pending checks and downloads every pending archive (each verified
// against the index) and returns how many fixes are pending.
func (c *pubClient) pending(ctx context.Context) (int, error) {
	got, err := c.cl.Download(ctx, nil, nil)
	return len(got), err
}

// checkOldOrNew: while a publish grows a repository from 2 fixes to 3, a
// client must accept every state (the old chain or the new); right after
// an index went up (before its signature) it may refuse, for that one
// upload's time.
func checkOldOrNew(t *testing.T, c *pubClient, where, key string) {
	t.Helper()
	n, err := c.pending(t.Context())
	if err == nil && n != 2 && n != 3 {
		t.Errorf("%s after %s: %d fixes pending, want the old 2 or the new 3", where, key, n)
	}
	if err != nil && !isIndexName(path.Base(key)) {
		t.Errorf("%s after %s: the client refused the bucket: %v", where, key, err)
	}
}

// publishOld publishes the 2-fix repository v1 under prefix of bucket
// "cdn" on srv and returns the destination and a client that has checked
// it (2 fixes pending).
func publishOld(t *testing.T, srv *testkit.Server, v1, prefix string) (*S3Destination, *pubClient) {
	t.Helper()
	d := s3Dest(t, srv, "cdn", prefix)
	if _, err := Publish(t.Context(), v1, d, PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	c := newPubClient(t, srv.URL+"/cdn/"+prefix)
	if n, err := c.pending(t.Context()); err != nil || n != 2 {
		t.Fatalf("%s: client after the first publish: %d pending, %v", prefix, n, err)
	}
	return d, c
}
