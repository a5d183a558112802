package repo_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The repo packages import only in the directions DESIGN.md ("Layout of
// the code") allows: the model imports no other package of hotfix but
// internal helpers, the format packages import the model and not each
// other, and repo/publish stays below the client and the commands.
func TestImportDirections(t *testing.T) {
	const mod = "github.com/hotfix-project/hotfix/"
	allowed := map[string][]string{
		"repo":            {"internal/"},
		"repo/fixarchive": {"repo", "internal/"},
		"repo/rpm":        {"repo", "internal/"},
		"repo/yum":        {"repo", "internal/"},
		"repo/site":       {"repo", "internal/"},
		"repo/publish":    {"repo", "repo/", "sign", "internal/"},
	}
	for pkg, ok := range allowed {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", mod+pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			rel, ours := strings.CutPrefix(dep, mod)
			if !ours || rel == pkg {
				continue
			}
			fits := false
			for _, a := range ok {
				if rel == a || strings.HasSuffix(a, "/") && strings.HasPrefix(rel, a) {
					fits = true
				}
			}
			if !fits {
				t.Errorf("%s depends on %s", pkg, rel)
			}
		}
	}
}
