package repo

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/internal/testkit"
)

// partSource writes a fix source with files, scripts and the given
// [[part]] tables.
func partSource(t *testing.T, parts string, scripts map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	testkit.WriteFile(t, dir, "fix.toml", "product = \"acme\"\nversion = \"2.4.1.4\"\nsummary = \"Parts\"\n"+parts, 0o644)
	for _, f := range []string{"lib/tax.php", "samples/a.csv", "samples/deep/b.csv", "samplesX/c.csv", "data/preset.csv"} {
		testkit.WriteFile(t, dir, "files/"+f, f+"\n", 0o644)
	}
	for name, body := range scripts {
		testkit.WriteFile(t, dir, "scripts/"+name, body, 0o755)
	}
	return dir
}

const (
	loadScript = "#!/bin/sh\necho load samples\n"
	mainScript = "#!/bin/sh\necho migrate\n"
)

func TestPartsPack(t *testing.T) {
	parts := `[[part]]
name = "samples"
summary = "Sample data"
mandatory = false
files = ["samples/", "data/preset.csv"]
scripts = ["30-load-samples.sh"]

[[part]]
name = "core"
summary = "The tax fix"
mandatory = true
files = ["lib/tax.php"]
`
	src, err := PrepareSource(context.Background(), partSource(t, parts, map[string]string{"30-load-samples.sh": loadScript, "10-migrate.sh": mainScript}))
	if err != nil {
		t.Fatal(err)
	}
	m := &src.Manifest
	want := []Part{
		{Name: "samples", Summary: "Sample data", Files: []string{"data/preset.csv", "samples/a.csv", "samples/deep/b.csv"}, Scripts: []string{"30-load-samples.sh"}},
		{Name: "core", Summary: "The tax fix", Mandatory: true, Files: []string{"lib/tax.php"}},
	}
	if !reflect.DeepEqual(m.Parts, want) {
		t.Fatalf("parts = %+v\nwant %+v", m.Parts, want)
	}
	for path, part := range map[string]string{"samples/a.csv": "samples", "samplesX/c.csv": "", "lib/tax.php": "core"} {
		if got := m.PartOf(path); got != part {
			t.Errorf("PartOf(%s) = %q, want %q", path, got, part)
		}
	}
	// The manifest round-trips, and what a server without the part
	// installs lacks exactly its files and scripts.
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseManifest(data)
	if err != nil || !reflect.DeepEqual(again.Parts, want) {
		t.Fatalf("round trip: %v %+v", err, again)
	}
	less := m.Without([]string{"samples"})
	if err := less.Validate(); err != nil {
		t.Fatal(err)
	}
	var files, scripts []string
	for _, f := range less.Files {
		files = append(files, f.Path)
	}
	for _, s := range less.Scripts {
		scripts = append(scripts, s.Path)
	}
	if !reflect.DeepEqual(files, []string{"lib/tax.php", "samplesX/c.csv"}) || !reflect.DeepEqual(scripts, []string{"10-migrate.sh"}) {
		t.Errorf("without samples: files %v scripts %v", files, scripts)
	}
	if refs := m.PartRefs(); len(refs) != 2 || refs[0] != (PartRef{Name: "samples", Summary: "Sample data"}) || !refs[1].Mandatory {
		t.Errorf("PartRefs = %+v", refs)
	}
}

// What pack refuses, each with the line of the part to edit.
func TestPartsPackRefuses(t *testing.T) {
	opt := func(name, files, scripts string) string {
		return "[[part]]\nname = \"" + name + "\"\nfiles = [" + files + "]\nscripts = [" + scripts + "]\n"
	}
	tests := []struct {
		name    string
		parts   string
		scripts map[string]string
		want    []string
	}{
		{"a file not in the fix", opt("samples", `"samples/zzz.csv"`, ""), nil,
			[]string{"fix.toml:6:", `part "samples" names "samples/zzz.csv"`, "not a file or directory under files/"}},
		{"a directory with no files", opt("samples", `"nothing/"`, ""), nil,
			[]string{`names "nothing"`}},
		{"a prefix that is no directory", opt("samples", `"sampl"`, ""), nil,
			[]string{`names "sampl"`}},
		{"a deleted path", "delete = [\"old.php\"]\n" + opt("samples", `"old.php"`, ""), nil,
			[]string{`names "old.php"`}},
		{"a file in two parts", opt("a", `"samples/a.csv"`, "") + opt("b", `"samples/"`, ""), nil,
			[]string{`"samples/a.csv" is in part "a" and in part "b"`}},
		{"a script not in scripts/", opt("samples", `"samples/"`, `"30-none.sh"`), nil,
			[]string{`part "samples" names script "30-none.sh", which is not in scripts/`}},
		{"a script in two parts", opt("a", `"samples/"`, `"30-load-samples.sh"`) + opt("b", `"data/"`, `"30-load-samples.sh"`),
			map[string]string{"30-load-samples.sh": loadScript},
			[]string{`script "30-load-samples.sh" is in part "a" and in part "b"`}},
		{"an optional script a mandatory one runs", opt("samples", `"samples/"`, `"30-load-samples.sh"`),
			map[string]string{"30-load-samples.sh": loadScript, "10-migrate.sh": "#!/bin/sh\n\"$(dirname \"$0\")/30-load-samples.sh\"\n"},
			[]string{`script "30-load-samples.sh" of the optional part "samples" is named by "10-migrate.sh"`}},
		{"an optional script a mandatory part's script runs",
			opt("samples", `"samples/"`, `"30-load-samples.sh"`) + "[[part]]\nname = \"core\"\nmandatory = true\nfiles = [\"lib/tax.php\"]\nscripts = [\"10-migrate.sh\"]\n",
			map[string]string{"30-load-samples.sh": loadScript, "10-migrate.sh": "#!/bin/sh\n. ./30-load-samples.sh\n"},
			[]string{`named by "10-migrate.sh"`}},
		{"a part named twice", opt("samples", `"samples/"`, "") + opt("samples", `"data/"`, ""), nil,
			[]string{`part "samples" is declared twice`}},
		{"a bad name", opt("Sample Data", `"samples/"`, ""), nil,
			[]string{"fix.toml:5:", `part name "Sample Data"`}},
		{"an empty part", "[[part]]\nname = \"empty\"\n", nil,
			[]string{`part "empty" names no files and no scripts`}},
		{"a path out of the root", opt("samples", `"../etc/passwd"`, ""), nil,
			[]string{`part "samples": files:`}},
		{"a script path", opt("samples", `"samples/"`, `"sub/x.sh"`), nil,
			[]string{`"sub/x.sh" must be the name of a file in scripts/`}},
		{"an unknown key", "[[part]]\nname = \"samples\"\nfiles = [\"samples/\"]\noptional = true\n", nil,
			[]string{`unknown key "part.optional"`, "[[part]] name/summary/mandatory/files/scripts"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadSource(partSource(t, tc.parts, tc.scripts))
			testkit.WantErr(t, err, tc.want...)
		})
	}
}

// A script of an optional part that only another script of the same
// part runs is fine; so is one that mentions a mandatory script.
func TestPartsScriptDependencyAllowed(t *testing.T) {
	parts := "[[part]]\nname = \"samples\"\nfiles = [\"samples/\"]\nscripts = [\"30-load-samples.sh\", \"31-more.sh\"]\n"
	_, err := LoadSource(partSource(t, parts, map[string]string{
		"30-load-samples.sh": loadScript,
		"31-more.sh":         "#!/bin/sh\n./30-load-samples.sh\n./10-migrate.sh\n",
		"10-migrate.sh":      mainScript,
	}))
	if err != nil {
		t.Fatal(err)
	}
}

func TestManifestPartsValidate(t *testing.T) {
	tests := []struct {
		name, from, to, want string
	}{
		{"a file the fix lacks", `"files":["d/x"]`, `"files":["d/q"]`, `names files "d/q", which the fix does not ship`},
		{"a file in two parts", `"files":["d/y"]`, `"files":["d/x"]`, `files "d/x" is in part "opt" and in part "core"`},
		{"a script the fix lacks", `"scripts":["10-a.sh"]`, `"scripts":["10-b.sh"]`, `names scripts "10-b.sh"`},
		{"unsorted", `"files":["d/x"]`, `"files":["z","d/x"]`, "not sorted"},
		{"a bad name", `"name":"opt"`, `"name":"O P T"`, "part name"},
		{"a name twice", `"name":"core"`, `"name":"opt"`, `part "opt" listed twice`},
	}
	if _, err := ParseManifest([]byte(manifestWithParts)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bad := strings.Replace(manifestWithParts, tc.from, tc.to, 1)
			if bad == manifestWithParts {
				t.Fatal("the replacement changed nothing")
			}
			_, err := ParseManifest([]byte(bad))
			testkit.WantErr(t, err, tc.want)
		})
	}
}
