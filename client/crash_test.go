package client

// The crash proof: the real hotfix binary is killed with SIGKILL at many
// instants of an install or a rollback; after "hotfix recover" the root
// must equal, byte for byte (paths, contents, modes), the tree of exactly
// the fixes "hotfix status --json" lists. Expected trees come from a
// straightforward model (copy each fix's files/ over the base, delete its
// deletions) and are cross-checked against clean installs by the binary.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
)

// The crash product: base 5.0 and three chained fixes of about 200 files
// each, two of 1 MiB, so that one install of all three takes about a
// second with every fsync.
const (
	crashProduct   = "crashy"
	crashBase      = "5.0"
	crashFixes     = 3
	crashBaseFiles = 150
	crashBigSize   = 1 << 20
)

var crashVersions = []string{"5.0.1", "5.0.2", "5.0.3"}

// The transaction's files in state_dir, as servers hold them: the test
// watches them to kill at the right instants.
const (
	txnDirName     = "txn"
	backupsDirName = "backups"
	journalName    = "journal.json"
	backupSubdir   = "backup"
)

// crashEnv is everything the crash trials share: the binary, the served
// repository, the base tree and the expected tree at each level.
type crashEnv struct {
	bin      string
	work     string
	repoURL  string
	keys     string
	base     string              // a pristine base root to copy
	expected []crashTree         // expected[n]: the root with the first n fixes
	owners   []map[string]string // owners[n]: the file database's owners with the first n fixes
	level3   string              // a trial directory installed to level 3 (root and state), to copy
	install  time.Duration
	rollback time.Duration
}

// crashTrial is one client installation: root, state and config in dir.
type crashTrial struct {
	env  *crashEnv
	dir  string
	root string
	cfg  string
}

func (e *crashEnv) newTrial(t testing.TB, from string) *crashTrial {
	t.Helper()
	dir, err := os.MkdirTemp(e.work, "trial-")
	if err != nil {
		t.Fatal(err)
	}
	tr := &crashTrial{env: e, dir: dir, root: filepath.Join(dir, "root"), cfg: filepath.Join(dir, "hotfix.toml")}
	if from == "" {
		testkit.CopyTree(t, e.base, tr.root)
	} else {
		testkit.CopyTree(t, filepath.Join(from, "root"), tr.root)
		testkit.CopyTree(t, filepath.Join(from, "state"), filepath.Join(dir, "state"))
		testkit.CopyTree(t, filepath.Join(from, "cache"), filepath.Join(dir, "cache"))
	}
	cfg := SandboxConfig(e.repoURL, crashProduct, tr.root, e.keys, dir) + "script_timeout = \"1m\"\n"
	if err := os.WriteFile(tr.cfg, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return tr
}

func (tr *crashTrial) command(args ...string) *exec.Cmd {
	cmd := exec.Command(tr.env.bin, append([]string{"--config", tr.cfg}, args...)...)
	cmd.Env = append(os.Environ(), "HOTFIX_CONFIG=")
	return cmd
}

// run runs hotfix to completion and fails the test unless it succeeds.
func (tr *crashTrial) run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := tr.command(args...).CombinedOutput()
	if err != nil {
		t.Fatalf("hotfix %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// level asks "hotfix status --json" how many fixes are installed, and
// checks they are the first ones of the chain, in order.
func (tr *crashTrial) level(t testing.TB) int {
	t.Helper()
	var st struct {
		Installed []struct {
			Version string `json:"version"`
		} `json:"installed"`
		Lock *struct{ PID int } `json:"lock"`
	}
	out := tr.run(t, "status", "--json")
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	for i, f := range st.Installed {
		if i >= len(crashVersions) || f.Version != crashVersions[i] {
			t.Fatalf("status lists %+v: not a prefix of the chain %v", st.Installed, crashVersions)
		}
	}
	return len(st.Installed)
}

// check asserts that the root is exactly the expected tree of the level
// status reports, and returns that level.
func (tr *crashTrial) check(t testing.TB, what string) int {
	t.Helper()
	n := tr.level(t)
	if d := crashDiff(tr.env.expected[n], crashSnapshot(t, tr.root)); len(d) > 0 {
		t.Fatalf("%s: status lists %d fixes but the root differs from that tree:\n  %s", what, n, strings.Join(d, "\n  "))
	}
	tr.checkFileDB(t, what, n)
	return n
}

// crashTrigger decides when to kill: it returns once the moment came.
// lines carries hotfix's progress lines ("5.0.2: apply").
type crashTrigger struct {
	name string
	wait func(tr *crashTrial, lines <-chan string, start time.Time)
}

func afterDelay(d time.Duration) crashTrigger {
	return crashTrigger{fmt.Sprintf("after %v", d.Round(time.Millisecond)), func(_ *crashTrial, lines <-chan string, start time.Time) {
		time.Sleep(time.Until(start.Add(d)))
	}}
}

// atLine kills extra after hotfix announced step ("5.0.2: backup").
func atLine(line string, extra time.Duration) crashTrigger {
	name := "at " + line
	if extra > 0 {
		name += fmt.Sprintf(" +%v", extra)
	}
	return crashTrigger{name, func(_ *crashTrial, lines <-chan string, _ time.Time) {
		for l := range lines {
			if l == line {
				time.Sleep(extra)
				return
			}
		}
	}}
}

// whenFile kills as soon as cond holds for the trial (polled), or when
// hotfix has exited.
func whenFile(name string, cond func(tr *crashTrial) bool) crashTrigger {
	return crashTrigger{name, func(tr *crashTrial, lines <-chan string, _ time.Time) {
		done := make(chan struct{})
		go func() {
			for range lines {
			}
			close(done)
		}()
		for !cond(tr) {
			select {
			case <-done:
				return
			default:
				time.Sleep(200 * time.Microsecond)
			}
		}
	}}
}

func (tr *crashTrial) statePath(parts ...string) string {
	return filepath.Join(append([]string{tr.dir, "state"}, parts...)...)
}

// stateCount counts the installed fixes in state.json, -1 when unreadable.
func (tr *crashTrial) stateCount() int {
	data, err := os.ReadFile(tr.statePath(stateName))
	if err != nil {
		return -1
	}
	var st State
	if json.Unmarshal(data, &st) != nil {
		return -1
	}
	return len(st.Installed)
}

// backupCount counts the files in the transaction's backup directory.
func (tr *crashTrial) backupCount() int {
	n := 0
	filepath.WalkDir(tr.statePath(txnDirName, backupSubdir), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

// kill starts hotfix args, kills it with SIGKILL when the trigger fires,
// and reports whether it had finished by itself.
func (tr *crashTrial) kill(t testing.TB, trig crashTrigger, args ...string) (finished bool) {
	t.Helper()
	cmd := tr.command(args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	lines := make(chan string, 64)
	var rest bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			rest.WriteString(sc.Text() + "\n")
			lines <- sc.Text()
		}
	}()
	trig.wait(tr, lines, start)
	cmd.Process.Signal(syscall.SIGKILL)
	go func() {
		for range lines {
		}
	}()
	wg.Wait()
	err = cmd.Wait()
	if err == nil {
		return true
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
		return false
	}
	t.Fatalf("hotfix %s failed by itself (%s): %v\n%s%s", strings.Join(args, " "), trig.name, err, stdout.String(), rest.String())
	return false
}

// setupCrash builds the binary, the repository and the expected trees.
func setupCrash(t *testing.T) *crashEnv {
	t.Helper()
	dir := t.TempDir()
	e := &crashEnv{work: dir}
	start := time.Now()

	e.bin = hotfixBinary(t)
	keys, err := filepath.Abs(keyPath("vendor.pub.asc"))
	if err != nil {
		t.Fatal(err)
	}
	e.keys = keys

	src := filepath.Join(dir, "src")
	crashSources(t, src)
	e.base = filepath.Join(src, "base")
	// The vendor's commands, run by the binary (built without -race:
	// xz compression in a race-instrumented test process is very slow).
	vendor := func(args ...string) {
		t.Helper()
		cmd := exec.Command(e.bin, args...)
		cmd.Env = append(os.Environ(), "HOTFIX_CONFIG=/nonexistent")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("hotfix %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	packed := filepath.Join(dir, "packed")
	var archives []string
	for _, v := range crashVersions {
		vendor("pack", filepath.Join(src, "fixes", v), "--out", packed)
		archives = append(archives, filepath.Join(packed, repo.ArchiveName(crashProduct, repo.MustParseVersion(v))))
	}
	repoDir := filepath.Join(dir, "repo")
	if err := os.Mkdir(repoDir, 0o755); err != nil {
		t.Fatal(err)
	}
	vendor(append([]string{"repo", "add", repoDir}, archives...)...)
	secret, err := filepath.Abs(keyPath("vendor.sec.asc"))
	if err != nil {
		t.Fatal(err)
	}
	vendor("repo", "build", repoDir, "--key", secret)
	srv := serveDir(t, repoDir, nil)
	e.repoURL = srv.URL
	t.Logf("binary built, sources packed and repository built in %v", time.Since(start).Round(time.Millisecond))

	for n := 0; n <= crashFixes; n++ {
		e.expected = append(e.expected, crashModel(t, src, n))
		e.owners = append(e.owners, crashOwners(t, src, n))
	}
	if d := crashDiff(e.expected[0], crashSnapshot(t, e.base)); len(d) > 0 {
		t.Fatalf("model of the base differs from the base: %v", d)
	}

	// Clean installs by the binary, one level at a time, must give the
	// model's trees.
	tr := e.newTrial(t, "")
	if n := tr.check(t, "before any install"); n != 0 {
		t.Fatalf("fresh root: %d fixes installed", n)
	}
	for k := 1; k <= crashFixes; k++ {
		t0 := time.Now()
		tr.run(t, "install", "--yes", crashVersions[k-1])
		e.install += time.Since(t0)
		if n := tr.check(t, "clean install of "+crashVersions[k-1]); n != k {
			t.Fatalf("after installing %s status lists %d fixes", crashVersions[k-1], n)
		}
	}
	e.level3 = tr.dir
	rb := e.newTrial(t, e.level3)
	t0 := time.Now()
	rb.run(t, "rollback", "--to", crashBase)
	e.rollback = time.Since(t0)
	if n := rb.check(t, "clean rollback to the base"); n != 0 {
		t.Fatalf("after rollback --to %s status lists %d fixes", crashBase, n)
	}
	os.RemoveAll(rb.dir)
	t.Logf("setup done in %v: install of all fixes %v, rollback of all %v",
		time.Since(start).Round(time.Millisecond), e.install.Round(time.Millisecond), e.rollback.Round(time.Millisecond))
	return e
}

// trialOutcome tallies what the trials saw, to show the kills landed in
// every phase.
type trialOutcome struct {
	mu       sync.Mutex
	levels   map[int]int
	recovers map[string]int
	finished int
}

func (o *trialOutcome) add(level int, recovered string, finished bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.levels[level]++
	// "install of 5.0.2 was interrupted; restored ..." → its gist.
	gist := strings.TrimSpace(recovered)
	if i := strings.Index(gist, ";"); i >= 0 {
		gist = strings.TrimSpace(gist[i+1:])
	}
	o.recovers[gist]++
	if finished {
		o.finished++
	}
}

func TestCrash(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("-short: the crash test runs the binary about a hundred times")
	}
	e := setupCrash(t)
	// Two trials run at once and slow each other down: spread the delays
	// a little past one clean install.
	full := max(e.install*3/2, 100*time.Millisecond)

	t.Run("install", func(t *testing.T) { crashInstalls(t, e, full) })
	t.Run("rollback", func(t *testing.T) { crashRollbacks(t, e) })
}

// crashInstalls kills installs at delays spread over one clean install,
// at each step of the middle fix, and when files appear.
func crashInstalls(t *testing.T, e *crashEnv, full time.Duration) {
	var trigs []crashTrigger
	const spread = 16
	for i := range spread + 1 {
		trigs = append(trigs, afterDelay(full*time.Duration(i)/spread))
	}
	for _, v := range crashVersions {
		for _, step := range []string{"verify", "journal", "backup", "apply", "scripts", "commit"} {
			if v != crashVersions[1] && step != "apply" && step != "commit" {
				continue // every step of the middle fix; the others at apply and commit
			}
			trigs = append(trigs, atLine(v+": "+step, 0))
		}
	}
	trigs = append(trigs,
		atLine("5.0.3: apply", 10*time.Millisecond),
		atLine("5.0.2: scripts", 20*time.Millisecond),
		whenFile("journal appears", func(tr *crashTrial) bool {
			_, err := os.Stat(tr.statePath(txnDirName, journalName))
			return err == nil
		}),
		whenFile("backups being copied", func(tr *crashTrial) bool { return tr.backupCount() >= 20 }),
		whenFile("state.json lists 1", func(tr *crashTrial) bool { return tr.stateCount() == 1 }),
		whenFile("state.json lists 2", func(tr *crashTrial) bool { return tr.stateCount() == 2 }),
		whenFile("backups of 5.0.2 kept", func(tr *crashTrial) bool {
			_, err := os.Stat(tr.statePath(backupsDirName, "5.0.2"))
			return err == nil
		}),
	)
	out := &trialOutcome{levels: map[int]int{}, recovers: map[string]int{}}
	t.Run("kills", func(t *testing.T) {
		for i, trig := range trigs {
			t.Run(trig.name, func(t *testing.T) {
				t.Parallel()
				tr := e.newTrial(t, "")
				defer os.RemoveAll(tr.dir)
				finished := tr.kill(t, trig, "install", "--yes")
				did := tr.run(t, "recover")
				n := tr.check(t, fmt.Sprintf("install killed %s, then recover (%q)", trig.name, strings.TrimSpace(did)))
				out.add(n, did, finished)
				// Now and then the recovered system must still install
				// to the end and roll back to the exact base.
				if i%5 != 0 {
					return
				}
				if n < crashFixes {
					tr.run(t, "install", "--yes")
				}
				if n := tr.check(t, "install after "+trig.name); n != crashFixes {
					t.Fatalf("install after %s: %d fixes installed", trig.name, n)
				}
				tr.run(t, "rollback", "--to", crashBase)
				if n := tr.check(t, "rollback after "+trig.name); n != 0 {
					t.Fatalf("rollback --to %s after %s: %d fixes installed", crashBase, trig.name, n)
				}
			})
		}
	})
	t.Logf("%d kills: levels after recovery %v, finished before the kill %d; recover said %v", len(trigs), out.levels, out.finished, out.recovers)
	if len(out.levels) < 3 {
		t.Errorf("the kills reached only levels %v: the install is too fast for the delays", out.levels)
	}
	if out.recovers["restored the root from its backups"] == 0 {
		t.Errorf("no kill interrupted an install while it changed the root: %v", out.recovers)
	}
}

// crashRollbacks kills rollbacks of all three fixes at delays and when
// files appear or go.
func crashRollbacks(t *testing.T, e *crashEnv) {
	fullRB := max(e.rollback*3/2, 50*time.Millisecond)
	var trigs []crashTrigger
	const spread = 8
	for i := range spread + 1 {
		trigs = append(trigs, afterDelay(fullRB*time.Duration(i)/spread))
	}
	trigs = append(trigs,
		whenFile("rollback journal appears", func(tr *crashTrial) bool {
			data, err := os.ReadFile(tr.statePath(txnDirName, journalName))
			return err == nil && bytes.Contains(data, []byte(`"rollback"`))
		}),
		whenFile("state.json lists 2", func(tr *crashTrial) bool { return tr.stateCount() == 2 }),
		whenFile("state.json lists 1", func(tr *crashTrial) bool { return tr.stateCount() == 1 }),
		whenFile("backups of 5.0.2 taken", func(tr *crashTrial) bool {
			_, err := os.Stat(tr.statePath(backupsDirName, "5.0.2"))
			return err != nil
		}),
	)
	out := &trialOutcome{levels: map[int]int{}, recovers: map[string]int{}}
	t.Run("kills", func(t *testing.T) {
		for i, trig := range trigs {
			t.Run(trig.name, func(t *testing.T) {
				t.Parallel()
				tr := e.newTrial(t, e.level3)
				defer os.RemoveAll(tr.dir)
				finished := tr.kill(t, trig, "rollback", "--to", crashBase)
				did := tr.run(t, "recover")
				n := tr.check(t, fmt.Sprintf("rollback killed %s, then recover (%q)", trig.name, strings.TrimSpace(did)))
				out.add(n, did, finished)
				if n > 0 {
					tr.run(t, "rollback", "--to", crashBase)
					if n := tr.check(t, "rollback after "+trig.name); n != 0 {
						t.Fatalf("rollback after %s: %d fixes installed", trig.name, n)
					}
				}
				if i%4 == 0 {
					tr.run(t, "install", "--yes")
					if n := tr.check(t, "install after "+trig.name); n != crashFixes {
						t.Fatalf("install after %s: %d fixes installed", trig.name, n)
					}
				}
			})
		}
	})
	t.Logf("%d kills: levels after recovery %v, finished before the kill %d; recover said %v", len(trigs), out.levels, out.finished, out.recovers)
	if len(out.levels) < 2 {
		t.Errorf("the kills reached only levels %v: the rollback is too fast for the delays", out.levels)
	}
}
