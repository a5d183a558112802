package main

// The house rules of DESIGN.md ("Layout of the code") as a test: imports
// point only in the allowed directions, no file is too long to hold in one's
// head, and a long function says why it is long.

import (
	"bufio"
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const module = "github.com/hotfix-project/hotfix"

// allowed says whether package from (a path relative to the module, "main"
// for the root) may import our package to. It is DESIGN.md's list, read as
// rules; internal/* are helpers anyone below cmd may use.
func allowed(from, to string) bool {
	internal := strings.HasPrefix(to, "internal/")
	switch {
	case to == "cmd":
		return from == "main"
	case strings.HasPrefix(to, "internal/demo/"):
		// The tour reaches every package: only the commands may run it,
		// or a helper would depend on the whole house through it.
		return from == "cmd"
	case from == "main" || from == "cmd":
		return true
	case strings.HasPrefix(from, "internal/"):
		// Helpers depend on helpers; the demo's tour plays the whole story.
		return internal || strings.HasPrefix(from, "internal/demo/")
	case from == "repo" || from == "sign" || from == "server":
		return internal
	case from == "repo/fixarchive" || from == "repo/rpm" || from == "repo/yum" || from == "repo/site" || from == "repo/bundle":
		return to == "repo" || internal
	case from == "repo/publish":
		return strings.HasPrefix(to, "repo") || to == "sign" || internal
	case from == "client/txn" || from == "client/notify":
		// A fix's transaction and the run report speak the model's terms.
		return to == "repo" || internal
	case strings.HasPrefix(from, "client"):
		return strings.HasPrefix(to, "client/") || to == "repo" || to == "repo/fixarchive" ||
			to == "repo/rpm" || to == "repo/bundle" || to == "sign" || internal
	case from == "mirror":
		// A mirror reads a repository as a client does: the client's
		// fetcher (deadlines, minimum rate) and index trust rules.
		return to == "client" || to == "repo" || to == "repo/bundle" || to == "repo/yum" || to == "sign" || internal
	case from == "cron":
		return strings.HasPrefix(to, "client") || internal
	case from == "bench/fleet":
		// The fleet load generator drives the real client code.
		return to == "client"
	}
	return false
}

func TestImportDirections(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	packages := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		from := strings.TrimPrefix(strings.TrimPrefix(fields[0], module), "/")
		if from == "" {
			from = "main"
		}
		packages++
		for _, imp := range fields[1:] {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			to := strings.TrimPrefix(imp, module+"/")
			if !allowed(from, to) {
				t.Errorf("%s imports %s: DESIGN.md's layout does not allow that direction", from, to)
			}
		}
	}
	if packages < 10 {
		t.Fatalf("go list named only %d packages; is the test running in the module root?", packages)
	}
	// The rules are not vacuous: they refuse what DESIGN.md forbids.
	for _, bad := range [][2]string{{"client", "repo/publish"}, {"client", "cron"}, {"cron", "repo"},
		{"repo", "sign"}, {"repo/rpm", "repo/fixarchive"}, {"server", "repo"}, {"client/txn", "client"},
		{"internal/xzsafe", "internal/demo/tour"}} {
		if allowed(bad[0], bad[1]) {
			t.Errorf("allowed(%q, %q) = true; DESIGN.md forbids it", bad[0], bad[1])
		}
	}
}

// maxFileLines and maxFuncLines are the sizes one can read in a sitting.
const (
	maxFileLines = 600
	maxFuncLines = 100
)

// whyLong is what a long function's doc comment must say: why it is long.
var whyLong = regexp.MustCompile(`(?i)\blong\b`)

func TestSizes(t *testing.T) {
	files, err := exec.Command("git", "ls-files", "*.go").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	fset := token.NewFileSet()
	for _, name := range strings.Fields(string(files)) {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		if ast.IsGenerated(f) {
			continue
		}
		if n := bytes.Count(src, []byte("\n")); n > maxFileLines {
			t.Errorf("%s has %d lines (at most %d): split it by what its parts are about", name, n, maxFileLines)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			lines := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1
			if lines > maxFuncLines && (fn.Doc == nil || !whyLong.MatchString(fn.Doc.Text())) {
				t.Errorf("%s: %s has %d lines (at most %d without a doc comment saying why it is long)",
					filepath.ToSlash(name), fn.Name.Name, lines, maxFuncLines)
			}
		}
	}
}
