package publish

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/bundle"
)

// exportRepo is a repository of product p, base 1.0, with n fixes (and
// their RPMs), built with the vendor key.
func exportRepo(t *testing.T, n int) string {
	t.Helper()
	root := t.TempDir()
	if _, err := Add(context.Background(), root, packChain(t, "p", n, func(int) int { return 3000 }, true), AddOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(context.Background(), root, BuildOptions{Signer: vendorSigner(t)}); err != nil {
		t.Fatal(err)
	}
	// A key list beside the public key, as the key-rotation work adds:
	// keys/ travels as files, whatever they are.
	testkit.WriteFile(t, root, "keys/1.root.json", `{"version":1}`, 0o644)
	testkit.WriteFile(t, root, "keys/1.root.json.asc", "sig", 0o644)
	return root
}

func readBundle(t *testing.T, path string, now time.Time) (*bundle.Contents, map[string]bool, error) {
	t.Helper()
	check := keyringCheck(t, vendorPublic, now)
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	keys := map[string]bool{}
	c, err := bundle.Read(context.Background(), fh, bundle.Handler{
		Index: func(_ *bundle.Header, data, sig []byte) (*repo.Index, error) {
			if err := check(data, sig); err != nil {
				return nil, err
			}
			return repo.ParseIndex(data)
		},
		Key: func(name string, _ []byte) error { keys[name] = true; return nil },
	})
	return c, keys, err
}

func TestExport(t *testing.T) {
	root := exportRepo(t, 3)
	out := filepath.Join(t.TempDir(), "p-1.0.tar")
	epoch := time.Unix(1700000000, 0)
	base := repo.MustParseVersion("1.0")
	res, err := Export(context.Background(), root, ExportOptions{Product: "p", Base: base, Out: out, ModTime: epoch})
	if err != nil {
		t.Fatal(err)
	}
	if res.Archives != 6 || res.Keys != 3 || !res.Repodata || !res.Root {
		t.Errorf("result %+v: want 6 archives (3 .fix, 3 .rpm), 3 key files, repo.json and repodata", res)
	}
	first, _ := os.ReadFile(out)
	if _, err := Export(context.Background(), root, ExportOptions{Product: "p", Base: base, Out: out, ModTime: epoch}); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(out); !bytes.Equal(first, again) {
		t.Error("two exports of the same channel differ")
	}
	c, keys, err := readBundle(t, out, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	published, _ := os.ReadFile(filepath.Join(root, "p", "1.0", repo.IndexName))
	if !bytes.Equal(c.IndexRaw, published) || len(c.Fixes) != 3 || len(keys) != 3 {
		t.Errorf("bundle holds %d fixes, keys %v, index as published: %v", len(c.Fixes), keys, bytes.Equal(c.IndexRaw, published))
	}
	if c.Root == nil || c.RepoMD == nil || c.Header.Format != bundle.Format {
		t.Errorf("bundle lacks repo.json or repodata: %+v", c.Header)
	}
	if tarList := runTool(t, "tar", "-tf", out); !bytes.Contains([]byte(tarList), []byte("p/1.0/p-1.0.3.fix")) || !bytes.Contains([]byte(tarList), []byte("p/1.0/repodata/repomd.xml")) {
		t.Errorf("tar -tf:\n%s", tarList)
	}

	from := repo.MustParseVersion("1.0.2")
	if _, err := Export(context.Background(), root, ExportOptions{Product: "p", Base: base, From: &from, Out: out, ModTime: epoch}); err != nil {
		t.Fatal(err)
	}
	if c, _, err = readBundle(t, out, time.Now()); err != nil || len(c.Fixes) != 2 {
		t.Fatalf("--from 1.0.2: %v, %d fixes", err, len(c.Fixes))
	}
}

// TestExportRefuses: what cannot make a good bundle is refused, naming it,
// and no bundle file appears.
func TestExportRefuses(t *testing.T) {
	root := exportRepo(t, 2)
	base := repo.MustParseVersion("1.0")
	nine := repo.MustParseVersion("1.0.9")
	ch := filepath.Join(root, "p", "1.0")
	rpms, _ := filepath.Glob(filepath.Join(ch, "*.rpm"))
	// change alters a listed archive for one case and puts it back after.
	change := func(name string, how func(path string, orig []byte)) func(t *testing.T) {
		return func(t *testing.T) {
			path := filepath.Join(ch, name)
			orig, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			how(path, orig)
			t.Cleanup(func() {
				os.RemoveAll(path)
				os.WriteFile(path, orig, 0o644)
			})
		}
	}
	flip := func(path string, orig []byte) {
		b := append([]byte(nil), orig...)
		b[len(b)/2] ^= 1
		os.WriteFile(path, b, 0o644)
	}
	cases := []struct {
		name  string
		opts  ExportOptions
		setup func(t *testing.T)
		want  []string
	}{
		{"no such channel", ExportOptions{Product: "p", Base: repo.MustParseVersion("2.0")}, nil, []string{"has no index"}},
		{"fix not in the index", ExportOptions{Product: "p", Base: base, From: &nine}, nil, []string{"not in the index"}},
		{"archive changed after build", ExportOptions{Product: "p", Base: base}, change("p-1.0.2.fix", func(path string, _ []byte) {
			os.WriteFile(path, []byte("changed"), 0o644)
		}), []string{"p-1.0.2.fix", "the index describes", "repo verify"}},
		{"archive of the same size, other bytes", ExportOptions{Product: "p", Base: base}, change("p-1.0.1.fix", flip),
			[]string{"p-1.0.1.fix: sha256", "the index says", "repo verify"}},
		{"rpm of the same size, other bytes", ExportOptions{Product: "p", Base: base}, change(filepath.Base(rpms[len(rpms)-1]), flip),
			[]string{filepath.Base(rpms[len(rpms)-1]) + ": sha256", "repo verify"}},
		{"archive missing", ExportOptions{Product: "p", Base: base}, change("p-1.0.2.fix", func(path string, _ []byte) {
			os.Remove(path)
		}), []string{"p-1.0.2.fix", "unreadable", "repo verify"}},
		{"archive is a directory", ExportOptions{Product: "p", Base: base}, change("p-1.0.1.fix", func(path string, _ []byte) {
			os.Remove(path)
			os.Mkdir(path, 0o755)
		}), []string{"p-1.0.1.fix", "the index describes", "repo verify"}},
		{"customer without a channel", ExportOptions{Product: "p", Base: base, Customers: []string{"shop-z"}}, nil, []string{"customer shop-z has no channel of p 1.0"}},
		{"customer name that climbs", ExportOptions{Product: "p", Base: base, Customers: []string{"../x"}}, nil, []string{"customer"}},
		{"repodata file changed after build", ExportOptions{Product: "p", Base: base}, func(t *testing.T) {
			m, _ := filepath.Glob(filepath.Join(ch, "repodata", "*-primary.xml.gz"))
			change(filepath.Join("repodata", filepath.Base(m[0])), flip)(t)
		}, []string{"primary.xml.gz: sha256", "repo verify"}},
		{"repomd.xml without its signature", ExportOptions{Product: "p", Base: base}, change(filepath.Join("repodata", "repomd.xml.asc"), func(path string, _ []byte) {
			os.Remove(path)
		}), []string{"repomd.xml has no readable signature", "repo build"}},
		{"repo.json without its signature", ExportOptions{Product: "p", Base: base}, func(t *testing.T) {
			path := filepath.Join(root, "repo.json.asc")
			orig, _ := os.ReadFile(path)
			os.Remove(path)
			t.Cleanup(func() { os.WriteFile(path, orig, 0o644) })
		}, []string{"repo.json has no readable signature"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup(t)
			}
			tc.opts.Out = filepath.Join(t.TempDir(), "out.tar")
			_, err := Export(context.Background(), root, tc.opts)
			testkit.WantErr(t, err, tc.want...)
			if _, serr := os.Stat(tc.opts.Out); serr == nil {
				t.Error("a bundle was written")
			}
		})
	}
}
