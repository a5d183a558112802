package lockfile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/testkit"
)

const helperEnv = "HOTFIX_LOCKFILE_TEST_HOLD"

// TestHelperProcess is not a test: the parent test re-executes the test
// binary with helperEnv set, and this function then holds the lock in a
// separate process until its stdin closes or it is killed.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		return
	}
	l, err := TryAcquire(path, "hotfix helper")
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	testkit.HelperWait() // until the parent closes stdin (or kills us)
	_ = l.Release()
	os.Exit(0)
}

func lockPath(t *testing.T) string {
	t.Helper()
	// A directory that does not exist yet: TryAcquire must create it.
	return filepath.Join(t.TempDir(), "run", "hotfix", "transaction.lock")
}

func mustAcquire(t *testing.T, path, command string) *Lock {
	t.Helper()
	l, err := TryAcquire(path, command)
	if err != nil {
		t.Fatalf("TryAcquire(%s): %v", path, err)
	}
	t.Cleanup(func() { _ = l.Release() })
	return l
}

func asLocked(t *testing.T, err error) *LockedError {
	t.Helper()
	if err == nil {
		t.Fatal("got nil error, want *LockedError")
	}
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("got %T %v, want *LockedError", err, err)
	}
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("errors.Is(%v, ErrLocked) = false", err)
	}
	return le
}

func TestTryAcquireCreatesAndRecords(t *testing.T) {
	path := lockPath(t)
	before := time.Now()
	l := mustAcquire(t, path, "hotfix install")
	if l.Path() != path {
		t.Errorf("Path() = %q, want %q", l.Path(), path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// The umask may clear bits but must not add any.
	if got := fi.Mode().Perm(); got&^0o644 != 0 || got&0o600 != 0o600 {
		t.Errorf("lock file mode %v, want 0644 (less the umask)", got)
	}
	di, err := os.Stat(filepath.Dir(path))
	if err != nil || !di.IsDir() {
		t.Fatalf("lock dir not created: %v", err)
	}
	h, err := ReadHolder(path)
	if err != nil {
		t.Fatal(err)
	}
	if h == nil {
		t.Fatal("ReadHolder on held lock = nil")
	}
	if h.PID != os.Getpid() || h.Command != "hotfix install" || h.Since.Before(before.Add(-time.Second)) {
		t.Errorf("holder = %+v, want pid %d, command %q, since >= %v", h, os.Getpid(), "hotfix install", before)
	}
}

func TestSecondAcquisitionInSameProcess(t *testing.T) {
	path := lockPath(t)
	mustAcquire(t, path, "hotfix install")
	_, err := TryAcquire(path, "hotfix rollback")
	le := asLocked(t, err)
	if le.Path != path {
		t.Errorf("LockedError.Path = %q, want %q", le.Path, path)
	}
	if le.Holder == nil || le.Holder.PID != os.Getpid() {
		t.Fatalf("LockedError.Holder = %+v, want pid %d", le.Holder, os.Getpid())
	}
	msg := err.Error()
	for _, want := range []string{
		fmt.Sprintf("pid %d", os.Getpid()),
		`"hotfix install"`,
		"since ",
		path,
		"wait for it or retry later",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
}

func TestLockedErrorMessage(t *testing.T) {
	since := time.Date(2026, 11, 22, 3, 10, 0, 0, time.Local)
	tests := []struct {
		name string
		err  *LockedError
		want string
	}{
		{"full", &LockedError{Path: "/run/hotfix/transaction.lock", Holder: &Holder{PID: 1234, Since: since, Command: "hotfix install"}},
			`another hotfix (pid 1234, "hotfix install", since 2026-11-22 03:10:00) holds /run/hotfix/transaction.lock: wait for it or retry later`},
		{"unknown holder", &LockedError{Path: "/run/hotfix/run.lock"},
			`another hotfix holds /run/hotfix/run.lock: wait for it or retry later`},
		{"pid only", &LockedError{Path: "/x.lock", Holder: &Holder{PID: 7}},
			`another hotfix (pid 7) holds /x.lock: wait for it or retry later`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() =\n %s\nwant\n %s", got, tt.want)
			}
			if !errors.Is(tt.err, ErrLocked) || errors.Unwrap(tt.err) != ErrLocked {
				t.Error("LockedError does not unwrap to ErrLocked")
			}
		})
	}
}

func TestGarbageRecordGivesNilHolder(t *testing.T) {
	path := lockPath(t)
	l := mustAcquire(t, path, "hotfix install")
	if err := os.WriteFile(path, []byte("not json\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := TryAcquire(path, "hotfix cron")
	if le := asLocked(t, err); le.Holder != nil {
		t.Errorf("Holder = %+v, want nil for an unreadable record", le.Holder)
	}
	if !strings.Contains(err.Error(), "another hotfix holds "+path) {
		t.Errorf("error %q does not name the path", err)
	}
	h, err := ReadHolder(path)
	if err != nil || h == nil || h.PID != 0 {
		t.Errorf("ReadHolder = %+v, %v; want zero Holder for a held lock without record", h, err)
	}
	_ = l.Release()
}

func TestAcquireWaitsForRelease(t *testing.T) {
	path := lockPath(t)
	first, err := TryAcquire(path, "hotfix install")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(150 * time.Millisecond)
		_ = first.Release()
	}()
	start := time.Now()
	second, err := Acquire(context.Background(), path, "hotfix pause --wait", 10*time.Second)
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	defer second.Release()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Acquire took %v after a release at 150ms", d)
	}
	h, err := ReadHolder(path)
	if err != nil || h == nil || h.Command != "hotfix pause --wait" {
		t.Errorf("ReadHolder = %+v, %v; want the second holder", h, err)
	}
}

func TestAcquireTimesOut(t *testing.T) {
	path := lockPath(t)
	mustAcquire(t, path, "hotfix install")
	start := time.Now()
	_, err := Acquire(context.Background(), path, "hotfix cron", 200*time.Millisecond)
	le := asLocked(t, err)
	if le.Holder == nil || le.Holder.Command != "hotfix install" {
		t.Errorf("Holder = %+v, want the first holder", le.Holder)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("Acquire gave up after %v, before its 200ms wait", d)
	}
}

func TestAcquireContext(t *testing.T) {
	path := lockPath(t)
	mustAcquire(t, path, "hotfix install")

	t.Run("cancelled while waiting", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			time.Sleep(50 * time.Millisecond)
			cancel()
		}()
		start := time.Now()
		_, err := Acquire(ctx, path, "hotfix cron", time.Hour)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if errors.Is(err, ErrLocked) {
			t.Error("cancellation reported as ErrLocked")
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("error %q does not name the lock", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("cancellation took %v", d)
		}
	})
	t.Run("already cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := Acquire(ctx, path, "hotfix cron", time.Hour); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if _, err := Acquire(ctx, path, "hotfix cron", time.Hour); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want context.DeadlineExceeded", err)
		}
	})
}

func TestReleaseKeepsFile(t *testing.T) {
	path := lockPath(t)
	l, err := TryAcquire(path, "hotfix install")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("lock file gone after Release: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Errorf("second Release: %v", err)
	}
	l2, err := TryAcquire(path, "hotfix install")
	if err != nil {
		t.Fatalf("reacquire after Release: %v", err)
	}
	_ = l2.Release()
}

func TestReadHolder(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		setup   func(t *testing.T, path string)
		wantPID int // -1: want nil
	}{
		{"absent", func(t *testing.T, path string) {}, -1},
		{"free, stale record", func(t *testing.T, path string) {
			// A holder that died by SIGKILL leaves its record behind.
			if err := os.WriteFile(path, []byte(`{"pid":99999,"since":"2026-11-22T03:10:00Z","command":"hotfix install"}`), 0o644); err != nil {
				t.Fatal(err)
			}
		}, -1},
		{"free after release", func(t *testing.T, path string) {
			l, err := TryAcquire(path, "hotfix install")
			if err != nil {
				t.Fatal(err)
			}
			_ = l.Release()
		}, -1},
		{"held", func(t *testing.T, path string) { mustAcquire(t, path, "hotfix install") }, os.Getpid()},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprintf("%d.lock", i))
			tt.setup(t, path)
			h, err := ReadHolder(path)
			if err != nil {
				t.Fatalf("ReadHolder: %v", err)
			}
			switch {
			case tt.wantPID < 0 && h != nil:
				t.Errorf("ReadHolder = %+v, want nil", h)
			case tt.wantPID >= 0 && (h == nil || h.PID != tt.wantPID):
				t.Errorf("ReadHolder = %+v, want pid %d", h, tt.wantPID)
			}
			// The probe must not leave the lock taken or create files.
			if tt.wantPID < 0 {
				if l, err := TryAcquire(path, "probe check"); err != nil {
					t.Errorf("lock not free after ReadHolder: %v", err)
				} else {
					_ = l.Release()
				}
			}
		})
	}
	missing := filepath.Join(dir, "never.lock")
	if _, err := ReadHolder(missing); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("ReadHolder created the lock file")
	}
}

func TestCannotCreateLockDir(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := TryAcquire(filepath.Join(blocker, "run.lock"), "hotfix cron")
	if err == nil || errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "create lock directory") {
		t.Fatalf("err = %v, want a lock directory error", err)
	}
}

// TestOtherProcess holds the lock in a real second process, then SIGKILLs it:
// the lock must be free at once and the file must survive.
func TestOtherProcess(t *testing.T) {
	path := lockPath(t)
	proc := testkit.StartHelper(t, "TestHelperProcess", helperEnv+"="+path)
	if proc.Line != "locked" {
		t.Fatalf("helper said %q; want \"locked\"", proc.Line)
	}
	child := proc.Pid()

	_, err := TryAcquire(path, "hotfix cron")
	le := asLocked(t, err)
	if le.Holder == nil || le.Holder.PID != child {
		t.Fatalf("Holder = %+v, want pid %d", le.Holder, child)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("pid %d", child)) {
		t.Errorf("error %q does not name pid %d", err, child)
	}
	h, err := ReadHolder(path)
	if err != nil || h == nil || h.PID != child {
		t.Errorf("ReadHolder = %+v, %v; want pid %d", h, err, child)
	}

	proc.Kill() // SIGKILL

	l, err := TryAcquire(path, "hotfix cron")
	if err != nil {
		t.Fatalf("lock not free right after SIGKILL of its holder: %v", err)
	}
	defer l.Release()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("lock file gone: %v", err)
	}
}
