package client

// The crash test's trees: snapshots of a root, their differences, and the
// sources and model trees of the crash product (see crash_test.go).

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
)

// crashTree maps a root-relative path to its type, mode and content hash.
type crashTree map[string]string

// crashSnapshot describes every directory and regular file under root.
// Anything else (a link, a leftover temporary) shows up as a difference.
func crashSnapshot(t testing.TB, root string) crashTree {
	t.Helper()
	tree := crashTree{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			tree[rel] = fmt.Sprintf("dir %v", info.Mode())
		case info.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			tree[rel] = fmt.Sprintf("file %v %d %s", info.Mode(), len(data), hex.EncodeToString(sum[:8]))
		default:
			tree[rel] = fmt.Sprintf("other %v", info.Mode())
		}
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot %s: %v", root, err)
	}
	return tree
}

// crashDiff lists how got differs from want, at most a dozen lines.
func crashDiff(want, got crashTree) []string {
	var out []string
	keys := map[string]bool{}
	for k := range want {
		keys[k] = true
	}
	for k := range got {
		keys[k] = true
	}
	var sorted []string
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		w, inW := want[k]
		g, inG := got[k]
		switch {
		case !inG:
			out = append(out, fmt.Sprintf("missing %s (%s)", k, w))
		case !inW:
			out = append(out, fmt.Sprintf("unexpected %s (%s)", k, g))
		case w != g:
			out = append(out, fmt.Sprintf("differs %s: want %s, got %s", k, w, g))
		}
	}
	if len(out) > 12 {
		out = append(out[:12], fmt.Sprintf("... and %d more", len(out)-12))
	}
	return out
}

// crashWrite writes data to dir/rel with exactly mode, creating parents.
func crashWrite(t testing.TB, dir, rel string, data []byte, mode os.FileMode) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

// crashText is deterministic, somewhat compressible text, so that packing
// megabytes with Go's xz stays fast while the bytes still differ per file.
func crashText(r *rand.Rand, n int) []byte {
	words := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
		"kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango"}
	var b bytes.Buffer
	b.Grow(n + 16)
	fmt.Fprintf(&b, "%d\n", r.Uint64()) // never two files alike
	for b.Len() < n {
		if n-b.Len() > 2*crashChunk && r.IntN(4) != 0 {
			// Big files are mostly whole chunks of a small pool:
			// cheap to make, and quick for xz.
			b.Write(crashPool[r.IntN(len(crashPool))])
			continue
		}
		b.WriteString(words[r.IntN(len(words))])
		if r.IntN(12) == 0 {
			fmt.Fprintf(&b, " %d\n", r.Uint32())
		} else {
			b.WriteByte(' ')
		}
	}
	return b.Bytes()[:n]
}

const crashChunk = 32 << 10

// crashPool holds the chunks big files are made of.
var crashPool = func() [][]byte {
	r := rand.New(rand.NewPCG(7, 7))
	pool := make([][]byte, 8)
	for i := range pool {
		var b bytes.Buffer
		for b.Len() < crashChunk {
			fmt.Fprintf(&b, "%x ", r.Uint64())
		}
		pool[i] = b.Bytes()[:crashChunk]
	}
	return pool
}()

// crashSources writes the base root and the three fix sources into dir:
// dir/base and dir/fixes/VERSION. Each fix replaces base files and files
// of the fix before it (one of 1 MiB), adds about 130 files in new nested
// directories (one of 1 MiB), deletes files (fix 2 deletes one fix 1
// added), re-adds a file an earlier fix deleted (fix 3), ships an
// executable, and has a script that sleeps and writes outside the root.
func crashSources(t testing.TB, dir string) {
	t.Helper()
	r := rand.New(rand.NewPCG(5, 0))
	base := filepath.Join(dir, "base")
	crashWrite(t, base, "VERSION", []byte(crashBase+"\n"), 0o644)
	crashWrite(t, base, "bin/server", crashText(r, 20000), 0o755)
	crashWrite(t, base, "etc/secret.conf", crashText(r, 300), 0o600)
	for i := range crashBaseFiles {
		crashWrite(t, base, fmt.Sprintf("lib/mod%03d.php", i), crashText(r, 1000+r.IntN(6000)), 0o644)
	}
	for i := range crashFixes {
		crashWrite(t, base, fmt.Sprintf("data/blob%d.bin", i), crashText(r, crashBigSize), 0o644)
		crashWrite(t, base, fmt.Sprintf("old/obsolete%d.txt", i), crashText(r, 500), 0o644)
	}
	for k := 1; k <= crashFixes; k++ {
		v := crashVersions[k-1]
		src := filepath.Join(dir, "fixes", v)
		var del []string
		// Replace 40 base modules (overlapping the previous fix's) and the
		// secret config with a new mode.
		for i := range 40 {
			crashWrite(t, src, fmt.Sprintf("files/lib/mod%03d.php", (k-1)*25+i), crashText(r, 1000+r.IntN(6000)), 0o644)
		}
		crashWrite(t, src, "files/etc/secret.conf", crashText(r, 300), 0o640)
		crashWrite(t, src, fmt.Sprintf("files/data/blob%d.bin", k-1), crashText(r, crashBigSize), 0o644)
		crashWrite(t, src, fmt.Sprintf("files/bin/helper%d", k), crashText(r, 3000), 0o755)
		// Add 150 files in new nested directories, one of them big.
		for i := range 150 {
			crashWrite(t, src, fmt.Sprintf("files/fix%d/d%d/sub%d/f%03d.txt", k, i%5, i%3, i), crashText(r, 200+r.IntN(4000)), 0o644)
		}
		crashWrite(t, src, fmt.Sprintf("files/fix%d/big/new.bin", k), crashText(r, crashBigSize), 0o644)
		del = append(del, fmt.Sprintf("old/obsolete%d.txt", k-1))
		switch k {
		case 2:
			// Replace and delete what fix 1 added.
			crashWrite(t, src, "files/fix1/d0/sub0/f000.txt", crashText(r, 700), 0o644)
			del = append(del, "fix1/d1/sub1/f001.txt")
		case 3:
			// Bring back a file fix 1 deleted.
			crashWrite(t, src, "files/old/obsolete0.txt", crashText(r, 900), 0o644)
		}
		var quoted []string
		for _, d := range del {
			quoted = append(quoted, fmt.Sprintf("%q", d))
		}
		toml := fmt.Sprintf("product = %q\nversion = %q\nsummary = \"crash test fix %d\"\ndelete = [%s]\n",
			crashProduct, v, k, strings.Join(quoted, ", "))
		crashWrite(t, src, "fix.toml", []byte(toml), 0o644)
		// The script's own effects are not undone by hotfix: keep them
		// outside the root.
		script := "#!/bin/sh\nsleep 0.05\necho \"$HOTFIX_VERSION\" >> \"$HOTFIX_ROOT/../script.log\"\n"
		crashWrite(t, src, "scripts/10-note.sh", []byte(script), 0o755)
	}
}

// crashModel applies the first n fix sources to a copy of the base the
// plain way and returns its snapshot.
func crashModel(t testing.TB, dir string, n int) crashTree {
	t.Helper()
	model := filepath.Join(dir, fmt.Sprintf("model%d", n))
	testkit.CopyTree(t, filepath.Join(dir, "base"), model)
	for k := 1; k <= n; k++ {
		deleted := crashFixSource(t, filepath.Join(dir, "fixes", crashVersions[k-1]), func(rel, p string, info fs.FileInfo) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			crashWrite(t, model, rel, data, info.Mode().Perm())
		})
		for _, d := range deleted {
			if err := os.Remove(filepath.Join(model, filepath.FromSlash(d))); err != nil {
				t.Fatal(err)
			}
		}
	}
	tree := crashSnapshot(t, model)
	os.RemoveAll(model)
	return tree
}

// crashFixSource calls each for every file of the fix source src (its
// slash-separated path under files/, its path and its info) and returns
// the paths the fix deletes.
func crashFixSource(t testing.TB, src string, each func(rel, p string, info fs.FileInfo)) []string {
	t.Helper()
	files := filepath.Join(src, "files")
	err := filepath.WalkDir(files, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(files, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		each(filepath.ToSlash(rel), p, info)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	m, err := repo.LoadSource(src)
	if err != nil {
		t.Fatal(err)
	}
	return m.Manifest.Delete
}
