package cmd

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// nobody is the user the permission tests run the binary as when they
// run as root, whom no permission bit stops.
const nobody = 65534

// accessTree is a directory every user may search, for a binary run as
// nobody (t.TempDir's parents are private to the user running the
// tests), holding a copy of the hotfix binary.
func accessTree(t *testing.T) (top, bin string) {
	t.Helper()
	uaSetup(t)
	top, err := os.MkdirTemp("", "hotfix-access-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Give back every permission taken away, then remove it all.
		filepath.WalkDir(top, func(p string, d os.DirEntry, err error) error {
			if d != nil && d.IsDir() {
				os.Chmod(p, 0o755)
			}
			return nil
		})
		os.RemoveAll(top)
	})
	if err := os.Chmod(top, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(uaBin)
	if err != nil {
		t.Fatal(err)
	}
	bin = filepath.Join(top, "hotfix")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return top, bin
}

// runAs runs the binary as nobody when the tests run as root, else as
// the user running them.
func runAs(t *testing.T, bin string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), errb.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, errb.String()
}

// noSearch and noWrite make dir refuse the user runAs runs as the
// search or the write: as root, dir belongs to root and its mode stops
// nobody; otherwise the user's own dir loses the bit.
func noSearch(t *testing.T, dir string) { chmodFor(t, dir, 0o700, 0o600) }
func noWrite(t *testing.T, dir string)  { chmodFor(t, dir, 0o755, 0o555) }

func chmodFor(t *testing.T, dir string, asRoot, asUser os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	perm := asUser
	if os.Geteuid() == 0 {
		perm = asRoot
	}
	if err := os.Chmod(dir, perm); err != nil {
		t.Fatal(err)
	}
}

// writable makes a directory the user runAs runs as may write.
func writable(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(dir, nobody, nobody); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRepoAddPermissionDenied: "repo add" on a repository or channel the
// user may not reach or write says which directory refuses and what to
// do (not "not a directory"), exits with an error and creates nothing.
// The binary runs as nobody when the tests run as root.
func TestRepoAddPermissionDenied(t *testing.T) {
	top, bin := accessTree(t)
	archive := filepath.Join(top, "acme-2.4.1.1.fix")
	data, err := os.ReadFile(filepath.Join(uaScratch, "packed", "acme-2.4.1.1.fix"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(archive, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		setup func(dir string) (repo string)
		args  []string // after REPO
		want  []string // "%D%" stands for the case's directory
	}{
		{"repository behind a directory that may not be searched", func(dir string) string {
			writable(t, filepath.Join(dir, "locked", "repo"))
			noSearch(t, filepath.Join(dir, "locked"))
			return filepath.Join(dir, "locked", "repo")
		}, []string{"--product", "acme", "--base", "2.4.1"},
			[]string{"repository %D%/locked/repo cannot be reached", "permission denied on %D%/locked", "chmod +x"}},
		{"the same, adding an archive", func(dir string) string {
			writable(t, filepath.Join(dir, "locked", "repo"))
			noSearch(t, filepath.Join(dir, "locked"))
			return filepath.Join(dir, "locked", "repo")
		}, []string{archive},
			[]string{"repository %D%/locked/repo cannot be reached", "permission denied on %D%/locked"}},
		{"a product directory that may not be searched", func(dir string) string {
			writable(t, filepath.Join(dir, "repo"))
			noSearch(t, filepath.Join(dir, "repo", "acme"))
			return filepath.Join(dir, "repo")
		}, []string{"--product", "acme", "--base", "2.4.1"},
			[]string{"channel %D%/repo/acme/2.4.1 cannot be reached", "permission denied on %D%/repo/acme"}},
		{"a repository that may not be written", func(dir string) string {
			noWrite(t, filepath.Join(dir, "repo"))
			return filepath.Join(dir, "repo")
		}, []string{"--product", "acme", "--base", "2.4.1"},
			[]string{"create channel acme 2.4.1: permission denied in %D%/repo", "grant write permission"}},
		{"adding an archive to a repository that may not be written", func(dir string) string {
			noWrite(t, filepath.Join(dir, "repo"))
			return filepath.Join(dir, "repo")
		}, []string{archive},
			[]string{"create the staging directory: permission denied in %D%/repo", "grant write permission"}},
		{"adding an archive under a product directory that may not be written", func(dir string) string {
			writable(t, filepath.Join(dir, "repo"))
			noWrite(t, filepath.Join(dir, "repo", "acme"))
			return filepath.Join(dir, "repo")
		}, []string{archive},
			[]string{"create channel: permission denied in %D%/repo/acme", "grant write permission"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, err := os.MkdirTemp(top, "case-")
			if err != nil {
				t.Fatal(err)
			}
			os.Chmod(dir, 0o755)
			root := tc.setup(dir)
			code, stderr := runAs(t, bin, append([]string{"repo", "add", root}, tc.args...)...)
			if code != ExitError {
				t.Errorf("exit %d, want %d\n%s", code, ExitError, stderr)
			}
			for _, w := range tc.want {
				if w = strings.ReplaceAll(w, "%D%", dir); !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if strings.Contains(stderr, "not a directory") {
				t.Errorf("blames a directory that is one:\n%s", stderr)
			}
			os.Chmod(filepath.Dir(root), 0o755)
			os.Chmod(root, 0o755)
			if _, err := os.Lstat(filepath.Join(root, "acme", "2.4.1")); !os.IsNotExist(err) {
				t.Errorf("the refused add created the channel: %v", err)
			}
		})
	}
}
