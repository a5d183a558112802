package client

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/publish"
	"github.com/hotfix-project/hotfix/sign"
)

// vendorKeys are real OpenPGP keys made for one test: root keys (offline)
// and signing keys (online).
type vendorKeys struct{ r1, r2, r3, s1, s2 *sign.Key }

func newVendorKeys(t *testing.T) vendorKeys {
	t.Helper()
	gen := func(name string) *sign.Key {
		k, err := sign.GenerateKey(name+" <"+name+"@example.com>", sign.KeyOptions{Now: func() time.Time { return time.Now().Add(-time.Hour) }})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	return vendorKeys{gen("root1"), gen("root2"), gen("root3"), gen("sign1"), gen("sign2")}
}

func pub(t testing.TB, k *sign.Key) []byte {
	t.Helper()
	b, err := k.ArmoredPublic()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// trustList runs the vendor's "repo trust": the next key-list version,
// signed by signers, with roots (the signers' own when none) and signing.
func trustList(t *testing.T, r *testRepo, signers, roots []*sign.Key, threshold int, signing ...*sign.Key) {
	t.Helper()
	opts := publish.TrustOptions{Threshold: threshold}
	for _, k := range signers {
		opts.RootSigners = append(opts.RootSigners, k.Signer())
	}
	for _, k := range roots {
		opts.Roots = append(opts.Roots, pub(t, k))
	}
	for _, k := range signing {
		opts.Signing = append(opts.Signing, pub(t, k))
	}
	if _, err := publish.Trust(context.Background(), r.Dir, opts); err != nil {
		t.Fatal(err)
	}
}

func ks(k ...*sign.Key) []*sign.Key { return k }

// keyEnv is a client served over HTTP whose trusted_keys holds exactly
// the given public keys.
func keyEnv(t *testing.T, r *testRepo, trusted ...*sign.Key) *testEnv {
	t.Helper()
	return newEnv(t, envOptions{Repo: r, Prepare: func(t testing.TB, e *testEnv) {
		dir := filepath.Join(e.Dir, "keys")
		os.Remove(filepath.Join(dir, "vendor.pub.asc"))
		for _, k := range trusted {
			if err := os.WriteFile(filepath.Join(dir, k.Fingerprint()+".asc"), pub(t, k), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}})
}

func seenKeyList(t *testing.T, e *testEnv) int64 {
	t.Helper()
	kl, err := loadKeyList(keyListFile(e.Cfg.StateDir, ""), e.Cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	if kl == nil {
		return 0
	}
	return kl.Version
}

func mustCheck(t *testing.T, e *testEnv, pending int) {
	t.Helper()
	res, err := e.client(t).Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Pending) != pending {
		t.Fatalf("%d pending, want %d", len(res.Pending), pending)
	}
}

// A signing-key rotation and later a root-key rotation reach a server
// that only ever held root key 1, and fixes still install.
func TestKeyRotationOverHTTP(t *testing.T) {
	k := newVendorKeys(t)
	r := newRepo(t)
	trustList(t, r, ks(k.r1), nil, 0, k.s1)
	r.build(t, publish.BuildOptions{Signer: k.s1.Signer()})
	e := keyEnv(t, r, k.r1)
	mustCheck(t, e, 3)
	if v := seenKeyList(t, e); v != 1 {
		t.Fatalf("seen version %d", v)
	}

	trustList(t, r, ks(k.r1), nil, 0, k.s2)
	r.build(t, publish.BuildOptions{Signer: k.s2.Signer()})
	mustCheck(t, e, 3)
	if v := seenKeyList(t, e); v != 2 {
		t.Fatalf("seen version %d after the signing key rotation", v)
	}

	trustList(t, r, ks(k.r1, k.r2), ks(k.r2), 0, k.s2)
	r.build(t, publish.BuildOptions{Signer: k.s2.Signer()})
	res, err := e.client(t).Install(context.Background(), InstallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Installed) != 3 {
		t.Fatalf("installed %v", res.Installed)
	}
	if v := seenKeyList(t, e); v != 3 {
		t.Fatalf("seen version %d after the root key rotation", v)
	}

	// New servers: one holding root key 1 walks 1 to 3 in one run, one
	// holding only root key 2 starts where that key signs, and one
	// holding the signing key alone (not a root key) is refused.
	mustCheck(t, keyEnv(t, r, k.r1), 3)
	mustCheck(t, keyEnv(t, r, k.r2), 3)
	_, err = keyEnv(t, r, k.s2).client(t).Check(context.Background())
	if !errors.Is(err, repo.ErrKeyListUntrusted) || !strings.Contains(err.Error(), "put the vendor's root public key into") {
		t.Fatalf("err = %v", err)
	}
}

// A repository without a key list keeps the plain rule, and costs no
// request for one.
func TestNoKeyListPlainRule(t *testing.T) {
	var paths []string
	e := newEnv(t, envOptions{Wrap: recordPaths(&paths)})
	mustCheck(t, e, 3)
	for _, p := range paths {
		if strings.Contains(p, "root.json") {
			t.Fatalf("asked for %s", p)
		}
	}
	if seenKeyList(t, e) != 0 {
		t.Fatal("a key list was recorded")
	}
}

// Revocation: once the list drops signing key 1, an index it signs is
// refused, though its file sits in trusted_keys.
func TestKeyRevocationOverHTTP(t *testing.T) {
	k := newVendorKeys(t)
	r := newRepo(t)
	trustList(t, r, ks(k.r1), nil, 0, k.s1)
	r.build(t, publish.BuildOptions{Signer: k.s1.Signer()})
	e := keyEnv(t, r, k.r1, k.s1)
	mustCheck(t, e, 3)

	trustList(t, r, ks(k.r1), nil, 0, k.s2)
	r.build(t, publish.BuildOptions{Signer: k.s2.Signer()})
	// Whoever holds the dropped key re-signs the current index with it.
	data, err := os.ReadFile(r.indexPath())
	if err != nil {
		t.Fatal(err)
	}
	sig, err := k.s1.Signer().SignDetached(data)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(r.indexPath()+repo.SigSuffix, sig, 0o644)
	before := snapshot(t, e.Root)
	_, err = e.client(t).Install(context.Background(), InstallOptions{})
	if !errors.Is(err, repo.ErrKeyRevoked) {
		t.Fatalf("err = %v", err)
	}
	t.Log(err)
	for _, want := range []string{"key list version 2 does not name", k.s2.Fingerprint(), "no longer counts"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	assertTree(t, before, e.Root)
}

// Every bad key-list version is refused and nothing is installed.
func TestBadKeyListRefused(t *testing.T) {
	k := newVendorKeys(t)
	year := 365 * 24 * time.Hour
	tests := []struct {
		name string
		// setup publishes versions 1 and on (the client sees version 1
		// first) and returns a clock for the client, zero for now.
		setup   func(t *testing.T, r *testRepo)
		later   time.Duration // the client's clock runs this far ahead
		wantErr error
		want    []string
	}{
		{"skipped version", func(t *testing.T, r *testRepo) {
			trustList(t, r, ks(k.r1), nil, 0, k.s1)
			trustList(t, r, ks(k.r1), nil, 0, k.s1)
			r.build(t, publish.BuildOptions{Signer: k.s1.Signer()})
			moveKeyList(t, r, 2, 7)
			rewriteIndex(t, r, k.s1, func(ix *repo.Index) { ix.KeyList = 7 })
		}, 0, repo.ErrKeyListVersion, []string{"names key list version 7", "newest version reached is 1"}},
		{"unsigned version", func(t *testing.T, r *testRepo) {
			trustList(t, r, ks(k.r1), nil, 0, k.s1)
			trustList(t, r, ks(k.r1), nil, 0, k.s2)
			r.build(t, publish.BuildOptions{Signer: k.s2.Signer()})
			os.Remove(keyListFilePath(r, 2) + repo.SigSuffix)
		}, 0, repo.ErrKeyListSignature, []string{"2.root.json.asc is missing"}},
		{"signed by a signing key", func(t *testing.T, r *testRepo) {
			trustList(t, r, ks(k.r1), nil, 0, k.s1)
			trustList(t, r, ks(k.r1), nil, 0, k.s2)
			r.build(t, publish.BuildOptions{Signer: k.s2.Signer()})
			resignKeyList(t, r, 2, k.s1)
		}, 0, repo.ErrKeyListSignature, []string{"version 2 needs good signatures by 1 of the root keys of version 1", k.r1.Fingerprint()}},
		{"under threshold", func(t *testing.T, r *testRepo) {
			trustList(t, r, ks(k.r1, k.r2), nil, 2, k.s1)
			trustList(t, r, ks(k.r1, k.r2), nil, 2, k.s2)
			r.build(t, publish.BuildOptions{Signer: k.s2.Signer()})
			resignKeyList(t, r, 2, k.r1)
		}, 0, repo.ErrKeyListSignature, []string{"needs good signatures by 2", "only " + k.r1.Fingerprint()}},
		{"replayed version", func(t *testing.T, r *testRepo) {
			trustList(t, r, ks(k.r1), nil, 0, k.s1)
			trustList(t, r, ks(k.r1), nil, 0, k.s2)
			r.build(t, publish.BuildOptions{Signer: k.s2.Signer()})
			copyKeyList(t, r, 1, 2)
		}, 0, repo.ErrKeyListVersion, []string{"holds version 1 where version 2 belongs"}},
		{"expired newest version", func(t *testing.T, r *testRepo) {
			trustList(t, r, ks(k.r1), nil, 0, k.s1)
			r.build(t, publish.BuildOptions{Signer: k.s1.Signer(), Expires: 2 * year})
		}, year + 24*time.Hour, repo.ErrKeyListExpired, []string{"key list version 1 expired on", "re-sign the key list"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRepo(t)
			tt.setup(t, r)
			e := keyEnv(t, r, k.r1, k.r2)
			before := snapshot(t, e.Root)
			c := e.client(t)
			c.Now = func() time.Time { return time.Now().Add(tt.later) }
			_, err := c.Install(context.Background(), InstallOptions{})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			t.Log(err)
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
			assertTree(t, before, e.Root)
			if _, err := os.Stat(filepath.Join(e.Cfg.StateDir, "state.json")); err == nil {
				st, _ := os.ReadFile(filepath.Join(e.Cfg.StateDir, "state.json"))
				if strings.Contains(string(st), "2.4.1.1") {
					t.Fatalf("a fix was recorded:\n%s", st)
				}
			}
		})
	}
}

// Key-list rollback: a server that saw version 2 refuses indexes signed
// under version 1, and a repository whose newer versions vanished.
func TestKeyListRollbackRefused(t *testing.T) {
	k := newVendorKeys(t)
	r := newRepo(t)
	trustList(t, r, ks(k.r1), nil, 0, k.s1)
	r.build(t, publish.BuildOptions{Signer: k.s1.Signer()})
	oldIndex, _ := os.ReadFile(r.indexPath())
	oldSig, _ := os.ReadFile(r.indexPath() + repo.SigSuffix)
	trustList(t, r, ks(k.r1), nil, 0, k.s1)
	r.build(t, publish.BuildOptions{Signer: k.s1.Signer()})
	e := keyEnv(t, r, k.r1)
	mustCheck(t, e, 3)
	if seenKeyList(t, e) != 2 {
		t.Fatal("version 2 not seen")
	}
	// The old index (signed by a key still listed, under version 1) and
	// the key list cut back to version 1.
	os.Remove(keyListFilePath(r, 2))
	os.Remove(keyListFilePath(r, 2) + repo.SigSuffix)
	os.WriteFile(r.indexPath(), oldIndex, 0o644)
	os.WriteFile(r.indexPath()+repo.SigSuffix, oldSig, 0o644)
	// A fresh cache, so that the serial check is not what refuses it.
	os.RemoveAll(e.Cfg.CacheDir)
	seen := filepath.Join(e.Cfg.StateDir, seenName)
	os.Remove(seen)
	before := snapshot(t, e.Root)
	_, err := e.client(t).Install(context.Background(), InstallOptions{})
	if !errors.Is(err, repo.ErrKeyListRollback) || !strings.Contains(err.Error(), "names key list version 1, older than version 2") {
		t.Fatalf("err = %v", err)
	}
	assertTree(t, before, e.Root)
	// A repository without key lists (signed by a key the list does not
	// name) is no way back to the plain rule.
	r2 := newRepo(t)
	e.Cfg.Repo = serveDir(t, r2.Dir, nil).URL
	os.Remove(seen)
	if _, err := e.client(t).Check(context.Background()); !errors.Is(err, repo.ErrKeyRevoked) {
		t.Fatalf("err = %v", err)
	}
}

func keyListFilePath(r *testRepo, v int64) string {
	return filepath.Join(r.Dir, filepath.FromSlash(repo.KeyListPath(v)))
}

func moveKeyList(t *testing.T, r *testRepo, from, to int64) {
	t.Helper()
	for _, suf := range []string{"", repo.SigSuffix} {
		if err := os.Rename(keyListFilePath(r, from)+suf, keyListFilePath(r, to)+suf); err != nil {
			t.Fatal(err)
		}
	}
}

func copyKeyList(t *testing.T, r *testRepo, from, to int64) {
	t.Helper()
	for _, suf := range []string{"", repo.SigSuffix} {
		b, err := os.ReadFile(keyListFilePath(r, from) + suf)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(keyListFilePath(r, to)+suf, b, 0o644)
	}
}

func resignKeyList(t *testing.T, r *testRepo, v int64, signers ...*sign.Key) {
	t.Helper()
	data, err := os.ReadFile(keyListFilePath(r, v))
	if err != nil {
		t.Fatal(err)
	}
	var ss []*sign.Signer
	for _, k := range signers {
		ss = append(ss, k.Signer())
	}
	sig, err := sign.SignDetachedMulti(data, ss...)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(keyListFilePath(r, v)+repo.SigSuffix, sig, 0o644)
}

// rewriteIndex changes the signed index and signs it again with k.
func rewriteIndex(t *testing.T, r *testRepo, k *sign.Key, edit func(*repo.Index)) {
	t.Helper()
	data, err := os.ReadFile(r.indexPath())
	if err != nil {
		t.Fatal(err)
	}
	ix, err := repo.ParseIndex(data)
	if err != nil {
		t.Fatal(err)
	}
	edit(ix)
	if data, err = ix.Marshal(); err != nil {
		t.Fatal(err)
	}
	sig, err := k.Signer().SignDetached(data)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(r.indexPath(), data, 0o644)
	os.WriteFile(r.indexPath()+repo.SigSuffix, sig, 0o644)
}

// recordPaths is middleware noting every path asked for.
func recordPaths(paths *[]string) func(http.Handler) http.Handler {
	var mu sync.Mutex
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			*paths = append(*paths, r.URL.Path)
			mu.Unlock()
			next.ServeHTTP(w, r)
		})
	}
}

// One run walks at most repo.MaxKeyListSteps versions; the next run
// continues from where it stopped.
func TestKeyListWalkCap(t *testing.T) {
	k := newVendorKeys(t)
	r := newRepo(t)
	n := int64(repo.MaxKeyListSteps + 2)
	trustList(t, r, ks(k.r1), nil, 0, k.s1)
	// The later versions written directly: repo trust checks the whole
	// chain each time, which would make this test slow.
	first, err := os.ReadFile(keyListFilePath(r, 1))
	if err != nil {
		t.Fatal(err)
	}
	kl, err := repo.ParseKeyList(first)
	if err != nil {
		t.Fatal(err)
	}
	for v := int64(2); v <= n; v++ {
		kl.Version = v
		data, err := kl.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(keyListFilePath(r, v), data, 0o644)
		resignKeyList(t, r, v, k.r1)
	}
	rewriteIndex(t, r, k.s1, func(ix *repo.Index) { ix.KeyList = n })
	e := keyEnv(t, r, k.r1)
	_, err = e.client(t).Check(context.Background())
	if !errors.Is(err, repo.ErrKeyListVersion) || !strings.Contains(err.Error(), "stopped its walk early") {
		t.Fatalf("err = %v", err)
	}
	if v := seenKeyList(t, e); v != repo.MaxKeyListSteps {
		t.Fatalf("seen version %d after the first run", v)
	}
	mustCheck(t, e, 3)
	if v := seenKeyList(t, e); v != n {
		t.Fatalf("seen version %d after the second run", v)
	}
}
