package yum

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/hotfix-project/hotfix/internal/recordlog"
)

func TestRepodataCacheAppends(t *testing.T) {
	dir := t.TempDir()
	a := &Package{Name: "a.rpm", Size: 1, MTimeNS: 2, SHA256: "x", Primary: []byte("p"), Filelists: []byte("f"), Other: []byte("o")}
	b := &Package{Name: "b.rpm", Size: 3, MTimeNS: 4, SHA256: "y", Primary: []byte("pp"), Filelists: []byte{}, Other: []byte("oo")}
	c := LoadCache(dir)
	if err := c.savePackages(dir, []*Package{a}, []*Package{a}); err != nil {
		t.Fatal(err)
	}
	c = LoadCache(dir)
	if err := c.savePackages(dir, []*Package{a, b}, []*Package{b}); err != nil {
		t.Fatal(err)
	}
	got := LoadCache(dir)
	if got.records != 2 || !reflect.DeepEqual(got.packages["a.rpm"], a) || !reflect.DeepEqual(got.packages["b.rpm"], b) {
		t.Errorf("loaded %d records %+v", got.records, got.packages)
	}
	// b gone: rewritten with a alone.
	if err := got.savePackages(dir, []*Package{a}, nil); err != nil {
		t.Fatal(err)
	}
	if got := LoadCache(dir); len(got.packages) != 1 || got.packages["a.rpm"] == nil {
		t.Errorf("after removal: %+v", got.packages)
	}
}

// The caches are read back from disk: damaged bytes must cost re-reading
// headers, never a panic. Each input is read as a whole file, and as one
// more record with a valid checksum after a valid file, so that the
// decoders behind the checksum see hostile bodies too.
func FuzzCache(f *testing.F) {
	dir := f.TempDir()
	x := &Package{Name: "a.rpm", Size: 1, MTimeNS: 2, SHA256: "s", Primary: []byte("<p/>"), Filelists: []byte("<f/>"), Other: []byte("<o/>")}
	if err := LoadCache(dir).savePackages(dir, []*Package{x}, nil); err != nil {
		f.Fatal(err)
	}
	member, err := gzipMember("<p/>")
	if err != nil {
		f.Fatal(err)
	}
	if err := saveGzSegments(dir, []*gzSegment{{pkgs: []*Package{x}, members: [3][]byte{member, member, member}}}); err != nil {
		f.Fatal(err)
	}
	files := map[string][]byte{}
	for _, name := range []string{cacheName, gzName} {
		files[name], _ = os.ReadFile(filepath.Join(dir, name))
		f.Add(files[name])
	}
	f.Add([]byte(cacheMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := t.TempDir()
		for name, valid := range files {
			os.WriteFile(filepath.Join(d, name), data, 0o644)
			LoadCache(d)
			os.WriteFile(filepath.Join(d, name), recordlog.Append(bytes.Clone(valid), data), 0o644)
		}
		LoadCache(d)
	})
}

// A cached segment is published as it is, so one whose members are not
// gzip is dropped (and compressed again) rather than trusted.
func TestGzSegmentsRefuseNonGzipMembers(t *testing.T) {
	dir := t.TempDir()
	x := &Package{Name: "a.rpm", Size: 1, MTimeNS: 2, SHA256: "s"}
	good, err := gzipMember("<p/>")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		members [3][]byte
		want    int
	}{
		{"gzip", [3][]byte{good, good, good}, 1},
		{"not gzip", [3][]byte{good, []byte("<filelists/>"), good}, 0},
		{"empty", [3][]byte{good, good, nil}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := saveGzSegments(dir, []*gzSegment{{pkgs: []*Package{x}, members: tt.members}}); err != nil {
				t.Fatal(err)
			}
			if got := loadGzSegments(dir); len(got) != tt.want {
				t.Errorf("loaded %d segments, want %d", len(got), tt.want)
			}
		})
	}
}
