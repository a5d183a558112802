package mirror

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/internal/lockfile"
	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/publish"
)

// TestMirrorHTTP: a mirror over HTTP is the vendor's published tree byte
// for byte (pages left out), the next run fetches nothing, and a run after
// the vendor published a fix fetches only that fix.
func TestMirrorHTTP(t *testing.T) {
	v := newVendorRepo(t, 2)
	srv, log := serve(t, v.dir, nil)
	dir := filepath.Join(t.TempDir(), "mirror")
	res, err := run(t, srv.URL, dir)
	if err != nil {
		t.Fatal(err)
	}
	if d := diff(published(t, v.dir), tree(t, dir)); d != "" {
		t.Fatalf("mirror differs from the published repository:\n%s", d)
	}
	if len(res.Channels) != 1 || res.Channels[0].Serial != 1 || res.Fetched < 3 {
		t.Errorf("result %+v", res)
	}
	first := len(log.archives())

	res, err = run(t, srv.URL, dir)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(log.archives()); n != first || res.Fetched != 0 || res.Updated != 0 {
		t.Errorf("second run: %d archive requests (first run %d), result %+v", n, first, res)
	}

	v.add(t, demo.FixVersions[2])
	v.build(t)
	before := log.archives()
	if _, err = run(t, srv.URL, dir); err != nil {
		t.Fatal(err)
	}
	fetched := log.archives()[len(before):]
	if len(fetched) != 1 || !strings.HasSuffix(fetched[0], "acme-2.4.1.3.fix") {
		t.Errorf("third run fetched %v, want only the new archive", fetched)
	}
	if d := diff(published(t, v.dir), tree(t, dir)); d != "" {
		t.Fatalf("mirror differs after the vendor's new fix:\n%s", d)
	}
}

// TestMirrorSources: a directory and an export bundle mirror like a URL;
// a bundle from a later fix joins a mirror holding the earlier ones, and
// is refused by one that does not.
func TestMirrorSources(t *testing.T) {
	v := newVendorRepo(t, 3)
	fromDir := filepath.Join(t.TempDir(), "m")
	if _, err := run(t, v.dir, fromDir); err != nil {
		t.Fatal(err)
	}
	if d := diff(published(t, v.dir), tree(t, fromDir)); d != "" {
		t.Fatalf("mirror of a directory differs:\n%s", d)
	}

	bundlePath := filepath.Join(t.TempDir(), "b.tar")
	base := repo.MustParseVersion(demo.Base)
	export := func(from string) {
		t.Helper()
		opts := publish.ExportOptions{Product: demo.Product, Base: base, Out: bundlePath}
		if from != "" {
			fv := repo.MustParseVersion(from)
			opts.From = &fv
		}
		if _, err := publish.Export(t.Context(), v.dir, opts); err != nil {
			t.Fatal(err)
		}
	}
	export("2.4.1.3")
	fromBundle := filepath.Join(t.TempDir(), "m")
	_, err := run(t, bundlePath, fromBundle)
	testkit.WantErr(t, err, "the mirror lacks acme-2.4.1.1.fix", "--from 2.4.1.1 (or without --from)")
	if _, serr := os.Stat(filepath.Join(fromBundle, demo.Product)); serr == nil {
		t.Error("a refused bundle left files in the mirror")
	}
	export("")
	// A damaged bundle leaves nothing, not even staged archives.
	good, _ := os.ReadFile(bundlePath)
	bad := bytes.Clone(good)
	bad[bytes.LastIndex(bad, []byte("acme-2.4.1.3.fix"))+700] ^= 1
	badPath := filepath.Join(t.TempDir(), "bad.tar")
	os.WriteFile(badPath, bad, 0o644)
	empty := tree(t, fromBundle)
	_, err = run(t, badPath, fromBundle)
	testkit.WantErr(t, err, "acme-2.4.1.3.fix", "sha256")
	if d := diff(empty, tree(t, fromBundle)); d != "" {
		t.Errorf("a damaged bundle changed the mirror:\n%s", d)
	}
	if _, err := run(t, bundlePath, fromBundle); err != nil {
		t.Fatal(err)
	}
	// The bundle carries keys/, repo.json, the channel and its repodata:
	// the mirror is the one a URL gives.
	if d := diff(published(t, v.dir), tree(t, fromBundle)); d != "" {
		t.Fatalf("mirror of a bundle differs:\n%s", d)
	}
	// A newer bundle from the last fix on joins it.
	v.build(t)
	export("2.4.1.3")
	res, err := run(t, bundlePath, fromBundle)
	if err != nil || res.Channels[0].Serial != 2 {
		t.Fatalf("newer partial bundle: %v %+v", err, res)
	}
}

// tamper rewrites a file of the vendor's repository.
func tamper(t *testing.T, path string, edit func([]byte) []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, edit(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func flip(b []byte) []byte { b = bytes.Clone(b); b[len(b)/2] ^= 0x20; return b }

// TestMirrorRefuses: a source whose content does not verify, or that went
// back, leaves the mirror exactly as it was, and the error names why.
func TestMirrorRefuses(t *testing.T) {
	cases := []struct {
		name   string
		change func(t *testing.T, v *vendorRepo) // after the first mirror
		edit   func(*Options)
		want   []string
		is     error
	}{
		{name: "tampered new archive", change: func(t *testing.T, v *vendorRepo) {
			v.add(t, demo.FixVersions[2])
			v.build(t)
			tamper(t, filepath.Join(v.channel(), "acme-2.4.1.3.fix"), flip)
		}, want: []string{"acme-2.4.1.3.fix", "sha256"}, is: client.ErrMismatch},
		{name: "archive replaced by a longer one", change: func(t *testing.T, v *vendorRepo) {
			v.add(t, demo.FixVersions[2])
			v.build(t)
			tamper(t, filepath.Join(v.channel(), "acme-2.4.1.3.fix"), func(b []byte) []byte { return append(b, 0) })
		}, want: []string{"acme-2.4.1.3.fix", "more than"}},
		{name: "tampered index", change: func(t *testing.T, v *vendorRepo) {
			v.build(t)
			tamper(t, filepath.Join(v.channel(), repo.IndexName), func(b []byte) []byte {
				return bytes.Replace(b, []byte(`"serial": 2`), []byte(`"serial": 9`), 1)
			})
		}, want: []string{"index for acme 2.4.1"}},
		{name: "tampered repo.json", change: func(t *testing.T, v *vendorRepo) {
			tamper(t, filepath.Join(v.dir, repo.RootIndexName), flip)
		}, want: []string{"repo.json"}},
		{name: "tampered repomd.xml", change: func(t *testing.T, v *vendorRepo) {
			v.build(t)
			tamper(t, filepath.Join(v.channel(), "repodata", "repomd.xml"), flip)
		}, want: []string{"repomd.xml"}},
		{name: "index serial goes backwards", change: func(t *testing.T, v *vendorRepo) {
			replayed := saveFiles(t, v.channel(), repo.IndexName, repo.IndexName+repo.SigSuffix)
			v.build(t)
			// the mirror takes serial 2, then the source serves serial 1
			if _, err := run(t, v.dir, mirrorOf[t.Name()]); err != nil {
				t.Fatal(err)
			}
			replayed()
		}, want: []string{"serial 1 is lower than serial 2"}, is: ErrRollback},
		{name: "repo.json goes backwards", change: func(t *testing.T, v *vendorRepo) {
			replayed := saveFiles(t, v.dir, repo.RootIndexName, repo.RootIndexName+repo.SigSuffix)
			time.Sleep(1100 * time.Millisecond) // generated has whole seconds
			v.build(t)
			if _, err := run(t, v.dir, mirrorOf[t.Name()]); err != nil {
				t.Fatal(err)
			}
			replayed()
		}, want: []string{"repo.json generated"}, is: ErrRollback},
		{name: "unknown key", edit: func(o *Options) { o.Keyring = keyring(t, otherPublic) }, want: []string{"repo.json"}},
		{name: "expired", edit: func(o *Options) {
			o.Now = func() time.Time { return time.Now().Add(publish.DefaultExpires + time.Hour) }
		}, want: []string{"expired"}, is: client.ErrExpired},
		{name: "a served archive that is not the signed one", change: func(t *testing.T, v *vendorRepo) {
			// the mirror holds 2.4.1.1; the source now serves other bytes
			// under its name with an index that says so
			tamper(t, filepath.Join(mirrorOf[t.Name()], demo.Product, demo.Base, "acme-2.4.1.1.fix"), flip)
		}, want: []string{"acme-2.4.1.1.fix", "never changes"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newVendorRepo(t, 2)
			srv, _ := serve(t, v.dir, nil)
			dir := filepath.Join(t.TempDir(), "mirror")
			if _, err := run(t, srv.URL, dir); err != nil {
				t.Fatal(err)
			}
			mirrorOf[t.Name()] = dir
			if tc.change != nil {
				tc.change(t, v)
			}
			before := tree(t, dir)
			edits := []func(*Options){func(o *Options) {}}
			if tc.edit != nil {
				edits = append(edits, tc.edit)
			}
			_, err := run(t, srv.URL, dir, edits...)
			testkit.WantErr(t, err, tc.want...)
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error is not %v: %v", tc.is, err)
			}
			if d := diff(before, tree(t, dir)); d != "" {
				t.Errorf("the refused run changed the mirror:\n%s", d)
			}
		})
	}
}

// saveFiles keeps the current bytes of files in dir and returns a
// function that puts them back: a replay of old signed files.
func saveFiles(t *testing.T, dir string, names ...string) func() {
	t.Helper()
	saved := map[string][]byte{}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		saved[n] = b
	}
	return func() {
		for n, b := range saved {
			if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// mirrorOf lets a case's change reach its own mirror.
var mirrorOf = map[string]string{}

// TestMirrorLocked: a second mirror into the same directory refuses at
// once, naming the holder.
func TestMirrorLocked(t *testing.T) {
	v := newVendorRepo(t, 1)
	release := make(chan struct{})
	srv, _ := serve(t, v.dir, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, ".fix") {
				<-release
			}
			h.ServeHTTP(w, r)
		})
	})
	dir := t.TempDir()
	done := make(chan error, 1)
	go func() { _, err := run(t, srv.URL, dir); done <- err }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, lockName)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first run never took the lock")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	_, err := run(t, v.dir, dir)
	close(release)
	if !errors.Is(err, lockfile.ErrLocked) {
		t.Errorf("second run: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
