package repo

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hotfix-project/hotfix/internal/testkit"
)

const goodTOML = `product = "acme"
version = "2.4.1.7"
summary = "Fix the thing"
delete = ["old/gone.php"]

[[bug]]
id = "ACME-1"
summary = "The thing is broken"
files = ["lib/a.php"]

[[bug]]
id = "ACME-2"
summary = "The other thing"
files = ["old/gone.php"]
`

func TestParseSourceTOMLGood(t *testing.T) {
	m, err := ParseSourceTOML("fix.toml", []byte(goodTOML))
	if err != nil {
		t.Fatal(err)
	}
	if m.Product != "acme" || m.Version.String() != "2.4.1.7" || m.Base.String() != "2.4.1" || m.Requires.String() != "2.4.1.6" {
		t.Errorf("manifest = %+v", m)
	}
	if len(m.Bugs) != 2 || m.Bugs[0].Files[0] != "lib/a.php" || m.Delete[0] != "old/gone.php" {
		t.Errorf("bugs/delete = %+v %v", m.Bugs, m.Delete)
	}
}

// Every problem in fix.toml names the file and the line a person must edit.
func TestParseSourceTOMLErrors(t *testing.T) {
	tests := []struct {
		name string
		toml string
		want []string
	}{
		{"bad version form", strings.Replace(goodTOML, `"2.4.1.7"`, `"2.4.01.7"`, 1),
			[]string{"fix.toml:2:", "version", `"01"`}},
		{"version without fix number", strings.Replace(goodTOML, `"2.4.1.7"`, `"2"`, 1),
			[]string{"fix.toml:2:", "needs a base and a fix number"}},
		{"fix number zero", strings.Replace(goodTOML, `"2.4.1.7"`, `"2.4.1.0"`, 1),
			[]string{"fix.toml:2:", "1 or more"}},
		{"bad product name", strings.Replace(goodTOML, `"acme"`, `"Acme Shop"`, 1),
			[]string{"fix.toml:1:", "product", `"Acme Shop"`}},
		{"empty product", strings.Replace(goodTOML, `"acme"`, `""`, 1),
			[]string{"fix.toml:1:", "empty product name"}},
		{"missing summary", strings.Replace(goodTOML, `summary = "Fix the thing"`, `summary = "  "`, 1),
			[]string{"fix.toml:3:", "summary is required"}},
		{"duplicate bug id", strings.Replace(goodTOML, `"ACME-2"`, `"ACME-1"`, 1),
			[]string{"fix.toml:12:", `bug id "ACME-1" is used twice`}},
		{"bug without id", strings.Replace(goodTOML, `id = "ACME-2"`, `id = ""`, 1),
			[]string{"fix.toml:11:", "id is required"}},
		{"absolute delete", strings.Replace(goodTOML, `"old/gone.php"]`, `"/etc/passwd"]`, 1),
			[]string{"fix.toml:4:", "absolute path"}},
		{"dotdot delete", strings.Replace(goodTOML, `"old/gone.php"]`, `"../etc/passwd"]`, 1),
			[]string{"fix.toml:4:", "climbs out"}},
		{"non-canonical delete", strings.Replace(goodTOML, `"old/gone.php"]`, `"old//gone.php"]`, 1),
			[]string{"fix.toml:4:", "canonical"}},
		{"absolute bug file", strings.Replace(goodTOML, `"lib/a.php"`, `"/lib/a.php"`, 1),
			[]string{"fix.toml:9:", "absolute path"}},
		{"dotdot bug file", strings.Replace(goodTOML, `"lib/a.php"`, `"lib/../../a.php"`, 1),
			[]string{"fix.toml:9:", "climbs out"}},
		{"unknown key", strings.Replace(goodTOML, `summary = "Fix the thing"`, "summary = \"Fix the thing\"\npriority = \"high\"", 1),
			[]string{"fix.toml:4:", `unknown key "priority"`}},
		{"unknown severity", strings.Replace(goodTOML, `summary = "Fix the thing"`, "summary = \"Fix the thing\"\nseverity = \"high\"", 1),
			[]string{"fix.toml:4:", `severity: "high" is not a severity: use one of security, critical, normal`}},
		{"unknown bug key", strings.Replace(goodTOML, `id = "ACME-2"`, "id = \"ACME-2\"\nowner = \"me\"", 1),
			[]string{"fix.toml:13:", `unknown key "bug.owner"`}},
		{"wrong type", strings.Replace(goodTOML, `delete = ["old/gone.php"]`, `delete = "old/gone.php"`, 1),
			[]string{"fix.toml:4:", "cannot decode"}},
		{"wrong type in bug", strings.Replace(goodTOML, `id = "ACME-2"`, `id = 2`, 1),
			[]string{"fix.toml:12:"}},
		{"malformed", strings.Replace(goodTOML, `summary = "Fix the thing"`, `summary = "Fix the thing`, 1),
			[]string{"fix.toml:3:"}},
		{"malformed table", goodTOML + "\n[[bug\n",
			[]string{"fix.toml:16:", "close array table"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSourceTOML("fix.toml", []byte(tt.toml))
			testkit.WantErr(t, err, tt.want...)
			var se *SourceError
			if !errors.As(err, &se) {
				t.Errorf("error %T is not a *SourceError", err)
			}
		})
	}
}

func TestParseSourceTOMLReportsAllProblems(t *testing.T) {
	src := strings.Replace(strings.Replace(goodTOML, `"acme"`, `"ACME"`, 1), `"2.4.1.7"`, `"x"`, 1)
	_, err := ParseSourceTOML("fix.toml", []byte(src))
	testkit.WantErr(t, err, "fix.toml:1:", "fix.toml:2:")
}

// source writes a fix source directory with goodTOML's files.
func source(t *testing.T, toml string) string {
	t.Helper()
	dir := t.TempDir()
	testkit.WriteFile(t, dir, "fix.toml", toml, 0o644)
	testkit.WriteFile(t, dir, "files/lib/a.php", "<?php // a\n", 0o644)
	testkit.WriteFile(t, dir, "scripts/10-migrate.sh", "#!/bin/sh\necho migrate\n", 0o755)
	return dir
}

func TestLoadSourceGood(t *testing.T) {
	dir := source(t, goodTOML)
	s, err := LoadSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := s.Manifest
	if len(m.Files) != 1 || m.Files[0].Path != "lib/a.php" || m.Files[0].Mode != 0o644 {
		t.Errorf("files = %+v", m.Files)
	}
	if len(m.Scripts) != 1 || m.Scripts[0].Path != "10-migrate.sh" || m.Scripts[0].Mode != 0o755 {
		t.Errorf("scripts = %+v", m.Scripts)
	}
}

func TestLoadSourceErrors(t *testing.T) {
	tests := []struct {
		name  string
		toml  string
		setup func(t *testing.T, dir string)
		want  []string
	}{
		{"bug names a file not in the fix", strings.Replace(goodTOML, `"lib/a.php"`, `"lib/b.php"`, 1), nil,
			[]string{"fix.toml:9:", `"lib/b.php"`, "neither ships"}},
		{"path deleted and shipped", strings.Replace(goodTOML, `"old/gone.php"]`, `"old/gone.php", "lib/a.php"]`, 1), nil,
			[]string{"fix.toml:4:", `"lib/a.php" is both deleted and shipped`}},
		{"symlink in files", goodTOML, func(t *testing.T, dir string) {
			if err := os.Symlink("/etc/passwd", filepath.Join(dir, "files", "lib", "link.php")); err != nil {
				t.Fatal(err)
			}
		}, []string{filepath.Join("files", "lib", "link.php"), "symbolic link"}},
		{"symlinked files dir", goodTOML, func(t *testing.T, dir string) {
			real := filepath.Join(dir, "elsewhere")
			if err := os.Rename(filepath.Join(dir, "files"), real); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(real, filepath.Join(dir, "files")); err != nil {
				t.Fatal(err)
			}
		}, []string{"files", "symbolic link"}},
		{"fifo in files", goodTOML, func(t *testing.T, dir string) {
			if err := syscall.Mkfifo(filepath.Join(dir, "files", "lib", "pipe"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, []string{filepath.Join("files", "lib", "pipe"), "not a regular file"}},
		{"script without #!", goodTOML, func(t *testing.T, dir string) {
			testkit.WriteFile(t, dir, "scripts/20-nohashbang.sh", "echo hi\n", 0o755)
		}, []string{"20-nohashbang.sh", "#! line"}},
		{"empty script", goodTOML, func(t *testing.T, dir string) {
			testkit.WriteFile(t, dir, "scripts/30-empty.sh", "", 0o755)
		}, []string{"30-empty.sh", "#! line"}},
		{"non-executable script", goodTOML, func(t *testing.T, dir string) {
			testkit.WriteFile(t, dir, "scripts/20-plain.sh", "#!/bin/sh\n", 0o644)
		}, []string{"20-plain.sh", "not executable"}},
		{"subdirectory in scripts", goodTOML, func(t *testing.T, dir string) {
			testkit.WriteFile(t, dir, "scripts/sub/x.sh", "#!/bin/sh\n", 0o755)
		}, []string{filepath.Join("scripts", "sub"), "subdirectories"}},
		{"file name not UTF-8", goodTOML, func(t *testing.T, dir string) {
			testkit.WriteFile(t, dir, "files/lib/caf\xe9.php", "<?php\n", 0o644)
		}, []string{`lib/caf\xe9.php`, "not valid UTF-8", "manifest.json cannot name it exactly"}},
		{"directory name not UTF-8", goodTOML, func(t *testing.T, dir string) {
			testkit.WriteFile(t, dir, "files/d\xfcsseldorf/index.php", "<?php\n", 0o644)
		}, []string{`d\xfcsseldorf/index.php`, "not valid UTF-8"}},
		{"script name not UTF-8", goodTOML, func(t *testing.T, dir string) {
			testkit.WriteFile(t, dir, "scripts/10-\xff.sh", "#!/bin/sh\n", 0o755)
		}, []string{`10-\xff.sh`, "not valid UTF-8"}},
		{"newline in a file name", goodTOML, func(t *testing.T, dir string) {
			testkit.WriteFile(t, dir, "files/lib/a\nb.php", "<?php\n", 0o644)
		}, []string{`lib/a\nb.php`, "control character"}},
		{"escape in a directory name", goodTOML, func(t *testing.T, dir string) {
			testkit.WriteFile(t, dir, "files/\x1b[31m/x.php", "<?php\n", 0o644)
		}, []string{`\x1b[31m/x.php`, "control character"}},
		{"control character in delete", strings.Replace(goodTOML, `"old/gone.php"]`, `"old/gone.php", "old/bell\u0007.php"]`, 1), nil,
			[]string{"fix.toml:4:", "control character"}},
		{"file writable by every user", goodTOML, func(t *testing.T, dir string) {
			chmod(t, filepath.Join(dir, "files", "lib", "a.php"), 0o666)
		}, []string{filepath.Join("files", "lib", "a.php"), "mode 0666 is writable by every user", "chmod"}},
		{"program writable by every user", goodTOML, func(t *testing.T, dir string) {
			testkit.WriteFile(t, dir, "files/bin/tool", "#!/bin/sh\n", 0o755)
			chmod(t, filepath.Join(dir, "files", "bin", "tool"), 0o777)
		}, []string{filepath.Join("files", "bin", "tool"), "mode 0777 is writable by every user"}},
		{"file not readable by its owner", goodTOML, func(t *testing.T, dir string) {
			chmod(t, filepath.Join(dir, "files", "lib", "a.php"), 0o000)
		}, []string{filepath.Join("files", "lib", "a.php"), "mode 0000 is not readable by its owner"}},
		{"no fix.toml", goodTOML, func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "fix.toml"))
		}, []string{"no fix.toml"}},
		{"malformed fix.toml", "product = acme\n", nil, []string{"fix.toml:1:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := source(t, tt.toml)
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			_, err := LoadSource(dir)
			testkit.WantErr(t, err, tt.want...)
			// The problems must name the fix source, not some other path.
			if err != nil && !strings.Contains(err.Error(), dir) {
				t.Errorf("error %q does not name the source directory %s", err, dir)
			}
			// Preparing to pack (both packers start there) refuses the
			// same source; fixarchive's and rpm's tests check that
			// nothing is written then.
			if _, err := PrepareSource(t.Context(), dir); err == nil {
				t.Fatal("PrepareSource accepted the broken source")
			}
		})
	}
}

func TestLoadSourceEmpty(t *testing.T) {
	dir := t.TempDir()
	testkit.WriteFile(t, dir, "fix.toml", "product = \"acme\"\nversion = \"1.0.1\"\nsummary = \"nothing\"\n", 0o644)
	_, err := LoadSource(dir)
	testkit.WantErr(t, err, "ships no files")
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}
