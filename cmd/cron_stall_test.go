package cmd

// Issue 16, class 1: a repository that stalls must not hold a scheduled
// run, and its lock, forever; and a FIFO where a file is wanted must not
// hang a command.

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/client/notify"
	"github.com/hotfix-project/hotfix/server"
)

// stallingRepo serves the sample repository, except that the file named
// stall gets its headers and then nothing, until the client goes away.
func stallingRepo(t *testing.T, stall string) string {
	t.Helper()
	h, err := server.New(uaRepo, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if path.Base(r.URL.Path) != stall && path.Ext(r.URL.Path) != stall {
			h.ServeHTTP(w, r)
			return
		}
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	}))
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close(); h.Close() })
	return srv.URL
}

// TestCronAgainstStalledRepository: the binary's scheduled run ends with
// a failure naming the stall, audits it, and releases its lock, so the
// next run is not refused as locked (exit 75).
func TestCronAgainstStalledRepository(t *testing.T) {
	for _, stall := range []string{"index.json", "index.json.asc", ".fix"} {
		t.Run(stall, func(t *testing.T) {
			e := newUAEnv(t, "")
			url := stallingRepo(t, stall)
			e.base = strings.Replace(e.base, "repo = ", "repo = \""+url+"\"\n# was: ", 1)
			e.write(t, "[network]\nstall_time = \"300ms\"\nindex_timeout = \"2s\"\nretries = 1\n")
			if e.Cfg == nil {
				t.Fatal("test configuration does not load")
			}
			for run := 1; run <= 2; run++ {
				start := time.Now()
				code, _, stderr := e.run(t, "cron", "--now")
				if el := time.Since(start); el > 20*time.Second {
					t.Errorf("run %d took %s", run, el)
				}
				if code != ExitError || !strings.Contains(stderr, "transfer too slow") || !strings.Contains(stderr, "min_rate") {
					t.Errorf("run %d: exit %d, stderr %q; want 1 naming the stall", run, code, stderr)
				}
			}
			var outcomes []string
			recs, _ := client.ReadAudit(e.Cfg.LogDir)
			for _, r := range recs {
				if r.Action == "scheduled-run" {
					outcomes = append(outcomes, r.Outcome)
				}
			}
			if !slices.Equal(outcomes, []string{notify.OutcomeFailed, notify.OutcomeFailed}) {
				t.Errorf("audited scheduled runs %v, want two failures (none locked)", outcomes)
			}
			if got := e.installed(t); len(got) != 0 {
				t.Errorf("installed %v", got)
			}
		})
	}
}

// TestFIFOConfigDoesNotHang: --config naming a FIFO is refused at once by
// the binary, naming the file.
func TestFIFOConfigDoesNotHang(t *testing.T) {
	uaSetup(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "hotfix.toml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if f, err := os.OpenFile(fifo, os.O_RDWR|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	for _, args := range [][]string{{"status"}, {"check"}, {"cron", "--now"}} {
		e := &uaEnv{Config: fifo}
		p := e.start(t, args...)
		code := p.wait(t, 10*time.Second)
		if code == 0 || !strings.Contains(p.stderr.String(), "is a named pipe (FIFO), not a regular file") {
			t.Errorf("%v: exit %d, stderr %q", args, code, p.stderr)
		}
	}
}
