package cmd

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/internal/testkit"
)

// TestUnreachableReportedOnce: a repository that cannot be reached at all
// is reported in one line, naming its URL once, at once: no retries with
// backoff (each a WARN line) in front of it, whatever [network] retries
// says. Transfers that started are still retried (download_test.go).
func TestUnreachableReportedOnce(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + l.Addr().String()
	l.Close()
	for _, tc := range []struct{ name, url string }{
		{"connection refused", refused},
		{"no such host", "http://hotfix-test.invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			root := filepath.Join(dir, "root")
			testkit.WriteFile(t, root, "VERSION", "2.4.1\n", 0o644)
			pub, err := os.ReadFile(testPublic)
			if err != nil {
				t.Fatal(err)
			}
			testkit.WriteFile(t, dir, "keys/vendor.pub.asc", string(pub), 0o644)
			cfg := client.SandboxConfig(tc.url, demo.Product, root, filepath.Join(dir, "keys"), dir) + "[network]\nretries = 3\n"
			testkit.WriteFile(t, dir, "hotfix.toml", cfg, 0o644)
			for _, cmd := range [][]string{{"check"}, {"download"}, {"install", "--yes"}} {
				start := time.Now()
				code, _, errOut := runHotfix(t, append([]string{"--config", filepath.Join(dir, "hotfix.toml")}, cmd...)...)
				if el := time.Since(start); el > 5*time.Second {
					t.Errorf("%v took %s", cmd, el)
				}
				url := tc.url + "/acme/2.4.1/index.json"
				if code != ExitError || strings.Count(errOut, "\n") != 1 || strings.Count(errOut, url) != 1 ||
					!strings.Contains(errOut, "is the repository reachable from here?") || strings.Contains(errOut, "retrying") {
					t.Errorf("%v: exit %d, want 1 and one line naming %s once:\n%s", cmd, code, url, errOut)
				}
			}
		})
	}
}
