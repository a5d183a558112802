package repo

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// benchChannel packs n chained fixes of product "bench" 1.0, each with one
// file of payload random (incompressible) bytes, adds them to a fresh
// repository and returns it.
func benchChannel(b *testing.B, n, payload int) string {
	b.Helper()
	src := b.TempDir()
	out := filepath.Join(src, "out")
	r := rand.New(rand.NewPCG(7, 8))
	var archives []string
	for i := 1; i <= n; i++ {
		dir := filepath.Join(src, fmt.Sprint(i))
		writeFile(b, dir, "fix.toml", fmt.Sprintf("product = \"bench\"\nversion = \"1.0.%d\"\nsummary = \"fix %d\"\n[[bug]]\nid = \"B-%d\"\nsummary = \"bug %d\"\nfiles = [\"lib/f%d.bin\"]\n", i, i, i, i, i), 0o644)
		data := make([]byte, payload)
		for j := range data {
			data[j] = byte(r.Uint32())
		}
		writeFile(b, dir, fmt.Sprintf("files/lib/f%d.bin", i), string(data), 0o644)
		p, _, err := Pack(b.Context(), dir, out, PackOptions{Epoch: testEpoch})
		if err != nil {
			b.Fatal(err)
		}
		archives = append(archives, p)
	}
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
	for _, name := range []string{catalogName, IndexName, IndexName + SigSuffix, "index.html"} {
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
	writeFile(b, dir, "fix.toml", "product = \"bench\"\nversion = \"1.0.1\"\nsummary = \"bench\"\n", 0o644)
	r := rand.New(rand.NewPCG(9, 10))
	data := make([]byte, payload)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	writeFile(b, dir, "files/blob.bin", string(data), 0o644)
	out := b.TempDir()
	b.SetBytes(payload)
	for b.Loop() {
		if _, _, err := Pack(b.Context(), dir, out, PackOptions{Epoch: testEpoch}); err != nil {
			b.Fatal(err)
		}
	}
}
