package cmd

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/internal/demo"
)

// pack --compress picks zstd (the default) or xz; a repository takes both
// in one chain, as archives packed before zstd was the default, and
// verifies them as a client reads them.
func TestPackCompressCLI(t *testing.T) {
	dir := t.TempDir()
	if err := demo.WriteSample(dir); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	t.Setenv("SOURCE_DATE_EPOCH", "1714564800")
	magic := map[string][]byte{"zstd": {0x28, 0xB5, 0x2F, 0xFD}, "xz": {0xFD, '7', 'z', 'X', 'Z', 0}}
	var paths []string
	for i, tt := range []struct{ flag, want string }{{"xz", "xz"}, {"", "zstd"}, {"zstd", "zstd"}} {
		args := []string{"pack", filepath.Join(dir, "fixes", demo.FixVersions[i]), "--out", out}
		if tt.flag != "" {
			args = append(args, "--compress", tt.flag)
		}
		code, stdout, stderr := runHotfix(t, args...)
		if code != ExitOK {
			t.Fatalf("%v: exit %d\n%s", args, code, stderr)
		}
		p := strings.TrimSpace(stdout)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(data, magic[tt.want]) {
			t.Errorf("%v wrote %x…, want %s", args, data[:6], tt.want)
		}
		paths = append(paths, p)
	}
	if code, _, stderr := runHotfix(t, "pack", filepath.Join(dir, "fixes", demo.FixVersions[0]), "--compress", "gzip"); code != ExitUsage || !strings.Contains(stderr, "zstd (the default), xz") {
		t.Errorf("--compress gzip: exit %d\n%s", code, stderr)
	}

	root := t.TempDir()
	if code, stdout, stderr := runHotfix(t, append([]string{"repo", "add", root}, paths...)...); code != ExitOK {
		t.Fatalf("repo add of xz and zstd archives: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, stderr := runHotfix(t, "repo", "build", root, "--key", testSecret); code != ExitOK || !strings.Contains(stdout, "3 fixes") {
		t.Fatalf("repo build: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, stderr := runHotfix(t, "repo", "verify", root, "--keyring", testPublic); code != ExitOK {
		t.Fatalf("repo verify: exit %d\n%s%s", code, stdout, stderr)
	}
}
