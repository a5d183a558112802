package repo

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

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
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseSourceTOML("fix.toml", data)
		if err != nil {
			if m != nil {
				t.Fatal("manifest returned with an error")
			}
			return
		}
		// What parses names a real chain position and clean paths.
		if m.Version.IsZero() || !m.Base.Equal(m.Version.Base()) || ValidProductName(m.Product) != nil {
			t.Fatalf("accepted %+v", m)
		}
		for _, d := range m.Delete {
			if _, err := CleanRelPath(d); err != nil {
				t.Fatalf("accepted delete path %q", d)
			}
		}
	})
}

func FuzzParseManifest(f *testing.F) {
	for _, p := range packSample(f) {
		a := mustOpenArchive(f, p)
		data, err := a.Manifest.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"format":1}`))
	f.Add([]byte(`{"format":1,"product":"a","version":"1.1","base":"1","requires":"1","summary":"s","bugs":[],"files":[{"path":"../x","size":1,"mode":"0644","sha256":""}],"scripts":[]}`))
	f.Add([]byte(`{} {}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			return
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
	root, _ := builtRepo(f, BuildOptions{})
	data, err := os.ReadFile(filepath.Join(channelDir(root), IndexName))
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
			if !fx.Version.Equal(ix.Base.Fix(i+1)) || cleanBase(fx.File) == "" {
				t.Fatalf("accepted fix %d: %+v", i, fx)
			}
		}
	})
}

func mustOpenArchive(f *testing.F, path string) *ArchiveReader {
	f.Helper()
	file, err := os.Open(path)
	if err != nil {
		f.Fatal(err)
	}
	defer file.Close()
	a, err := NewArchiveReader(file)
	if err != nil {
		f.Fatal(err)
	}
	return a
}

func FuzzArchiveReader(f *testing.F) {
	for _, p := range packSample(f) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	hostile, _ := filepath.Glob(filepath.Join("testdata", "hostile", "*.fix"))
	for _, p := range hostile {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := NewArchiveReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		if a.Manifest == nil {
			t.Fatal("reader without a manifest")
		}
		for range 1000 {
			e, err := a.Next()
			if err != nil {
				return
			}
			// Read less than all of some entries: Next must drain them.
			n, err := io.Copy(io.Discard, io.LimitReader(e.Reader, 1<<20))
			if err == nil && n > e.Size {
				t.Fatalf("entry %s yielded %d bytes, declared %d", e.Path, n, e.Size)
			}
		}
	})
}
