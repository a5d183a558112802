package bundle

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

type entry struct {
	hdr  *tar.Header
	data []byte
}

func entries(t testing.TB, data []byte) []entry {
	t.Helper()
	var out []entry
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, entry{h, b})
	}
}

func pack(t testing.TB, es []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range es {
		h := *e.hdr
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// afterKeys inserts e after the last keys/ entry.
func afterKeys(es []entry, e entry) []entry {
	i := 1
	for i < len(es) && strings.HasPrefix(es[i].hdr.Name, "keys/") {
		i++
	}
	return append(es[:i:i], append([]entry{e}, es[i:]...)...)
}

func find(es []entry, name string) int {
	for i, e := range es {
		if e.hdr.Name == name {
			return i
		}
	}
	return -1
}

// TestHostileBundles: each damaged or crafted bundle is refused with an
// error naming the problem, and no archive is kept from the entry that
// failed on (earlier verified archives may be committed: they matched the
// signed index).
func TestHostileBundles(t *testing.T) {
	fx := newFixture(t, 3)
	good := fx.bundle(t)
	const fix2 = "acme/2.4.1/acme-2.4.1.2.fix"
	cases := []struct {
		name   string
		make   func(es []entry) []byte
		raw    func(b []byte) []byte
		want   string
		notBun bool
	}{
		{name: "archive bytes changed", make: func(es []entry) []byte {
			i := find(es, fix2)
			es[i].data = bytes.Clone(es[i].data)
			es[i].data[10] ^= 1
			return pack(t, es)
		}, want: "sha256"},
		{name: "archive longer than signed", make: func(es []entry) []byte {
			i := find(es, fix2)
			es[i].data = append(bytes.Clone(es[i].data), 'x')
			return pack(t, es)
		}, want: "allowed here"},
		{name: "archive shorter than signed", make: func(es []entry) []byte {
			i := find(es, fix2)
			es[i].data = es[i].data[:len(es[i].data)-1]
			return pack(t, es)
		}, want: "the signed index says"},
		{name: "archive missing", make: func(es []entry) []byte {
			i := find(es, fix2)
			return pack(t, append(es[:i:i], es[i+1:]...))
		}, want: "unexpected entry"},
		{name: "entry not in the index", make: func(es []entry) []byte {
			i := find(es, fix2)
			extra := entry{&tar.Header{Typeflag: tar.TypeReg, Name: "acme/2.4.1/evil.fix", Mode: 0o644}, []byte("evil")}
			return pack(t, append(es[:i:i], append([]entry{extra}, es[i:]...)...))
		}, want: "unexpected entry"},
		{name: "archives out of order", make: func(es []entry) []byte {
			i, j := find(es, "acme/2.4.1/acme-2.4.1.1.fix"), find(es, fix2)
			es[i], es[j] = es[j], es[i]
			return pack(t, es)
		}, want: "unexpected entry"},
		{name: "symbolic link for an archive", make: func(es []entry) []byte {
			i := find(es, fix2)
			es[i] = entry{&tar.Header{Typeflag: tar.TypeSymlink, Name: fix2, Linkname: "/etc/passwd"}, nil}
			return pack(t, es)
		}, want: "not a regular file"},
		{name: "climbing key name", make: func(es []entry) []byte {
			return pack(t, afterKeys(es, entry{&tar.Header{Typeflag: tar.TypeReg, Name: "keys/../../etc/x", Mode: 0o644}, []byte("x")}))
		}, want: "unexpected entry"},
		{name: "nested key name", make: func(es []entry) []byte {
			return pack(t, afterKeys(es, entry{&tar.Header{Typeflag: tar.TypeReg, Name: "keys/a/b.asc", Mode: 0o644}, []byte("x")}))
		}, want: "unexpected entry"},
		{name: "key directory entry", make: func(es []entry) []byte {
			return pack(t, afterKeys(es, entry{&tar.Header{Typeflag: tar.TypeDir, Name: "keys/zz/", Mode: 0o755}, nil}))
		}, want: "not a regular file"},
		{name: "key repeated", make: func(es []entry) []byte {
			return pack(t, afterKeys(es, es[find(es, "keys/ABCDEF.asc")]))
		}, want: "out of order or repeated"},
		{name: "key too large", make: func(es []entry) []byte {
			return pack(t, afterKeys(es, entry{&tar.Header{Typeflag: tar.TypeReg, Name: "keys/ZZZ.asc", Mode: 0o644}, make([]byte, MaxKeySize+1)}))
		}, want: "allowed here"},
		{name: "key after the archives", make: func(es []entry) []byte {
			return pack(t, append(es, entry{&tar.Header{Typeflag: tar.TypeReg, Name: "keys/ZZZ.asc", Mode: 0o644}, []byte("x")}))
		}, want: "unexpected entry after the last one the header announces"},
		{name: "bad signature", make: func(es []entry) []byte {
			es[find(es, "acme/2.4.1/index.json.asc")].data = []byte("forged")
			return pack(t, es)
		}, want: "bad signature"},
		{name: "header of another channel", make: func(es []entry) []byte {
			es[0].data = []byte(`{"format":2,"product":"acme","base":"2.4.0"}`)
			return pack(t, es)
		}, want: "unexpected entry"},
		{name: "header names a fix not in the index", make: func(es []entry) []byte {
			es[0].data = []byte(`{"format":2,"product":"acme","base":"2.4.1","from":"2.4.1.9"}`)
			return pack(t, es)
		}, want: "does not list"},
		{name: "format 1 header on a format 2 stream", make: func(es []entry) []byte {
			es[0].data = []byte(`{"format":1,"product":"acme","base":"2.4.1"}`)
			return pack(t, es)
		}, want: "unexpected entry where acme/2.4.1/index.json belongs"},
		{name: "format 1 header announcing customers", make: func(es []entry) []byte {
			es[0].data = []byte(`{"format":1,"product":"acme","base":"2.4.1","customers":["shop-a"]}`)
			return pack(t, es)
		}, want: "format 1 carries no"},
		{name: "header announces a customer channel the bundle lacks", make: func(es []entry) []byte {
			es[0].data = []byte(`{"format":2,"product":"acme","base":"2.4.1","customers":["shop-a"]}`)
			return pack(t, es)
		}, want: "acme/2.4.1/custom/shop-a/index.json: missing"},
		{name: "header announces customers out of order", make: func(es []entry) []byte {
			es[0].data = []byte(`{"format":2,"product":"acme","base":"2.4.1","customers":["shop-b","shop-a"]}`)
			return pack(t, es)
		}, want: "out of order"},
		{name: "header announces a climbing customer", make: func(es []entry) []byte {
			es[0].data = []byte(`{"format":2,"product":"acme","base":"2.4.1","customers":["../x"]}`)
			return pack(t, es)
		}, want: "customer"},
		{name: "header announces repo.json the bundle lacks", make: func(es []entry) []byte {
			es[0].data = []byte(`{"format":2,"product":"acme","base":"2.4.1","root":true}`)
			return pack(t, es)
		}, want: "unexpected entry where repo.json belongs"},
		{name: "header announces repodata the bundle lacks", make: func(es []entry) []byte {
			es[0].data = []byte(`{"format":2,"product":"acme","base":"2.4.1","repodata":true}`)
			return pack(t, es)
		}, want: "acme/2.4.1/repodata/repomd.xml: missing"},
		{name: "future format", make: func(es []entry) []byte {
			es[0].data = []byte(`{"format":3,"product":"acme","base":"2.4.1"}`)
			return pack(t, es)
		}, want: "format 3"},
		{name: "not a bundle: other first entry", make: func(es []entry) []byte {
			return pack(t, es[1:])
		}, notBun: true},
		{name: "not a bundle: not a tar", raw: func([]byte) []byte { return []byte("hello, this is not a tar file at all") }, notBun: true},
		{name: "not a bundle: empty", raw: func([]byte) []byte { return nil }, notBun: true},
		{name: "cut in an archive", raw: func(b []byte) []byte { return b[:len(b)/2] }, want: "cut short"},
		{name: "cut between entries", raw: func(b []byte) []byte {
			es := entries(t, b)
			p := pack(t, es[:3])
			return p[:len(p)-1024]
		}, want: "cut short"},
		{name: "end marker missing", raw: func(b []byte) []byte {
			es := entries(t, b)
			p := pack(t, es)
			return p[:len(p)-1024]
		}, want: "end-of-archive marker"},
		{name: "data after the end marker", raw: func(b []byte) []byte { return append(bytes.Clone(b), []byte("hidden")...) }, want: "after the tar end-of-archive marker"},
		{name: "an entry hidden after the end marker", raw: func(b []byte) []byte {
			hidden := pack(t, []entry{{&tar.Header{Typeflag: tar.TypeReg, Name: "keys/hidden", Mode: 0o644}, []byte("x")}})
			return append(bytes.Clone(b), hidden...)
		}, want: "after the tar end-of-archive marker"},
		{name: "data in the padding after an archive", raw: func(b []byte) []byte {
			b = bytes.Clone(b)
			es := entries(t, b)
			i := find(es, fix2)
			// the entry's data ends somewhere in a block: find it by content
			at := bytes.Index(b, es[i].data) + len(es[i].data)
			if at%512 == 0 {
				t.Fatal("the fixture archive fills its last block: no padding to hide data in")
			}
			b[at] = 'X'
			return b
		}, want: fix2 + ": data in the padding"},
		{name: "too many trailing zeros", raw: func(b []byte) []byte { return append(bytes.Clone(b), make([]byte, MaxTrailingZeros+1)...) }, want: "zeros"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var data []byte
			if tc.raw != nil {
				data = tc.raw(good)
			} else {
				data = tc.make(entries(t, good))
			}
			rd := read(data)
			if rd.err == nil {
				t.Fatal("accepted")
			}
			if tc.notBun != errors.Is(rd.err, ErrNotBundle) {
				t.Fatalf("ErrNotBundle = %v: %v", !tc.notBun, rd.err)
			}
			if !strings.Contains(rd.err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", rd.err, tc.want)
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
}

func FuzzRead(f *testing.F) {
	fx := newFixture(f, 3)
	good := fx.bundle(f)
	f.Add(good)
	f.Add(good[:2048])
	f.Add(append(bytes.Clone(good), 1))
	es := entries(f, good)
	es[len(es)-1].data = []byte("x")
	f.Add(pack(f, es))
	f.Add(fx.withExtras(f).bundle(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		rd := read(data)
		if len(rd.open) != 0 {
			t.Fatalf("sinks left open: %v", rd.open)
		}
		for name, b := range rd.kept {
			if !bytes.Equal(b, fx.files[name]) {
				t.Fatalf("kept %s with other bytes than signed", name)
			}
		}
		if rd.err == nil && !bytes.Equal(rd.c.IndexRaw, fx.raw) {
			t.Fatal("accepted an index that is not the signed one")
		}
	})
}
