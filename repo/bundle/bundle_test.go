package bundle

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/repo"
)

// fixture is a channel of n fixes with random-looking archives, some with
// an RPM, and its bundle.
type fixture struct {
	ix       *repo.Index
	raw      []byte
	files    map[string][]byte
	keys     map[string][]byte
	from     *repo.Version
	modified time.Time
}

func newFixture(t testing.TB, n int) *fixture {
	t.Helper()
	base := repo.MustParseVersion("2.4.1")
	gen := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	fx := &fixture{files: map[string][]byte{}, keys: map[string][]byte{
		"1.root.json": []byte(`{"version":1}`), "1.root.json.asc": []byte("sig"), "ABCDEF.asc": []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n"),
	}, modified: time.Unix(1700000000, 0)}
	ix := &repo.Index{Format: repo.IndexFormat, Product: "acme", Base: base, Serial: 7, Generated: gen, Expires: gen.Add(24 * time.Hour), Fixes: []repo.IndexFix{}}
	for i := 1; i <= n; i++ {
		v := base.Fix(i)
		data := bytes.Repeat([]byte(fmt.Sprintf("archive %d;", i)), 100*i)
		f := repo.IndexFix{Version: v, Requires: v.Requires(), File: repo.ArchiveName("acme", v), Size: int64(len(data)), SHA256: sum(data), Bugs: []repo.BugRef{}}
		fx.files[f.File] = data
		if i%2 == 0 {
			rpm := append([]byte("rpm "), data...)
			f.RPM = &repo.RPMRef{File: "acme-hotfix-" + v.String() + ".rpm", Size: int64(len(rpm)), SHA256: sum(rpm)}
			fx.files[f.RPM.File] = rpm
		}
		ix.Fixes = append(ix.Fixes, f)
	}
	raw, err := ix.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	fx.ix, fx.raw = ix, raw
	return fx
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func memFile(name string, data []byte) File {
	return File{Name: name, Size: int64(len(data)), Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}
}

// bundle writes the fixture's bundle.
func (fx *fixture) bundle(t testing.TB) []byte {
	t.Helper()
	b := &Bundle{Header: Header{Format: Format, Product: fx.ix.Product, Base: fx.ix.Base, From: fx.from},
		Index: fx.raw, Sig: []byte("signature"), ModTime: fx.modified}
	from := b.Header.FromVersion()
	for _, f := range Carried(fx.ix, from) {
		b.Archives = append(b.Archives, memFile(f.File, fx.files[f.File]))
		if f.RPM != nil {
			b.Archives = append(b.Archives, memFile(f.RPM.File, fx.files[f.RPM.File]))
		}
	}
	for _, name := range []string{"1.root.json", "1.root.json.asc", "ABCDEF.asc"} {
		b.Keys = append(b.Keys, memFile(name, fx.keys[name]))
	}
	var buf bytes.Buffer
	if err := Write(context.Background(), &buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// memSink keeps committed archives in a map.
type memSink struct {
	name string
	buf  bytes.Buffer
	kept map[string][]byte
	open map[string]bool
}

func (s *memSink) Write(p []byte) (int, error) { return s.buf.Write(p) }
func (s *memSink) Commit() error {
	s.kept[s.name] = s.buf.Bytes()
	delete(s.open, s.name)
	return nil
}
func (s *memSink) Abort() { delete(s.open, s.name) }

// reading is one Read with in-memory sinks: what it kept, what it left
// open (must be nothing), the keys it got.
type reading struct {
	kept map[string][]byte
	open map[string]bool
	keys map[string][]byte
	c    *Contents
	err  error
}

func read(data []byte) *reading {
	rd := &reading{kept: map[string][]byte{}, open: map[string]bool{}, keys: map[string][]byte{}}
	rd.c, rd.err = Read(context.Background(), bytes.NewReader(data), Handler{
		Index: func(h *Header, data, sig []byte) (*repo.Index, error) {
			if string(sig) != "signature" {
				return nil, errors.New("bad signature")
			}
			return repo.ParseIndex(data)
		},
		Archive: func(name string) (Sink, error) {
			rd.open[name] = true
			return &memSink{name: name, kept: rd.kept, open: rd.open}, nil
		},
		Key: func(name string, data []byte) error { rd.keys[name] = data; return nil },
	})
	return rd
}

func TestRoundTrip(t *testing.T) {
	fx := newFixture(t, 4)
	data := fx.bundle(t)
	if again := fx.bundle(t); !bytes.Equal(data, again) {
		t.Fatal("two writes of the same bundle differ")
	}
	rd := read(data)
	if rd.err != nil {
		t.Fatal(rd.err)
	}
	if len(rd.kept) != len(fx.files) {
		t.Fatalf("kept %d archives, want %d", len(rd.kept), len(fx.files))
	}
	for name, want := range fx.files {
		if !bytes.Equal(rd.kept[name], want) {
			t.Errorf("%s differs", name)
		}
	}
	if len(rd.keys) != 3 || string(rd.keys["1.root.json"]) != `{"version":1}` {
		t.Errorf("keys = %v", rd.keys)
	}
	if rd.c.Index.Serial != 7 || len(rd.c.Fixes) != 4 {
		t.Errorf("contents = %+v", rd.c)
	}
	// tar reads it too: entries in the documented order, deterministic.
	tr := tar.NewReader(bytes.NewReader(data))
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !h.ModTime.Equal(fx.modified) || h.Mode != 0o644 || h.Uid != 0 {
			t.Errorf("%s: header %+v", h.Name, h)
		}
		names = append(names, h.Name)
	}
	want := "hotfix-export.json acme/2.4.1/index.json acme/2.4.1/index.json.asc acme/2.4.1/acme-2.4.1.1.fix acme/2.4.1/acme-2.4.1.2.fix acme/2.4.1/acme-hotfix-2.4.1.2.rpm"
	if got := strings.Join(names, " "); !strings.HasPrefix(got, want) || !strings.HasSuffix(got, "keys/1.root.json keys/1.root.json.asc keys/ABCDEF.asc") {
		t.Errorf("entries: %s", got)
	}
}

func TestFrom(t *testing.T) {
	fx := newFixture(t, 4)
	v := repo.MustParseVersion("2.4.1.3")
	fx.from = &v
	rd := read(fx.bundle(t))
	if rd.err != nil {
		t.Fatal(rd.err)
	}
	if len(rd.c.Fixes) != 2 || !rd.c.Fixes[0].Version.Equal(v) {
		t.Errorf("fixes = %v", rd.c.Fixes)
	}
	if _, ok := rd.kept["acme-2.4.1.2.fix"]; ok || len(rd.kept) != 3 {
		t.Errorf("kept %v", len(rd.kept))
	}
}
