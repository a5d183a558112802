package cmd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemo runs the README's first command end to end: vendor side,
// serving on loopback, and the client installing into a sandbox root.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	code := Execute(context.Background(), []string{"demo", "--dir", dir}, Streams{Out: &out, Err: &errb})
	if code != 0 {
		t.Fatalf("demo exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{
		"acme-2.4.1.1.fix: Round tax to cents",
		"acme 2.4.1: serial 1, 3 fixes",
		"3 fixes pending",
		"2.4.1.3 installed",
		"rolled back 2.4.1.3",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
	root := filepath.Join(dir, "server", "root")
	// After rolling back 2.4.1.3, 2.4.1.2's coupon module is there and the
	// legacy file that 2.4.1.3 deleted is back.
	for _, p := range []string{"lib/coupon.php", "app/legacy.php"} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Errorf("after demo: %v", err)
		}
	}
	tax, err := os.ReadFile(filepath.Join(root, "lib", "tax.php"))
	if err != nil || !strings.Contains(string(tax), "round(") {
		t.Errorf("lib/tax.php should carry fix 2.4.1.1, got %q (%v)", tax, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "repo", "acme", "2.4.1", "index.json.asc")); err != nil {
		t.Errorf("repository not signed: %v", err)
	}
}
