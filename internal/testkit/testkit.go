package testkit

import (
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// CopyTree copies the regular files and directories of src to dst with
// their modes (other entries, such as sockets, are skipped). Directories
// get their modes last, so read-only ones can be filled first.
func CopyTree(tb testing.TB, src, dst string) {
	tb.Helper()
	type dirMode struct {
		path string
		mode fs.FileMode
	}
	var dirs []dirMode
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, dirMode{target, fi.Mode().Perm()})
			return os.MkdirAll(target, 0o700)
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fi.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		if err := out.Close(); err != nil {
			return err
		}
		return os.Chmod(target, fi.Mode().Perm())
	})
	for i := len(dirs) - 1; i >= 0 && err == nil; i-- {
		err = os.Chmod(dirs[i].path, dirs[i].mode)
	}
	if err != nil {
		tb.Fatalf("copy %s to %s: %v", src, dst, err)
	}
}

// WebhookSink is an httptest server that decodes every JSON POST into T
// and answers with Status.
type WebhookSink[T any] struct {
	URL    string
	Status int
	mu     sync.Mutex
	got    []T
}

// NewWebhookSink starts a sink that answers status; it stops with the test.
func NewWebhookSink[T any](tb testing.TB, status int) *WebhookSink[T] {
	tb.Helper()
	s := &WebhookSink[T]{Status: status}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v T
		if err := json.NewDecoder(r.Body).Decode(&v); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.got = append(s.got, v)
		status := s.Status
		s.mu.Unlock()
		w.WriteHeader(status)
	}))
	tb.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Received returns what was posted so far.
func (s *WebhookSink[T]) Received() []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]T(nil), s.got...)
}

// Await waits up to 30 s until at least n posts arrived.
func (s *WebhookSink[T]) Await(tb testing.TB, n int) []T {
	tb.Helper()
	for start := time.Now(); time.Since(start) < 30*time.Second; time.Sleep(10 * time.Millisecond) {
		if got := s.Received(); len(got) >= n {
			return got
		}
	}
	tb.Fatalf("webhook received fewer than %d posts", n)
	return nil
}

// GPGHome makes a throwaway gpg home for interoperability tests with the
// real gpg. It lives directly under /tmp because gpg-agent's socket path
// must stay short, and its agent is killed at cleanup so no daemon
// outlives the test. A missing gpg fails the test: these tests never skip.
func GPGHome(tb testing.TB) string {
	tb.Helper()
	if _, err := exec.LookPath("gpg"); err != nil {
		tb.Fatalf("gpg is needed for the interoperability tests (make test installs it): %v", err)
	}
	home, err := os.MkdirTemp("/tmp", "gpg")
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.Chmod(home, 0o700); err != nil {
		tb.Fatal(err)
	}
	// The agent re-protects imported secret keys with an S2K count it
	// calibrates to take seconds; a test has no use for that.
	if err := os.WriteFile(filepath.Join(home, "gpg-agent.conf"), []byte("s2k-count 65536\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		cmd := exec.Command("gpgconf", "--homedir", home, "--kill", "all")
		cmd.Env = append(os.Environ(), "GNUPGHOME="+home)
		_ = cmd.Run()
		os.RemoveAll(home)
	})
	return home
}

// GPG runs the real gpg in home, non-interactively.
func GPG(tb testing.TB, home string, args ...string) ([]byte, error) {
	tb.Helper()
	cmd := exec.Command("gpg", append([]string{"--homedir", home, "--batch", "--no-tty", "--no-auto-check-trustdb"}, args...)...)
	cmd.Env = append(os.Environ(), "GNUPGHOME="+home)
	return cmd.CombinedOutput()
}
