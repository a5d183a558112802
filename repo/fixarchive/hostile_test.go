package fixarchive

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash/crc32"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/internal/xzsafe"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/ulikunitz/xz"
)

// tarEntry is one entry of a hand-made archive.
type tarEntry struct {
	hdr  tar.Header
	body []byte
}

func reg(name string, body []byte) tarEntry {
	return tarEntry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Size: int64(len(body)), Mode: 0o644, ModTime: testEpoch, Format: tar.FormatPAX}, body: body}
}

// makeArchive writes entries as a tar.xz stream, as hotfix pack would,
// but without any of its checks.
func makeArchive(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	xw, err := xz.WriterConfig{DictCap: 1 << 20}.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(xw)
	for _, e := range entries {
		h := e.hdr
		if h.ModTime.IsZero() {
			h.ModTime = testEpoch
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("%s: %v", h.Name, err)
		}
		if _, err := tw.Write(e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := xw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

var (
	okBody   = []byte("<?php // fixed\n")
	evilBody = []byte("root::0:0:root:/root:/bin/sh\n")
)

// hostileManifest is a valid manifest of acme 2.4.1.2 listing files; edit
// may change it before it is encoded.
func hostileManifest(t *testing.T, files map[string][]byte, edit func(m map[string]any)) []byte {
	t.Helper()
	m := repo.Manifest{Format: repo.ManifestFormat, Product: "acme", Version: repo.MustParseVersion("2.4.1.2"),
		Base: repo.MustParseVersion("2.4.1"), Requires: repo.MustParseVersion("2.4.1.1"),
		Summary: "hostile fixture", Bugs: []repo.Bug{{ID: "EVIL-1", Summary: "evil"}}, Files: []repo.FileEntry{}, Scripts: []repo.FileEntry{}}
	for _, p := range sortedKeys(files) {
		m.Files = append(m.Files, repo.FileEntry{Path: p, Size: int64(len(files[p])), Mode: 0o644, SHA256: sha(files[p])})
	}
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if edit == nil {
		return data
	}
	var raw map[string]any
	if err := jsonUnmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	edit(raw)
	return jsonMarshal(t, raw)
}

// hostileCase is one committed fixture and what every reader must say.
type hostileCase struct {
	name string // file under testdata/hostile/
	make func(t *testing.T) []byte
	want []string // the error must mention each
}

func hostileCases() []hostileCase {
	ok := map[string][]byte{"lib/ok.php": okBody}
	man := func(t *testing.T) tarEntry { return reg(repo.ManifestName, hostileManifest(t, ok, nil)) }
	valid := func(t *testing.T) []byte {
		return makeArchive(t, man(t), reg("files/lib/ok.php", okBody))
	}
	link := func(typ byte, name, target string) tarEntry {
		return tarEntry{hdr: tar.Header{Typeflag: typ, Name: name, Linkname: target, Mode: 0o777, Format: tar.FormatPAX}}
	}
	return append([]hostileCase{
		{"traversal.fix", func(t *testing.T) []byte {
			return makeArchive(t, man(t), reg("files/../../etc/passwd", evilBody), reg("files/lib/ok.php", okBody))
		}, []string{`"files/../../etc/passwd"`, "climbs out"}},
		{"absolute.fix", func(t *testing.T) []byte {
			return makeArchive(t, man(t), reg("/etc/passwd", evilBody), reg("files/lib/ok.php", okBody))
		}, []string{`"/etc/passwd"`, "absolute path"}},
		{"symlink.fix", func(t *testing.T) []byte {
			return makeArchive(t, man(t), link(tar.TypeSymlink, "files/lib/ok.php", "/etc/passwd"))
		}, []string{`"files/lib/ok.php"`, "is a link", "/etc/passwd"}},
		{"hardlink.fix", func(t *testing.T) []byte {
			return makeArchive(t, man(t), link(tar.TypeLink, "files/lib/ok.php", "manifest.json"))
		}, []string{`"files/lib/ok.php"`, "is a link"}},
		{"device.fix", func(t *testing.T) []byte {
			dev := tarEntry{hdr: tar.Header{Typeflag: tar.TypeChar, Name: "files/lib/ok.php", Devmajor: 1, Devminor: 3, Mode: 0o666, Format: tar.FormatPAX}}
			return makeArchive(t, man(t), dev)
		}, []string{`"files/lib/ok.php"`, "device"}},
		{"duplicate.fix", func(t *testing.T) []byte {
			return makeArchive(t, man(t), reg("files/lib/ok.php", okBody), reg("files/lib/ok.php", okBody))
		}, []string{`"files/lib/ok.php"`, "duplicate entry"}},
		{"duplicate-manifest.fix", func(t *testing.T) []byte {
			return makeArchive(t, man(t), reg("files/lib/ok.php", okBody), man(t))
		}, []string{`"manifest.json"`, "duplicate entry"}},
		{"not-in-manifest.fix", func(t *testing.T) []byte {
			return makeArchive(t, man(t), reg("files/lib/ok.php", okBody), reg("files/lib/extra.php", evilBody))
		}, []string{`"files/lib/extra.php"`, "not listed in the manifest"}},
		{"missing-entry.fix", func(t *testing.T) []byte {
			m := hostileManifest(t, map[string][]byte{"lib/ok.php": okBody, "lib/gone.php": okBody}, nil)
			return makeArchive(t, reg(repo.ManifestName, m), reg("files/lib/ok.php", okBody))
		}, []string{`"files/lib/gone.php"`, "missing from the archive"}},
		{"hash-mismatch.fix", func(t *testing.T) []byte {
			other := bytes.ToUpper(okBody) // same size, other bytes
			return makeArchive(t, man(t), reg("files/lib/ok.php", other))
		}, []string{`"files/lib/ok.php"`, "sha256", sha(bytes.ToUpper(okBody)), sha(okBody)}},
		{"size-mismatch.fix", func(t *testing.T) []byte {
			return makeArchive(t, man(t), reg("files/lib/ok.php", append(bytes.Clone(okBody), "extra"...)))
		}, []string{`"files/lib/ok.php"`, "size 20 differs from the manifest's 15"}},
		{"manifest-not-first.fix", func(t *testing.T) []byte {
			return makeArchive(t, reg("files/lib/ok.php", okBody), man(t))
		}, []string{`"files/lib/ok.php"`, "first entry must be manifest.json"}},
		{"no-manifest.fix", func(t *testing.T) []byte {
			return makeArchive(t)
		}, []string{"no entries", "first entry must be manifest.json"}},
		{"truncated.fix", func(t *testing.T) []byte {
			// Incompressible payload, so the cut lands inside the data.
			r := rand.New(rand.NewPCG(1, 2))
			body := make([]byte, 32<<10)
			for i := range body {
				body[i] = byte(r.Uint32())
			}
			full := makeArchive(t, reg(repo.ManifestName, hostileManifest(t, map[string][]byte{"lib/big.bin": body}, nil)), reg("files/lib/big.bin", body))
			return full[:len(full)/2]
		}, []string{"truncated xz stream", "unexpected EOF"}},
		{"huge-dictionary.fix", func(t *testing.T) []byte {
			return withDictProp(t, valid(t), 37) // 1.5 GiB
		}, []string{"dictionary", "1536 MiB"}},
		{"garbage.fix", func(t *testing.T) []byte {
			r := rand.New(rand.NewPCG(3, 4))
			b := make([]byte, 4096)
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			return b
		}, []string{"xz"}},
		{"empty.fix", func(t *testing.T) []byte { return []byte{} }, []string{"xz"}},
		{"unknown-field.fix", func(t *testing.T) []byte {
			m := hostileManifest(t, ok, func(m map[string]any) { m["run_as"] = "root" })
			return makeArchive(t, reg(repo.ManifestName, m), reg("files/lib/ok.php", okBody))
		}, []string{`"manifest.json"`, "unknown field", "run_as"}},
		{"format-2.fix", func(t *testing.T) []byte {
			m := hostileManifest(t, ok, func(m map[string]any) { m["format"] = 2 })
			return makeArchive(t, reg(repo.ManifestName, m), reg("files/lib/ok.php", okBody))
		}, []string{`"manifest.json"`, "format 2 is not supported"}},
		{"bad-version.fix", func(t *testing.T) []byte {
			m := hostileManifest(t, ok, func(m map[string]any) { m["version"] = "2.4.01.2" })
			return makeArchive(t, reg(repo.ManifestName, m), reg("files/lib/ok.php", okBody))
		}, []string{`"manifest.json"`, `part "01"`}},
		{"base-mismatch.fix", func(t *testing.T) []byte {
			m := hostileManifest(t, ok, func(m map[string]any) { m["base"] = "2.4.0" })
			return makeArchive(t, reg(repo.ManifestName, m), reg("files/lib/ok.php", okBody))
		}, []string{`"manifest.json"`, "base 2.4.0 does not match version 2.4.1.2"}},
		{"manifest-traversal.fix", func(t *testing.T) []byte {
			m := hostileManifest(t, map[string][]byte{"../../etc/passwd": evilBody}, nil)
			return makeArchive(t, reg(repo.ManifestName, m), reg("files/../../etc/passwd", evilBody))
		}, []string{`"manifest.json"`, "climbs out"}},
	}, endCases()...)
}

// The committed fixtures are exactly what the generator makes; -update
// rewrites them.
func TestHostileFixtures(t *testing.T) {
	for _, c := range hostileCases() {
		t.Run(c.name, func(t *testing.T) { testkit.Golden(t, "hostile/"+c.name, c.make(t)) })
	}
	t.Run("good.fix", func(t *testing.T) {
		testkit.Golden(t, "hostile/good.fix", makeArchive(t, reg(repo.ManifestName, hostileManifest(t, map[string][]byte{"lib/ok.php": okBody}, nil)), reg("files/lib/ok.php", okBody)))
	})
}

func TestHostileArchives(t *testing.T) {
	// The control: the same generator's well-formed archive is accepted,
	// so each refusal below is about its one hostile detail.
	t.Run("good.fix", func(t *testing.T) {
		good := filepath.Join("testdata", "hostile", "good.fix")
		if _, err := VerifyArchiveFile(t.Context(), good); err != nil {
			t.Fatal(err)
		}
		dest := filepath.Join(t.TempDir(), "x")
		f, _ := os.Open(good)
		defer f.Close()
		if _, err := Extract(t.Context(), f, dest); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(filepath.Join(dest, "files", "lib", "ok.php")); !bytes.Equal(got, okBody) {
			t.Errorf("extracted %q", got)
		}
	})

	for _, c := range hostileCases() {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join("testdata", "hostile", c.name)

			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			_, err := VerifyArchiveFile(t.Context(), path)
			runtime.ReadMemStats(&ms1)
			testkit.WantErr(t, err, append([]string{path}, c.want...)...)
			if !errors.Is(err, ErrArchive) {
				t.Errorf("error %v is not ErrArchive", err)
			}
			if alloc := ms1.TotalAlloc - ms0.TotalAlloc; alloc > 32<<20 {
				t.Errorf("refusing %s allocated %d MiB", c.name, alloc>>20)
			}

			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			dest := filepath.Join(t.TempDir(), "dest")
			_, err = Extract(t.Context(), f, dest)
			testkit.WantErr(t, err, c.want...)
			if _, serr := os.Lstat(dest); !errors.Is(serr, os.ErrNotExist) {
				t.Errorf("Extract left %s behind after refusing the archive", dest)
			}
		})
	}
	if _, err := os.Stat("/etc/passwd"); err != nil {
		t.Fatal(err)
	}
}

func TestHugeDictionaryIsXZSafe(t *testing.T) {
	_, err := VerifyArchiveFile(t.Context(), filepath.Join("testdata", "hostile", "huge-dictionary.fix"))
	if !errors.Is(err, xzsafe.ErrDictTooLarge) {
		t.Fatalf("err = %v, want xzsafe.ErrDictTooLarge", err)
	}
}

// withDictProp returns a copy of the single-block xz stream s whose block
// header asks for the dictionary of property byte prop, with a valid CRC.
func withDictProp(t *testing.T, s []byte, prop byte) []byte {
	t.Helper()
	s = bytes.Clone(s)
	const blk = 12 // the block header follows the 12-byte stream header
	size := (int(s[blk]) + 1) * 4
	flags := s[blk+1]
	p := blk + 2
	for _, bit := range []byte{0x40, 0x80} { // optional compressed/uncompressed sizes
		if flags&bit != 0 {
			for s[p]&0x80 != 0 {
				p++
			}
			p++
		}
	}
	if s[p] != 0x21 || s[p+1] != 1 {
		t.Fatalf("block filter %#x with %d property bytes, want LZMA2", s[p], s[p+1])
	}
	s[p+2] = prop
	binary.LittleEndian.PutUint32(s[blk+size-4:], crc32.ChecksumIEEE(s[blk:blk+size-4]))
	return s
}

func sortedKeys(m map[string][]byte) []string { return slices.Sorted(maps.Keys(m)) }

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

func jsonMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}
