package publish

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
)

// TestAddChannelExplainsUnreachablePaths: a repository or channel path
// that cannot be used is refused with its real cause, the component at
// fault and the fix (not "not a directory" for everything), wraps the
// system's error, and leaves the tree as it was. Permission denied, which
// root never meets, is in cmd's TestRepoAddPermissionDenied.
func TestAddChannelExplainsUnreachablePaths(t *testing.T) {
	base := repo.MustParseVersion("2.4.1")
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, top string) (root string) // returns the repository path given
		is    error
		want  []string // "%TOP%" stands for top
	}{
		{"missing repository", func(t *testing.T, top string) string { return filepath.Join(top, "nope") },
			nil, []string{"repository %TOP%/nope does not exist", "create it with mkdir first"}},
		{"repository is a file", func(t *testing.T, top string) string {
			write(t, filepath.Join(top, "repo"), "x")
			return filepath.Join(top, "repo")
		}, nil, []string{"repository %TOP%/repo is a file, not a directory", "give the repository's directory"}},
		{"a file on the way to the repository", func(t *testing.T, top string) string {
			write(t, filepath.Join(top, "file"), "x")
			return filepath.Join(top, "file", "repo")
		}, syscall.ENOTDIR, []string{"repository %TOP%/file/repo cannot be reached", "%TOP%/file is a file, not a directory", "move it out of the way"}},
		{"a link loop on the way to the repository", func(t *testing.T, top string) string {
			symlink(t, "loop", filepath.Join(top, "loop"))
			return filepath.Join(top, "loop", "repo")
		}, syscall.ELOOP, []string{"repository %TOP%/loop/repo cannot be reached", "%TOP%/loop is a symbolic link that loops", "fix or remove the link"}},
		{"the product is a file", func(t *testing.T, top string) string {
			write(t, filepath.Join(top, "acme"), "x")
			return top
		}, syscall.ENOTDIR, []string{"channel %TOP%/acme/2.4.1 cannot be reached", "%TOP%/acme is a file, not a directory"}},
		{"the product is a link loop", func(t *testing.T, top string) string {
			symlink(t, "acme", filepath.Join(top, "acme"))
			return top
		}, syscall.ELOOP, []string{"channel %TOP%/acme/2.4.1 cannot be reached", "%TOP%/acme is a symbolic link that loops"}},
		{"the channel is a link", func(t *testing.T, top string) string {
			other := t.TempDir()
			mkdir(t, filepath.Join(top, "acme"))
			symlink(t, other, filepath.Join(top, "acme", "2.4.1"))
			return top
		}, nil, []string{"channel %TOP%/acme/2.4.1 is a symbolic link", "replace the link by the directory it points to"}},
		{"the channel is a file", func(t *testing.T, top string) string {
			mkdir(t, filepath.Join(top, "acme"))
			write(t, filepath.Join(top, "acme", "2.4.1"), "x")
			return top
		}, nil, []string{"channel %TOP%/acme/2.4.1 exists and is not a directory", "remove it first"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			top := t.TempDir()
			root := tc.setup(t, top)
			before := snapshot(t, top)
			_, err := AddChannel(root, "acme", base)
			var wants []string
			for _, w := range tc.want {
				wants = append(wants, strings.ReplaceAll(w, "%TOP%", top))
			}
			testkit.WantErr(t, err, wants...)
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error does not wrap %v: %v", tc.is, err)
			}
			if after := snapshot(t, top); after != before {
				t.Errorf("a refused AddChannel changed the tree:\n%s\nwas:\n%s", after, before)
			}
		})
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, path string) {
	t.Helper()
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, path string) {
	t.Helper()
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}
