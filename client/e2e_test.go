package client

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/demo"
)

// vendorRepo builds the sample repository with the real binary, as a
// release engineer does: pack, repo add, repo build.
func vendorRepo(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sample := writeSample(t)
	packed := filepath.Join(t.TempDir(), "packed")
	repoDir := filepath.Join(t.TempDir(), "repo")
	os.MkdirAll(packed, 0o755)
	os.MkdirAll(repoDir, 0o755)
	var archives []string
	for _, v := range demo.FixVersions {
		if r := run(t, ctx, "pack", filepath.Join(sample, "fixes", v), "--out", packed); r.Code != 0 {
			t.Fatalf("pack %s: exit %d\n%s%s", v, r.Code, r.Stdout, r.Stderr)
		}
		archives = append(archives, filepath.Join(packed, "acme-"+v+".fix"))
	}
	if r := run(t, ctx, append([]string{"repo", "add", repoDir}, archives...)...); r.Code != 0 {
		t.Fatalf("repo add: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	key, _ := filepath.Abs(keyPath("vendor.sec.asc"))
	if r := run(t, ctx, "repo", "build", repoDir, "--key", key); r.Code != 0 {
		t.Fatalf("repo build: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	return repoDir
}

var servingLine = regexp.MustCompile(`serving .* on (http://[^ ]+)/\s*$`)

// hotfixServe starts "hotfix serve" on a free port and returns its URL.
func hotfixServe(t *testing.T, repoDir string) string {
	t.Helper()
	cmd := exec.Command(hotfixBinary(t), "serve", repoDir, "--addr", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder // the access log, shown only when the test fails
	cmd.Stderr = &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		defer func() {
			if t.Failed() {
				t.Logf("hotfix serve log:\n%s", log.String())
			}
		}()
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := servingLine.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case u := <-found:
		return u
	case <-time.After(20 * time.Second):
		t.Fatal(`"hotfix serve" printed no "serving ... on http://ADDR/" line`)
		return ""
	}
}

// TestEndToEnd drives the real binary against "hotfix serve" and a
// repository built by the vendor commands.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	repoDir := vendorRepo(t)
	url := hotfixServe(t, repoDir)
	e := newEnv(t, envOptions{Repo: &testRepo{Dir: repoDir}, FileURL: true, Edit: func(s string) string {
		return regexp.MustCompile(`(?m)^repo = .*$`).ReplaceAllString(s, "repo = \""+url+"\"")
	}})
	pristine := snapshot(t, sampleRoot(t))
	must := func(code int, args ...string) runResult {
		t.Helper()
		r := e.hotfix(t, args...)
		if r.Code != code {
			t.Fatalf("hotfix %s: exit %d, want %d\n%s%s", strings.Join(args, " "), r.Code, code, r.Stdout, r.Stderr)
		}
		return r
	}

	must(100, "check")
	must(0, "download")
	cached := listFiles(t, filepath.Join(e.Cfg.CacheDir, "acme", "2.4.1"))
	for _, v := range demo.FixVersions {
		name := "acme-" + v + ".fix"
		if !strings.Contains(strings.Join(cached, " "), name) {
			t.Errorf("cache lacks %s: %v", name, cached)
			continue
		}
		src := filepath.Join(repoDir, "acme", "2.4.1", name)
		if ok, err := fileMatches(e.cachePath(name), sizeOf(t, src), sha256File(t, src)); !ok || err != nil {
			t.Errorf("cached %s differs from the published archive (%v)", name, err)
		}
	}

	must(0, "install", "--yes")
	r := must(0, "status")
	for _, v := range demo.FixVersions {
		if !strings.Contains(r.Stdout, v) {
			t.Errorf("status lacks %s:\n%s", v, r.Stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(e.Root, "app", "legacy.php")); !os.IsNotExist(err) {
		t.Errorf("2.4.1.3 should have deleted app/legacy.php: %v", err)
	}
	r = must(0, "info", "2.4.1.2")
	for _, want := range []string{"Coupons no longer make the cart total negative", "ACME-117", "ACME-118", "app/cart.php", "lib/coupon.php"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("info 2.4.1.2 lacks %q:\n%s", want, r.Stdout)
		}
	}
	must(0, "history")

	must(0, "rollback", "--to", "2.4.1")
	assertTree(t, pristine, e.Root, "var")
	r = must(0, "status", "--json")
	var st map[string]any
	json.Unmarshal([]byte(r.Stdout), &st)
	if inst, _ := st["installed"].([]any); len(inst) != 0 {
		t.Errorf("installed after rollback --to 2.4.1: %v", inst)
	}

	// Paused: install stands aside, naming who and why.
	must(0, "pause", "--reason", "full patch to 2.4.2")
	r = must(75, "install", "--yes")
	if !strings.Contains(r.Stderr, "paused by ") || !strings.Contains(r.Stderr, "full patch to 2.4.2") || !strings.Contains(r.Stderr, "hotfix resume") {
		t.Errorf("paused install message:\n%s", r.Stderr)
	}
	assertTree(t, pristine, e.Root, "var")
	must(0, "resume")

	// A pause for a while lifts itself.
	must(0, "pause", "--for", "1s")
	must(75, "install", "--dry-run")
	time.Sleep(1100 * time.Millisecond)
	r = must(0, "status", "--json")
	json.Unmarshal([]byte(r.Stdout), &st)
	if st["paused"] != nil {
		t.Errorf("pause --for 1s still in force after 1.1s: %v", st["paused"])
	}
	must(0, "install", "--dry-run")
}

// TestConcurrentInstalls: while one install holds the transaction lock
// (its pre_install hook sleeps), a second exits 75 naming the holder's pid.
func TestConcurrentInstalls(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{Extra: "[hooks]\npre_install = \"sleep 3\"\n"})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	first := exec.CommandContext(ctx, hotfixBinary(t), "--config", e.Config, "install", "--yes")
	var out1 strings.Builder
	first.Stdout, first.Stderr = &out1, &out1
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	pid := first.Process.Pid
	// Wait until the first holds the lock (status reports the holder).
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := e.hotfix(t, "status", "--json")
		var st struct {
			Lock *struct {
				PID int `json:"pid"`
			} `json:"lock"`
		}
		json.Unmarshal([]byte(r.Stdout), &st)
		// Pid 0: locked, but the holder's record is not written yet.
		if st.Lock != nil && st.Lock.PID != 0 {
			if st.Lock.PID != pid {
				t.Fatalf("status names lock holder %d, want %d", st.Lock.PID, pid)
			}
			break
		}
		if time.Now().After(deadline) {
			first.Process.Kill()
			t.Fatal("the first install never took the lock")
		}
		time.Sleep(50 * time.Millisecond)
	}
	r := e.hotfix(t, "install", "--yes")
	if r.Code != 75 {
		t.Errorf("second install: exit %d, want 75\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if !strings.Contains(r.Stderr, "pid "+strconv.Itoa(pid)) {
		t.Errorf("second install does not name pid %d:\n%s", pid, r.Stderr)
	}
	if err := first.Wait(); err != nil {
		t.Fatalf("first install: %v\n%s", err, out1.String())
	}
	if got := installed(t, e); len(got) != 3 {
		t.Errorf("installed = %v", got)
	}
}
