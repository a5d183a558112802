package cmd

import (
	"testing"

	"github.com/hotfix-project/hotfix/internal/testkit"
)

// TestDemo runs the README's first command end to end through the CLI and
// pins its story, the closing advice included: each step with the command
// to type. The tour itself is tested in internal/demo/tour.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runHotfix(t, "demo", "--dir", dir)
	if code != ExitOK {
		t.Fatalf("demo exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	testkit.Golden(t, "demo.txt", normalize(t, out, dir))
}
