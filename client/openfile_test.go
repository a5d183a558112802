package client

// Tests of the FIFO case of issue 16: a configuration, version_file,
// install --from source or file:// repository file that is a FIFO (or a
// device, or a directory) is refused naming it, at once, instead of
// hanging in open(2) where SIGTERM does not reach.

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// mkfifo makes a FIFO at p; the cleanup opens it read-write so that an
// open blocked on it (the bug) returns and the test can end.
func mkfifo(t *testing.T, p string) string {
	t.Helper()
	os.Remove(p)
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if f, err := os.OpenFile(p, os.O_RDWR|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	return p
}

// within runs f and fails the test if it has not returned after limit.
func within(t *testing.T, limit time.Duration, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		t.Fatalf("still blocked after %s", limit)
		return nil
	}
}

func TestNonRegularFilesRefused(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, e *testEnv) error
		msgs []string
		is   error
	}{
		{"configuration a FIFO", func(t *testing.T, e *testEnv) error {
			_, err := LoadConfig(mkfifo(t, filepath.Join(e.Dir, "fifo.toml")))
			return err
		}, []string{"read configuration", "fifo.toml is a named pipe (FIFO), not a regular file"}, errNotRegular},
		{"configuration a directory", func(t *testing.T, e *testEnv) error {
			_, err := LoadConfig(e.Dir)
			return err
		}, []string{"read configuration", "is a directory, not a regular file"}, errNotRegular},
		{"version_file a FIFO", func(t *testing.T, e *testEnv) error {
			e.Cfg.VersionFile = mkfifo(t, filepath.Join(e.Dir, "VERSION.fifo"))
			_, err := e.client(t).Check(context.Background())
			return err
		}, []string{"read base version", "VERSION.fifo is a named pipe (FIFO)", "version_file in"}, errNotRegular},
		{"version_file a device", func(t *testing.T, e *testEnv) error {
			e.Cfg.VersionFile = "/dev/zero"
			_, err := e.client(t).Base()
			return err
		}, []string{"read base version", "/dev/zero is a character device"}, errNotRegular},
		{"install --from a FIFO named .fix", func(t *testing.T, e *testEnv) error {
			_, err := e.client(t).InstallFrom(context.Background(), mkfifo(t, filepath.Join(e.Dir, "acme-2.4.1.1.fix")), InstallOptions{})
			return err
		}, []string{"install --from", "acme-2.4.1.1.fix is a named pipe (FIFO)"}, errNotRegular},
		{"install --from a FIFO named .rpm", func(t *testing.T, e *testEnv) error {
			_, err := e.client(t).InstallFrom(context.Background(), mkfifo(t, filepath.Join(e.Dir, "acme.rpm")), InstallOptions{})
			return err
		}, []string{"install --from", "acme.rpm is a named pipe (FIFO)"}, errNotRegular},
		{"install --from a directory whose manifest is a FIFO", func(t *testing.T, e *testEnv) error {
			d := unpackedFix(t, "2.4.1.1")
			mkfifo(t, filepath.Join(d, "manifest.json"))
			_, err := e.client(t).InstallFrom(context.Background(), d, InstallOptions{})
			return err
		}, []string{"install --from", "manifest.json is a named pipe (FIFO)"}, errNotRegular},
		{"install --from a directory holding a FIFO", func(t *testing.T, e *testEnv) error {
			d := unpackedFix(t, "2.4.1.1")
			p := filepath.Join(d, "files", "lib", "tax.php")
			os.Remove(p)
			mkfifo(t, p)
			_, err := e.client(t).InstallFrom(context.Background(), d, InstallOptions{})
			return err
		}, []string{"install --from", "tax.php is not a regular file"}, nil},
		{"file:// repository whose index is a FIFO", func(t *testing.T, e *testEnv) error {
			p := e.Repo.indexPath()
			os.Remove(p)
			mkfifo(t, p)
			_, err := e.client(t).Check(context.Background())
			return err
		}, []string{"fetch index for acme 2.4.1", "index.json is a named pipe (FIFO)"}, errNotRegular},
		{"file:// repository whose archive is a FIFO", func(t *testing.T, e *testEnv) error {
			p := e.Repo.archivePath("2.4.1.1")
			os.Remove(p)
			mkfifo(t, p)
			_, err := e.client(t).Install(context.Background(), InstallOptions{})
			return err
		}, []string{"fix 2.4.1.1", "acme-2.4.1.1.fix is a named pipe (FIFO)"}, errNotRegular},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{FileURL: true, Repo: newRepo(t)})
			before := snapshot(t, e.Root)
			err := within(t, 5*time.Second, func() error { return tt.run(t, e) })
			wantErr(t, err, tt.is, tt.msgs...)
			assertTree(t, before, e.Root)
		})
	}
}
