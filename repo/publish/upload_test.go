package publish

import (
	"context"
	"errors"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hotfix-project/hotfix/internal/beneath"
	"github.com/hotfix-project/hotfix/internal/lockfile"
	"github.com/hotfix-project/hotfix/internal/testkit"
)

// pubRepo is a built repository of product "pub" 1.0 whose chain grows
// by grow.
type pubRepo struct {
	Root  string
	chain []string // every archive packChain made, in chain order
	added int      // how many fixes Root holds
	rpm   bool
}

// newPubRepo packs n+extra fixes once and builds a repository of the
// first n.
func newPubRepo(t *testing.T, n, extra int, withRPM bool) *pubRepo {
	t.Helper()
	r := &pubRepo{Root: t.TempDir(), rpm: withRPM}
	r.chain = packChain(t, "pub", n+extra, func(i int) int { return 1000 + 10*i }, withRPM)
	r.grow(t, n)
	return r
}

// grow adds the next n fixes and rebuilds.
func (r *pubRepo) grow(t *testing.T, n int) {
	t.Helper()
	per := 1
	if r.rpm {
		per = 2
	}
	if _, err := Add(t.Context(), r.Root, r.chain[r.added*per:(r.added+n)*per], AddOptions{}); err != nil {
		t.Fatal(err)
	}
	r.added += n
	if _, err := Build(t.Context(), r.Root, BuildOptions{Signer: vendorSigner(t)}); err != nil {
		t.Fatal(err)
	}
}

// published lists the files of a repository as Publish copies them:
// everything but dot-files, with their digests.
func published(t *testing.T, dir string) map[string]string {
	t.Helper()
	objs, err := scanLocal(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, o := range objs {
		out[o.Key] = o.SHA256
	}
	return out
}

// orderRecorder keeps the keys Publish reports, in order.
type orderRecorder struct {
	mu   sync.Mutex
	keys []string
}

func (o *orderRecorder) add(key string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.keys = append(o.keys, key)
}

// checkOrder asserts the publishing contract on the keys uploaded:
// archives before any index, every signature right after its index, keys
// before indexes, repo.json and its signature after every channel.
func checkOrder(t *testing.T, keys []string) {
	t.Helper()
	firstIndex, lastArchive, lastKey := len(keys), -1, -1
	for i, k := range keys {
		switch phaseOf(k) {
		case phaseArchives:
			lastArchive = i
		case phaseKeys:
			lastKey = i
		case phaseIndexes:
			firstIndex = min(firstIndex, i)
			if strings.HasSuffix(k, ".asc") && (i == 0 || keys[i-1] != strings.TrimSuffix(k, ".asc")) {
				t.Errorf("%s uploaded without its index right before it: %v", k, keys)
			}
		}
	}
	if lastArchive > firstIndex || lastKey > firstIndex {
		t.Errorf("an archive or key came after the first index: %v", keys)
	}
	ri := slices.Index(keys, "repo.json")
	if ri >= 0 && (ri+1 >= len(keys) || keys[ri+1] != "repo.json.asc") {
		t.Errorf("repo.json not directly followed by its signature: %v", keys)
	}
	for i, k := range keys {
		if ri >= 0 && i > ri && phaseOf(k) < phaseRoot {
			t.Errorf("%s uploaded after repo.json", k)
		}
	}
}

// TestPublishToDirectory: a first publish copies every file byte for
// byte in the safe order; a second uploads nothing; a grown repository
// uploads only the new archive and the changed metadata; a published
// archive with other bytes is refused and nothing is changed; a link in
// the destination is never followed; a held lock refuses a second publish.
func TestPublishToDirectory(t *testing.T) {
	r := newPubRepo(t, 3, 1, true)
	dest := filepath.Join(t.TempDir(), "www")
	d, err := NewDirDestination(dest)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var rec orderRecorder
	res, err := Publish(t.Context(), r.Root, d, PublishOptions{Workers: 1, AfterObject: rec.add})
	if err != nil {
		t.Fatal(err)
	}
	checkOrder(t, rec.keys)
	want := published(t, r.Root)
	if got := published(t, dest); !mapsEqual(got, want) {
		t.Fatalf("destination differs from the repository:\n%v\n%v", got, want)
	}
	if len(res.Actions) != len(want) || res.Unchanged != 0 {
		t.Errorf("first publish: %d actions, %d unchanged; want %d, 0", len(res.Actions), res.Unchanged, len(want))
	}
	if _, err := os.Stat(filepath.Join(dest, ".catalog")); err == nil {
		t.Error("a dot-file was published")
	}

	res, err = Publish(t.Context(), r.Root, d, PublishOptions{})
	if err != nil || len(res.Actions) != 0 || res.Unchanged != len(want) {
		t.Fatalf("second publish: %v, %+v", err, res)
	}

	r.grow(t, 1)
	rec = orderRecorder{}
	res, err = Publish(t.Context(), r.Root, d, PublishOptions{AfterObject: rec.add})
	if err != nil {
		t.Fatal(err)
	}
	checkOrder(t, rec.keys)
	for _, k := range rec.keys {
		newArchive := strings.Contains(k, "1.0.4") || strings.Contains(k, "1_0_4") || path.Base(path.Dir(k)) == "repodata"
		if phaseOf(k) == phaseArchives && !newArchive {
			t.Errorf("incremental publish uploaded the unchanged archive %s", k)
		}
	}
	// Nothing was deleted: the old repodata stays until a prune.
	got, want := published(t, dest), published(t, r.Root)
	var stale []string
	for k, v := range got {
		if w, ok := want[k]; !ok {
			stale = append(stale, k)
		} else if w != v {
			t.Errorf("%s differs from the grown repository", k)
		}
	}
	if len(stale) != 3 || len(got)-len(stale) != len(want) {
		t.Errorf("after an incremental publish, extra %v (want the 3 old repodata files), %d of %d", stale, len(got)-len(stale), len(want))
	}
	res, err = Publish(t.Context(), r.Root, d, PublishOptions{Prune: true, DryRun: true})
	if err != nil || len(res.Actions) != 3 || res.Actions[0].Op != "delete" || !mapsEqual(published(t, dest), got) {
		t.Fatalf("prune --dry-run: %v, %+v", err, res)
	}
	res, err = Publish(t.Context(), r.Root, d, PublishOptions{Prune: true})
	if err != nil || len(res.Actions) != 3 || !mapsEqual(published(t, dest), want) {
		t.Fatalf("prune: %v, %+v", err, res)
	}

	// Another archive under a published name: refused, naming it.
	fix1 := "pub/1.0/pub-1.0.1.fix"
	if err := os.WriteFile(filepath.Join(dest, fix1), []byte("other bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	fix4 := "pub/1.0/pub-1.0.4.fix"
	os.Remove(filepath.Join(dest, "pub/1.0/index.json"))
	os.Remove(filepath.Join(dest, fix4))
	before := published(t, dest)
	_, err = Publish(t.Context(), r.Root, d, PublishOptions{})
	testkit.WantErr(t, err, fix1, "other content", "new version")
	if !errors.Is(err, ErrArchiveDiffers) {
		t.Errorf("err = %v, want ErrArchiveDiffers", err)
	}
	if !mapsEqual(published(t, dest), before) {
		t.Error("a refused publish changed the destination")
	}
	os.Remove(filepath.Join(dest, fix1))

	// A link in the destination is refused, not followed.
	elsewhere := t.TempDir()
	os.RemoveAll(filepath.Join(dest, "keys"))
	if err := os.Symlink(elsewhere, filepath.Join(dest, "keys")); err != nil {
		t.Fatal(err)
	}
	_, err = Publish(t.Context(), r.Root, d, PublishOptions{})
	if !errors.Is(err, beneath.ErrLink) {
		t.Errorf("publish through a link: %v, want ErrLink", err)
	}
	if ents, _ := os.ReadDir(elsewhere); len(ents) != 0 {
		t.Errorf("publish wrote through the link: %v", ents)
	}
	os.Remove(filepath.Join(dest, "keys"))

	// A second publish while one holds the lock is refused at once.
	l, err := lockfile.TryAcquire(filepath.Join(dest, publishLockName), "hotfix repo publish by someone")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Publish(t.Context(), r.Root, d, PublishOptions{})
	if !errors.Is(err, lockfile.ErrLocked) {
		t.Errorf("publish during another: %v, want ErrLocked", err)
	}
	testkit.WantErr(t, err, "someone")
	l.Release()
	if _, err := Publish(t.Context(), r.Root, d, PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := published(t, dest); !mapsEqual(got, published(t, r.Root)) {
		t.Fatal("destination differs after the repair")
	}
}

func TestPublishRefusesUnbuiltAndLinks(t *testing.T) {
	d, err := NewDirDestination(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	_, err = Publish(t.Context(), t.TempDir(), d, PublishOptions{})
	testkit.WantErr(t, err, "build the repository first")

	r := newPubRepo(t, 1, 0, false)
	if err := os.Symlink("/etc/passwd", filepath.Join(r.Root, "pub", "1.0", "passwd")); err != nil {
		t.Fatal(err)
	}
	_, err = Publish(t.Context(), r.Root, d, PublishOptions{})
	testkit.WantErr(t, err, "passwd", "not a regular file")
	if ents, _ := os.ReadDir(d.dir); len(ents) != 0 {
		t.Errorf("a refused publish wrote %v", ents)
	}
}

func TestPublishOrderTable(t *testing.T) {
	keys := []string{"index.html", "repo.json.asc", "repo.json", "keys/10.root.json", "keys/2.root.json.asc", "keys/2.root.json",
		"keys/ABC.asc", "p/1/index.json.asc", "p/1/index.json", "p/1/index.html", "p/1/p-1.1.fix",
		"p/1/repodata/repomd.xml.asc", "p/1/repodata/repomd.xml", "p/1/repodata/00ff-primary.xml.gz",
		"p/1/custom/c/index.json", "p/1/custom/c/index.json.asc", "p/1/custom/c/p-c-1.fix"}
	var objs []*localObject
	for _, k := range keys {
		objs = append(objs, &localObject{Key: k, Phase: phaseOf(k)})
	}
	planOrder(objs)
	var got []string
	for _, o := range objs {
		got = append(got, o.Key)
	}
	want := []string{"p/1/custom/c/p-c-1.fix", "p/1/p-1.1.fix", "p/1/repodata/00ff-primary.xml.gz",
		"keys/ABC.asc", "keys/2.root.json", "keys/2.root.json.asc", "keys/10.root.json",
		"p/1/custom/c/index.json", "p/1/custom/c/index.json.asc", "p/1/index.json", "p/1/index.json.asc",
		"p/1/repodata/repomd.xml", "p/1/repodata/repomd.xml.asc",
		"p/1/index.html", "repo.json", "repo.json.asc", "index.html"}
	if !slices.Equal(got, want) {
		t.Errorf("order\n got %v\nwant %v", got, want)
	}
	checkOrder(t, got)
	for _, c := range []struct {
		key, ct, cc string
	}{
		{"p/1/p-1.1.fix", "application/octet-stream", "immutable"},
		{"p/1/x.rpm", "application/x-rpm", "immutable"},
		{"p/1/repodata/00ff-primary.xml.gz", "application/gzip", "immutable"},
		{"p/1/index.json", "application/json", "no-cache"},
		{"p/1/index.json.asc", "application/pgp-signature", "no-cache"},
		{"repo.json", "application/json", "no-cache"},
		{"p/1/repodata/repomd.xml", "application/xml", "no-cache"},
		{"index.html", "text/html; charset=utf-8", "no-cache"},
	} {
		o := &localObject{Key: c.key, Phase: phaseOf(c.key)}
		if o.ContentType() != c.ct || !strings.Contains(o.CacheControl(), c.cc) {
			t.Errorf("%s: %s, %s; want %s, %s", c.key, o.ContentType(), o.CacheControl(), c.ct, c.cc)
		}
	}
}

func TestParseS3URL(t *testing.T) {
	for _, c := range []struct {
		in, bucket, prefix string
		s3, bad            bool
	}{
		{"s3://b/p/q/", "b", "p/q", true, false},
		{"s3://b", "b", "", true, false},
		{"/srv/www", "", "", false, false},
		{"s3:///p", "", "", true, true},
		{"s3://b/a/../c", "", "", true, true},
		{"s3://b/a//c", "", "", true, true},
	} {
		b, p, ok, err := ParseS3URL(c.in)
		if ok != c.s3 || (err != nil) != c.bad || (!c.bad && (b != c.bucket || p != c.prefix)) {
			t.Errorf("ParseS3URL(%q) = %q, %q, %v, %v", c.in, b, p, ok, err)
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// ctxAfter returns a context cancelled once n objects were published,
// as a cut network or a killed process stops a publish mid-way.
func ctxAfter(parent context.Context, n int, each func(string)) (context.Context, func(string)) {
	ctx, cancel := context.WithCancel(parent)
	count := 0
	return ctx, func(key string) {
		if each != nil {
			each(key)
		}
		count++
		if count >= n {
			cancel()
		}
	}
}

// FuzzParseS3URL: whatever the destination argument, a URL accepted has
// a bucket without slashes and a prefix of plain components, which keys
// are joined to: nothing may climb out of it.
func FuzzParseS3URL(f *testing.F) {
	for _, s := range []string{"s3://b/p", "s3://b", "s3:///", "s3://b/../x", "s3://b//", "/dir", "s3://b/a/./c", "s3://b/é/ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, p, ok, err := ParseS3URL(s)
		if !ok || err != nil {
			return
		}
		if b == "" || strings.Contains(b, "/") {
			t.Fatalf("%q: bucket %q", s, b)
		}
		if p == "" {
			return
		}
		if strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") {
			t.Fatalf("%q: prefix %q has a slash at an end", s, p)
		}
		for _, c := range strings.Split(p, "/") {
			if c == "" || c == "." || c == ".." {
				t.Fatalf("%q: prefix %q has component %q", s, p, c)
			}
		}
	})
}
