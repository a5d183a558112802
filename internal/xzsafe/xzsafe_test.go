package xzsafe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/ulikunitz/xz"
)

// testData returns n bytes that compress like real files: text-like lines
// with random numbers, and now and then a stretch of random bytes that LZMA2
// stores as uncompressed chunks.
func testData(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 42))
	words := []string{"hotfix", "package", "version", "install", "/usr/lib/", "primary", "secondary", "script", "sha256", "manifest"}
	var b bytes.Buffer
	for b.Len() < n {
		if rng.IntN(400) == 0 {
			junk := make([]byte, 1000+rng.IntN(30000))
			for i := range junk {
				junk[i] = byte(rng.Uint32())
			}
			b.Write(junk)
			continue
		}
		fmt.Fprintf(&b, "%s %s %d.%d.%d %x\n", words[rng.IntN(len(words))], words[rng.IntN(len(words))],
			rng.IntN(10), rng.IntN(100), rng.IntN(1000), rng.Uint64())
	}
	return b.Bytes()[:n]
}

// runXZ compresses input with the xz command.
func runXZ(t testing.TB, input []byte, args ...string) []byte {
	t.Helper()
	path, err := exec.LookPath("xz")
	if err != nil {
		t.Fatalf("the xz command is needed (apt-get install xz-utils): %v", err)
	}
	cmd := exec.Command(path, append([]string{"-c"}, args...)...)
	cmd.Stdin = bytes.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("xz %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// goXZ compresses input with github.com/ulikunitz/xz.
func goXZ(t testing.TB, input []byte, cfg xz.WriterConfig) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := cfg.NewWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(input); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func decode(data []byte, maxDict int64) ([]byte, error) {
	r, err := NewReader(bytes.NewReader(data), maxDict)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

var (
	bigOnce sync.Once
	bigData []byte
)

func big() []byte {
	bigOnce.Do(func() { bigData = testData(2<<20+12345, 1) })
	return bigData
}

func TestRoundTrip(t *testing.T) {
	// big is larger than an LZMA2 chunk can hold uncompressed (2 MiB);
	// mid still needs several compressed chunks (64 KiB each at most).
	big := big()
	mid := testData(600<<10, 3)
	small := testData(200<<10, 2)
	gosize := mid[:400<<10]
	tiny := small[:30<<10]
	data := mid
	tests := []struct {
		name string
		orig []byte
		comp func(t *testing.T) []byte
	}{
		// The Go compressor is slow under -race, so it gets less data;
		// 400 KB still make several compressed chunks.
		{"ulikunitz default", gosize, func(t *testing.T) []byte { return goXZ(t, gosize, xz.WriterConfig{}) }},
		{"ulikunitz crc32 small blocks", gosize, func(t *testing.T) []byte {
			return goXZ(t, gosize, xz.WriterConfig{CheckSum: xz.CRC32, BlockSize: 150 << 10})
		}},
		{"ulikunitz sha256", tiny, func(t *testing.T) []byte { return goXZ(t, tiny, xz.WriterConfig{CheckSum: xz.SHA256}) }},
		{"ulikunitz no check", tiny, func(t *testing.T) []byte { return goXZ(t, tiny, xz.WriterConfig{NoCheckSum: true}) }},
		{"xz -6", big, func(t *testing.T) []byte { return runXZ(t, big, "-6") }},
		{"xz -1", data, func(t *testing.T) []byte { return runXZ(t, data, "-1") }},
		{"xz crc32", data, func(t *testing.T) []byte { return runXZ(t, data, "-1", "--check=crc32") }},
		{"xz sha256", data, func(t *testing.T) []byte { return runXZ(t, data, "-1", "--check=sha256") }},
		{"xz none", data, func(t *testing.T) []byte { return runXZ(t, data, "-1", "--check=none") }},
		{"xz multi-block", big, func(t *testing.T) []byte { return runXZ(t, big, "-1", "-T2", "--block-size=100KiB") }},
		{"xz empty", nil, func(t *testing.T) []byte { return runXZ(t, nil) }},
		{"xz one byte", []byte("x"), func(t *testing.T) []byte { return runXZ(t, []byte("x"), "--check=sha256") }},
		{"two streams", append(append([]byte{}, data...), small...), func(t *testing.T) []byte {
			return append(runXZ(t, data, "-1"), runXZ(t, small, "-1", "--check=crc32")...)
		}},
		{"streams with padding", append(append([]byte{}, small...), tiny...), func(t *testing.T) []byte {
			s := runXZ(t, small, "-0")
			var b bytes.Buffer
			b.Write(s)
			b.Write(make([]byte, 8))
			b.Write(goXZ(t, tiny, xz.WriterConfig{DictCap: 1 << 20}))
			b.Write(make([]byte, 4))
			return b.Bytes()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			comp := tt.comp(t)
			got, err := decode(comp, 0)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !bytes.Equal(got, tt.orig) {
				t.Fatalf("decoded %d bytes differ from the %d original bytes", len(got), len(tt.orig))
			}
		})
	}
}

// TestReaderShapes reads through readers that return little at a time and
// with tiny destination buffers, which exercises every resumption point.
func TestReaderShapes(t *testing.T) {
	orig := testData(100<<10, 3)
	comp := append(runXZ(t, orig, "-1", "-T2", "--block-size=32KiB"), runXZ(t, orig[:1000], "--check=sha256")...)
	want := append(append([]byte{}, orig...), orig[:1000]...)
	tests := []struct {
		name string
		wrap func(io.Reader) io.Reader
		buf  int
	}{
		{"one byte source", iotest.OneByteReader, 32 << 10},
		{"half source", iotest.HalfReader, 7},
		{"one byte reads", func(r io.Reader) io.Reader { return r }, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(tt.wrap(bytes.NewReader(comp)), 0)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			buf := make([]byte, tt.buf)
			for {
				n, err := r.Read(buf)
				got.Write(buf[:n])
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("read: %v", err)
				}
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Fatalf("decoded %d bytes differ from the %d original bytes", got.Len(), len(want))
			}
			if n, err := r.Read(buf); n != 0 || err != io.EOF {
				t.Fatalf("read after EOF = %d, %v", n, err)
			}
		})
	}
}

// layout locates the parts of a single-block xz stream.
type layout struct {
	blockHdr  int // offset of the first block header
	hdrSize   int
	dictProp  int // offset of the LZMA2 property byte
	sizesAt   []int
	index     int // offset of the index
	footer    int
	checkSize int
}

func parseLayout(t *testing.T, s []byte) layout {
	t.Helper()
	l := layout{blockHdr: 12, hdrSize: (int(s[12]) + 1) * 4, footer: len(s) - 12}
	backward := (int(binary.LittleEndian.Uint32(s[len(s)-8:])) + 1) * 4
	l.index = l.footer - backward
	l.checkSize = map[byte]int{0: 0, 1: 4, 4: 8, 10: 32}[s[7]&0x0f]
	flags := s[13]
	p := 14
	for _, bit := range []byte{0x40, 0x80} {
		if flags&bit != 0 {
			l.sizesAt = append(l.sizesAt, p)
			_, n, err := decodeVLI(s[p:])
			if err != nil {
				t.Fatal(err)
			}
			p += n
		}
	}
	if s[p] != 0x21 || s[p+1] != 1 {
		t.Fatalf("first filter is %#x with %d property bytes, want LZMA2", s[p], s[p+1])
	}
	l.dictProp = p + 2
	return l
}

// fixBlockCRC recomputes the CRC32 of the block header at off.
func fixBlockCRC(s []byte, off int) {
	size := (int(s[off]) + 1) * 4
	binary.LittleEndian.PutUint32(s[off+size-4:], crc32.ChecksumIEEE(s[off:off+size-4]))
}

// withDictProp returns a copy of the single-stream s whose first block asks
// for the dictionary of property byte prop.
func withDictProp(t *testing.T, s []byte, prop byte) []byte {
	t.Helper()
	s = bytes.Clone(s)
	l := parseLayout(t, s)
	s[l.dictProp] = prop
	fixBlockCRC(s, l.blockHdr)
	return s
}

func TestHostileDictionary(t *testing.T) {
	small := runXZ(t, []byte("hello, hostile world\n"), "-0")
	tests := []struct {
		name string
		prop byte
		want string
	}{
		{"1.5 GiB", 37, "asks for a 1536 MiB dictionary, the bound is 64 MiB"},
		{"4 GiB", 40, "asks for a 4294967295 bytes (4.0 GiB) dictionary, the bound is 64 MiB"},
		{"128 MiB", 30, "asks for a 128 MiB dictionary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hostile := withDictProp(t, small, tt.prop)
			if len(hostile) > 80 {
				t.Fatalf("hostile file is %d bytes, want a tiny one", len(hostile))
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := decode(hostile, 0)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrDictTooLarge) {
				t.Fatalf("err = %v, want ErrDictTooLarge", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to contain %q", err, tt.want)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
				t.Errorf("rejecting the stream allocated %d bytes, want far less than 64 MiB", alloc)
			}
		})
	}

	t.Run("xz dict=128MiB", func(t *testing.T) {
		data := testData(100<<10, 4)
		comp := runXZ(t, data, "--lzma2=dict=128MiB")
		if _, err := decode(comp, 64<<20); !errors.Is(err, ErrDictTooLarge) {
			t.Fatalf("err = %v, want ErrDictTooLarge", err)
		}
		// Multi-threaded xz declares the block sizes, so the window
		// actually allocated is only as large as the block.
		comp = runXZ(t, data, "--lzma2=dict=128MiB", "-T2")
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		got, err := decode(comp, 128<<20)
		runtime.ReadMemStats(&after)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("decode with a 128 MiB bound: %v", err)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
			t.Errorf("decoding 100 KiB allocated %d bytes", alloc)
		}
	})

	t.Run("bound is a parameter", func(t *testing.T) {
		comp := runXZ(t, []byte("abc"), "-1") // 1 MiB dictionary
		if _, err := decode(comp, 512<<10); !errors.Is(err, ErrDictTooLarge) {
			t.Fatalf("err = %v, want ErrDictTooLarge with a 512 KiB bound", err)
		}
		if got, err := decode(comp, 1<<20); err != nil || string(got) != "abc" {
			t.Fatalf("decode with a 1 MiB bound = %q, %v", got, err)
		}
	})
}

func TestTruncated(t *testing.T) {
	// Text only (no random stretches), so that the streams stay a few KB
	// and every 7th prefix can be tried quickly.
	orig := []byte(strings.Repeat("hotfix truncation test line\n", 300) + string(testData(20<<10, 5)[:3000]))
	for len(orig) < 20<<10 {
		orig = append(orig, orig[:1000]...)
	}
	first := runXZ(t, orig[:100], "-0")
	type stream struct {
		data  []byte
		valid int // a prefix of this length is itself a complete file
	}
	streams := map[string]stream{
		"xz":           {runXZ(t, orig, "-0", "--check=sha256"), -1},
		"multi-block":  {runXZ(t, orig, "-0", "-T2", "--block-size=4KiB"), -1},
		"hand":         {handStream(orig[:5000]), -1},
		"two streams":  {append(bytes.Clone(first), runXZ(t, orig[:200], "-0")...), len(first)},
		"padded":       {append(bytes.Clone(first), 0, 0, 0, 0), len(first)},
		"ulikunitz 1M": {goXZ(t, orig, xz.WriterConfig{DictCap: 1 << 20}), -1},
	}
	for name, st := range streams {
		t.Run(name, func(t *testing.T) {
			s := st.data
			for n := 1; n < len(s); n++ {
				if n%7 != 0 && n != st.valid {
					continue
				}
				_, err := decode(s[:n], 0)
				if n == st.valid {
					if err != nil {
						t.Fatalf("the complete first stream: %v", err)
					}
					continue
				}
				if err == nil {
					t.Fatalf("truncated at %d of %d: no error", n, len(s))
				}
				if !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), "truncated xz stream") {
					t.Fatalf("truncated at %d of %d: err = %v, want a truncation error", n, len(s), err)
				}
			}
		})
	}
}

// flipVLI changes the multibyte integer at off by one without changing its
// length.
func flipVLI(s []byte, off int) {
	if s[off]&0x7f == 0x7f {
		s[off]--
	} else {
		s[off]++
	}
}

func TestCorrupt(t *testing.T) {
	orig := testData(50<<10, 6)
	base := runXZ(t, orig, "-0", "--check=crc64")
	multi := runXZ(t, orig, "-0", "-T2", "--block-size=20KiB")
	l := parseLayout(t, base)
	lm := parseLayout(t, multi)
	mod := func(s []byte, f func(s []byte)) func(*testing.T) []byte {
		return func(*testing.T) []byte {
			s = bytes.Clone(s)
			f(s)
			return s
		}
	}
	fixIndexCRC := func(s []byte, l layout) {
		binary.LittleEndian.PutUint32(s[l.footer-4:], crc32.ChecksumIEEE(s[l.index:l.footer-4]))
	}
	tests := []struct {
		name  string
		input func(*testing.T) []byte
		want  string
	}{
		{"garbage", mod([]byte("this is not xz data at all, just text"), func([]byte) {}), "bad magic, not an xz stream"},
		{"short garbage", mod([]byte("PK"), func([]byte) {}), "bad magic, not an xz stream"},
		{"empty", mod(nil, func([]byte) {}), "empty input, not an xz stream"},
		{"gzip", mod([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0}, func([]byte) {}), "bad magic"},
		{"stream header CRC", mod(base, func(s []byte) { s[8] ^= 1 }), "stream 0 header: CRC32 mismatch"},
		{"unsupported check", mod(base, func(s []byte) {
			s[7] = 0x02
			binary.LittleEndian.PutUint32(s[8:], crc32.ChecksumIEEE(s[6:8]))
		}), "unsupported check type 0x02"},
		{"block header CRC", mod(base, func(s []byte) { s[l.blockHdr+l.hdrSize-1] ^= 0x80 }), "stream 0 block 0 header: CRC32 mismatch"},
		{"block header reserved flags", mod(base, func(s []byte) { s[l.blockHdr+1] |= 0x10; fixBlockCRC(s, l.blockHdr) }), "reserved block flags"},
		{"invalid dict property", mod(base, func(s []byte) { s[l.dictProp] = 41; fixBlockCRC(s, l.blockHdr) }), "invalid LZMA2 dictionary size property"},
		{"unknown filter", mod(base, func(s []byte) { s[l.dictProp-2] = 0x55; fixBlockCRC(s, l.blockHdr) }), "unsupported filter 0x55"},
		{"check", mod(base, func(s []byte) { s[l.index-1] ^= 1 }), "stream 0 block 0: CRC64 check mismatch"},
		{"block padding", mod(handStream([]byte("x")), func(s []byte) { s[12+12+5] = 1 }), "non-zero block padding"},
		{"header padding", mod(handStream([]byte("x")), func(s []byte) { s[12+6] = 1; fixBlockCRC(s, 12) }), "non-zero header padding"},
		{"LZMA2 chunk", mod(handStream([]byte("x")), func(s []byte) { s[12+12] = 0x03 }), "stream 0 block 0: corrupt LZMA2 data"},
		{"lzma2 data", mod(base, func(s []byte) {
			for i := l.blockHdr + l.hdrSize + 10; i < l.index-20; i += 97 {
				s[i] ^= 0x55
			}
		}), "stream 0 block 0"},
		{"index CRC", mod(base, func(s []byte) { s[l.footer-1] ^= 1 }), "stream 0 index: CRC32 mismatch"},
		{"index record", mod(base, func(s []byte) {
			// indicator, count, unpadded size, uncompressed size
			_, n, _ := decodeVLI(s[l.index+2:])
			flipVLI(s, l.index+2+n)
			fixIndexCRC(s, l)
		}), "stream 0 index: records do not match the blocks"},
		{"index count", mod(base, func(s []byte) { s[l.index+1] = 2; fixIndexCRC(s, l) }), "stream 0 index: 2 records for 1 blocks"},
		{"footer CRC", mod(base, func(s []byte) { s[len(s)-12] ^= 1 }), "stream 0 footer: CRC32 mismatch"},
		{"footer magic", mod(base, func(s []byte) { s[len(s)-1] = 'X' }), "stream 0 footer: bad magic"},
		{"footer flags", mod(base, func(s []byte) {
			s[len(s)-3] = 0x01
			binary.LittleEndian.PutUint32(s[len(s)-12:], crc32.ChecksumIEEE(s[len(s)-8:len(s)-2]))
		}), "stream flags differ from the header's"},
		{"backward size", mod(base, func(s []byte) {
			s[len(s)-8]++
			binary.LittleEndian.PutUint32(s[len(s)-12:], crc32.ChecksumIEEE(s[len(s)-8:len(s)-2]))
		}), "backward size"},
		{"declared uncompressed size", mod(multi, func(s []byte) {
			flipVLI(s, lm.sizesAt[1])
			fixBlockCRC(s, lm.blockHdr)
		}), "stream 0 block 0"},
		{"declared compressed size", mod(multi, func(s []byte) {
			flipVLI(s, lm.sizesAt[0])
			fixBlockCRC(s, lm.blockHdr)
		}), "stream 0 block 0"},
		{"trailing garbage", mod(append(bytes.Clone(base), "garbage!"...), func([]byte) {}), "stream 1 header: bad magic"},
		{"odd stream padding", mod(append(bytes.Clone(base), 0, 0, 0, 0, 0, 0), func([]byte) {}), "truncated xz stream: stream padding"},
		{"non-zero stream padding", mod(append(bytes.Clone(base), 0, 0, 1, 0), func([]byte) {}), "non-zero stream padding"},
		{"x86 BCJ", func(t *testing.T) []byte { return runXZ(t, orig, "--x86", "--lzma2") }, "unsupported filter x86 BCJ (0x4); only a single LZMA2 filter is accepted"},
		{"delta", func(t *testing.T) []byte { return runXZ(t, orig, "--delta=dist=4", "--lzma2") }, "unsupported filter delta (0x3)"},
		{"arm64 BCJ", func(t *testing.T) []byte { return runXZ(t, orig, "--arm64", "--lzma2") }, "unsupported filter ARM64 BCJ (0xa)"},
		{"lzma1 alone", func(t *testing.T) []byte { return runXZ(t, orig, "--format=lzma") }, "bad magic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.input(t)
			_, err := decode(in, 0)
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %q, want it to contain %q", err, tt.want)
			}
			if errors.Is(err, io.ErrUnexpectedEOF) == errors.Is(err, ErrFormat) {
				t.Fatalf("err = %q is not exactly one of ErrFormat and io.ErrUnexpectedEOF", err)
			}
		})
	}
}

func putVLI(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// handStream builds an xz stream without any compressor: one block of
// uncompressed LZMA2 chunks with a CRC32 check. It lets tests place bytes
// (such as block padding) exactly.
func handStream(data []byte) []byte {
	s := []byte(headerMagic + "\x00\x01")
	s = binary.LittleEndian.AppendUint32(s, crc32.ChecksumIEEE(s[6:8]))
	blk := []byte{2, 0x00, 0x21, 0x01, 0x00, 0, 0, 0} // 4 KiB dictionary
	blk = binary.LittleEndian.AppendUint32(blk, crc32.ChecksumIEEE(blk))
	s = append(s, blk...)
	start := len(s)
	ctl := byte(0x01) // the first chunk resets the dictionary
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 64<<10)
		s = append(s, ctl, byte((n-1)>>8), byte(n-1))
		s = append(s, rest[:n]...)
		rest, ctl = rest[n:], 0x02
	}
	s = append(s, 0x00)
	compressed := len(s) - start
	for len(s)%4 != 0 {
		s = append(s, 0)
	}
	s = binary.LittleEndian.AppendUint32(s, crc32.ChecksumIEEE(data))
	index := len(s)
	s = append(s, 0x00)
	s = putVLI(s, 1)
	s = putVLI(s, uint64(len(blk)+compressed+4))
	s = putVLI(s, uint64(len(data)))
	for len(s)%4 != 0 {
		s = append(s, 0)
	}
	s = binary.LittleEndian.AppendUint32(s, crc32.ChecksumIEEE(s[index:]))
	foot := binary.LittleEndian.AppendUint32(nil, uint32((len(s)-index)/4-1))
	foot = append(foot, 0x00, 0x01)
	s = binary.LittleEndian.AppendUint32(s, crc32.ChecksumIEEE(foot))
	s = append(s, foot...)
	return append(s, footerMagic...)
}

func TestHandStream(t *testing.T) {
	for _, n := range []int{0, 1, 3, 4, 64 << 10, 64<<10 + 1, 200 << 10} {
		data := testData(n, uint64(n))
		got, err := decode(handStream(data), 0)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: decode: %v", n, err)
		}
	}
}

func FuzzReader(f *testing.F) {
	text := []byte(strings.Repeat("fuzzing the xz container parser\n", 40))
	seeds := [][]byte{
		runXZ(f, text, "-0"),
		runXZ(f, text, "-1", "--check=sha256"),
		runXZ(f, text, "-0", "--check=none"),
		runXZ(f, text, "-0", "-T2", "--block-size=256"),
		append(runXZ(f, text[:10], "-0", "--check=crc32"), runXZ(f, nil, "-0")...),
		goXZ(f, text, xz.WriterConfig{DictCap: 1 << 20}),
		goXZ(f, text, xz.WriterConfig{}), // 8 MiB dictionary: refused
		runXZ(f, text, "--x86", "--lzma2=preset=0"),
		handStream(text),
		[]byte(headerMagic),
		nil,
	}
	for _, s := range seeds[:4] {
		seeds = append(seeds, s[:len(s)/2], s[:len(s)-5])
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data), 1<<20)
		if err != nil {
			if !errors.Is(err, ErrFormat) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("NewReader: unclassified error %v", err)
			}
			return
		}
		_, err = io.Copy(io.Discard, io.LimitReader(r, 16<<20))
		if err != nil && !errors.Is(err, ErrFormat) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrDictTooLarge) {
			t.Fatalf("read: unclassified error %v", err)
		}
	})
}

func BenchmarkReader(b *testing.B) {
	data := testData(8<<20, 7)
	comp := runXZ(b, data, "-6")
	b.Run("xzsafe", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			r, err := NewReader(bytes.NewReader(comp), 0)
			if err != nil {
				b.Fatal(err)
			}
			if n, err := io.Copy(io.Discard, r); err != nil || n != int64(len(data)) {
				b.Fatalf("decoded %d bytes: %v", n, err)
			}
		}
	})
	b.Run("ulikunitz", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			r, err := xz.NewReader(bytes.NewReader(comp))
			if err != nil {
				b.Fatal(err)
			}
			if n, err := io.Copy(io.Discard, r); err != nil || n != int64(len(data)) {
				b.Fatalf("decoded %d bytes: %v", n, err)
			}
		}
	})
}
