package repo_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/sign"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// newKey makes a real Ed25519 OpenPGP key.
func newKey(t testing.TB, name string) *sign.Key {
	t.Helper()
	k, err := sign.GenerateKey(name+" <"+name+"@example.com>", sign.KeyOptions{Now: func() time.Time { return t0.Add(-time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func listed(t testing.TB, keys ...*sign.Key) []repo.ListedKey {
	t.Helper()
	var out []repo.ListedKey
	for _, k := range keys {
		pub, err := k.ArmoredPublic()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, repo.ListedKey{Fingerprint: k.Fingerprint(), PublicKey: string(pub)})
	}
	return out
}

// list is one version, marshalled and signed by signers.
type list struct{ data, sig []byte }

func makeList(t testing.TB, v int64, threshold int, roots, signing []*sign.Key, expires time.Time, signers ...*sign.Key) list {
	t.Helper()
	kl := &repo.KeyList{Format: repo.KeyListFormat, Version: v, Generated: t0, Expires: expires,
		Root: repo.KeyRoot{Threshold: threshold, Keys: listed(t, roots...)}, Signing: listed(t, signing...)}
	data, err := kl.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var ss []*sign.Signer
	for _, k := range signers {
		ss = append(ss, k.Signer().WithClock(func() time.Time { return t0 }))
	}
	var sig []byte
	if len(ss) > 0 {
		if sig, err = sign.SignDetachedMulti(data, ss...); err != nil {
			t.Fatal(err)
		}
	}
	return list{data, sig}
}

func signers(now time.Time) repo.KeySigners { return sign.SignersAt(now) }

func anchor(keys ...*sign.Key) func(string) bool {
	return func(fp string) bool {
		for _, k := range keys {
			if k.Fingerprint() == fp {
				return true
			}
		}
		return false
	}
}

func TestKeyWalk(t *testing.T) {
	r1, r2, r3, s1, s2 := newKey(t, "root1"), newKey(t, "root2"), newKey(t, "root3"), newKey(t, "sign1"), newKey(t, "sign2")
	year := t0.Add(365 * 24 * time.Hour)
	now := t0.Add(time.Hour)
	v1 := makeList(t, 1, 1, []*sign.Key{r1}, []*sign.Key{s1}, year, r1)
	v2 := makeList(t, 2, 1, []*sign.Key{r1}, []*sign.Key{s2}, year, r1)                 // signing key rotated
	v3 := makeList(t, 3, 1, []*sign.Key{r2}, []*sign.Key{s2}, year, r1, r2)             // root key rotated
	v4 := makeList(t, 4, 2, []*sign.Key{r2, r3}, []*sign.Key{s2}, year, r2, r3)         // a second root, threshold 2
	v5 := makeList(t, 5, 2, []*sign.Key{r2, r3}, []*sign.Key{s1, s2}, year, r2, r3, r2) // r2 twice is fine
	tests := []struct {
		name    string
		anchor  func(string) bool
		steps   []list
		want    int64 // newest trusted version; 0: refused
		wantErr error
		wantMsg []string
	}{
		{"the whole chain from root key 1", anchor(r1), []list{v1, v2, v3, v4, v5}, 5, nil, nil},
		{"a client holding only root key 2 anchors at version 3", anchor(r2), []list{v1, v2, v3, v4}, 4, nil, nil},
		{"vendor consistency from version 1", nil, []list{v1, v2, v3}, 3, nil, nil},
		{"skipped version", anchor(r1), []list{v1, v3}, 0, repo.ErrKeyListVersion, []string{"keys/2.root.json", "holds version 3"}},
		{"replayed version", anchor(r1), []list{v1, v2, v1}, 0, repo.ErrKeyListVersion, []string{"keys/3.root.json", "holds version 1"}},
		{"unsigned", anchor(r1), []list{v1, {v2.data, nil}}, 0, repo.ErrKeyListSignature, []string{"keys/2.root.json"}},
		{"signed by another key", anchor(r1), []list{v1, makeList(t, 2, 1, []*sign.Key{r1}, []*sign.Key{s2}, year, s1)}, 0,
			repo.ErrKeyListSignature, []string{"needs good signatures by 1 of the root keys of version 1", r1.Fingerprint(), "none of them"}},
		{"new root without the old root's signature", anchor(r1), []list{v1, v2, makeList(t, 3, 1, []*sign.Key{r2}, []*sign.Key{s2}, year, r2)}, 0,
			repo.ErrKeyListSignature, []string{"root keys of version 2"}},
		{"new root that did not sign itself", anchor(r1), []list{v1, v2, makeList(t, 3, 1, []*sign.Key{r2}, []*sign.Key{s2}, year, r1)}, 0,
			repo.ErrKeyListSignature, []string{"its own root keys", r2.Fingerprint()}},
		{"under threshold", anchor(r1), []list{v1, v2, v3, v4, makeList(t, 5, 2, []*sign.Key{r2, r3}, []*sign.Key{s2}, year, r2)}, 0,
			repo.ErrKeyListSignature, []string{"needs good signatures by 2", "only " + r2.Fingerprint()}},
		{"one key signing twice is one signature", anchor(r1), []list{v1, v2, v3, v4, makeList(t, 5, 2, []*sign.Key{r2, r3}, []*sign.Key{s2}, year, r2, r2)}, 0,
			repo.ErrKeyListSignature, []string{"needs good signatures by 2"}},
		{"tampered after signing", anchor(r1), []list{v1, {[]byte(strings.Replace(string(v2.data), `"version": 2`, `"version": 2 `, 1)), v2.sig}}, 0,
			repo.ErrKeyListSignature, nil},
		{"no trusted root key", anchor(s1), []list{v1, v2}, 0, repo.ErrKeyListUntrusted, []string{"versions 1 to 2", r1.Fingerprint()}},
		{"expired newest", anchor(r1), []list{v1, makeList(t, 2, 1, []*sign.Key{r1}, []*sign.Key{s1}, t0.Add(time.Minute), r1)}, 0,
			repo.ErrKeyListExpired, []string{"key list version 2 expired on"}},
		{"expired on the way is fine", anchor(r1), []list{makeList(t, 1, 1, []*sign.Key{r1}, []*sign.Key{s1}, t0.Add(time.Minute), r1), v2}, 2, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &repo.KeyWalk{Signers: signers(now), Anchor: tt.anchor}
			var err error
			for _, s := range tt.steps {
				if err = w.Step(s.data, s.sig); err != nil {
					break
				}
			}
			var kl *repo.KeyList
			if err == nil {
				kl, err = w.Done(now)
			}
			if tt.want > 0 {
				if err != nil {
					t.Fatal(err)
				}
				if kl.Version != tt.want {
					t.Fatalf("trusted version %d, want %d", kl.Version, tt.want)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			for _, m := range tt.wantMsg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not say %q", err, m)
				}
			}
		})
	}
}

func TestKeyWalkContinuesFromTrusted(t *testing.T) {
	r1, r2, s1 := newKey(t, "root1"), newKey(t, "root2"), newKey(t, "sign1")
	year := t0.Add(365 * 24 * time.Hour)
	v2 := makeList(t, 2, 1, []*sign.Key{r1}, []*sign.Key{s1}, year, r1)
	seen, err := repo.ParseKeyList(v2.data)
	if err != nil {
		t.Fatal(err)
	}
	w := &repo.KeyWalk{Signers: signers(t0), Anchor: anchor(), Trusted: seen}
	if w.Next() != 3 {
		t.Fatalf("next = %d", w.Next())
	}
	// Version 2 again (a rollback) is not the next version.
	if err := w.Step(v2.data, v2.sig); !errors.Is(err, repo.ErrKeyListVersion) {
		t.Fatalf("err = %v", err)
	}
	w = &repo.KeyWalk{Signers: signers(t0), Anchor: anchor(), Trusted: seen}
	v3 := makeList(t, 3, 1, []*sign.Key{r2}, []*sign.Key{s1}, year, r1, r2)
	if err := w.Step(v3.data, v3.sig); err != nil {
		t.Fatal(err)
	}
	if kl, err := w.Done(t0); err != nil || kl.Version != 3 || w.Steps() != 1 {
		t.Fatalf("kl=%v err=%v steps=%d", kl, err, w.Steps())
	}
}

func TestParseKeyListRefuses(t *testing.T) {
	r1, s1 := newKey(t, "root1"), newKey(t, "sign1")
	good := makeList(t, 1, 1, []*sign.Key{r1}, []*sign.Key{s1}, t0.Add(time.Hour))
	if _, err := repo.ParseKeyList(good.data); err != nil {
		t.Fatal(err)
	}
	fp := r1.Fingerprint()
	tests := []struct{ name, from, to, want string }{
		{"format", `"format": 1`, `"format": 2`, "format 2 is not supported"},
		{"version 0", `"version": 1`, `"version": 0`, "version 0 must be 1 or more"},
		{"threshold 0", `"threshold": 1`, `"threshold": 0`, "root threshold 0"},
		{"threshold above keys", `"threshold": 1`, `"threshold": 2`, "root threshold 2"},
		{"lower-case fingerprint", fp, strings.ToLower(fp), "not an OpenPGP fingerprint"},
		{"unknown field", `"format": 1`, `"format": 1, "extra": true`, "unknown field"},
		{"no signing keys", `"signing": [`, `"signing": [], "x": [`, "unknown field"},
		{"secret key", "PUBLIC KEY", "PRIVATE KEY", "armored OpenPGP public key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := strings.Replace(string(good.data), tt.from, tt.to, 1)
			if data == string(good.data) {
				t.Fatalf("%q not found", tt.from)
			}
			_, err := repo.ParseKeyList([]byte(data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	kl, _ := repo.ParseKeyList(good.data)
	kl.Root.Keys = append(kl.Root.Keys, kl.Root.Keys[0])
	if err := kl.Validate(); err == nil || !strings.Contains(err.Error(), "listed twice") {
		t.Fatalf("duplicate root key: %v", err)
	}
}

func TestKeyListMarshalIsCanonical(t *testing.T) {
	a, b, s := newKey(t, "a"), newKey(t, "b"), newKey(t, "s")
	l1 := makeList(t, 1, 1, []*sign.Key{a, b}, []*sign.Key{s}, t0.Add(time.Hour))
	l2 := makeList(t, 1, 1, []*sign.Key{b, a}, []*sign.Key{s}, t0.Add(time.Hour))
	if string(l1.data) != string(l2.data) {
		t.Fatal("key order changed the bytes")
	}
	kl, err := repo.ParseKeyList(l1.data)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := kl.Marshal()
	if string(again) != string(l1.data) {
		t.Fatal("parse and marshal changed the bytes")
	}
}

func TestKeyListVersionOfName(t *testing.T) {
	for name, want := range map[string]int64{"1.root.json": 1, "64.root.json": 64, "01.root.json": 0, "x.root.json": 0,
		".root.json": 0, "1.root.json.asc": 0, "-1.root.json": 0, "99999999999999999999.root.json": 0} {
		if got, ok := repo.KeyListVersion(name); got != want || ok != (want > 0) {
			t.Errorf("%s: %d %v", name, got, ok)
		}
	}
}

func FuzzParseKeyList(f *testing.F) {
	r1, s1 := newKey(f, "root1"), newKey(f, "sign1")
	good := makeList(f, 1, 1, []*sign.Key{r1}, []*sign.Key{s1}, t0.Add(time.Hour))
	f.Add(good.data)
	f.Add([]byte(`{"format":1,"version":1}`))
	f.Add([]byte(`{"format":1,"version":9223372036854775807,"root":{"threshold":-1,"keys":[]}}`))
	f.Add([]byte("{}{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		kl, err := repo.ParseKeyList(data)
		if err != nil {
			if kl != nil {
				t.Fatal("list returned with an error")
			}
			return
		}
		if kl.Version < 1 || kl.Root.Threshold < 1 || kl.Root.Threshold > len(kl.Root.Keys) || len(kl.Signing) == 0 {
			t.Fatalf("accepted %+v", kl)
		}
		// What parses marshals to bytes that parse to the same list.
		b, err := kl.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		again, err := repo.ParseKeyList(b)
		if err != nil {
			t.Fatalf("marshalled list does not parse: %v", err)
		}
		if again.Version != kl.Version || len(again.Root.Keys) != len(kl.Root.Keys) {
			t.Fatal("round trip changed the list")
		}
	})
}
