package publish

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/hotfix-project/hotfix/repo"
)

// TestCatalogRoundTrip saves and loads a catalog through the log codec,
// appending and then compacting, and fails when a field of catalogEntry or
// Bug is not stored (add it to appendEntry and decodeEntry).
func TestCatalogRoundTrip(t *testing.T) {
	dir := t.TempDir()
	full := &catalogEntry{Size: 7, MTimeNS: -9, SHA256: "ab", Product: "acme", Version: repo.MustParseVersion("2.4.1.3"),
		Summary: "s", Desc: "d", Verified: true, Page: []byte("<section>"),
		Bugs: []repo.Bug{{ID: "B-1", Summary: "bs", Description: "bd", Files: []string{"a", "b"}}}}
	checkAllFieldsSet(t, reflect.ValueOf(*full), "catalogEntry", map[string]bool{"File": true, "RPMEntry": true})
	checkAllFieldsSet(t, reflect.ValueOf(full.Bugs[0]), "repo.Bug", nil)

	c := loadCatalog(dir)
	c.Archives["acme-2.4.1.3.fix"] = full
	c.Archives["acme-2.4.1.2.fix"] = &catalogEntry{Version: repo.MustParseVersion("2.4.1.2"), Bugs: []repo.Bug{}}
	c.Published = &publishedIndex{SHA256: "cd", Serial: 3, Files: map[string]string{"acme-2.4.1.2.fix": "old"}}
	c.PageTemplate = fixSectionID
	if err := c.save(dir); err != nil {
		t.Fatal(err)
	}
	// Append: one entry changed, one gone, a new build published.
	c = loadCatalog(dir)
	if !reflect.DeepEqual(c.Published.Files, map[string]string{"acme-2.4.1.2.fix": "old"}) || c.Published.Serial != 3 {
		t.Fatalf("published after rewrite: %+v", c.Published)
	}
	size := c.size
	delete(c.Archives, "acme-2.4.1.2.fix")
	changed := *full // as if the file had been replaced: a later record wins
	changed.SHA256, changed.Summary, changed.Page = "ac", "s2", []byte("<section 2>")
	changed.logged, changed.loggedPage = false, false // a new entry, as describing the file makes
	c.Archives["acme-2.4.1.3.fix"] = &changed
	c.Archives["acme-2.4.1.4.fix"] = &catalogEntry{Version: repo.MustParseVersion("2.4.1.4"), SHA256: "ef", Bugs: []repo.Bug{}}
	c.Published = &publishedIndex{SHA256: "gh", Serial: 4}
	if err := c.save(dir); err != nil {
		t.Fatal(err)
	}
	got := loadCatalog(dir)
	if got.size <= size {
		t.Errorf("catalog rewritten (%d bytes, was %d), want appended", got.size, size)
	}
	want := map[string]*catalogEntry{"acme-2.4.1.3.fix": &changed, "acme-2.4.1.4.fix": c.Archives["acme-2.4.1.4.fix"]}
	if len(got.Archives) != len(want) {
		t.Fatalf("loaded %d archives, want %d", len(got.Archives), len(want))
	}
	for name, w := range want {
		g := got.Archives[name]
		w.logged, w.loggedPage, g.logged, g.loggedPage = false, false, false, false
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s: loaded %+v, want %+v", name, g, w)
		}
	}
	if !reflect.DeepEqual(got.Published.Files, map[string]string{"acme-2.4.1.3.fix": "ac", "acme-2.4.1.4.fix": "ef"}) || got.Published.Serial != 4 {
		t.Errorf("published after append: %+v", got.Published)
	}
	if got.PageTemplate != fixSectionID {
		t.Errorf("page template %q, want %q", got.PageTemplate, fixSectionID)
	}

	// A torn tail costs only what it described.
	data, _ := os.ReadFile(filepath.Join(dir, catalogName))
	os.WriteFile(filepath.Join(dir, catalogName), data[:len(data)-3], 0o644)
	if torn := loadCatalog(dir); len(torn.Archives) != 2 || torn.Published.Serial != 3 {
		t.Errorf("torn catalog: %d archives, published serial %d; want 2 and the serial before the torn record, 3", len(torn.Archives), torn.Published.Serial)
	}
}

func checkAllFieldsSet(t *testing.T, v reflect.Value, what string, skip map[string]bool) {
	t.Helper()
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		if !f.IsExported() || skip[f.Name] {
			continue
		}
		if v.Field(i).IsZero() {
			t.Errorf("%s.%s is not set in this test: store it in the catalog log and set it here", what, f.Name)
		}
	}
}

func TestRepodataCacheAppends(t *testing.T) {
	dir := t.TempDir()
	a := &rpmXML{Name: "a.rpm", Size: 1, MTimeNS: 2, SHA256: "x", Primary: []byte("p"), Filelists: []byte("f"), Other: []byte("o")}
	b := &rpmXML{Name: "b.rpm", Size: 3, MTimeNS: 4, SHA256: "y", Primary: []byte("pp"), Filelists: []byte{}, Other: []byte("oo")}
	c := loadRepodataCache(dir)
	if err := c.save(dir, []*rpmXML{a}, []*rpmXML{a}); err != nil {
		t.Fatal(err)
	}
	c = loadRepodataCache(dir)
	if err := c.save(dir, []*rpmXML{a, b}, []*rpmXML{b}); err != nil {
		t.Fatal(err)
	}
	got := loadRepodataCache(dir)
	if got.records != 2 || !reflect.DeepEqual(got.Packages["a.rpm"], a) || !reflect.DeepEqual(got.Packages["b.rpm"], b) {
		t.Errorf("loaded %d records %+v", got.records, got.Packages)
	}
	// b gone: rewritten with a alone.
	if err := got.save(dir, []*rpmXML{a}, nil); err != nil {
		t.Fatal(err)
	}
	if got := loadRepodataCache(dir); len(got.Packages) != 1 || got.Packages["a.rpm"] == nil {
		t.Errorf("after removal: %+v", got.Packages)
	}
}

// The caches are read back from disk: damaged bytes must cost a rehash,
// never a panic. Each input is read as a whole file, and as one more
// record with a valid checksum after a valid file, so that the decoders
// behind the checksum see hostile bodies too.
func FuzzCatalogLog(f *testing.F) {
	dir := f.TempDir()
	c := loadCatalog(dir)
	c.Archives["a.fix"] = &catalogEntry{Version: repo.MustParseVersion("1.0.1"), Bugs: []repo.Bug{{ID: "1", Files: []string{"x"}}}, Page: []byte("p")}
	c.Published = &publishedIndex{SHA256: "s", Serial: 1, Files: map[string]string{"a.fix": "s"}}
	if err := c.save(dir); err != nil {
		f.Fatal(err)
	}
	seed, _ := os.ReadFile(filepath.Join(dir, catalogName))
	x := &rpmXML{Name: "a.rpm", Size: 1, MTimeNS: 2, SHA256: "s", Primary: []byte("<p/>"), Filelists: []byte("<f/>"), Other: []byte("<o/>")}
	if err := loadRepodataCache(dir).save(dir, []*rpmXML{x}, nil); err != nil {
		f.Fatal(err)
	}
	member, err := gzipMember("<p/>")
	if err != nil {
		f.Fatal(err)
	}
	if err := saveGzSegments(dir, []*gzSegment{{pkgs: []*rpmXML{x}, members: [3][]byte{member, member, member}}}); err != nil {
		f.Fatal(err)
	}
	files := map[string][]byte{}
	for _, name := range []string{catalogName, repodataCacheName, repodataGzName} {
		files[name], _ = os.ReadFile(filepath.Join(dir, name))
	}
	f.Add(seed)
	f.Add([]byte(catalogMagic))
	f.Add([]byte{recEntry, 3, 'a', '.', 'f'})
	f.Fuzz(func(t *testing.T, data []byte) {
		d := t.TempDir()
		for name, valid := range files {
			os.WriteFile(filepath.Join(d, name), data, 0o644)
			loadCatalog(d)
			loadRepodataCache(d)
			loadGzSegments(d)
			os.WriteFile(filepath.Join(d, name), appendRecord(append([]byte{}, valid...), data), 0o644)
		}
		loadCatalog(d)
		loadRepodataCache(d)
		loadGzSegments(d)
	})
}

// A cached segment is published as it is, so one whose members are not
// gzip is dropped (and compressed again) rather than trusted.
func TestGzSegmentsRefuseNonGzipMembers(t *testing.T) {
	dir := t.TempDir()
	x := &rpmXML{Name: "a.rpm", Size: 1, MTimeNS: 2, SHA256: "s"}
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
			if err := saveGzSegments(dir, []*gzSegment{{pkgs: []*rpmXML{x}, members: tt.members}}); err != nil {
				t.Fatal(err)
			}
			if got := loadGzSegments(dir); len(got) != tt.want {
				t.Errorf("loaded %d segments, want %d", len(got), tt.want)
			}
		})
	}
}
