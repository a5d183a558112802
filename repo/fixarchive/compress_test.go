package fixarchive

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/internal/xzsafe"
	"github.com/hotfix-project/hotfix/internal/zstdsafe"
)

// chunkySource writes a fix source whose tar stream spans several chunks:
// text, and pseudo-random bytes that do not compress (a jar's share).
func chunkySource(t *testing.T, text, random int) string {
	t.Helper()
	dir := t.TempDir()
	testkit.WriteFile(t, dir, "fix.toml", "product = \"chunky\"\nversion = \"1.0.1\"\nsummary = \"several chunks\"\n", 0o644)
	line := "func main() { fmt.Println(\"a line of source text\") }\n"
	testkit.WriteFile(t, dir, "files/src/main.go", string(bytes.Repeat([]byte(line), text/len(line))), 0o644)
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, random)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	testkit.WriteFile(t, dir, "files/lib/app.jar", string(b), 0o644)
	testkit.WriteFile(t, dir, "scripts/10-restart.sh", "#!/bin/sh\necho restart\n", 0o755)
	return dir
}

// The reproducibility promise: the same source and epoch give the same
// bytes with one core or four, in both compressions.
func TestPackSameBytesWhateverTheCores(t *testing.T) {
	tests := []struct {
		c            Compression
		text, random int
	}{
		{Zstd, 9 << 20, 3 << 20},
		{XZ, 7 << 20, 1 << 20},
	}
	for _, tt := range tests {
		t.Run(string(tt.c), func(t *testing.T) {
			src := chunkySource(t, tt.text, tt.random)
			var got [][]byte
			for _, procs := range []int{1, 4} {
				old := runtime.GOMAXPROCS(procs)
				p, _, err := Pack(t.Context(), src, t.TempDir(), PackOptions{Epoch: testEpoch, Compression: tt.c})
				runtime.GOMAXPROCS(old)
				if err != nil {
					t.Fatal(err)
				}
				data, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, data)
			}
			if !bytes.Equal(got[0], got[1]) {
				t.Fatalf("GOMAXPROCS 1 gave %d bytes, 4 gave %d different ones", len(got[0]), len(got[1]))
			}
			if _, err := VerifyArchive(t.Context(), bytes.NewReader(got[0])); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// The stock tools decompress what we pack to the very tar stream we read.
func TestStockToolsDecompress(t *testing.T) {
	src := chunkySource(t, 5<<20, 1<<20)
	var tars [][]byte
	for _, tt := range []struct {
		c   Compression
		cmd []string
	}{{Zstd, []string{"zstd", "-dc"}}, {XZ, []string{"xz", "-dc"}}} {
		p, _, err := Pack(t.Context(), src, t.TempDir(), PackOptions{Epoch: testEpoch, Compression: tt.c})
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(tt.cmd[0], append(tt.cmd[1:], p)...).Output()
		if err != nil {
			t.Fatalf("%s %s: %v", tt.cmd, p, err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		zr, _, err := decompressor(f)
		if err != nil {
			t.Fatal(err)
		}
		ours, err := io.ReadAll(zr)
		f.Close()
		if err != nil || !bytes.Equal(ours, out) {
			t.Fatalf("%s: our decompression (%d bytes, %v) differs from %s's (%d bytes)", tt.c, len(ours), err, tt.cmd[0], len(out))
		}
		tars = append(tars, out)
	}
	if !bytes.Equal(tars[0], tars[1]) {
		t.Fatal("zstd and xz archives hold different tar streams")
	}
}

// zstdFix packs the sample fix with zstd and returns its bytes.
func zstdFix(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(packSampleWith(t, Zstd)[0])
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Hostile zstd archives are refused as ErrArchive naming the problem,
// without allocating what they ask for, by every reading path.
func TestHostileZstdArchives(t *testing.T) {
	good := zstdFix(t)
	// The tar stream of the good archive, recompressed by hand below.
	zr, _, err := decompressor(bytes.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	tarData, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	// rawFrame stores p in raw blocks under the given frame header bytes.
	rawFrame := func(hdr []byte, p []byte) []byte {
		out := append([]byte{0x28, 0xB5, 0x2F, 0xFD}, hdr...)
		for len(p) > 0 {
			n := min(len(p), 100<<10)
			v := uint32(n) << 3
			if n == len(p) {
				v |= 1
			}
			out = append(out, byte(v), byte(v>>8), byte(v>>16))
			out, p = append(out, p[:n]...), p[n:]
		}
		return out
	}
	skippable := binary.LittleEndian.AppendUint32([]byte{0x5E, 0x2A, 0x4D, 0x18}, 4)
	skippable = append(skippable, "evil"...)
	tests := []struct {
		name string
		data []byte
		is   error
		want string
	}{
		{"the control: raw blocks, 1 MiB window", rawFrame([]byte{0x00, (20 - 10) << 3}, tarData), nil, ""},
		{"window of 2 GiB", rawFrame([]byte{0x00, (31 - 10) << 3}, tarData), zstdsafe.ErrWindowTooLarge, "a window of 2 GiB"},
		{"window of 32 MiB", rawFrame([]byte{0x00, (25 - 10) << 3}, tarData), zstdsafe.ErrWindowTooLarge, "a window of 32 MiB"},
		{"single segment claiming 1 TiB", rawFrame(append([]byte{0xE0}, binary.LittleEndian.AppendUint64(nil, 1<<40)...), tarData), zstdsafe.ErrWindowTooLarge, "1024 GiB"},
		{"skippable frame before", append(bytes.Clone(skippable), good...), zstdsafe.ErrFormat, "skippable frame"},
		{"cut in the last frame", good[:len(good)-3], io.ErrUnexpectedEOF, "cut short"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			_, err := VerifyArchive(t.Context(), bytes.NewReader(tt.data))
			runtime.ReadMemStats(&ms1)
			if tt.is == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tt.is) || !errors.Is(err, ErrArchive) {
				t.Fatalf("VerifyArchive: %v, want ErrArchive and %v", err, tt.is)
			}
			testkit.WantErr(t, err, tt.want)
			if alloc := ms1.TotalAlloc - ms0.TotalAlloc; alloc > 32<<20 {
				t.Errorf("refusing it allocated %d MiB", alloc>>20)
			}
			dest := filepath.Join(t.TempDir(), "dest")
			_, err = Extract(t.Context(), bytes.NewReader(tt.data), dest)
			if !errors.Is(err, ErrArchive) {
				t.Errorf("Extract: %v, want ErrArchive", err)
			}
			if _, serr := os.Lstat(dest); !errors.Is(serr, os.ErrNotExist) {
				t.Errorf("Extract left %s behind", dest)
			}
		})
	}
}

// Neither zstd nor xz: the error says what the file starts with.
func TestUnknownCompression(t *testing.T) {
	for _, data := range [][]byte{[]byte("PK\x03\x04 a zip file"), {0x1F, 0x8B, 8, 0}, nil} {
		_, err := NewArchiveReader(bytes.NewReader(data))
		if !errors.Is(err, ErrArchive) {
			t.Fatalf("%q: %v, want ErrArchive", data, err)
		}
		testkit.WantErr(t, err, "neither zstd nor xz")
	}
	// An xz archive with a huge dictionary is still refused as before.
	_, err := VerifyArchiveFile(t.Context(), filepath.Join("testdata", "hostile", "huge-dictionary.fix"))
	if !errors.Is(err, xzsafe.ErrDictTooLarge) {
		t.Fatalf("err = %v", err)
	}
}
