package mirror

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/publish"
	"github.com/hotfix-project/hotfix/sign"
)

// rotation is a vendor repository whose key list has three versions: 1
// (root key 1, signing key 1), 2 (signing key 2; key 1 revoked), 3 (root
// key 2 in place of root key 1). old is a bundle exported under version 1.
type rotation struct {
	v                 *vendorRepo
	r1, r2, s1, s2    *sign.Key
	old               string
	r1Keyring, r1Path string
	r2Keyring         string
}

func newRotation(t *testing.T) *rotation {
	t.Helper()
	gen := func(name string) *sign.Key {
		k, err := sign.GenerateKey(name+" <"+name+"@example.com>", sign.KeyOptions{Now: func() time.Time { return time.Now().Add(-time.Hour) }})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	r := &rotation{v: newVendorRepo(t, 3), r1: gen("root1"), r2: gen("root2"), s1: gen("sign1"), s2: gen("sign2")}
	trust := func(signers []*sign.Key, roots []*sign.Key, signing *sign.Key) {
		opts := publish.TrustOptions{Signing: [][]byte{armored(t, signing)}}
		for _, k := range signers {
			opts.RootSigners = append(opts.RootSigners, k.Signer())
		}
		for _, k := range roots {
			opts.Roots = append(opts.Roots, armored(t, k))
		}
		if _, err := publish.Trust(context.Background(), r.v.dir, opts); err != nil {
			t.Fatal(err)
		}
		if _, err := publish.Build(context.Background(), r.v.dir, publish.BuildOptions{Signer: signing.Signer()}); err != nil {
			t.Fatal(err)
		}
	}
	trust([]*sign.Key{r.r1}, nil, r.s1)
	r.old = r.export(t)
	trust([]*sign.Key{r.r1}, nil, r.s2)
	trust([]*sign.Key{r.r1, r.r2}, []*sign.Key{r.r2}, r.s2)
	r.r1Path = filepath.Join(t.TempDir(), "root1.asc")
	if err := os.WriteFile(r.r1Path, armored(t, r.r1), 0o644); err != nil {
		t.Fatal(err)
	}
	return r
}

func armored(t testing.TB, k *sign.Key) []byte {
	t.Helper()
	b, err := k.ArmoredPublic()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// export writes the channel as a bundle.
func (r *rotation) export(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bundle.tar")
	if _, err := publish.Export(context.Background(), r.v.dir, publish.ExportOptions{Product: demo.Product, Base: repo.MustParseVersion(demo.Base), Out: out}); err != nil {
		t.Fatal(err)
	}
	return out
}

// mirror runs a mirror trusting only root key 1, as the servers do.
func (r *rotation) mirror(t *testing.T, source, dir string) (*Result, error) {
	t.Helper()
	return run(t, source, dir, func(o *Options) { o.Keyring, o.KeyringPath = keyring(t, r.r1Path), r.r1Path })
}

// TestMirrorRotatedKeys: a repository whose keys were rotated (three
// key list versions, a signing key revoked, the root key replaced) is
// mirrored from a URL, a directory and a bundle by a mirror that trusts
// only the first root key: verified by walking the key list as a client
// does, its keys/ key lists copied byte for byte; and a client holding
// only that root key installs from the mirror.
func TestMirrorRotatedKeys(t *testing.T) {
	r := newRotation(t)
	want := published(t, r.v.dir)
	srv, _ := serve(t, r.v.dir, nil)
	fromURL := filepath.Join(t.TempDir(), "m")
	if _, err := r.mirror(t, srv.URL, fromURL); err != nil {
		t.Fatal(err)
	}
	// Over HTTP keys/ cannot be listed: the key lists are all there, and
	// the public key files of the keys they or the keyring name; the
	// file of the key that signed before the key list (named by
	// neither) is not.
	got := tree(t, fromURL)
	delete(want, "keys/"+keyring(t, vendorPublic).Fingerprints()[0]+".asc")
	if d := diff(want, got); d != "" {
		t.Fatalf("mirror of the URL differs:\n%s", d)
	}
	for _, k := range []*sign.Key{r.s1, r.s2} {
		if _, ok := got["keys/"+k.Fingerprint()+".asc"]; !ok {
			t.Errorf("the public key file of signing key %s, named by the key list, is not mirrored", k.Fingerprint())
		}
	}
	for _, v := range []string{"1", "2", "3"} {
		if _, ok := got["keys/"+v+".root.json.asc"]; !ok {
			t.Errorf("key list version %s not mirrored", v)
		}
	}
	bundle := r.export(t)
	for name, source := range map[string]string{"directory": r.v.dir, "bundle": bundle} {
		dir := filepath.Join(t.TempDir(), "m")
		if _, err := r.mirror(t, source, dir); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if d := diff(published(t, r.v.dir), tree(t, dir)); d != "" {
			t.Fatalf("mirror of the %s differs:\n%s", name, d)
		}
	}

	// A client that trusts only root key 1 installs from the mirror.
	mirrored, _ := serve(t, fromURL, nil)
	site := t.TempDir()
	if err := demo.WriteSample(site); err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join(site, "keys")
	os.MkdirAll(keys, 0o755)
	os.WriteFile(filepath.Join(keys, "root1.asc"), armored(t, r.r1), 0o644)
	cfg := client.SandboxConfig(mirrored.URL, demo.Product, filepath.Join(site, "root"), keys, site) + "role = \"single\"\n"
	config := filepath.Join(site, "hotfix.toml")
	os.WriteFile(config, []byte(cfg), 0o644)
	if out, err := hotfix(t, "--config", config, "install", "--yes"); err != nil || strings.Count(out, "installed 2.4.1.") != 3 {
		t.Fatalf("install from the mirror: %v\n%s", err, out)
	}
}

// TestMirrorRotatedKeysRefused: a bundle or a source the key list does
// not vouch for is refused, and the mirror is left as it was.
func TestMirrorRotatedKeysRefused(t *testing.T) {
	r := newRotation(t)
	bundle := r.export(t)
	data, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	index, err := os.ReadFile(filepath.Join(r.v.channel(), repo.IndexName))
	if err != nil {
		t.Fatal(err)
	}
	revoked, err := r.s1.Signer().SignDetached(index)
	if err != nil {
		t.Fatal(err)
	}
	edited := func(edit func(name string, data []byte) ([]byte, bool)) string {
		p := filepath.Join(t.TempDir(), "edited.tar")
		if err := os.WriteFile(p, testkit.RewriteTar(t, data, edit), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const sigEntry = "acme/2.4.1/index.json.asc"
	cases := []struct {
		name    string
		source  string
		keyring string // default root key 1
		first   bool   // mirror the good bundle first
		is      error
		want    string
	}{
		{name: "index signed by the revoked key", source: edited(func(name string, b []byte) ([]byte, bool) {
			if name == sigEntry {
				return revoked, true
			}
			return b, true
		}), is: repo.ErrKeyRevoked, want: "key list version 3 does not name"},
		{name: "index signed by the revoked key, into a mirror", first: true, source: edited(func(name string, b []byte) ([]byte, bool) {
			if name == sigEntry {
				return revoked, true
			}
			return b, true
		}), is: repo.ErrKeyRevoked, want: "key list version 3 does not name"},
		{name: "a key list version dropped", source: edited(func(name string, b []byte) ([]byte, bool) {
			return b, !strings.HasPrefix(name, "keys/2.root.json")
		}), is: repo.ErrKeyRevoked, want: "key list version 1 does not name"},
		{name: "a key list version forged", source: edited(func(name string, b []byte) ([]byte, bool) {
			if name == "keys/3.root.json" {
				return regexp.MustCompile(`"expires": "[0-9]{4}`).ReplaceAll(b, []byte(`"expires": "2099`)), true
			}
			return b, true
		}), is: repo.ErrKeyListSignature, want: "keys/3.root.json"},
		// Its repo.json and index are older than the mirror's: a replay.
		{name: "the bundle exported under version 1, after version 3", first: true, source: r.old, is: ErrRollback, want: "older than the mirror"},
		{name: "only a signing key trusted", keyring: "s2", source: bundle, is: repo.ErrKeyListUntrusted, want: "put the vendor's root public key into"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "m")
			if tc.first {
				if _, err := r.mirror(t, bundle, dir); err != nil {
					t.Fatal(err)
				}
			}
			before := map[string]string{}
			if tc.first {
				before = tree(t, dir)
			}
			var err error
			if tc.keyring == "s2" {
				path := filepath.Join(t.TempDir(), "s2.asc")
				os.WriteFile(path, armored(t, r.s2), 0o644)
				_, err = run(t, tc.source, dir, func(o *Options) { o.Keyring, o.KeyringPath = keyring(t, path), path })
			} else {
				_, err = r.mirror(t, tc.source, dir)
			}
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %v saying %q", err, tc.is, tc.want)
			}
			after := map[string]string{}
			if _, serr := os.Stat(dir); serr == nil {
				after = tree(t, dir)
			}
			if d := diff(before, after); d != "" {
				t.Errorf("a refused source changed the mirror:\n%s", d)
			}
		})
	}
}
