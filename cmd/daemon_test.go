package cmd

// Tests of unattended operation with real processes: the hotfix binary is
// built once, pointed at a signed sample repository served by the real
// repository handler, and started, signalled and raced against itself.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/client/notify"
	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/internal/lockfile"
	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo/fixarchive"
	"github.com/hotfix-project/hotfix/repo/publish"
	"github.com/hotfix-project/hotfix/server"
	"github.com/hotfix-project/hotfix/sign"
)

var (
	uaOnce    sync.Once
	uaScratch string
	uaBin     string
	uaRepo    string
	uaRoot    string
	uaErr     error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if uaScratch != "" {
		os.RemoveAll(uaScratch)
	}
	os.Exit(code)
}

// uaSetup builds the binary and the signed sample repository once.
func uaSetup(t *testing.T) {
	t.Helper()
	uaOnce.Do(func() {
		if uaScratch, uaErr = os.MkdirTemp("", "hotfix-cmd-test-"); uaErr != nil {
			return
		}
		uaBin = filepath.Join(uaScratch, "hotfix")
		if out, err := exec.Command("go", "build", "-o", uaBin, "..").CombinedOutput(); err != nil {
			uaErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		src := filepath.Join(uaScratch, "sample")
		if uaErr = demo.WriteSample(src); uaErr != nil {
			return
		}
		var archives []string
		for _, v := range demo.FixVersions {
			p, _, err := fixarchive.Pack(context.Background(), filepath.Join(src, "fixes", v), filepath.Join(uaScratch, "packed"), fixarchive.PackOptions{})
			if err != nil {
				uaErr = err
				return
			}
			archives = append(archives, p)
		}
		uaRepo = filepath.Join(uaScratch, "repo")
		if uaErr = os.MkdirAll(uaRepo, 0o755); uaErr != nil {
			return
		}
		if _, uaErr = publish.Add(context.Background(), uaRepo, archives, publish.AddOptions{}); uaErr != nil {
			return
		}
		signer, err := sign.LoadSigner(testSecret, nil)
		if err != nil {
			uaErr = err
			return
		}
		if _, uaErr = publish.Build(context.Background(), uaRepo, publish.BuildOptions{Signer: signer}); uaErr != nil {
			return
		}
		uaRoot = filepath.Join(src, "root")
	})
	if uaErr != nil {
		t.Fatal(uaErr)
	}
}

// uaEnv is one server: a copy of the sample root, its configuration and
// directories, and the repository served over HTTP.
type uaEnv struct {
	Dir, Root, Config string
	base              string // configuration without extra
	Cfg               *client.Config
}

func newUAEnv(t *testing.T, extra string) *uaEnv {
	t.Helper()
	uaSetup(t)
	return newUAEnvRepo(t, uaRepo, extra)
}

// newUAEnvRepo is newUAEnv serving the repository repoDir.
func newUAEnvRepo(t *testing.T, repoDir, extra string) *uaEnv {
	t.Helper()
	h, err := server.New(repoDir, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close(); h.Close() })
	dir := t.TempDir()
	e := &uaEnv{Dir: dir, Root: filepath.Join(dir, "root"), Config: filepath.Join(dir, "hotfix.toml")}
	testkit.CopyTree(t, uaRoot, e.Root)
	keys := filepath.Join(dir, "keys")
	if err := os.MkdirAll(keys, 0o755); err != nil {
		t.Fatal(err)
	}
	pub, err := os.ReadFile(testPublic)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(keys, "vendor.pub.asc"), pub, 0o644); err != nil {
		t.Fatal(err)
	}
	e.base = client.SandboxConfig(srv.URL, demo.Product, e.Root, keys, dir)
	e.write(t, extra)
	return e
}

// write replaces the configuration's tables with extra.
func (e *uaEnv) write(t *testing.T, extra string) {
	t.Helper()
	if err := os.WriteFile(e.Config, []byte(e.base+extra), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := client.LoadConfig(e.Config)
	if err != nil {
		e.Cfg = nil
		return
	}
	e.Cfg = cfg
}

func (e *uaEnv) installed(t *testing.T) []string {
	t.Helper()
	cl, err := client.New(e.Cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := cl.Status()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range st.Installed {
		out = append(out, f.Version)
	}
	return out
}

func (e *uaEnv) paused(t *testing.T) *client.PauseInfo {
	t.Helper()
	cl, err := client.New(e.Cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := cl.Paused()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// awaitLock waits until someone holds lock_dir/name.
func (e *uaEnv) awaitLock(t *testing.T, name string) *lockfile.Holder {
	t.Helper()
	for start := time.Now(); time.Since(start) < 30*time.Second; time.Sleep(10 * time.Millisecond) {
		h, err := lockfile.ReadHolder(filepath.Join(e.Cfg.LockDir, name))
		if err == nil && h != nil && h.PID != 0 {
			return h
		}
	}
	t.Fatalf("nobody took %s", name)
	return nil
}

// uaProc is a running hotfix.
type uaProc struct {
	cmd            *exec.Cmd
	stdout, stderr *testkit.LockedBuffer
	done           chan struct{}
	code           int
}

// start runs hotfix --config CONFIG args... in the background; stdin is
// not a terminal.
func (e *uaEnv) start(t *testing.T, args ...string) *uaProc {
	t.Helper()
	p := &uaProc{stdout: &testkit.LockedBuffer{}, stderr: &testkit.LockedBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(uaBin, append([]string{"--config", e.Config}, args...)...)
	p.cmd.Env = append(os.Environ(), "HOTFIX_CONFIG=/nonexistent/hotfix.toml")
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := p.cmd.Wait()
		p.code = 0
		if ee, ok := err.(*exec.ExitError); ok {
			p.code = ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				p.code = -int(ws.Signal())
			}
		} else if err != nil {
			p.code = -1000
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// wait waits for the process to exit and returns its exit code.
func (p *uaProc) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(limit):
		t.Fatalf("hotfix %v still running after %v\nstdout:\n%s\nstderr:\n%s", p.cmd.Args[1:], limit, p.stdout, p.stderr)
		return 0
	}
}

// run runs hotfix to its end.
func (e *uaEnv) run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	p := e.start(t, args...)
	code = p.wait(t, 60*time.Second)
	return code, p.stdout.String(), p.stderr.String()
}

var allFixes = []string{"2.4.1.1", "2.4.1.2", "2.4.1.3"}

// TestDaemonProcess: a real daemon, triggered with SIGUSR1, reloaded with
// SIGHUP (a good and a broken configuration), stopped with SIGTERM.
func TestDaemonProcess(t *testing.T) {
	sink := testkit.NewWebhookSink[notify.Report](t, http.StatusOK)
	notifyTable := "[notify]\nsystem_name = \"shop-prod-1\"\nwebhook = \"" + sink.URL + "\"\n"
	e := newUAEnv(t, "[schedule]\ncron = \"0 4 * * *\"\nrandom_wait = \"0\"\n"+notifyTable)
	d := e.start(t, "daemon")
	d.stderr.Await(t, "daemon started")
	d.stderr.Await(t, `cron="0 4 * * *"`)

	d.cmd.Process.Signal(syscall.SIGUSR1)
	reps := sink.Await(t, 1)
	if r := reps[0]; r.Outcome != notify.OutcomeInstalled || len(r.Installed) != 3 || r.SystemName != "shop-prod-1" || r.Trigger != "daemon (run now)" {
		t.Fatalf("report %+v", r)
	}
	if got := e.installed(t); !slices.Equal(got, allFixes) {
		t.Errorf("installed %v", got)
	}
	d.stderr.Await(t, "scheduled run done")

	e.write(t, "[schedule]\ncron = \"30 5 * * 1-5\"\nrandom_wait = \"0\"\n"+notifyTable)
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.stderr.Await(t, "configuration reloaded")
	d.stderr.Await(t, `cron="30 5 * * 1-5"`)

	e.write(t, "[schedule]\ndays_of_week = \"78\"\n")
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.stderr.Await(t, "configuration not reloaded: keeping the previous one")
	d.stderr.Await(t, "schedule.days_of_week")

	// The old configuration is still in force: a run still reports.
	d.cmd.Process.Signal(syscall.SIGUSR1)
	if r := sink.Await(t, 2)[1]; r.Outcome != notify.OutcomeUpToDate {
		t.Errorf("second report %+v", r)
	}

	start := time.Now()
	d.cmd.Process.Signal(syscall.SIGTERM)
	if code := d.wait(t, 5*time.Second); code != 0 {
		t.Errorf("daemon exit %d after SIGTERM, want 0\n%s", code, d.stderr)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("daemon took %v to stop while waiting", took)
	}
	d.stderr.Await(t, "daemon stopped")
}

// TestDaemonProcessStopsAfterCurrentFix: SIGTERM while an install holds
// the transaction lock (here: in its slow pre_install hook) stops the run
// at the next boundary between fixes, so no fix is half done, and the
// daemon exits 0. (cron's TestRunStopsBetweenFixes stops one in the middle
// of a fix's apply step and sees that fix finish.)
func TestDaemonProcessStopsAfterCurrentFix(t *testing.T) {
	e := newUAEnv(t, "[schedule]\nrandom_wait = \"0\"\n[hooks]\npre_install = \"sleep 1\"\n")
	d := e.start(t, "daemon")
	d.stderr.Await(t, "daemon started")
	d.cmd.Process.Signal(syscall.SIGUSR1)
	e.awaitLock(t, client.TransactionLock)
	d.cmd.Process.Signal(syscall.SIGTERM)
	if code := d.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("daemon exit %d\n%s", code, d.stderr)
	}
	d.stderr.Await(t, "waiting for the current run to stop after the fix it is installing")
	if got := e.installed(t); len(got) != 0 {
		t.Errorf("installed %v after SIGTERM before the first fix began", got)
	}
	d.stderr.Await(t, "stopped by a signal between fixes")
	// Nothing is half done: status finds no interrupted transaction, and
	// the next run installs the rest.
	if code, _, stderr := e.run(t, "cron", "--now"); code != 0 {
		t.Fatalf("cron after a stopped daemon: exit %d\n%s", code, stderr)
	}
	if got := e.installed(t); !slices.Equal(got, allFixes) {
		t.Errorf("installed %v", got)
	}
}

func TestDaemonRefusesBadConfiguration(t *testing.T) {
	tests := []struct{ name, schedule, want string }{
		{"never fires", "cron = \"0 0 30 2 *\"", "schedule.cron"},
		{"bad zone", "cron = \"CRON_TZ=Nowhere/Atlantis 2 4 * * *\"", "schedule.cron"},
		{"zone without space", "cron = \"TZ=UTC\"", "schedule.cron"},
		{"bad day", "days_of_week = \"17\"", "schedule.days_of_week"},
		{"no days", "days_of_week = \"\"", "schedule.days_of_week"},
		{"bad wait", "random_wait = \"soon\"", "schedule.random_wait"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newUAEnv(t, "[schedule]\n"+tt.schedule+"\n")
			for _, args := range [][]string{{"daemon"}, {"cron", "--now"}} {
				code, _, stderr := e.run(t, args...)
				if code != ExitError || !strings.Contains(stderr, tt.want) || !strings.Contains(stderr, e.Config) {
					t.Errorf("hotfix %v: exit %d, stderr %q: want exit 1 naming %s in %s", args, code, stderr, tt.want, e.Config)
				}
			}
		})
	}
}

// TestPauseWaitDuringSlowInstall: pause --wait waits for the install, then
// pauses; the next scheduled run skips with 75.
func TestPauseWaitDuringSlowInstall(t *testing.T) {
	e := newUAEnv(t, "[pause]\nservice_wait_time = \"60s\"\n[hooks]\npre_install = \"sleep 2\"\n")
	install := e.start(t, "install", "--yes")
	e.awaitLock(t, client.TransactionLock)
	start := time.Now()
	code, stdout, stderr := e.run(t, "pause", "--wait", "--reason", "patch 2.5.0")
	if code != 0 || !strings.Contains(stdout, "paused") {
		t.Fatalf("pause --wait: exit %d\n%s%s", code, stdout, stderr)
	}
	if time.Since(start) < time.Second {
		t.Errorf("pause --wait returned after %v, before the install finished", time.Since(start))
	}
	if code := install.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("install: exit %d\n%s", code, install.stderr)
	}
	if got := e.installed(t); !slices.Equal(got, allFixes) {
		t.Errorf("the install under way was cut short: %v", got)
	}
	p := e.paused(t)
	if p == nil || p.Reason != "patch 2.5.0" {
		t.Fatalf("not paused: %+v", p)
	}
	code, _, stderr = e.run(t, "cron", "--now")
	if code != ExitTempFail || !strings.Contains(stderr, "paused by") || !strings.Contains(stderr, "patch 2.5.0") {
		t.Errorf("cron while paused: exit %d, stderr %q", code, stderr)
	}
	if code, stdout, _ := e.run(t, "resume"); code != 0 || !strings.Contains(stdout, "resumed") {
		t.Errorf("resume: exit %d %q", code, stdout)
	}
	if code, _, stderr := e.run(t, "cron", "--now"); code != 0 {
		t.Errorf("cron after resume: exit %d\n%s", code, stderr)
	}
}

// TestPauseWaitGivesUp: with a service_wait_time shorter than the install,
// pause --wait exits 75 and does not pause.
func TestPauseWaitGivesUp(t *testing.T) {
	e := newUAEnv(t, "[pause]\nservice_wait_time = \"300ms\"\n[hooks]\npre_install = \"sleep 3\"\n")
	install := e.start(t, "install", "--yes")
	e.awaitLock(t, client.TransactionLock)
	code, _, stderr := e.run(t, "pause", "--wait")
	if code != ExitTempFail || !strings.Contains(stderr, "transaction.lock") {
		t.Errorf("pause --wait: exit %d, stderr %q; want 75 naming the lock", code, stderr)
	}
	if p := e.paused(t); p != nil {
		t.Errorf("paused although the wait gave up: %+v", p)
	}
	// service_waits = true makes a plain pause wait the same way.
	e.write(t, "[pause]\nservice_waits = true\nservice_wait_time = \"300ms\"\n[hooks]\npre_install = \"sleep 3\"\n")
	if code, _, stderr := e.run(t, "pause"); code != ExitTempFail {
		t.Errorf("pause with service_waits: exit %d, stderr %q", code, stderr)
	}
	if code := install.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("install: exit %d\n%s", code, install.stderr)
	}
}

// TestPauseForExpires: pause --for lifts itself.
func TestPauseForExpires(t *testing.T) {
	e := newUAEnv(t, "")
	// The checks while paused run under an hour's pause, which no loaded
	// machine outlasts (a 6 s one did, once); the expiry is then tested
	// with a pause of one second, waited out.
	if code, stdout, stderr := e.run(t, "pause", "--for", "1h", "--reason", "short patch"); code != 0 || !strings.Contains(stdout, "until") {
		t.Fatalf("pause --for: exit %d\n%s%s", code, stdout, stderr)
	}
	code, _, stderr := e.run(t, "install", "--yes")
	if code != ExitTempFail || !strings.Contains(stderr, "short patch") || !strings.Contains(stderr, "until") || !strings.Contains(stderr, "paused by") {
		t.Errorf("install while paused: exit %d, stderr %q; want 75 naming who, why and until", code, stderr)
	}
	if code, _, _ := e.run(t, "cron", "--now"); code != ExitTempFail {
		t.Errorf("cron while paused: exit %d, want 75", code)
	}
	code, stdout, _ := e.run(t, "--json", "status")
	if code != 0 || !strings.Contains(stdout, `"reason": "short patch"`) {
		t.Errorf("status while paused: exit %d\n%s", code, stdout)
	}
	if code, _, stderr := e.run(t, "resume"); code != 0 {
		t.Fatalf("resume: exit %d\n%s", code, stderr)
	}
	const pauseFor = time.Second
	paused := time.Now()
	if code, _, stderr := e.run(t, "pause", "--for", pauseFor.String(), "--reason", "short patch"); code != 0 {
		t.Fatalf("pause --for %s: exit %d\n%s", pauseFor, code, stderr)
	}
	time.Sleep(time.Until(paused.Add(pauseFor + 200*time.Millisecond)))
	if code, _, stderr := e.run(t, "cron", "--now"); code != 0 {
		t.Fatalf("cron after the pause expired: exit %d\n%s", code, stderr)
	}
	if got := e.installed(t); !slices.Equal(got, allFixes) {
		t.Errorf("installed %v", got)
	}
	recs, _ := client.ReadAudit(e.Cfg.LogDir)
	var actions []string
	for _, r := range recs {
		actions = append(actions, r.Action+":"+r.Outcome)
	}
	for _, want := range []string{"pause:ok", "scheduled-run:paused", "scheduled-run:installed"} {
		if !slices.Contains(actions, want) {
			t.Errorf("audit lacks %s: %v", want, actions)
		}
	}
	if code, _, _ := e.run(t, "pause", "--for", "-1s"); code != ExitUsage {
		t.Errorf("pause --for -1s: exit %d, want 2", code)
	}
}

// --quiet keeps results and drops progress: install prints each fix's
// steps on stderr, and nothing there with -q.
func TestQuietInstall(t *testing.T) {
	for _, tt := range []struct {
		name  string
		args  []string
		steps bool
	}{
		{"plain", []string{"install", "--yes"}, true},
		{"quiet", []string{"-q", "install", "--yes"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newUAEnv(t, "")
			code, stdout, stderr := e.run(t, tt.args...)
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, stderr)
			}
			if !strings.Contains(stdout, "installed 2.4.1.3") {
				t.Errorf("stdout lacks the result:\n%s", stdout)
			}
			if got := strings.Contains(stderr, "2.4.1.1: "); got != tt.steps {
				t.Errorf("progress on stderr = %v, want %v:\n%s", got, tt.steps, stderr)
			}
			if !tt.steps && stderr != "" {
				t.Errorf("-q: stderr not empty:\n%s", stderr)
			}
		})
	}
}
