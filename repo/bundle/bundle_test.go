package bundle

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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
	// withExtras adds these (format 2)
	root      *Signed
	repomd    []byte   // JSON of the repodata FileRefs, as the test's Repodata handler reads it
	repodata  []string // names, relative to the channel
	customers []customFx
}

type customFx struct {
	name string
	raw  []byte
	ix   *repo.CustomIndex
}

// withExtras gives the fixture repo.json, repodata and two customer
// channels.
func (fx *fixture) withExtras(t testing.TB) *fixture {
	t.Helper()
	fx.root = &Signed{Data: []byte(`{"repo":1}`), Sig: []byte("signature")}
	var refs []FileRef
	for _, n := range []string{"repodata/aaa-primary.xml.gz", "repodata/bbb-filelists.xml.gz"} {
		data := bytes.Repeat([]byte(n), 50)
		fx.files[n] = data
		fx.repodata = append(fx.repodata, n)
		refs = append(refs, FileRef{Name: n, Size: int64(len(data)), SHA256: sum(data)})
	}
	fx.repomd, _ = json.Marshal(refs)
	for _, c := range []string{"shop-a", "shop-b"} {
		ix := &repo.CustomIndex{Format: repo.IndexFormat, Kind: repo.KindCustom, Product: "acme", Base: fx.ix.Base, Customer: c,
			Serial: 3, Generated: fx.ix.Generated, Expires: fx.ix.Expires}
		for i, id := range []string{"IS-1", "IS-2"} {
			file := "acme-custom-" + id + "-1.0.fix"
			data := bytes.Repeat([]byte(c+id), 30+i)
			fx.files[repo.CustomDir+"/"+c+"/"+file] = data
			ix.Fixes = append(ix.Fixes, repo.CustomIndexFix{ID: id, Version: repo.MustParseVersion("1.0"), File: file,
				Size: int64(len(data)), SHA256: sum(data), Bugs: []repo.BugRef{}, Paths: []string{"custom/" + id}})
		}
		raw, err := ix.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		fx.customers = append(fx.customers, customFx{c, raw, ix})
	}
	return fx
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
	b.Root = fx.root
	if fx.repomd != nil {
		b.RepoMD = &Signed{Data: fx.repomd, Sig: []byte("signature")}
		for _, n := range fx.repodata {
			b.Repodata = append(b.Repodata, memFile(n, fx.files[n]))
		}
	}
	for _, c := range fx.customers {
		cc := CustomChannel{Customer: c.name, Index: Signed{Data: c.raw, Sig: []byte("signature")}}
		for _, f := range c.ix.Fixes {
			cc.Archives = append(cc.Archives, memFile(f.File, fx.files[repo.CustomDir+"/"+c.name+"/"+f.File]))
		}
		b.Customers = append(b.Customers, cc)
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

func read(data []byte, edits ...func(*Handler)) *reading {
	rd := &reading{kept: map[string][]byte{}, open: map[string]bool{}, keys: map[string][]byte{}}
	checkSig := func(sig []byte) error {
		if string(sig) != "signature" {
			return errors.New("bad signature")
		}
		return nil
	}
	h := Handler{
		Index: func(h *Header, data, sig []byte) (*repo.Index, error) {
			if err := checkSig(sig); err != nil {
				return nil, err
			}
			if h.Format >= 2 && len(rd.keys) == 0 {
				return nil, errors.New("the index came before the keys")
			}
			return repo.ParseIndex(data)
		},
		Root: func(data, sig []byte) error { return checkSig(sig) },
		Repodata: func(md, sig []byte) ([]FileRef, error) {
			if err := checkSig(sig); err != nil {
				return nil, err
			}
			var refs []FileRef
			return refs, json.Unmarshal(md, &refs)
		},
		Custom: func(customer string, data, sig []byte) (*repo.CustomIndex, error) {
			if err := checkSig(sig); err != nil {
				return nil, err
			}
			return repo.ParseCustomIndex(data)
		},
		Archive: func(name string) (Sink, error) {
			rd.open[name] = true
			return &memSink{name: name, kept: rd.kept, open: rd.open}, nil
		},
		Key: func(name string, data []byte) error { rd.keys[name] = data; return nil },
	}
	for _, e := range edits {
		e(&h)
	}
	rd.c, rd.err = Read(context.Background(), bytes.NewReader(data), h)
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
	want := "hotfix-export.json keys/1.root.json keys/1.root.json.asc keys/ABCDEF.asc acme/2.4.1/index.json acme/2.4.1/index.json.asc acme/2.4.1/acme-2.4.1.1.fix acme/2.4.1/acme-2.4.1.2.fix acme/2.4.1/acme-hotfix-2.4.1.2.rpm"
	if got := strings.Join(names, " "); !strings.HasPrefix(got, want) {
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

// TestExtras: repo.json, repodata and customer channels travel in the
// documented order and come out verified; a reader without a Repodata
// handler reads the repodata into no sink.
func TestExtras(t *testing.T) {
	fx := newFixture(t, 2).withExtras(t)
	data := fx.bundle(t)
	rd := read(data)
	if rd.err != nil {
		t.Fatal(rd.err)
	}
	for name, want := range fx.files {
		if !bytes.Equal(rd.kept[name], want) {
			t.Errorf("%s not kept as written", name)
		}
	}
	if len(rd.kept) != len(fx.files) || len(rd.c.Customers) != 2 || len(rd.c.Repodata) != 2 || string(rd.c.Root.Data) != `{"repo":1}` {
		t.Errorf("contents: kept %d of %d, %+v", len(rd.kept), len(fx.files), rd.c)
	}
	if h := rd.c.Header; !h.Root || !h.Repodata || strings.Join(h.Customers, ",") != "shop-a,shop-b" || h.Format != Format {
		t.Errorf("header %+v", h)
	}
	var names []string
	for _, e := range entries(t, data) {
		names = append(names, e.hdr.Name)
	}
	want := "hotfix-export.json keys/1.root.json keys/1.root.json.asc keys/ABCDEF.asc repo.json repo.json.asc " +
		"acme/2.4.1/index.json acme/2.4.1/index.json.asc acme/2.4.1/acme-2.4.1.1.fix acme/2.4.1/acme-2.4.1.2.fix acme/2.4.1/acme-hotfix-2.4.1.2.rpm " +
		"acme/2.4.1/repodata/repomd.xml acme/2.4.1/repodata/repomd.xml.asc acme/2.4.1/repodata/aaa-primary.xml.gz acme/2.4.1/repodata/bbb-filelists.xml.gz " +
		"acme/2.4.1/custom/shop-a/index.json acme/2.4.1/custom/shop-a/index.json.asc acme/2.4.1/custom/shop-a/acme-custom-IS-1-1.0.fix acme/2.4.1/custom/shop-a/acme-custom-IS-2-1.0.fix " +
		"acme/2.4.1/custom/shop-b/index.json acme/2.4.1/custom/shop-b/index.json.asc acme/2.4.1/custom/shop-b/acme-custom-IS-1-1.0.fix acme/2.4.1/custom/shop-b/acme-custom-IS-2-1.0.fix"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("entries:\n%s\nwant\n%s", got, want)
	}
	skipped := read(data, func(h *Handler) { h.Repodata = nil })
	if skipped.err != nil {
		t.Fatal(skipped.err)
	}
	for name := range skipped.kept {
		if strings.HasPrefix(name, "repodata/") {
			t.Errorf("%s kept without a Repodata handler", name)
		}
	}
	if len(skipped.c.Customers) != 2 {
		t.Errorf("customers after skipped repodata: %v", skipped.c.Customers)
	}
	noCustom := read(data, func(h *Handler) { h.Custom = nil })
	if noCustom.err == nil || !strings.Contains(noCustom.err.Error(), "takes no customer channels") {
		t.Errorf("a reader without a Custom handler: %v", noCustom.err)
	}
}

// TestFormat1: a bundle of the first format (keys last) still reads.
func TestFormat1(t *testing.T) {
	fx := newFixture(t, 3)
	es := entries(t, fx.bundle(t))
	es[0].data = []byte(`{"format":1,"product":"acme","base":"2.4.1"}`)
	var keys, rest []entry
	for _, e := range es[1:] {
		if strings.HasPrefix(e.hdr.Name, "keys/") {
			keys = append(keys, e)
		} else {
			rest = append(rest, e)
		}
	}
	old := pack(t, append(append([]entry{es[0]}, rest...), keys...))
	rd := read(old)
	if rd.err != nil {
		t.Fatal(rd.err)
	}
	if len(rd.keys) != 3 || len(rd.kept) != len(fx.files) {
		t.Errorf("format 1: keys %d, kept %d", len(rd.keys), len(rd.kept))
	}
	// In format 1 nothing but keys may follow the archives.
	bad := pack(t, append(append([]entry{es[0]}, rest...), append(keys, rest[len(rest)-1])...))
	if rd := read(bad); rd.err == nil || !strings.Contains(rd.err.Error(), "only keys/NAME files") {
		t.Errorf("format 1 with an archive after the keys: %v", rd.err)
	}
}

// TestHostileExtras: the extras are checked like the channel: their
// signatures by the caller, their files against what it verified.
func TestHostileExtras(t *testing.T) {
	fx := newFixture(t, 2).withExtras(t)
	good := fx.bundle(t)
	const cust = "acme/2.4.1/custom/shop-a/"
	cases := []struct {
		name string
		edit func(es []entry) []entry
		want string
	}{
		{"repo.json signature forged", func(es []entry) []entry {
			es[find(es, "repo.json.asc")].data = []byte("forged")
			return es
		}, "bad signature"},
		{"repomd.xml signature forged", func(es []entry) []entry {
			es[find(es, "acme/2.4.1/repodata/repomd.xml.asc")].data = []byte("forged")
			return es
		}, "bad signature"},
		{"repodata file changed", func(es []entry) []entry {
			i := find(es, "acme/2.4.1/repodata/bbb-filelists.xml.gz")
			es[i].data = bytes.ToUpper(es[i].data)
			return es
		}, "sha256"},
		{"repodata file missing", func(es []entry) []entry {
			i := find(es, "acme/2.4.1/repodata/bbb-filelists.xml.gz")
			return append(es[:i:i], es[i+1:]...)
		}, "unexpected entry"},
		{"customer index signature forged", func(es []entry) []entry {
			es[find(es, cust+"index.json.asc")].data = []byte("forged")
			return es
		}, "bad signature"},
		{"customer archive changed", func(es []entry) []entry {
			i := find(es, cust+"acme-custom-IS-2-1.0.fix")
			es[i].data = bytes.ToUpper(es[i].data)
			return es
		}, "sha256"},
		{"customer index of another customer", func(es []entry) []entry {
			es[find(es, cust+"index.json")].data = fx.customers[1].raw
			return es
		}, "customer shop-b's"},
		{"extra entry at the end", func(es []entry) []entry {
			return append(es, entry{&tar.Header{Typeflag: tar.TypeReg, Name: cust + "evil.fix", Mode: 0o644}, []byte("x")})
		}, "unexpected entry after the last"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rd := read(pack(t, tc.edit(entries(t, good))))
			if rd.err == nil || !strings.Contains(rd.err.Error(), tc.want) {
				t.Fatalf("error %v does not say %q", rd.err, tc.want)
			}
			if len(rd.open) != 0 {
				t.Errorf("sinks left open: %v", rd.open)
			}
			for name, b := range rd.kept {
				if !bytes.Equal(b, fx.files[name]) {
					t.Errorf("kept %s with other bytes than signed", name)
				}
			}
		})
	}
	// repomd.xml naming a file outside repodata/ is refused before it is read.
	rd := read(good, func(h *Handler) {
		h.Repodata = func(md, sig []byte) ([]FileRef, error) {
			return []FileRef{{Name: "../../x", Size: 1, SHA256: sum([]byte("x"))}}, nil
		}
	})
	if rd.err == nil || !strings.Contains(rd.err.Error(), "outside repodata/") {
		t.Errorf("repodata outside its folder: %v", rd.err)
	}
}

// TestCheckKeyListOrder: only a format 1 bundle (keys/ after the index)
// whose index names a key list is refused before its signature is
// checked; a plain-rule index in it, and any index in format 2, pass.
func TestCheckKeyListOrder(t *testing.T) {
	for _, tc := range []struct {
		format  int
		keyList int64
		refused bool
	}{{1, 0, false}, {1, 3, true}, {2, 0, false}, {2, 3, false}} {
		h := &Header{Format: tc.format, Product: "acme", Base: repo.MustParseVersion("2.4.1")}
		err := h.CheckKeyListOrder(tc.keyList)
		if (err != nil) != tc.refused {
			t.Errorf("format %d, key list %d: %v", tc.format, tc.keyList, err)
		}
		if err != nil && !strings.Contains(err.Error(), "export the bundle again") {
			t.Errorf("the refusal does not say what to do: %v", err)
		}
	}
}
