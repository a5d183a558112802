package publish

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/sign"
)

// trustKey is a real OpenPGP key made for the test.
type trustKey struct {
	*sign.Key
	pub []byte
}

func newTrustKey(t *testing.T, name string) trustKey {
	t.Helper()
	k, err := sign.GenerateKey(name+" <"+name+"@example.com>", sign.KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := k.ArmoredPublic()
	if err != nil {
		t.Fatal(err)
	}
	return trustKey{k, pub}
}

func trust(t *testing.T, root string, signers []trustKey, roots []trustKey, signing ...trustKey) (*TrustResult, error) {
	t.Helper()
	opts := TrustOptions{}
	for _, k := range signers {
		opts.RootSigners = append(opts.RootSigners, k.Signer())
	}
	for _, k := range roots {
		opts.Roots = append(opts.Roots, k.pub)
	}
	for _, k := range signing {
		opts.Signing = append(opts.Signing, k.pub)
	}
	return Trust(t.Context(), root, opts)
}

func mustTrust(t *testing.T, root string, signers []trustKey, roots []trustKey, signing ...trustKey) *repo.KeyList {
	t.Helper()
	res, err := trust(t, root, signers, roots, signing...)
	if err != nil {
		t.Fatal(err)
	}
	return res.List
}

func keys(k ...trustKey) []trustKey { return k }

func verifyKeys(t *testing.T, root string, trusted ...trustKey) []string {
	t.Helper()
	opts := VerifyOptions{Check: func([]byte, []byte) error { return errors.New("plain rule used") }}
	for _, k := range trusted {
		opts.TrustedKeys = append(opts.TrustedKeys, k.Fingerprint())
	}
	problems, err := VerifyRepo(t.Context(), root, opts)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range problems {
		out = append(out, p.String())
	}
	return out
}

// Rotations in the order a vendor runs them: a first list, a new signing
// key, a new root key; build and verify follow each.
func TestTrustRotations(t *testing.T) {
	root := twoChannelRepo(t, nil)
	r1, r2, s1, s2 := newTrustKey(t, "root1"), newTrustKey(t, "root2"), newTrustKey(t, "sign1"), newTrustKey(t, "sign2")

	kl := mustTrust(t, root, keys(r1), nil, s1)
	if kl.Version != 1 || kl.RootFingerprints()[0] != r1.Fingerprint() || !kl.NamesSigning(s1.Fingerprint()) {
		t.Fatalf("version 1: %+v", kl)
	}
	// The old vendor key is not a signing key of the list.
	_, err := Build(t.Context(), root, BuildOptions{Signer: vendorSigner(t)})
	testkit.WantErr(t, err, "is not named by key list version 1", s1.Fingerprint())
	if !errors.Is(err, ErrKeyNotListed) {
		t.Fatalf("err = %v", err)
	}
	res, err := Build(t.Context(), root, BuildOptions{Signer: s1.Signer()})
	if err != nil {
		t.Fatal(err)
	}
	if res.KeyList.Version != 1 || readIndex(t, root).KeyList != 1 {
		t.Fatalf("index not built under version 1: %d", readIndex(t, root).KeyList)
	}
	ri, _ := os.ReadFile(filepath.Join(root, repo.RootIndexName))
	if !strings.Contains(string(ri), `"key_list": 1`) {
		t.Fatalf("repo.json does not record the key list:\n%s", ri)
	}
	if p := verifyKeys(t, root, r1); len(p) > 0 {
		t.Fatalf("problems: %v", p)
	}

	// Signing key rotation: root key 1 signs version 2 naming sign2.
	mustTrust(t, root, keys(r1), nil, s2)
	// Indexes still under version 1 are reported until rebuilt.
	p := verifyKeys(t, root, r1)
	if len(p) == 0 || !strings.Contains(strings.Join(p, "\n"), "which key list version 2 does not name (it names "+s2.Fingerprint()) {
		t.Fatalf("problems: %v", p)
	}
	_, err = Build(t.Context(), root, BuildOptions{Signer: s1.Signer()})
	testkit.WantErr(t, err, "key list version 2", s2.Fingerprint())
	if _, err := Build(t.Context(), root, BuildOptions{Signer: s2.Signer()}); err != nil {
		t.Fatal(err)
	}
	if p := verifyKeys(t, root, r1); len(p) > 0 {
		t.Fatalf("problems: %v", p)
	}

	// Root key rotation: the old and the new root sign version 3.
	mustTrust(t, root, keys(r1, r2), keys(r2), s2)
	// Indexes signed by a key still listed, under the older version.
	p = verifyKeys(t, root, r1)
	if len(p) == 0 || !strings.Contains(strings.Join(p, "\n"), "signed under key list version 2, but the newest is 3") {
		t.Fatalf("problems: %v", p)
	}
	if _, err := Build(t.Context(), root, BuildOptions{Signer: s2.Signer()}); err != nil {
		t.Fatal(err)
	}
	// Both a vendor holding only root key 1 and one holding root key 2
	// verify the chain.
	for _, k := range []trustKey{r1, r2} {
		if p := verifyKeys(t, root, k); len(p) > 0 {
			t.Fatalf("problems with %s: %v", k.Fingerprint(), p)
		}
	}
	// keys/ holds the root public keys: handed out as a key directory,
	// it verifies the chain.
	kr, err := sign.LoadKeyring(filepath.Join(root, repo.KeysDir))
	if err != nil {
		t.Fatal(err)
	}
	problems, err := VerifyRepo(t.Context(), root, VerifyOptions{Check: func([]byte, []byte) error { return nil }, TrustedKeys: kr.Fingerprints()})
	if err != nil || len(problems) > 0 {
		t.Fatalf("verify with keys/: %v %v", err, problems)
	}
	// A keyring of no root key.
	p = verifyKeys(t, root, s2)
	if !strings.Contains(strings.Join(p, "\n"), "none of the root keys") {
		t.Fatalf("problems: %v", p)
	}

	// gpg verifies every version's signature with the root public keys.
	home := testkit.GPGHome(t)
	dir := t.TempDir()
	for _, k := range []trustKey{r1, r2} {
		path := filepath.Join(dir, k.Fingerprint()+".asc")
		os.WriteFile(path, k.pub, 0o644)
		if out, err := testkit.GPG(t, home, "--import", path); err != nil {
			t.Fatalf("gpg --import: %v\n%s", err, out)
		}
	}
	for v := int64(1); v <= 3; v++ {
		path := filepath.Join(root, filepath.FromSlash(repo.KeyListPath(v)))
		out, err := testkit.GPG(t, home, "--verify", path+repo.SigSuffix, path)
		if err != nil || !strings.Contains(string(out), "Good signature") {
			t.Fatalf("gpg --verify version %d: %v\n%s", v, err, out)
		}
	}
	// The repository's keys/ folder, signatures and all, still loads as a
	// key directory.
	if _, err := sign.LoadKeyring(filepath.Join(root, repo.KeysDir)); err != nil {
		t.Fatal(err)
	}
}

func TestTrustRefuses(t *testing.T) {
	r1, r2, r3, s1 := newTrustKey(t, "root1"), newTrustKey(t, "root2"), newTrustKey(t, "root3"), newTrustKey(t, "sign1")
	tests := []struct {
		name    string
		signers []trustKey
		roots   []trustKey
		want    []string
	}{
		{"old root alone cannot name a new root", keys(r1), keys(r2), []string{"its own root keys", r2.Fingerprint()}},
		{"new root alone cannot take over", keys(r2), keys(r2), []string{"root keys of version 1", r1.Fingerprint()}},
		{"a key that is no root at all", keys(r1, r3), keys(r1), []string{r3.Fingerprint(), "root key of neither"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			mustTrust(t, root, keys(r1), nil, s1)
			_, err := trust(t, root, tt.signers, tt.roots, s1)
			testkit.WantErr(t, err, tt.want...)
			if _, err := os.Stat(filepath.Join(root, "keys", "2.root.json")); !errors.Is(err, os.ErrNotExist) {
				t.Fatal("a refused version was written")
			}
		})
	}
	t.Run("threshold above the root keys", func(t *testing.T) {
		_, err := Trust(t.Context(), t.TempDir(), TrustOptions{RootSigners: []*sign.Signer{r1.Signer()}, Signing: [][]byte{s1.pub}, Threshold: 2})
		testkit.WantErr(t, err, "root threshold 2")
	})
	t.Run("under threshold", func(t *testing.T) {
		root := t.TempDir()
		if _, err := Trust(t.Context(), root, TrustOptions{RootSigners: []*sign.Signer{r1.Signer(), r2.Signer()},
			Signing: [][]byte{s1.pub}, Threshold: 2}); err != nil {
			t.Fatal(err)
		}
		_, err := trust(t, root, keys(r1), keys(r1, r2), s1)
		testkit.WantErr(t, err, "needs good signatures by 2 of the root keys of version 1", "only "+r1.Fingerprint())
	})
	t.Run("no signing key", func(t *testing.T) {
		_, err := trust(t, t.TempDir(), keys(r1), nil)
		testkit.WantErr(t, err, "no signing key given")
	})
}

func TestKeyListExpiry(t *testing.T) {
	root := twoChannelRepo(t, nil)
	r1, s1 := newTrustKey(t, "root1"), newTrustKey(t, "sign1")
	now := time.Now()
	if _, err := Trust(t.Context(), root, TrustOptions{RootSigners: []*sign.Signer{r1.Signer()}, Signing: [][]byte{s1.pub},
		Expires: 10 * 24 * time.Hour, Now: func() time.Time { return now }}); err != nil {
		t.Fatal(err)
	}
	// Soon: build and verify warn.
	var log strings.Builder
	if _, err := Build(t.Context(), root, BuildOptions{Signer: s1.Signer(), Logger: testLogger(&log)}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "key list expires soon") {
		t.Fatalf("no warning:\n%s", log.String())
	}
	// Past: build refuses, verify reports.
	later := func() time.Time { return now.Add(11 * 24 * time.Hour) }
	_, err := Build(t.Context(), root, BuildOptions{Signer: s1.Signer(), Now: later})
	testkit.WantErr(t, err, "key list version 1 expired on")
	problems, err := VerifyRepo(t.Context(), root, VerifyOptions{Check: func([]byte, []byte) error { return nil }, Now: later(), TrustedKeys: []string{r1.Fingerprint()}})
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) == 0 || !strings.Contains(problems[0].String(), "expired") {
		t.Fatalf("problems: %v", problems)
	}
}

func TestVerifyKeyChainGap(t *testing.T) {
	root := twoChannelRepo(t, nil)
	r1, s1 := newTrustKey(t, "root1"), newTrustKey(t, "sign1")
	mustTrust(t, root, keys(r1), nil, s1)
	mustTrust(t, root, keys(r1), nil, s1)
	if _, err := Build(t.Context(), root, BuildOptions{Signer: s1.Signer()}); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(root, "keys", "1.root.json"))
	p := verifyKeys(t, root, r1)
	if !strings.Contains(strings.Join(p, "\n"), "version 1 is missing") {
		t.Fatalf("problems: %v", p)
	}
	_, err := Build(t.Context(), root, BuildOptions{Signer: s1.Signer()})
	testkit.WantErr(t, err, "version 1 is missing")
}

func testLogger(w *strings.Builder) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
