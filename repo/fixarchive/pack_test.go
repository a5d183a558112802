package fixarchive

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
)

func TestPackDeterministic(t *testing.T) {
	dir := sample(t)
	src := filepath.Join(dir, "fixes", "2.4.1.2")
	packWith := func(epoch string) []byte {
		t.Helper()
		t.Setenv("SOURCE_DATE_EPOCH", epoch)
		out := t.TempDir()
		p, m, err := Pack(t.Context(), src, out, PackOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(p) != "acme-2.4.1.2.fix" || m.Version.String() != "2.4.1.2" {
			t.Fatalf("packed %s as %s", p, m.Version)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	a, b := packWith("1714564800"), packWith("1714564800")
	if !bytes.Equal(a, b) {
		t.Fatal("the same source and SOURCE_DATE_EPOCH gave different archives")
	}
	// Touching the source files must not matter: only the epoch does.
	now := time.Now()
	if err := os.Chtimes(filepath.Join(src, "files", "app", "cart.php"), now, now); err != nil {
		t.Fatal(err)
	}
	if c := packWith("1714564800"); !bytes.Equal(a, c) {
		t.Fatal("a new mtime on a source file changed the archive")
	}
	if c := packWith("1714564801"); bytes.Equal(a, c) {
		t.Fatal("a different SOURCE_DATE_EPOCH gave the same bytes")
	}
	t.Setenv("SOURCE_DATE_EPOCH", "yesterday")
	_, _, err := Pack(t.Context(), src, t.TempDir(), PackOptions{})
	testkit.WantErr(t, err, "SOURCE_DATE_EPOCH")
}

// Both compressions give the same layout, and the stock tools (xz or
// zstd, and tar) read the archives as we do.
func TestPackLayout(t *testing.T) {
	tools := map[Compression][][]string{
		Zstd: {{"zstd", "-t", "-q"}, {"tar", "--zstd", "-tf"}},
		XZ:   {{"xz", "-t"}, {"tar", "-tJf"}},
	}
	for _, c := range []Compression{Zstd, XZ} {
		paths := packSampleWith(t, c)
		for i, p := range paths {
			t.Run(string(c)+"/"+demo.FixVersions[i], func(t *testing.T) {
				data, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if got, err := DetectCompression(data); got != c || err != nil {
					t.Fatalf("DetectCompression: %s, %v; packed with %s", got, err, c)
				}
				// Our own reader: manifest first, then files/ then scripts/.
				zr, _, err := decompressor(bytes.NewReader(data))
				if err != nil {
					t.Fatal(err)
				}
				tr := tar.NewReader(zr)
				var names []string
				for {
					h, err := tr.Next()
					if err != nil {
						break
					}
					names = append(names, h.Name)
					if h.Typeflag != tar.TypeReg || h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(testEpoch) {
						t.Errorf("%s: type %c uid %d gid %d mtime %s", h.Name, h.Typeflag, h.Uid, h.Gid, h.ModTime)
					}
				}
				if len(names) == 0 || names[0] != repo.ManifestName {
					t.Fatalf("entries %v: manifest.json must come first", names)
				}
				m, err := VerifyArchiveFile(t.Context(), p)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := len(names)-1, len(m.Files)+len(m.Scripts); got != want {
					t.Errorf("%d payload entries, manifest lists %d", got, want)
				}

				// The real tools agree.
				check, list := tools[c][0], tools[c][1]
				if out, err := exec.Command(check[0], append(check[1:], p)...).CombinedOutput(); err != nil {
					t.Fatalf("%s %s: %v\n%s", check, p, err, out)
				}
				out, err := exec.Command(list[0], append(list[1:], p)...).CombinedOutput()
				if err != nil {
					t.Fatalf("%s: %v\n%s", list, err, out)
				}
				listed := strings.Split(strings.TrimSpace(string(out)), "\n")
				if listed[0] != repo.ManifestName || strings.Join(listed, ",") != strings.Join(names, ",") {
					t.Errorf("tar lists %v, we read %v", listed, names)
				}
			})
		}
	}
}

func TestPackManifest(t *testing.T) {
	paths := packSample(t)
	m, err := ReadManifestFile(paths[2])
	if err != nil {
		t.Fatal(err)
	}
	if m.Product != "acme" || m.Base.String() != "2.4.1" || m.Requires.String() != "2.4.1.2" {
		t.Errorf("manifest %+v", m)
	}
	if len(m.Delete) != 1 || m.Delete[0] != "app/legacy.php" {
		t.Errorf("delete = %v", m.Delete)
	}
	if len(m.Scripts) != 1 || m.Scripts[0].Mode != 0o755 || len(m.Scripts[0].SHA256) != 64 {
		t.Errorf("scripts = %+v", m.Scripts)
	}
	if len(m.Bugs) != 2 || m.Bugs[0].ID != "ACME-130" {
		t.Errorf("bugs = %+v", m.Bugs)
	}
}

// Packing streams: the heap stays flat however large the payload. Under
// the race detector xz is ~45× slower, so the payload shrinks there and
// only the normal run proves flatness (BenchmarkPackLarge measures too).
//
// The live heap (what survives a GC) is the payload-independent part: about
// 48 MiB, nearly all of it the xz encoder's hash table and window for the
// 8 MiB dictionary. HeapInuse adds the garbage made since the last GC, which
// GOGC=100 lets grow up to the live heap again, so its bound is twice that.
func TestPackMemoryFlat(t *testing.T) {
	size := int64(200 << 20)
	if raceEnabled {
		size = 2 << 20
	}
	live, inuse := packLarge(t, size)
	t.Logf("packed %d MiB: peak live heap %.1f MiB, peak HeapInuse %.1f MiB", size>>20, float64(live)/(1<<20), float64(inuse)/(1<<20))
	if live > 64<<20 {
		t.Errorf("peak live heap %d MiB while packing %d MiB: packing must stream", live>>20, size>>20)
	}
	if inuse > 128<<20 {
		t.Errorf("peak HeapInuse %d MiB while packing %d MiB: packing must stream", inuse>>20, size>>20)
	}
}

// packLarge packs a fix with one file of size zero bytes (sparse, so fast
// to make) and returns the peak live heap and the peak HeapInuse seen while
// packing.
func packLarge(t testing.TB, size int64) (live, inuse uint64) {
	t.Helper()
	dir := t.TempDir()
	testkit.WriteFile(t, dir, "fix.toml", "product = \"big\"\nversion = \"1.0.0.1\"\nsummary = \"large payload\"\n", 0o644)
	if err := os.MkdirAll(filepath.Join(dir, "files"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "files", "blob.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()

	runtime.GC()
	var peakLive, peakInuse uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		for {
			runtime.ReadMemStats(&ms)
			peakInuse = max(peakInuse, ms.HeapInuse)
			metrics.Read(sample)
			if sample[0].Value.Kind() == metrics.KindUint64 {
				peakLive = max(peakLive, sample[0].Value.Uint64())
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	p, m, err := Pack(context.Background(), dir, filepath.Join(dir, "out"), PackOptions{Epoch: testEpoch})
	runtime.GC() // count what is still reachable at the end, too
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if m.Files[0].Size != size {
		t.Fatalf("manifest size %d, want %d", m.Files[0].Size, size)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return peakLive, peakInuse
}

func TestPackCancelled(t *testing.T) {
	dir := sample(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := t.TempDir()
	if _, _, err := Pack(ctx, filepath.Join(dir, "fixes", "2.4.1.1"), out, PackOptions{}); err == nil {
		t.Fatal("Pack ignored a cancelled context")
	}
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Errorf("a cancelled pack left %d files behind", len(ents))
	}
}

// Reading only the manifest must not decompress the payload: the manifest
// is a zstd frame (or xz stream) of its own, so "repo build" hashes
// archives instead of unpacking them.
func TestManifestReadIsShallow(t *testing.T) {
	tests := []struct {
		c      Compression
		list   []string
		frames *regexp.Regexp
	}{
		{Zstd, []string{"zstd", "-lv"}, regexp.MustCompile(`Zstandard Frames: 3\n`)},
		{XZ, []string{"xz", "-lv"}, regexp.MustCompile(`Streams:\s+3\n`)},
	}
	for _, tt := range tests {
		t.Run(string(tt.c), func(t *testing.T) {
			dir := t.TempDir()
			testkit.WriteFile(t, dir, "fix.toml", "product = \"big\"\nversion = \"1.0.0.1\"\nsummary = \"payload\"\n", 0o644)
			// Just over one chunk: the manifest's frame and two of payload.
			testkit.WriteFile(t, dir, "files/blob.bin", strings.Repeat("x", chunkSize), 0o644)
			p, _, err := Pack(t.Context(), dir, filepath.Join(dir, "out"), PackOptions{Epoch: testEpoch, Compression: tt.c})
			if err != nil {
				t.Fatal(err)
			}
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			m, err := ReadManifestFile(p)
			runtime.ReadMemStats(&ms1)
			if err != nil || m.Files[0].Size != chunkSize {
				t.Fatalf("%+v, %v", m, err)
			}
			if alloc := ms1.TotalAlloc - ms0.TotalAlloc; alloc > 2<<20 {
				t.Errorf("reading the manifest allocated %d KiB: the payload's window was set up", alloc>>10)
			}
			// Concatenated frames or streams: the stock tools read them as one archive.
			if out, err := exec.Command(tt.list[0], append(tt.list[1:], p)...).CombinedOutput(); err != nil || !tt.frames.Match(out) {
				t.Errorf("%s: %v\n%s", tt.list, err, out)
			}
		})
	}
}

// A source LoadSource refuses is refused before anything is written.
func TestPackRefusesBrokenSource(t *testing.T) {
	dir := t.TempDir()
	testkit.WriteFile(t, dir, "fix.toml", "product = \"acme\"\nversion = \"1.0.1\"\nsummary = \"s\"\n", 0o644)
	testkit.WriteFile(t, dir, "scripts/10-plain.sh", "echo no hash-bang\n", 0o755)
	out := t.TempDir()
	_, _, err := Pack(t.Context(), dir, out, PackOptions{})
	testkit.WantErr(t, err, "#! line")
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Errorf("Pack left %d entries in the output directory", len(ents))
	}
}

// A name the manifest cannot hold exactly (not UTF-8, a control
// character), in a file or in a directory above it, is refused naming the
// file, before anything is written: the archive's tar entry and its
// manifest would otherwise disagree and every reader refuse it.
func TestPackRefusesNamesTheManifestCannotHold(t *testing.T) {
	tests := []struct{ rel, want string }{
		{"files/lib/caf\xe9.php", `files/lib/caf\xe9.php`},
		{"files/d\xfcsseldorf/index.php", `files/d\xfcsseldorf/index.php`},
		{"files/\xff\xfe/deep/x.php", `files/\xff\xfe/deep/x.php`},
		{"scripts/10-\xe9t\xe9.sh", `scripts/10-\xe9t\xe9.sh`},
		{"files/lib/tab\there.php", `files/lib/tab\there.php`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			dir := t.TempDir()
			testkit.WriteFile(t, dir, "fix.toml", "product = \"acme\"\nversion = \"1.0.1\"\nsummary = \"s\"\n", 0o644)
			testkit.WriteFile(t, dir, "files/lib/ok.php", "<?php\n", 0o644)
			testkit.WriteFile(t, dir, tt.rel, "#!/bin/sh\n", 0o755)
			out := t.TempDir()
			_, _, err := Pack(t.Context(), dir, out, PackOptions{})
			testkit.WantErr(t, err, tt.want)
			if ents, _ := os.ReadDir(out); len(ents) != 0 {
				t.Errorf("Pack left %d entries in the output directory", len(ents))
			}
		})
	}
}
