package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/fixarchive"
	"github.com/hotfix-project/hotfix/repo/rpm"
	"github.com/hotfix-project/hotfix/sign"
)

// Test keys shared by the whole project.
var (
	vendorSecret = filepath.Join("..", "..", "testdata", "keys", "vendor.sec.asc")
	vendorPublic = filepath.Join("..", "..", "testdata", "keys", "vendor.pub.asc")
	otherPublic  = filepath.Join("..", "..", "testdata", "keys", "other.pub.asc")
)

// testEpoch is the fixed SOURCE_DATE_EPOCH of the test archives.
var testEpoch = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// sample writes the demo product into a fresh directory and returns it:
// DIR/root and DIR/fixes/2.4.1.N.
func sample(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := demo.WriteSample(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// packSample packs the demo fixes and returns their archive paths in chain
// order.
func packSample(t testing.TB) []string {
	t.Helper()
	dir := sample(t)
	out := filepath.Join(dir, "out")
	var paths []string
	for _, v := range demo.FixVersions {
		p, _, err := fixarchive.Pack(context.Background(), filepath.Join(dir, "fixes", v), out, fixarchive.PackOptions{Epoch: testEpoch})
		if err != nil {
			t.Fatalf("pack %s: %v", v, err)
		}
		paths = append(paths, p)
	}
	return paths
}

func vendorSigner(t testing.TB) *sign.Signer {
	t.Helper()
	s, err := sign.LoadSigner(vendorSecret, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func keyringCheck(t testing.TB, path string, now time.Time) repo.CheckSignature {
	t.Helper()
	kr, err := sign.LoadKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	return func(data, sig []byte) error {
		_, err := kr.Verify(data, sig, now)
		return err
	}
}

// snapshot describes every entry under dir: path, type, size, mode and
// sha256 of regular files. Two equal snapshots mean an unchanged tree.
func snapshot(t testing.TB, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		line := rel + " " + info.Mode().String()
		if info.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			line += " " + hex.EncodeToString(sum[:]) + " " + info.ModTime().String()
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// packChain packs fixes 1..n of PRODUCT 1.0, fix i with size(i) random
// (incompressible) bytes in files/lib/f.bin and one bug, as .fix archives
// and, with rpm set, as RPMs too (each .fix followed by its RPM).
func packChain(t testing.TB, product string, n int, size func(i int) int, withRPM bool) []string {
	t.Helper()
	src := t.TempDir()
	out := filepath.Join(src, "out")
	r := rand.New(rand.NewPCG(7, 8))
	var paths []string
	for i := 1; i <= n; i++ {
		dir := filepath.Join(src, fmt.Sprint(i))
		testkit.WriteFile(t, dir, "fix.toml", fmt.Sprintf("product = %q\nversion = \"1.0.%d\"\nsummary = \"fix %d\"\ndescription = \"Fixes %d.\"\n[[bug]]\nid = \"B-%d\"\nsummary = \"bug %d\"\n", product, i, i, i, i, i), 0o644)
		data := make([]byte, size(i))
		for j := range data {
			data[j] = byte(r.Uint32())
		}
		testkit.WriteFile(t, dir, "files/lib/f.bin", string(data), 0o644)
		p, _, err := fixarchive.Pack(context.Background(), dir, out, fixarchive.PackOptions{Epoch: testEpoch})
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
		if withRPM {
			q, _, err := rpm.Pack(context.Background(), dir, out, rpm.PackOptions{Epoch: testEpoch})
			if err != nil {
				t.Fatal(err)
			}
			paths = append(paths, q)
		}
	}
	return paths
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func runTool(t testing.TB, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}
