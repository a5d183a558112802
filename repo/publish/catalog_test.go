package publish

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/recordlog"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/site"
)

// TestCatalogRoundTrip saves and loads a catalog through the log codec,
// appending and then compacting, and fails when a field of catalogEntry or
// Bug is not stored (add it to appendEntry and decodeEntry).
func TestCatalogRoundTrip(t *testing.T) {
	dir := t.TempDir()
	full := &catalogEntry{Archive: repo.Archive{Size: 7, SHA256: "ab", Product: "acme", Version: repo.MustParseVersion("2.4.1.3"),
		Summary: "s", Description: "d", Bugs: []repo.Bug{{ID: "B-1", Summary: "bs", Description: "bd", Files: []string{"a", "b"}}},
		Severity: "security", Files: []string{"a", "b"}, Deleted: []string{"c"}, Scripts: []string{"10-x.sh"},
		Parts: []repo.PartRef{{Name: "samples", Summary: "ps", Mandatory: true}, {Name: "docs"}}},
		MTimeNS: -9, Verified: true, Page: []byte("<section>"), Published: time.Date(2026, 11, 1, 9, 30, 0, 0, time.UTC)}
	checkAllFieldsSet(t, reflect.ValueOf(*full), "catalogEntry", map[string]bool{"Archive": true, "RPMEntry": true})
	checkAllFieldsSet(t, reflect.ValueOf(full.Archive), "repo.Archive", map[string]bool{"File": true})
	checkAllFieldsSet(t, reflect.ValueOf(full.Bugs[0]), "repo.Bug", nil)

	c := loadCatalog(dir)
	c.Archives["acme-2.4.1.3.fix"] = full
	c.Archives["acme-2.4.1.2.fix"] = &catalogEntry{Archive: repo.Archive{Version: repo.MustParseVersion("2.4.1.2"), Bugs: []repo.Bug{}}}
	c.Published = &publishedIndex{SHA256: "cd", Serial: 3, Files: map[string]string{"acme-2.4.1.2.fix": "old"}}
	c.PageTemplate = site.SectionID(site.Options{})
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
	c.Archives["acme-2.4.1.4.fix"] = &catalogEntry{Archive: repo.Archive{Version: repo.MustParseVersion("2.4.1.4"), SHA256: "ef", Bugs: []repo.Bug{}}}
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
	if got.PageTemplate != site.SectionID(site.Options{}) {
		t.Errorf("page template %q, want %q", got.PageTemplate, site.SectionID(site.Options{}))
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

// The catalog is read back from disk: damaged bytes must cost a rehash,
// never a panic. Each input is read as a whole file, and as one more
// record with a valid checksum after a valid file, so that the decoder
// behind the checksum sees hostile bodies too.
func FuzzCatalogLog(f *testing.F) {
	dir := f.TempDir()
	c := loadCatalog(dir)
	c.Archives["a.fix"] = &catalogEntry{Archive: repo.Archive{Version: repo.MustParseVersion("1.0.1"), Bugs: []repo.Bug{{ID: "1", Files: []string{"x"}}}}, Page: []byte("p")}
	c.Published = &publishedIndex{SHA256: "s", Serial: 1, Files: map[string]string{"a.fix": "s"}}
	if err := c.save(dir); err != nil {
		f.Fatal(err)
	}
	seed, _ := os.ReadFile(filepath.Join(dir, catalogName))
	f.Add(seed)
	f.Add([]byte(catalogMagic))
	f.Add([]byte{recEntry, 3, 'a', '.', 'f'})
	f.Fuzz(func(t *testing.T, data []byte) {
		d := t.TempDir()
		os.WriteFile(filepath.Join(d, catalogName), data, 0o644)
		loadCatalog(d)
		os.WriteFile(filepath.Join(d, catalogName), recordlog.Append(bytes.Clone(seed), data), 0o644)
		loadCatalog(d)
	})
}
