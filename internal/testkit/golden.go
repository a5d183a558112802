package testkit

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// update is the one -update flag of every package's tests: `go test ./PKG
// -run TestX -update` rewrites the golden files TestX compares against.
var update = flag.Bool("update", false, "rewrite golden files under testdata/ instead of comparing with them")

// Golden compares got with the committed file testdata/NAME (relative to
// the test's package), or with -update writes it. Golden files pin the
// formats users and scripts depend on (indexes, pages, repodata, --json
// output): a change to one must be deliberate and show in review as a diff.
func Golden(tb testing.TB, name string, got []byte) {
	tb.Helper()
	path := filepath.Join("testdata", filepath.FromSlash(name))
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("golden file: %v (run this test with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		tb.Fatalf("%s differs from what the code makes now (%d bytes committed, %d made)%s\nIf the change is deliberate, run this test with -update and review the diff.",
			path, len(want), len(got), firstDiff(want, got))
	}
}

// firstDiff describes where two byte strings first differ, by line.
func firstDiff(want, got []byte) string {
	wl, gl := bytes.Split(want, []byte("\n")), bytes.Split(got, []byte("\n"))
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g []byte
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if !bytes.Equal(w, g) {
			return "\nfirst difference at line " + itoa(i+1) + ":\n  committed: " + string(w) + "\n  made now:  " + string(g)
		}
	}
	return ""
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for n >= 10 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	i--
	b[i] = byte('0' + n)
	return string(b[i:])
}
