package repo

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/demo"
)

// Seeds are the real inputs: the sample fix.toml files, manifests and
// archives packed from them, a built index, and the hostile fixtures.

func FuzzParseSourceTOML(f *testing.F) {
	for _, v := range demo.FixVersions {
		dir := sample(f)
		data, err := os.ReadFile(filepath.Join(dir, "fixes", v, SourceFile))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(goodTOML))
	f.Add([]byte("product = \"a\"\nversion = \"1.0.1\"\nsummary = \"s\"\n[[bug]]\nid = \"1\"\n[[bug]]\nid = \"1\"\n"))
	f.Add([]byte("[[bug\n"))
	f.Add([]byte("delete = [\"/x\", \"../y\"]\n"))
	f.Add([]byte(customTOMLText))
	f.Add([]byte(customTOMLText + "min_fix = \"2.4.2.1\"\nsupersedes = [\"IS-1\", \"IS-1\"]\n"))
	f.Add([]byte(goodTOML + "[[part]]\nname = \"samples\"\nsummary = \"Sample data\"\nmandatory = false\nfiles = [\"samples/\", \"data/preset.csv\"]\nscripts = [\"30-load.sh\"]\n"))
	f.Add([]byte(goodTOML + "[[part]]\nname = \"a\"\nfiles = [\"x\"]\n[[part]]\nname = \"a\"\nfiles = [\"../x\"]\nscripts = [\"d/s.sh\"]\n"))
	f.Add([]byte(goodTOML + "[[part]]\nname = \"Bad Name\"\n[[part]]\nmandatory = true\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseSourceTOML("fix.toml", data)
		if err != nil {
			if m != nil {
				t.Fatal("manifest returned with an error")
			}
			return
		}
		// What parses names a real chain position and clean paths.
		if m.Version.IsZero() || ValidProductName(m.Product) != nil {
			t.Fatalf("accepted %+v", m)
		}
		if m.IsCustom() {
			// A customer fix names its customer, id and base itself.
			if ValidCustomerName(m.Customer) != nil || ValidCustomID(m.ID) != nil || m.Base.IsZero() || checkSupersedes(m.ID, m.Supersedes) != nil {
				t.Fatalf("accepted customer fix %+v", m)
			}
		} else if !m.Base.Equal(m.Version.Base()) {
			t.Fatalf("accepted %+v", m)
		}
		for _, d := range m.Delete {
			if _, err := CleanRelPath(d); err != nil {
				t.Fatalf("accepted delete path %q", d)
			}
		}
		// Parts: valid, unique names, clean paths, plain script names.
		names := map[string]bool{}
		for _, p := range m.Parts {
			if ValidPartName(p.Name) != nil || names[p.Name] {
				t.Fatalf("accepted part %+v", p)
			}
			names[p.Name] = true
			for _, f := range p.Files {
				if c, err := CleanRelPath(f); err != nil || c != f {
					t.Fatalf("accepted part file %q", f)
				}
			}
			for _, sc := range p.Scripts {
				if c, err := CleanRelPath(sc); err != nil || c != sc || strings.Contains(sc, "/") {
					t.Fatalf("accepted part script %q", sc)
				}
			}
		}
	})
}

func FuzzParseManifest(f *testing.F) {
	for _, m := range sampleManifests(f) {
		data, err := m.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"format":1}`))
	f.Add([]byte(`{"format":1,"product":"a","version":"1.1","base":"1","requires":"1","summary":"s","bugs":[],"files":[{"path":"../x","size":1,"mode":"0644","sha256":""}],"scripts":[]}`))
	f.Add([]byte(`{} {}`))
	f.Add([]byte(manifestWithParts))
	f.Add([]byte(strings.Replace(manifestWithParts, `"scripts":["10-a.sh"]`, `"scripts":["10-b.sh"]`, 1)))
	f.Add([]byte(strings.Replace(manifestWithParts, `"files":["d/x"]`, `"files":["d/x","d/y"]`, 1)))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			return
		}
		// What a server installs without its optional parts is a valid
		// manifest that ships none of their files.
		var optional []string
		for _, p := range m.Parts {
			if !p.Mandatory {
				optional = append(optional, p.Name)
			}
		}
		less := m.Without(optional)
		if err := less.Validate(); err != nil {
			t.Fatalf("without %v: %v", optional, err)
		}
		for _, fe := range less.Files {
			if part, ok := m.Part(m.PartOf(fe.Path)); ok && !part.Mandatory {
				t.Fatalf("without %v still ships %s of part %s", optional, fe.Path, part.Name)
			}
		}
		// A valid manifest survives a round trip unchanged.
		again, err := m.Marshal()
		if err != nil {
			t.Fatalf("marshal a parsed manifest: %v", err)
		}
		m2, err := ParseManifest(again)
		if err != nil {
			t.Fatalf("re-parse: %v\n%s", err, again)
		}
		again2, _ := m2.Marshal()
		if !bytes.Equal(again, again2) {
			t.Fatalf("round trip changed the manifest:\n%s\n%s", again, again2)
		}
	})
}

func FuzzParseIndex(f *testing.F) {
	data, err := sampleIndex(f).Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add(bytes.Replace(data, []byte(`"2.4.1.2"`), []byte(`"2.4.1.5"`), 1))
	f.Add([]byte(`{"format":1,"product":"a","base":"1","serial":1,"generated":"2024-01-01T00:00:00Z","expires":"2024-02-01T00:00:00Z","fixes":[{"version":"1.1","requires":"1","file":"../a.fix","size":1,"sha256":"x","summary":"","bugs":[]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ix, err := ParseIndex(data)
		if err != nil {
			return
		}
		for i, fx := range ix.Fixes {
			if !fx.Version.Equal(ix.Base.Fix(i+1)) || !IsPlainFileName(fx.File) {
				t.Fatalf("accepted fix %d: %+v", i, fx)
			}
		}
	})
}

// sampleIndex is the channel index of the demo fixes, as a build writes
// it (publish's golden files pin the built one).
func sampleIndex(t testing.TB) *Index {
	t.Helper()
	generated := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	ix := &Index{Format: IndexFormat, Serial: 1, Generated: generated, Expires: generated.Add(30 * 24 * time.Hour), Fixes: []IndexFix{}}
	for _, m := range sampleManifests(t) {
		ix.Product, ix.Base = m.Product, m.Base
		f := IndexFix{Version: m.Version, Requires: m.Requires, File: ArchiveName(m.Product, m.Version),
			Size: 1000, SHA256: strings.Repeat("ab", 32), Summary: m.Summary, Bugs: []BugRef{}}
		for _, b := range m.Bugs {
			f.Bugs = append(f.Bugs, BugRef{ID: b.ID, Summary: b.Summary})
		}
		ix.Fixes = append(ix.Fixes, f)
	}
	if err := ix.Validate(); err != nil {
		t.Fatal(err)
	}
	return ix
}

// manifestWithParts is a valid manifest with an optional and a mandatory
// part.
const manifestWithParts = `{"format":1,"product":"a","version":"1.1","base":"1","requires":"1","summary":"s","bugs":[],` +
	`"files":[{"path":"d/x","size":1,"mode":"0644","sha256":"` + sha64 + `"},{"path":"d/y","size":1,"mode":"0644","sha256":"` + sha64 + `"},{"path":"z","size":1,"mode":"0644","sha256":"` + sha64 + `"}],` +
	`"scripts":[{"path":"10-a.sh","size":1,"mode":"0755","sha256":"` + sha64 + `"}],` +
	`"parts":[{"name":"opt","summary":"optional","files":["d/x"],"scripts":["10-a.sh"]},{"name":"core","mandatory":true,"files":["d/y"]}]}`

const sha64 = "abababababababababababababababababababababababababababababababab"
