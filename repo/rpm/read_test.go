package rpm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cavaliergopher/cpio"
	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/repo"
)

func vendorTrust(t testing.TB) Trust {
	t.Helper()
	return Trust{Check: keyringCheck(t, vendorPublic, time.Now()), RequireSignature: true}
}

func TestTrust(t *testing.T) {
	dir := t.TempDir()
	if err := demo.WriteSample(dir); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	src := filepath.Join(dir, "fixes", demo.FixVersions[0])
	unsigned, _, err := Pack(ctx, src, filepath.Join(dir, "unsigned"), PackOptions{Epoch: testEpoch})
	if err != nil {
		t.Fatal(err)
	}
	signed, _, err := Pack(ctx, src, filepath.Join(dir, "signed"), PackOptions{Epoch: testEpoch, Signer: vendorSigner(t)})
	if err != nil {
		t.Fatal(err)
	}
	otherKey := Trust{Check: keyringCheck(t, otherPublic, time.Now())}
	tests := []struct {
		name  string
		path  string
		trust Trust
		want  string // "" means accepted
	}{
		{"signed, vendor key", signed, vendorTrust(t), ""},
		{"signed, no check", signed, Trust{}, ""},
		{"unsigned, signature optional", unsigned, Trust{Check: vendorTrust(t).Check}, ""},
		{"unsigned, signature required", unsigned, vendorTrust(t), "not signed"},
		{"signed by a key not trusted", signed, otherKey, "bad header signature: signed by unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dest := filepath.Join(t.TempDir(), "x")
			_, err := Extract(ctx, tt.path, dest, tt.trust)
			checkErr(t, err, tt.want)
			if err != nil {
				if _, serr := os.Stat(dest); !errors.Is(serr, fs.ErrNotExist) {
					t.Errorf("dest %s exists after a refusal", dest)
				}
			}
		})
	}
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("accepted; want an error containing %q", want)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not contain %q", err, want)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("error %q is not ErrInvalid", err)
	}
}

// testRPM describes a hand-made package, so that tests can build what no
// honest writer would.
type testRPM struct {
	name, product, version string
	files                  []testRPMFile
	compressor             string
	sign                   bool
	// The end of the payload: no trailer entry, bytes after the trailer
	// (inside the compressed stream), bytes after the compressed stream
	// (covered by the payload digest, as a vendor's broken tool would
	// write them).
	noTrailer    bool
	afterTrailer []byte
	afterStream  []byte
	cutStream    int // bytes cut off the end of the compressed payload
}

type testRPMFile struct {
	path       string // absolute, as cpio writes it unless cpioName is set
	cpioName   string
	mode       uint32 // st_mode with type bits
	body       []byte
	headerSize int64 // -1: len(body)
	links      int
	omitCPIO   bool
}

// manifestFile returns the manifest.json entry for files (paths relative to
// files/) of fix product version.
func manifestFile(t testing.TB, product, version string, files map[string][]byte) testRPMFile {
	t.Helper()
	v := repo.MustParseVersion(version)
	m := &repo.Manifest{Format: repo.ManifestFormat, Product: product, Version: v, Base: v.Base(), Requires: v.Requires(),
		Summary: "test", Bugs: []repo.Bug{}, Files: []repo.FileEntry{}, Scripts: []repo.FileEntry{}}
	var names []string
	for p := range files {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		sum := sha256.Sum256(files[p])
		m.Files = append(m.Files, repo.FileEntry{Path: p, Size: int64(len(files[p])), Mode: 0o644, SHA256: hex.EncodeToString(sum[:])})
	}
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return testRPMFile{path: fixDir(product, v) + "/manifest.json", mode: 0o100644, body: data, headerSize: -1}
}

// headerBuilder writes an rpm header structure.
type headerBuilder struct {
	index []byte
	store []byte
	count int
}

func (b *headerBuilder) add(tag, typ int, count int, data []byte, align int) {
	for align > 1 && len(b.store)%align != 0 {
		b.store = append(b.store, 0)
	}
	var e [16]byte
	binary.BigEndian.PutUint32(e[0:], uint32(tag))
	binary.BigEndian.PutUint32(e[4:], uint32(typ))
	binary.BigEndian.PutUint32(e[8:], uint32(len(b.store)))
	binary.BigEndian.PutUint32(e[12:], uint32(count))
	b.index = append(b.index, e[:]...)
	b.store = append(b.store, data...)
	b.count++
}

func (b *headerBuilder) str(tag int, s string) { b.add(tag, 6, 1, append([]byte(s), 0), 1) }
func (b *headerBuilder) strs(tag int, ss []string) {
	var d []byte
	for _, s := range ss {
		d = append(append(d, s...), 0)
	}
	b.add(tag, 8, len(ss), d, 1)
}
func (b *headerBuilder) int32s(tag int, v []int64) {
	d := make([]byte, 4*len(v))
	for i, x := range v {
		binary.BigEndian.PutUint32(d[4*i:], uint32(x))
	}
	b.add(tag, 4, len(v), d, 4)
}
func (b *headerBuilder) int16s(tag int, v []int64) {
	d := make([]byte, 2*len(v))
	for i, x := range v {
		binary.BigEndian.PutUint16(d[2*i:], uint16(x))
	}
	b.add(tag, 3, len(v), d, 2)
}
func (b *headerBuilder) bytes() []byte {
	var intro [16]byte
	copy(intro[:], []byte{0x8e, 0xad, 0xe8, 0x01})
	binary.BigEndian.PutUint32(intro[8:], uint32(b.count))
	binary.BigEndian.PutUint32(intro[12:], uint32(len(b.store)))
	return append(append(intro[:], b.index...), b.store...)
}

// build writes the package and returns its path. It is long because it
// lays out a whole package byte by byte (lead, signature header, header,
// payload) so that each hostile case can bend exactly one field.
func (s testRPM) build(t testing.TB, dir string) string {
	t.Helper()
	var payload bytes.Buffer
	zw := compressor(t, s.compressor, &payload)
	cw := cpio.NewWriter(zw)
	for _, f := range s.files {
		if f.omitCPIO {
			continue
		}
		name := f.cpioName
		if name == "" {
			name = f.path
		}
		links := f.links
		if links == 0 {
			links = 1
		}
		hdr := &cpio.Header{Name: name, Mode: cpio.FileMode(f.mode), Size: int64(len(f.body)), Links: links}
		if err := cw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := cw.Write(f.body); err != nil {
			t.Fatal(err)
		}
	}
	closeCPIO := cw.Close
	if s.noTrailer {
		closeCPIO = cw.Flush
	}
	if err := closeCPIO(); err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(s.afterTrailer); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	payload.Write(s.afterStream)
	payload.Truncate(payload.Len() - s.cutStream)
	compressor, _, _ := strings.Cut(s.compressor, "-") // "zstd-256MiB-window" is zstd
	if compressor == "" {
		compressor = "zstd"
	}
	h := &headerBuilder{}
	h.str(1000, s.name)
	h.str(1001, "1")
	h.str(1002, "0")
	h.str(1004, "hostile")
	h.strs(1047, []string{s.product + "-hotfix", s.name})
	h.int32s(1112, []int64{8, 8})
	h.strs(1113, []string{s.version, "1-0"})
	h.str(1124, "cpio")
	h.str(1125, compressor)
	var sizes, modes, idx []int64
	var bases, dirs []string
	dirIndex := map[string]int64{}
	for _, f := range s.files {
		d, b := filepath.Dir(f.path)+"/", filepath.Base(f.path)
		if _, ok := dirIndex[d]; !ok {
			dirIndex[d] = int64(len(dirs))
			dirs = append(dirs, d)
		}
		size := f.headerSize
		if size < 0 {
			size = int64(len(f.body))
		}
		sizes, modes, idx, bases = append(sizes, size), append(modes, int64(f.mode)), append(idx, dirIndex[d]), append(bases, b)
	}
	h.int32s(1028, sizes)
	h.int16s(1030, modes)
	h.int32s(1116, idx)
	h.strs(1117, bases)
	h.strs(1118, dirs)
	sum := sha256.Sum256(payload.Bytes())
	h.strs(5092, []string{hex.EncodeToString(sum[:])})
	h.int32s(5093, []int64{8})
	hdr := h.bytes()

	sig := &headerBuilder{}
	hsum := sha256.Sum256(hdr)
	sig.str(273, hex.EncodeToString(hsum[:]))
	if s.sign {
		b, err := vendorSigner(t).SignDetachedBinary(bytes.NewReader(hdr))
		if err != nil {
			t.Fatal(err)
		}
		sig.add(268, 7, len(b), b, 1)
	}
	sb := sig.bytes()
	for len(sb)%8 != 0 {
		sb = append(sb, 0)
	}
	lead := make([]byte, 96)
	copy(lead, []byte{0xed, 0xab, 0xee, 0xdb, 3, 0})
	copy(lead[10:], s.name)
	binary.BigEndian.PutUint16(lead[78:], 5)
	var out bytes.Buffer
	out.Write(lead)
	out.Write(sb)
	out.Write(hdr)
	out.Write(payload.Bytes())
	p := filepath.Join(dir, s.name+"-1-0.noarch.rpm")
	if err := os.WriteFile(p, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// hostileBase is a valid hand-made fix package: 2.4.1.1 shipping a.txt.
func hostileBase(t testing.TB) testRPM {
	body := []byte("hello\n")
	base := "/var/lib/hotfix/incoming/acme/2.4.1.1"
	return testRPM{name: "acme-hotfix-2_4_1_1", product: "acme", version: "2.4.1.1", sign: true, files: []testRPMFile{
		{path: base, mode: 0o040755, headerSize: 4096},
		{path: base + "/files", mode: 0o040755, headerSize: 4096},
		{path: base + "/files/a.txt", mode: 0o100644, body: body, headerSize: -1},
		manifestFile(t, "acme", "2.4.1.1", map[string][]byte{"a.txt": body}),
	}}
}

func TestReadHostileRPMs(t *testing.T) {
	base := "/var/lib/hotfix/incoming/acme/2.4.1.1"
	tests := []struct {
		name   string
		mutate func(s *testRPM)
		file   func(t *testing.T, path string) // damages the written file
		want   string
	}{
		{"hand-made valid package", func(s *testRPM) {}, nil, ""},
		{"xz-less gzip? unknown compression", func(s *testRPM) { s.compressor = "lzma" }, nil, `payload compression "lzma" is not supported`},
		{"traversal in a cpio name", func(s *testRPM) {
			s.files = append(s.files, testRPMFile{path: base + "/files/../../../../../../../etc/evil", mode: 0o100644, body: []byte("x"), headerSize: -1})
		}, nil, "climbs out with '..'"},
		{"relative cpio name", func(s *testRPM) {
			s.files[2].cpioName = "var/lib/hotfix/incoming/acme/2.4.1.1/files/a.txt"
		}, nil, `must start with "./" or "/"`},
		{"a device entry", func(s *testRPM) {
			s.files = append(s.files, testRPMFile{path: base + "/files/dev", mode: 0o020644, headerSize: 0})
		}, nil, "is a device, fifo or socket"},
		{"a fifo entry", func(s *testRPM) {
			s.files = append(s.files, testRPMFile{path: base + "/files/fifo", mode: 0o010644, headerSize: 0})
		}, nil, "is a device, fifo or socket"},
		{"a symlink", func(s *testRPM) {
			s.files = append(s.files, testRPMFile{path: base + "/files/link", mode: 0o120777, body: []byte("/etc/shadow"), headerSize: -1})
		}, nil, "is a symbolic link"},
		{"a hard link", func(s *testRPM) { s.files[2].links = 2 }, nil, "is a hard link"},
		{"header lies about a size", func(s *testRPM) { s.files[2].headerSize = 2 }, nil, "size 6 differs from the header's 2"},
		{"payload longer than the header allows", func(s *testRPM) {
			s.files[2].headerSize = 0
			s.files[2].body = bytes.Repeat([]byte("A"), 1<<20)
		}, nil, "size 1048576 differs from the header's 0"},
		{"entry not in the header", func(s *testRPM) { s.files[2].cpioName = base + "/files/b.txt" }, nil, "not in the header's file list"},
		{"file missing from the payload", func(s *testRPM) { s.files[2].omitCPIO = true }, nil, "listed in the header but missing from the payload"},
		{"a name that is not UTF-8", func(s *testRPM) {
			s.files = append(s.files, testRPMFile{path: base + "/files/caf\xe9.txt", mode: 0o100644, body: []byte("x"), headerSize: -1})
		}, nil, "not valid UTF-8"},
		{"a control character in a name", func(s *testRPM) {
			s.files = append(s.files, testRPMFile{path: base + "/files/a\x1b[2Jb.txt", mode: 0o100644, body: []byte("x"), headerSize: -1})
		}, nil, "control character"},
		{"outside the incoming directory", func(s *testRPM) {
			s.files = append(s.files, testRPMFile{path: "/etc/cron.d/evil", mode: 0o100644, body: []byte("x"), headerSize: -1})
		}, nil, "outside /var/lib/hotfix/incoming/acme/2.4.1.1"},
		{"file not in the manifest", func(s *testRPM) {
			s.files = append(s.files, testRPMFile{path: base + "/files/extra.txt", mode: 0o100644, body: []byte("x"), headerSize: -1})
		}, nil, `"files/extra.txt": not listed in the manifest`},
		{"content differs from the manifest", func(s *testRPM) { s.files[2].body = []byte("HELLO\n") }, nil, "does not match the manifest's"},
		{"no manifest", func(s *testRPM) { s.files = s.files[:3] }, nil, "no manifest.json"},
		{"not a fix package", func(s *testRPM) { s.product = ""; s.name = "bash" }, nil, "is not a hotfix fix package"},
		{"name does not match provides", func(s *testRPM) { s.name = "acme-hotfix-9" }, nil, "must be named acme-hotfix-2_4_1_1"},
		{"unsigned", func(s *testRPM) { s.sign = false }, nil, "not signed"},
		{"payload digest mismatch", func(s *testRPM) {}, func(t *testing.T, p string) {
			data, _ := os.ReadFile(p)
			data[len(data)-3] ^= 0xff
			os.WriteFile(p, data, 0o644)
		}, "payload digest mismatch"},
		{"bad signature (header changed, digest recomputed)", func(s *testRPM) {}, func(t *testing.T, p string) {
			data, _ := os.ReadFile(p)
			h, err := ReadHeader(p)
			if err != nil {
				t.Fatal(err)
			}
			hdr := data[h.HeaderStart:h.HeaderEnd]
			oldSum := sha256.Sum256(hdr)
			i := bytes.Index(hdr, []byte("hostile"))
			copy(hdr[i:], "HOSTILE")
			newSum := sha256.Sum256(hdr)
			data = bytes.Replace(data, []byte(hex.EncodeToString(oldSum[:])), []byte(hex.EncodeToString(newSum[:])), 1)
			os.WriteFile(p, data, 0o644)
		}, "bad header signature"},
		{"header changed", func(s *testRPM) {}, func(t *testing.T, p string) {
			data, _ := os.ReadFile(p)
			i := bytes.Index(data, []byte("hostile"))
			copy(data[i:], "HOSTILE")
			os.WriteFile(p, data, 0o644)
		}, "header digest mismatch"},
		{"truncated", func(s *testRPM) {}, func(t *testing.T, p string) {
			data, _ := os.ReadFile(p)
			os.WriteFile(p, data[:300], 0o644)
		}, "invalid RPM fix package"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := hostileBase(t)
			tt.mutate(&s)
			dir := t.TempDir()
			p := s.build(t, dir)
			if tt.file != nil {
				tt.file(t, p)
			}
			dest := filepath.Join(dir, "staging")
			_, err := Extract(context.Background(), p, dest, vendorTrust(t))
			checkErr(t, err, tt.want)
			if err != nil {
				if _, serr := os.Lstat(dest); !errors.Is(serr, fs.ErrNotExist) {
					t.Errorf("staging %s left behind after refusal", dest)
				}
				entries, _ := os.ReadDir(dir)
				if len(entries) != 1 {
					t.Errorf("something was written next to the package: %v", entries)
				}
			}
		})
	}
}

func TestReadHeaderBounds(t *testing.T) {
	s := hostileBase(t)
	p := s.build(t, t.TempDir())
	good, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	h, err := ReadHeader(p)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(b []byte)
		want string
	}{
		{"not an rpm", func(b []byte) { b[0] = 'x' }, "bad lead magic"},
		{"huge index count", func(b []byte) { binary.BigEndian.PutUint32(b[h.HeaderStart+8:], 0xffffffff) }, "index entries"},
		{"huge store", func(b []byte) { binary.BigEndian.PutUint32(b[h.HeaderStart+12:], 0x7fffffff) }, "data bytes"},
		{"huge int16 count", func(b []byte) {
			// The first index entry of the main header becomes an INT16
			// array of 2^32-1 values: the library would allocate 32 GiB.
			e := b[h.HeaderStart+16:]
			binary.BigEndian.PutUint32(e[4:], 3)
			binary.BigEndian.PutUint32(e[12:], 0xffffffff)
		}, "runs past the header data"},
		{"bad header magic", func(b []byte) { b[h.HeaderStart] = 0 }, "header: bad magic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := append([]byte(nil), good...)
			tt.edit(b)
			p := filepath.Join(t.TempDir(), "x.rpm")
			os.WriteFile(p, b, 0o644)
			_, err := ReadHeader(p)
			checkErr(t, err, tt.want)
		})
	}
}

func FuzzReadRPM(f *testing.F) {
	dir := f.TempDir()
	s := hostileBase(f)
	for _, compressor := range []string{"zstd", "gzip", "xz"} {
		s.compressor = compressor
		s.name = "acme-hotfix-2_4_1_1"
		data, err := os.ReadFile(s.build(f, dir))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(data[:len(data)/2])
	}
	// The ends of a payload (end_test.go): what follows the trailer, a
	// missing trailer, what follows the compressed stream.
	for _, mutate := range []func(s *testRPM){
		func(s *testRPM) { s.afterTrailer = hiddenCPIO(f) },
		func(s *testRPM) { s.noTrailer = true },
		func(s *testRPM) { s.afterStream = []byte("garbage") },
		func(s *testRPM) { s.afterTrailer = make([]byte, 1024) },
	} {
		s := hostileBase(f)
		mutate(&s)
		data, err := os.ReadFile(s.build(f, f.TempDir()))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte{0xed, 0xab, 0xee, 0xdb})
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		p := filepath.Join(dir, "f.rpm")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		Extract(ctx, p, filepath.Join(dir, "x"), Trust{})
		// Reach the payload parser even when the digest would stop it.
		h, err := ReadHeader(p)
		if err != nil {
			return
		}
		if int(h.HeaderEnd) <= len(data) {
			h.readPayload(ctx, bytes.NewReader(data[h.HeaderEnd:]), nil)
		}
	})
}
