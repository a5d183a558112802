package repo

import (
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/testkit"
)

// customTOMLText is a customer fix's fix.toml, top-level keys only, so
// that tests can append keys.
const customTOMLText = `product = "acme"
kind = "custom"
customer = "shop-a"
id = "IS-1234"
version = "1.2"
base = "2.4.1"
summary = "Shop A's checkout"
`

func TestParseCustomSource(t *testing.T) {
	m, err := ParseSourceTOML("fix.toml", []byte(customTOMLText+"min_fix = \"2.4.1.2\"\nsupersedes = [\"IS-99\", \"IS-1200\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !m.IsCustom() || m.Customer != "shop-a" || m.ID != "IS-1234" || m.Version.String() != "1.2" || m.Base.String() != "2.4.1" {
		t.Fatalf("manifest %+v", m)
	}
	if m.MinFix == nil || m.MinFix.String() != "2.4.1.2" || m.Requires.String() != "2.4.1.2" {
		t.Errorf("min_fix %v requires %v, want 2.4.1.2 both", m.MinFix, m.Requires)
	}
	if strings.Join(m.Supersedes, ",") != "IS-1200,IS-99" {
		t.Errorf("supersedes %v, want sorted", m.Supersedes)
	}
	if m.ArchiveName() != "acme-custom-IS-1234-1.2.fix" {
		t.Errorf("archive name %s", m.ArchiveName())
	}
	// Without min_fix a customer fix requires its base.
	m, err = ParseSourceTOML("fix.toml", []byte(customTOMLText))
	if err != nil {
		t.Fatal(err)
	}
	if m.MinFix != nil || !m.Requires.Equal(m.Base) {
		t.Errorf("requires %v, want the base", m.Requires)
	}
}

func TestParseCustomSourceErrors(t *testing.T) {
	tests := []struct {
		name, toml string
		want       []string
	}{
		{"unknown kind", strings.Replace(customTOMLText, `"custom"`, `"special"`, 1), []string{"fix.toml:2:", `kind "special"`}},
		{"no customer", strings.Replace(customTOMLText, `customer = "shop-a"`, `customer = ""`, 1), []string{"fix.toml:3:", "customer", "empty"}},
		{"customer not portable", strings.Replace(customTOMLText, `"shop-a"`, `"Shop A"`, 1), []string{"fix.toml:3:", "customer name"}},
		{"bad id", strings.Replace(customTOMLText, `"IS-1234"`, `"IS 1234/x"`, 1), []string{"fix.toml:4:", "id", "letters, digits"}},
		{"no id", strings.Replace(customTOMLText, `id = "IS-1234"`, `id = ""`, 1), []string{"fix.toml:4:", "empty customer fix id"}},
		{"bad version", strings.Replace(customTOMLText, `"1.2"`, `"1.x"`, 1), []string{"fix.toml:5:", "own version"}},
		{"no base", strings.Replace(customTOMLText, `base = "2.4.1"`, `base = ""`, 1), []string{"fix.toml:6:", "base"}},
		{"min_fix of another base", customTOMLText + "min_fix = \"2.4.2.1\"\n", []string{"fix.toml:8:", "min_fix", "not a fix of base 2.4.1"}},
		{"min_fix not a fix", customTOMLText + "min_fix = \"2\"\n", []string{"fix.toml:8:", "min_fix", "needs a base and a fix number"}},
		{"supersedes itself", customTOMLText + "supersedes = [\"IS-1234\"]\n", []string{"fix.toml:8:", "own id"}},
		{"supersedes twice", customTOMLText + "supersedes = [\"IS-1\", \"IS-1\"]\n", []string{"fix.toml:8:", "listed twice"}},
		{"supersedes bad id", customTOMLText + "supersedes = [\"../x\"]\n", []string{"fix.toml:8:", "supersedes"}},
		{"customer on a vendor fix", "product = \"acme\"\nversion = \"2.4.1.1\"\nsummary = \"s\"\ncustomer = \"shop-a\"\n", []string{"fix.toml:4:", "only a customer fix"}},
		{"supersedes on a vendor fix", "product = \"acme\"\nversion = \"2.4.1.1\"\nsummary = \"s\"\nsupersedes = []\n", []string{"fix.toml:4:", "only a customer fix"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseSourceTOML("fix.toml", []byte(tt.toml))
			if m != nil {
				t.Fatalf("accepted: %+v", m)
			}
			testkit.WantErr(t, err, tt.want...)
		})
	}
}

func TestCustomManifestValidate(t *testing.T) {
	good := func() *Manifest {
		mf := MustParseVersion("2.4.1.2")
		return &Manifest{Format: ManifestFormat, Product: "acme", Kind: KindCustom, Customer: "shop-a", ID: "IS-1",
			Version: MustParseVersion("3"), Base: MustParseVersion("2.4.1"), Requires: mf, MinFix: &mf, Summary: "s", Bugs: []Bug{}}
	}
	if err := good().Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(m *Manifest)
		want   string
	}{
		{"requires not min_fix", func(m *Manifest) { m.Requires = m.Base }, "must require 2.4.1.2"},
		{"unknown kind", func(m *Manifest) { m.Kind = "other" }, "upgrade hotfix"},
		{"vendor with customer", func(m *Manifest) { m.Kind = "" }, "belong to customer fixes"},
		{"supersedes unsorted", func(m *Manifest) { m.Supersedes = []string{"B", "A"} }, "not sorted"},
		{"supersedes itself", func(m *Manifest) { m.Supersedes = []string{"IS-1"} }, "supersedes itself"},
		{"bad customer", func(m *Manifest) { m.Customer = "../x" }, "customer name"},
		{"min_fix of another base", func(m *Manifest) { v := MustParseVersion("2.5.0.1"); m.MinFix, m.Requires = &v, v }, "not a fix of base"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := good()
			tt.change(m)
			testkit.WantErr(t, m.Validate(), tt.want)
		})
	}
}

func customIndexFixture() *CustomIndex {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	fix := func(id string, paths ...string) CustomIndexFix {
		return CustomIndexFix{ID: id, Version: MustParseVersion("1"), File: "acme-custom-" + id + "-1.fix", SHA256: strings.Repeat("a", 64), Summary: "s", Bugs: []BugRef{}, Paths: paths}
	}
	return &CustomIndex{Format: IndexFormat, Kind: KindCustom, Product: "acme", Base: MustParseVersion("2.4.1"), Customer: "shop-a",
		Serial: 1, Generated: now, Expires: now.Add(time.Hour),
		Fixes: []CustomIndexFix{fix("IS-1", "app/a.php", "app/b.php"), fix("IS-2", "app/c.php")}}
}

func TestCustomIndexValidate(t *testing.T) {
	if err := customIndexFixture().Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(ix *CustomIndex)
		want   []string
	}{
		{"conflict", func(ix *CustomIndex) { ix.Fixes[1].Paths = []string{"app/b.php"} }, []string{"IS-1 and IS-2 both own app/b.php", "supersedes"}},
		{"unsorted ids", func(ix *CustomIndex) { ix.Fixes[0], ix.Fixes[1] = ix.Fixes[1], ix.Fixes[0] }, []string{"not sorted by id"}},
		{"one id twice", func(ix *CustomIndex) { ix.Fixes[1].ID = "IS-1" }, []string{"not sorted by id, one entry each"}},
		{"vendor kind", func(ix *CustomIndex) { ix.Kind = "" }, []string{"kind"}},
		{"path climbs", func(ix *CustomIndex) { ix.Fixes[0].Paths = []string{"../etc/passwd"} }, []string{"climbs out"}},
		{"file with slash", func(ix *CustomIndex) { ix.Fixes[0].File = "../x.fix" }, []string{"plain file name"}},
		{"unsorted paths", func(ix *CustomIndex) { ix.Fixes[0].Paths = []string{"b", "a"} }, []string{"not sorted"}},
		{"min_fix elsewhere", func(ix *CustomIndex) { v := MustParseVersion("9.9.1"); ix.Fixes[0].MinFix = &v }, []string{"min_fix"}},
		{"expired before generated", func(ix *CustomIndex) { ix.Expires = ix.Generated }, []string{"expires"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix := customIndexFixture()
			tt.change(ix)
			testkit.WantErr(t, ix.Validate(), tt.want...)
		})
	}
	// Supersession resolves a shared path.
	ix := customIndexFixture()
	ix.Fixes[1].Paths, ix.Fixes[1].Supersedes = []string{"app/b.php"}, []string{"IS-1"}
	if err := ix.Validate(); err != nil {
		t.Errorf("superseding fix sharing a path: %v", err)
	}
}

func FuzzParseCustomIndex(f *testing.F) {
	data, err := customIndexFixture().Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte(`{"format":1,"kind":"custom"}`))
	f.Add([]byte(strings.Replace(string(data), `"app/c.php"`, `"app/a.php"`, 1)))
	f.Fuzz(func(t *testing.T, data []byte) {
		ix, err := ParseCustomIndex(data)
		if err != nil {
			return
		}
		if len(CustomConflicts(ix.Fixes)) > 0 || ValidCustomerName(ix.Customer) != nil {
			t.Fatalf("accepted %+v", ix)
		}
		for _, fx := range ix.Fixes {
			if !IsPlainFileName(fx.File) {
				t.Fatalf("accepted file %q", fx.File)
			}
		}
	})
}
