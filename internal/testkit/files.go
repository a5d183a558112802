package testkit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// WriteFile writes data to dir/rel with mode (exactly, whatever the
// umask), creating parents.
func WriteFile(tb testing.TB, dir, rel, data string, mode os.FileMode) {
	tb.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		tb.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		tb.Fatal(err)
	}
}

// WantErr fails unless err is non-nil and its message mentions every one
// of wants: the test of an error a user reads.
func WantErr(tb testing.TB, err error, wants ...string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("no error, want one mentioning %q", wants)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			tb.Errorf("error %q does not mention %q", err, w)
		}
	}
}
