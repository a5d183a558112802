package client

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/publish"
	"github.com/hotfix-project/hotfix/sign"
)

// The customer index counts by the key list as the vendor's does: after
// signing key 1 is dropped, a customer index it signs is refused though
// its file sits in trusted_keys, and so is one naming an older key-list
// version or one the repository serves no key list for.
func TestCustomIndexUnderKeyList(t *testing.T) {
	k := newVendorKeys(t)
	// resign rewrites shop-a's index (edit may change it) and signs it
	// with key.
	resign := func(t *testing.T, r *testRepo, key *sign.Key, edit func(map[string]any)) {
		t.Helper()
		p := filepath.Join(r.customDir("shop-a"), repo.IndexName)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatal(err)
			}
			edit(m)
			if data, err = json.Marshal(m); err != nil {
				t.Fatal(err)
			}
		}
		sig, err := key.Signer().SignDetached(data)
		if err != nil {
			t.Fatal(err)
		}
		testkit.WriteFile(t, r.customDir("shop-a"), repo.IndexName, string(data), 0o644)
		testkit.WriteFile(t, r.customDir("shop-a"), repo.IndexName+repo.SigSuffix, string(sig), 0o644)
	}
	tests := []struct {
		name   string
		tamper func(t *testing.T, r *testRepo)
		is     error
		want   []string
	}{
		{"accepted when signed by the listed key", func(t *testing.T, r *testRepo) {}, nil, nil},
		{"signed by the revoked key", func(t *testing.T, r *testRepo) { resign(t, r, k.s1, nil) },
			repo.ErrKeyRevoked, []string{"customer index of shop-a", "key list version 2 does not name", "no longer counts"}},
		{"names an older key-list version", func(t *testing.T, r *testRepo) {
			resign(t, r, k.s2, func(m map[string]any) { m["key_list"] = 1 })
		}, repo.ErrKeyListRollback, []string{"customer index of shop-a", "older than version 2"}},
		{"names a key-list version never published", func(t *testing.T, r *testRepo) {
			resign(t, r, k.s2, func(m map[string]any) { m["key_list"] = 7 })
		}, repo.ErrKeyListVersion, []string{"customer index of shop-a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRepo(t)
			r.add(t, packCustomFix(t, "shop-a", "IS-1", "1", map[string]string{"app/extra.php": "a\n"}, ""))
			trustList(t, r, ks(k.r1), nil, 0, k.s1)
			r.build(t, publish.BuildOptions{Signer: k.s1.Signer()})
			trustList(t, r, ks(k.r1), nil, 0, k.s2)
			r.build(t, publish.BuildOptions{Signer: k.s2.Signer()})
			tt.tamper(t, r)
			e := newEnv(t, envOptions{Repo: r, Extra: customerLine, Prepare: func(t testing.TB, e *testEnv) {
				dir := filepath.Join(e.Dir, "keys")
				os.Remove(filepath.Join(dir, "vendor.pub.asc"))
				for _, key := range []*sign.Key{k.r1, k.s1} {
					testkit.WriteFile(t, dir, key.Fingerprint()+".asc", string(pub(t, key)), 0o644)
				}
			}})
			res, err := e.client(t).Check(t.Context())
			if tt.is == nil {
				if err != nil || res.Custom == nil || len(res.Custom.Pending) != 1 {
					t.Fatalf("check: %+v %v", res, err)
				}
				return
			}
			testkit.WantErr(t, err, tt.want...)
			if !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
		})
	}
}

// A customer index that names a key list where the repository serves
// none is refused: its signer cannot be told apart from a revoked one.
func TestCustomIndexNamesMissingKeyList(t *testing.T) {
	r := newRepo(t)
	r.addCustom(t, packCustomFix(t, "shop-a", "IS-1", "1", map[string]string{"app/extra.php": "a\n"}, ""))
	p := filepath.Join(r.customDir("shop-a"), repo.IndexName)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	m["key_list"] = 3
	if data, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	sig, err := testSigner(t, "vendor.sec.asc").SignDetached(data)
	if err != nil {
		t.Fatal(err)
	}
	testkit.WriteFile(t, r.customDir("shop-a"), repo.IndexName, string(data), 0o644)
	testkit.WriteFile(t, r.customDir("shop-a"), repo.IndexName+repo.SigSuffix, string(sig), 0o644)
	e := newEnv(t, envOptions{Repo: r, Extra: customerLine})
	_, err = e.client(t).Check(t.Context())
	testkit.WantErr(t, err, "customer index of shop-a", "serves no key list")
	if !errors.Is(err, repo.ErrKeyListVersion) {
		t.Errorf("error %v is not ErrKeyListVersion", err)
	}
}
