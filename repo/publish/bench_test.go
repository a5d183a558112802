package publish

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/fixarchive"
	"github.com/hotfix-project/hotfix/repo/rpm"
)

// benchChannel packs n chained fixes of product "bench" 1.0, each with one
// file of payload random (incompressible) bytes, adds them to a fresh
// repository and returns it.
func benchChannel(b *testing.B, n, payload int) string {
	b.Helper()
	archives := packChain(b, "bench", n, func(int) int { return payload }, false)
	root := b.TempDir()
	if _, err := Add(b.Context(), root, archives, AddOptions{}); err != nil {
		b.Fatal(err)
	}
	return root
}

// resetBuild removes what a build writes and the catalog, so that the next
// build starts from archives alone.
func resetBuild(b *testing.B, root string) {
	b.Helper()
	ch := filepath.Join(root, "bench", "1.0")
	for _, name := range []string{catalogName, repo.IndexName, repo.IndexName + repo.SigSuffix, "index.html"} {
		if err := os.Remove(filepath.Join(ch, name)); err != nil && !os.IsNotExist(err) {
			b.Fatal(err)
		}
	}
}

// A fresh build reads and hashes every archive.
func BenchmarkBuildFresh(b *testing.B) {
	const n, payload = 50, 64 << 10
	root := benchChannel(b, n, payload)
	signer := vendorSigner(b)
	var total int64
	ents, _ := os.ReadDir(filepath.Join(root, "bench", "1.0"))
	for _, e := range ents {
		if info, err := e.Info(); err == nil && filepath.Ext(e.Name()) == ".fix" {
			total += info.Size()
		}
	}
	b.SetBytes(total)
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		resetBuild(b, root)
		b.StartTimer()
		res, err := Build(b.Context(), root, BuildOptions{Signer: signer})
		if err != nil {
			b.Fatal(err)
		}
		if res.Hashed != n {
			b.Fatalf("hashed %d archives, want %d", res.Hashed, n)
		}
	}
}

// An incremental build reads only the one archive that changed on disk.
func BenchmarkBuildIncremental(b *testing.B) {
	const n = 200
	root := benchChannel(b, n, 4<<10)
	signer := vendorSigner(b)
	if _, err := Build(b.Context(), root, BuildOptions{Signer: signer}); err != nil {
		b.Fatal(err)
	}
	last := filepath.Join(root, "bench", "1.0", fmt.Sprintf("bench-1.0.%d.fix", n))
	mtime := time.Now()
	for b.Loop() {
		b.StopTimer()
		mtime = mtime.Add(time.Second) // as if copied in anew
		if err := os.Chtimes(last, mtime, mtime); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := Build(b.Context(), root, BuildOptions{Signer: signer})
		if err != nil {
			b.Fatal(err)
		}
		if res.Hashed != 1 {
			b.Fatalf("hashed %d archives, want 1", res.Hashed)
		}
	}
}

// Pack of 1 MiB of incompressible payload: xz dominates.
func BenchmarkPack(b *testing.B) {
	const payload = 1 << 20
	dir := b.TempDir()
	testkit.WriteFile(b, dir, "fix.toml", "product = \"bench\"\nversion = \"1.0.1\"\nsummary = \"bench\"\n", 0o644)
	r := rand.New(rand.NewPCG(9, 10))
	data := make([]byte, payload)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	testkit.WriteFile(b, dir, "files/blob.bin", string(data), 0o644)
	out := b.TempDir()
	b.SetBytes(payload)
	for b.Loop() {
		if _, _, err := fixarchive.Pack(b.Context(), dir, out, fixarchive.PackOptions{Epoch: testEpoch}); err != nil {
			b.Fatal(err)
		}
	}
}

// rpmChannel packs n+1 chained RPM fixes of product "bench" 1.0 (3–20
// small files each, so that filelists has the shape of a real channel),
// adds the first n to a fresh repository, builds it and returns the
// repository and the path of the (n+1)th RPM, not yet added. The packages
// are made once per benchmark process.
func rpmChannel(b *testing.B, n int) (root, extra string) {
	b.Helper()
	src := b.TempDir()
	out := filepath.Join(src, "out")
	archives := make([]string, n+1)
	errs, err := forEach(b.Context(), n+1, func(k int) error {
		i := k + 1
		dir := filepath.Join(src, fmt.Sprint(i))
		var toml strings.Builder
		fmt.Fprintf(&toml, "product = \"bench\"\nversion = \"1.0.%d\"\nsummary = \"fix %d\"\n[[bug]]\nid = \"B-%d\"\nsummary = \"bug %d\"\n", i, i, i, i)
		if err := os.MkdirAll(filepath.Join(dir, "files", "lib"), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "fix.toml"), []byte(toml.String()), 0o644); err != nil {
			return err
		}
		for j := range 3 + i%18 {
			if err := os.WriteFile(filepath.Join(dir, "files", "lib", fmt.Sprintf("f%d.php", j)), fmt.Appendf(nil, "<?php // fix %d file %d\n", i, j), 0o644); err != nil {
				return err
			}
		}
		p, _, err := rpm.Pack(b.Context(), dir, out, rpm.PackOptions{Epoch: testEpoch})
		archives[k] = p
		return err
	})
	if err := errors.Join(append(errs, err)...); err != nil {
		b.Fatal(err)
	}
	root = b.TempDir()
	if _, err := Add(b.Context(), root, archives[:n], AddOptions{}); err != nil {
		b.Fatal(err)
	}
	if _, err := Build(b.Context(), root, BuildOptions{Signer: vendorSigner(b)}); err != nil {
		b.Fatal(err)
	}
	return root, archives[n]
}

// copyTree copies the regular files of dir src into dst (flat, one level
// of subdirectories), keeping modification times, so that a benchmark can
// restore a channel's state before each iteration.
func copyTree(b *testing.B, src, dst string) {
	b.Helper()
	if err := os.RemoveAll(dst); err != nil {
		b.Fatal(err)
	}
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		b.Fatal(err)
	}
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		return os.Chtimes(filepath.Join(dst, rel), info.ModTime(), info.ModTime())
	})
	if err != nil {
		b.Fatal(err)
	}
}

// Adding one RPM to a channel of 2000 and rebuilding: what a vendor does
// for every new fix (bench/createrepo.sh times it against createrepo_c
// --update). Only the new package's header may be read.
func BenchmarkAddOneRPMAndBuild(b *testing.B) {
	const n = 2000
	root, extra := rpmChannel(b, n)
	signer := vendorSigner(b)
	saved := filepath.Join(b.TempDir(), "saved")
	copyTree(b, root, saved)
	for b.Loop() {
		b.StopTimer()
		copyTree(b, saved, root)
		b.StartTimer()
		if _, err := Add(b.Context(), root, []string{extra}, AddOptions{}); err != nil {
			b.Fatal(err)
		}
		res, err := Build(b.Context(), root, BuildOptions{Signer: signer})
		if err != nil {
			b.Fatal(err)
		}
		if res.Hashed != 0 || res.Channels[0].Fixes != n+1 {
			b.Fatalf("hashed %d, fixes %d; want 0, %d", res.Hashed, res.Channels[0].Fixes, n+1)
		}
	}
}
