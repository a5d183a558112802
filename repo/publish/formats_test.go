package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo/fixarchive"
	"github.com/hotfix-project/hotfix/repo/rpm"
)

// The two archive formats carry the same fix: the repository pairs a .fix
// with its RPM, so the pairing rests on this.

// treeOf lists every file under dir with its mode and content digest.
func treeOf(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, _ := d.Info()
		rel, _ := filepath.Rel(dir, p)
		sum := sha256.Sum256(data)
		out[rel] = info.Mode().String() + " " + hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRPMSameContentAsFix(t *testing.T) {
	dir := t.TempDir()
	rpms := packSampleRPMs(t, dir)
	ctx := context.Background()
	for i, v := range demo.FixVersions {
		fix, fm, err := fixarchive.Pack(ctx, filepath.Join(dir, "fixes", v), filepath.Join(dir, "fix"), fixarchive.PackOptions{Epoch: testEpoch})
		if err != nil {
			t.Fatal(err)
		}
		h, rm, err := rpm.Verify(ctx, rpms[i], vendorTrust(t))
		if err != nil {
			t.Fatalf("verify %s: %v", rpms[i], err)
		}
		a, _ := fm.Marshal()
		b, _ := rm.Marshal()
		if !bytes.Equal(a, b) {
			t.Errorf("%s: RPM manifest differs from the .fix manifest", v)
		}
		if h.Product != "acme" || h.Fix.String() != v || !h.Signed() {
			t.Errorf("header: product %s fix %s signed %v", h.Product, h.Fix, h.Signed())
		}
		if len(h.Bugs) != len(fm.Bugs) || len(h.Bugs) > 0 && (h.Bugs[0].ID != fm.Bugs[0].ID || h.Bugs[0].Summary != fm.Bugs[0].Summary) {
			t.Errorf("bugs from the changelog %+v, manifest %+v", h.Bugs, fm.Bugs)
		}
		fromFix, fromRPM := filepath.Join(dir, "x", v, "fix"), filepath.Join(dir, "x", v, "rpm")
		os.MkdirAll(filepath.Dir(fromFix), 0o755)
		fh, err := os.Open(fix)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fixarchive.Extract(ctx, fh, fromFix); err != nil {
			t.Fatal(err)
		}
		fh.Close()
		if _, err := rpm.Extract(ctx, rpms[i], fromRPM, vendorTrust(t)); err != nil {
			t.Fatal(err)
		}
		ta, tb := treeOf(t, fromFix), treeOf(t, fromRPM)
		if len(ta) == 0 || len(ta) != len(tb) {
			t.Fatalf("%s: extracted trees differ: %v vs %v", v, ta, tb)
		}
		for k, va := range ta {
			if tb[k] != va {
				t.Errorf("%s: %s: fix %q rpm %q", v, k, va, tb[k])
			}
		}
	}
}

func vendorTrust(t testing.TB) rpm.Trust {
	t.Helper()
	return rpm.Trust{Check: keyringCheck(t, vendorPublic, time.Now()), RequireSignature: true}
}

// packSampleRPMs writes the demo into dir and packs its fixes as signed
// RPMs into dir/rpms, returning their paths in chain order.
func packSampleRPMs(t testing.TB, dir string) []string {
	t.Helper()
	if err := demo.WriteSample(dir); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, v := range demo.FixVersions {
		p, _, err := rpm.Pack(context.Background(), filepath.Join(dir, "fixes", v), filepath.Join(dir, "rpms"),
			rpm.PackOptions{Epoch: testEpoch, Signer: vendorSigner(t)})
		if err != nil {
			t.Fatalf("pack rpm %s: %v", v, err)
		}
		paths = append(paths, p)
	}
	return paths
}

// Add refuses every hostile archive of fixarchive's fixtures for the
// reason fixarchive gives, and leaves the repository as it was.
func TestAddRefusesHostileArchives(t *testing.T) {
	paths := packSample(t)
	root := t.TempDir()
	if _, err := Add(t.Context(), root, paths[:1], AddOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(t.Context(), root, BuildOptions{Signer: vendorSigner(t)}); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, root)
	hostile, _ := filepath.Glob(filepath.Join("..", "fixarchive", "testdata", "hostile", "*.fix"))
	if len(hostile) < 20 {
		t.Fatalf("found %d hostile fixtures", len(hostile))
	}
	for _, path := range hostile {
		if filepath.Base(path) == "good.fix" {
			continue
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			_, verr := fixarchive.VerifyArchiveFile(t.Context(), path)
			if verr == nil {
				t.Fatal("fixarchive accepts the fixture")
			}
			_, err := Add(t.Context(), root, []string{path}, AddOptions{})
			testkit.WantErr(t, err, verr.Error())
			if !errors.Is(err, fixarchive.ErrArchive) {
				t.Errorf("error %v is not ErrArchive", err)
			}
			if after := snapshot(t, root); after != before {
				t.Fatalf("a refused add changed the repository:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}
