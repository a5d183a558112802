package client

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/bundle"
	"github.com/hotfix-project/hotfix/repo/publish"
	"github.com/hotfix-project/hotfix/sign"
)

// rotatedRepo is a repository whose key list has three versions: 1 with
// signing key 1, 2 with signing key 2 (key 1 revoked), 3 with root key 2
// in place of root key 1. old is a bundle exported under version 1.
func rotatedRepo(t *testing.T) (k vendorKeys, r *testRepo, old string) {
	t.Helper()
	k = newVendorKeys(t)
	r = newRepo(t)
	trustList(t, r, ks(k.r1), nil, 0, k.s1)
	r.build(t, publish.BuildOptions{Signer: k.s1.Signer()})
	old = exportBundle(t, r, "")
	trustList(t, r, ks(k.r1), nil, 0, k.s2)
	r.build(t, publish.BuildOptions{Signer: k.s2.Signer()})
	trustList(t, r, ks(k.r1, k.r2), ks(k.r2), 0, k.s2)
	r.build(t, publish.BuildOptions{Signer: k.s2.Signer()})
	return k, r, old
}

// offlineKeyEnv is offlineEnv whose trusted_keys holds exactly trusted.
func offlineKeyEnv(t *testing.T, r *testRepo, trusted ...*sign.Key) *testEnv {
	t.Helper()
	return newEnv(t, envOptions{Repo: r, Handler: offline(t),
		Prepare: func(t testing.TB, e *testEnv) {
			dir := filepath.Join(e.Dir, "keys")
			os.Remove(filepath.Join(dir, "vendor.pub.asc"))
			for _, k := range trusted {
				if err := os.WriteFile(filepath.Join(dir, k.Fingerprint()+".asc"), pub(t, k), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}})
}

// rewriteBundle writes a copy of the bundle at path with edit applied to
// its entries.
func rewriteBundle(t *testing.T, path string, edit func(name string, data []byte) ([]byte, bool)) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "edited.tar")
	if err := os.WriteFile(out, testkit.RewriteTar(t, data, edit), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestInstallFromBundleRotatedKeys: a bundle of a repository whose keys
// were rotated installs on a server that holds only an old root key (or
// only the new one), walking the bundle's key list as a check walks the
// repository's; the key list reached is remembered.
func TestInstallFromBundleRotatedKeys(t *testing.T) {
	k, r, _ := rotatedRepo(t)
	b := exportBundle(t, r, "")
	for _, root := range []*sign.Key{k.r1, k.r2} {
		env := offlineKeyEnv(t, r, root)
		res, err := env.client(t).InstallFrom(context.Background(), b, InstallOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Installed) != 3 {
			t.Fatalf("installed %v", res.Installed)
		}
		if v := seenKeyList(t, env); v != 3 {
			t.Errorf("key list version %d remembered, want 3", v)
		}
	}
}

// TestInstallFromBundleKeyListRefused: a bundle that does not carry a
// trusted key list to its index's signer is refused, naming why, and
// nothing is installed.
func TestInstallFromBundleKeyListRefused(t *testing.T) {
	k, r, old := rotatedRepo(t)
	b := exportBundle(t, r, "")
	const sigEntry = "acme/2.4.1/index.json.asc"
	index, err := os.ReadFile(r.indexPath())
	if err != nil {
		t.Fatal(err)
	}
	revokedSig, err := k.s1.Signer().SignDetached(index)
	if err != nil {
		t.Fatal(err)
	}
	dropKeys := func(drop ...string) string {
		return rewriteBundle(t, b, func(name string, data []byte) ([]byte, bool) {
			for _, d := range drop {
				if name == "keys/"+d {
					return nil, false
				}
			}
			return data, true
		})
	}
	cases := []struct {
		name    string
		bundle  string
		trusted []*sign.Key
		seen    bool // the server installed from the current bundle first
		is      error
		want    string
	}{
		{"index signed by the revoked key", rewriteBundle(t, b, func(name string, data []byte) ([]byte, bool) {
			if name == sigEntry {
				return revokedSig, true
			}
			return data, true
		}), ks(k.r1, k.s1), false, repo.ErrKeyRevoked, "key list version 3 does not name"},
		{"a version missing from keys/", dropKeys("2.root.json", "2.root.json.asc"), ks(k.r1), false, repo.ErrKeyRevoked, "key list version 1 does not name"},
		{"a version without its signature", dropKeys("2.root.json.asc"), ks(k.r1), false, repo.ErrKeyListSignature, "without its signature"},
		{"no key list at all", dropKeys("1.root.json", "1.root.json.asc", "2.root.json", "2.root.json.asc", "3.root.json", "3.root.json.asc"), ks(k.r1), false, sign.ErrUnknownKey, "signed by unknown key"},
		{"only a signing key trusted", b, ks(k.s2), false, repo.ErrKeyListUntrusted, "put the vendor's root public key into"},
		{"a format 1 bundle, its keys after the index", format1(t, b), ks(k.r1), false, nil, "carries keys/ after the index, too late to verify it: export the bundle again"},
		// Signed under version 1 by signing key 1, which version 3 (seen
		// by this server) no longer names.
		{"an old bundle after a newer key list", old, ks(k.r1), true, repo.ErrKeyRevoked, "key list version 3 does not name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := offlineKeyEnv(t, r, tc.trusted...)
			c := env.client(t)
			if tc.seen {
				if _, err := c.InstallFrom(context.Background(), b, InstallOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			before := snapshot(t, env.Root)
			_, err := c.InstallFrom(context.Background(), tc.bundle, InstallOptions{})
			if err == nil || (tc.is != nil && !errors.Is(err, tc.is)) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %v saying %q", err, tc.is, tc.want)
			}
			assertTree(t, before, env.Root)
		})
	}
}

// format1 rewrites a bundle in the first format: keys/ last, no
// repo.json or repodata.
func format1(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var keys, rest []string
	bodies := map[string][]byte{}
	testkit.RewriteTar(t, data, func(name string, b []byte) ([]byte, bool) {
		bodies[name] = b
		switch {
		case strings.HasPrefix(name, "keys/"):
			keys = append(keys, name)
		case name == bundle.HeaderName, strings.HasPrefix(name, "repo.json"), strings.Contains(name, "/repodata/"):
		default:
			rest = append(rest, name)
		}
		return b, true
	})
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	write := func(name string, b []byte) {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: int64(len(b)), Mode: 0o644}); err != nil {
			t.Fatal(err)
		}
		tw.Write(b)
	}
	write(bundle.HeaderName, []byte(`{"format":1,"product":"acme","base":"2.4.1"}`))
	for _, n := range append(rest, keys...) {
		write(n, bodies[n])
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "format1.tar")
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}
