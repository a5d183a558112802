package mirror

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/repo/fixarchive"
	"github.com/hotfix-project/hotfix/repo/publish"
	"github.com/hotfix-project/hotfix/repo/rpm"
	"github.com/hotfix-project/hotfix/server"
	"github.com/hotfix-project/hotfix/sign"
)

var (
	vendorSecret = filepath.Join("..", "testdata", "keys", "vendor.sec.asc")
	vendorPublic = filepath.Join("..", "testdata", "keys", "vendor.pub.asc")
	otherPublic  = filepath.Join("..", "testdata", "keys", "other.pub.asc")
)

// vendorRepo is a vendor's repository of the demo product.
type vendorRepo struct {
	dir     string
	sources string // demo.WriteSample's directory: root/, fixes/
	out     string // packed archives
}

// newVendorRepo packs the first n demo fixes (the second one also as an
// RPM, so the channel has yum repodata) and builds the repository.
func newVendorRepo(t testing.TB, n int) *vendorRepo {
	t.Helper()
	v := &vendorRepo{dir: t.TempDir(), sources: t.TempDir(), out: t.TempDir()}
	if err := demo.WriteSample(v.sources); err != nil {
		t.Fatal(err)
	}
	for _, ver := range demo.FixVersions[:n] {
		v.add(t, ver)
	}
	v.build(t)
	return v
}

// add packs one demo fix into the repository (without building).
func (v *vendorRepo) add(t testing.TB, ver string) {
	t.Helper()
	src := filepath.Join(v.sources, "fixes", ver)
	p, _, err := fixarchive.Pack(context.Background(), src, v.out, fixarchive.PackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{p}
	if ver == demo.FixVersions[1] {
		q, _, err := rpm.Pack(context.Background(), src, v.out, rpm.PackOptions{})
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, q)
	}
	if _, err := publish.Add(context.Background(), v.dir, paths, publish.AddOptions{}); err != nil {
		t.Fatal(err)
	}
}

func (v *vendorRepo) build(t testing.TB) {
	t.Helper()
	s, err := sign.LoadSigner(vendorSecret, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := publish.Build(context.Background(), v.dir, publish.BuildOptions{Signer: s}); err != nil {
		t.Fatal(err)
	}
}

func (v *vendorRepo) channel() string { return filepath.Join(v.dir, demo.Product, demo.Base) }

func keyring(t testing.TB, path string) *sign.Keyring {
	t.Helper()
	kr, err := sign.LoadKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// requestLog records the paths a server was asked for.
type requestLog struct {
	mu    sync.Mutex
	paths []string
	spans []string // Range headers
}

func (l *requestLog) add(r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.paths = append(l.paths, r.URL.Path)
	if rg := r.Header.Get("Range"); rg != "" {
		l.spans = append(l.spans, r.URL.Path+" "+rg)
	}
}

func (l *requestLog) archives() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, p := range l.paths {
		if strings.HasSuffix(p, ".fix") || strings.HasSuffix(p, ".rpm") || strings.HasSuffix(p, ".gz") {
			out = append(out, p)
		}
	}
	return out
}

// serve serves dir with the real repository handler on 127.0.0.1,
// logging requests; wrap, when set, sits in front of it.
func serve(t testing.TB, dir string, wrap func(http.Handler) http.Handler) (*httptest.Server, *requestLog) {
	t.Helper()
	h, err := server.New(dir, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var handler http.Handler = h
	if wrap != nil {
		handler = wrap(h)
	}
	log := &requestLog{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.add(r)
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		h.Close()
	})
	return srv, log
}

// run mirrors source into dir with the vendor's key.
func run(t testing.TB, source, dir string, edit ...func(*Options)) (*Result, error) {
	t.Helper()
	opts := Options{Source: source, Dir: dir, Keyring: keyring(t, vendorPublic)}
	for _, e := range edit {
		e(&opts)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return Mirror(ctx, opts)
}

// tree describes every entry under dir but the lock file: path, type,
// and sha256 of regular files.
func tree(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == lockName || rel == "." {
			return nil
		}
		desc := d.Type().String()
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			s := sha256.Sum256(b)
			desc = hex.EncodeToString(s[:])
		}
		out[filepath.ToSlash(rel)] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// published is the part of a vendor's tree a mirror copies: everything
// but dot-files and the pages for people (HTML, the Atom feed), which are
// unsigned.
func published(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, v := range tree(t, dir) {
		base := k[strings.LastIndex(k, "/")+1:]
		if strings.HasSuffix(k, ".html") || base == "feed.xml" || strings.HasPrefix(base, ".") || strings.Contains(k, "/.") || strings.HasPrefix(k, ".") {
			continue
		}
		out[k] = v
	}
	return out
}

func diff(want, got map[string]string) string {
	var lines []string
	for k, v := range want {
		if got[k] != v {
			lines = append(lines, fmt.Sprintf("%s: want %.12s, got %.12s", k, v, got[k]))
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			lines = append(lines, fmt.Sprintf("%s: unexpected %.12s", k, v))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// hotfixBinary builds the real hotfix command once per test run.
func hotfixBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hotfix-mirror-bin")
		if err != nil {
			binErr = err
			return
		}
		out := filepath.Join(dir, "hotfix")
		if b, err := exec.Command("go", "build", "-o", out, "..").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, b)
			return
		}
		binPath = out
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}
