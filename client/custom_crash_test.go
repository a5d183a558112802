package client

// The crash proof for customer fixes: the real hotfix binary is killed
// with SIGKILL at many instants of a customer fix's install, of its
// uninstall, and of a run that replaces it by its next version (uninstall
// of the old, install of the new); after "hotfix recover" the root must
// equal, byte for byte (paths, contents, modes), the tree of exactly the
// customer fix "hotfix status --json" lists (or of none), each tree made
// by a clean run of the binary; and the file database must hold exactly
// the records of that clean run, each matching the root.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/beneath"
	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/internal/testkit"
)

// customCrashEnv is what the customer crash trials share.
type customCrashEnv struct {
	bin     string
	work    string
	keys    string
	urls    map[string]string                // repository URL by name: "v1" (IS-1 1), "v2" (IS-1 1 and 2)
	vendor  string                           // a trial dir with the vendor chain installed, to copy
	withV1  string                           // ... and IS-1 1 on top
	trees   map[string]tree                  // "none", "1", "2": the root with that version of IS-1
	dbs     map[string]map[string]FileRecord // the file database with that version of IS-1
	install time.Duration
}

// customCrashFiles is a customer fix big enough that a kill lands inside
// its steps: files replacing vendor and base files, many new ones, one
// of 1 MiB, and a deletion.
func customCrashFiles(version string) map[string]string {
	files := map[string]string{
		"app/cart.php":     "<?php // shop a cart " + version + "\n",
		"app/checkout.php": "<?php // shop a checkout " + version + "\n",
		"lib/big.bin":      strings.Repeat("big "+version+" ", 1<<18),
	}
	for i := range 120 {
		files[fmt.Sprintf("custom/m%02d/f%03d.php", i%12, i)] = strings.Repeat(fmt.Sprintf("<?php // %s %d\n", version, i), 200+i*10)
	}
	return files
}

func setupCustomCrash(t *testing.T) *customCrashEnv {
	t.Helper()
	e := &customCrashEnv{bin: hotfixBinary(t), work: t.TempDir(), urls: map[string]string{}, trees: map[string]tree{}, dbs: map[string]map[string]FileRecord{}}
	e.keys = filepath.Join(e.work, "keys")
	data, err := os.ReadFile(keyPath("vendor.pub.asc"))
	if err != nil {
		t.Fatal(err)
	}
	testkit.WriteFile(t, e.keys, "vendor.pub.asc", string(data), 0o644)
	v1 := packCustomFix(t, "shop-a", "IS-1", "1", customCrashFiles("1"), "min_fix = \"2.4.1.3\"\ndelete = [\"app/legacy.php\"]\n")
	v2 := packCustomFix(t, "shop-a", "IS-1", "2", customCrashFiles("2"), "min_fix = \"2.4.1.3\"\n")
	r1 := newRepo(t)
	r1.addCustom(t, v1)
	r2 := newRepo(t)
	r2.addCustom(t, v1, v2)
	e.urls["v1"] = serveDir(t, r1.Dir, nil).URL
	e.urls["v2"] = serveDir(t, r2.Dir, nil).URL

	// The vendor chain alone (a server without customer), then IS-1 1 and
	// IS-1 2 on top by clean runs: the expected trees.
	vendor := e.newTrial(t, "", "v1", false)
	vendor.run(t, "install")
	e.vendor, e.trees["none"], e.dbs["none"] = vendor.dir, snapshot(t, vendor.root), fileDB(t, vendor.crashTrial)
	withV1 := e.newTrial(t, e.vendor, "v1", true)
	start := time.Now()
	withV1.run(t, "install")
	e.install = time.Since(start)
	e.withV1, e.trees["1"], e.dbs["1"] = withV1.dir, snapshot(t, withV1.root), fileDB(t, withV1.crashTrial)
	if withV1.custom(t) != "1" {
		t.Fatal("clean install: IS-1 1 not listed")
	}
	withV2 := e.newTrial(t, e.withV1, "v2", true)
	withV2.run(t, "install")
	e.trees["2"], e.dbs["2"] = snapshot(t, withV2.root), fileDB(t, withV2.crashTrial)
	if withV2.custom(t) != "2" {
		t.Fatal("clean replacement: IS-1 2 not listed")
	}
	withV2.run(t, "uninstall", "IS-1")
	assertTree(t, e.trees["none"], withV2.root)
	withV2.checkDB(t, e, "none", "clean uninstall")
	for v, owner := range map[string]string{"1": "IS-1 1", "2": "IS-1 2"} {
		n := 0
		for _, r := range e.dbs[v] {
			if r.Customer == "shop-a" && r.Fix+" "+r.Version == owner {
				n++
			}
		}
		if n != len(customCrashFiles(v)) {
			t.Fatalf("clean install of %s: the file database names it owner of %d files, want %d", owner, n, len(customCrashFiles(v)))
		}
	}
	return e
}

// fileDB is the file database of a trial's state.json.
func fileDB(t testing.TB, tr *crashTrial) map[string]FileRecord {
	t.Helper()
	st, err := LoadState(filepath.Join(tr.dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	if st.DB == nil || !st.DB.Customers {
		t.Fatalf("state.json of %s has no file database with the customer fixes", tr.dir)
	}
	return st.DB.Files
}

// checkDB asserts that the trial's file database holds exactly the
// records of the clean run with IS-1 at v, and that each matches the
// root (what "hotfix verify" checks).
func (tr *customTrial) checkDB(t testing.TB, e *customCrashEnv, v, what string) {
	t.Helper()
	if bad := fileDBProblems(t, tr.crashTrial, e.dbs[v]); len(bad) > 0 {
		t.Fatalf("%s: the file database with IS-1 %s is wrong:\n  %s", what, v, strings.Join(bad, "\n  "))
	}
}

// fileDBProblems compares the trial's file database with want (a clean
// run's) and each record with the root, as "hotfix verify" does: the
// first dozen problems, sorted.
func fileDBProblems(t testing.TB, tr *crashTrial, want map[string]FileRecord) []string {
	t.Helper()
	got := fileDB(t, tr)
	r, err := beneath.Open(tr.root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var bad []string
	for p, rec := range got {
		if w, ok := want[p]; !ok || w != rec {
			bad = append(bad, fmt.Sprintf("%s: %+v, want %+v", p, rec, w))
		} else if prob, differs := verifyFile(r, p, rec); differs {
			bad = append(bad, fmt.Sprintf("%s differs from its record: %+v", p, prob))
		}
	}
	for p, rec := range want {
		if _, ok := got[p]; !ok {
			bad = append(bad, fmt.Sprintf("%s (of %s %s) has no record", p, rec.Fix, rec.Version))
		}
	}
	sort.Strings(bad)
	if len(bad) > 12 {
		bad = append(bad[:12], fmt.Sprintf("... and %d more", len(bad)-12))
	}
	return bad
}

// customTrial is one server of the customer crash trials.
type customTrial struct {
	*crashTrial
}

func (e *customCrashEnv) newTrial(t testing.TB, from, repoName string, customer bool) *customTrial {
	t.Helper()
	return &customTrial{newSandboxTrial(t, e.bin, e.work, e.keys, e.urls[repoName], from, customer)}
}

// newSandboxTrial makes a server for a crash trial under work: the
// sample root, or the root, state and cache of the trial directory from;
// a single-role config for url trusting keys, with customerLine if
// customer.
func newSandboxTrial(t testing.TB, bin, work, keys, url, from string, customer bool) *crashTrial {
	t.Helper()
	dir, err := os.MkdirTemp(work, "trial-")
	if err != nil {
		t.Fatal(err)
	}
	tr := &crashTrial{dir: dir, root: filepath.Join(dir, "root"), cfg: filepath.Join(dir, "hotfix.toml"), env: &crashEnv{bin: bin}}
	if from == "" {
		testkit.CopyTree(t, sampleRoot(t), tr.root)
	} else {
		for _, sub := range []string{"root", "state", "cache"} {
			testkit.CopyTree(t, filepath.Join(from, sub), filepath.Join(dir, sub))
		}
	}
	cfg := SandboxConfig(url, demo.Product, tr.root, keys, dir) + "role = \"single\"\nscript_timeout = \"1m\"\n"
	if customer {
		cfg += customerLine
	}
	testkit.WriteFile(t, dir, "hotfix.toml", cfg, 0o644)
	return tr
}

// custom is the version of IS-1 "hotfix status --json" lists, "none"
// without it.
func (tr *customTrial) custom(t testing.TB) string {
	t.Helper()
	var st struct {
		Custom []struct{ ID, Version string } `json:"custom"`
	}
	out := tr.run(t, "status", "--json")
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	switch {
	case len(st.Custom) == 0:
		return "none"
	case len(st.Custom) == 1 && st.Custom[0].ID == "IS-1":
		return st.Custom[0].Version
	}
	t.Fatalf("status lists customer fixes %+v", st.Custom)
	return ""
}

// check compares the root with the tree of what status lists.
func (tr *customTrial) checkTree(t testing.TB, e *customCrashEnv, what string) string {
	t.Helper()
	v := tr.custom(t)
	if d := e.trees[v].diff(snapshot(t, tr.root)); d != "" {
		t.Fatalf("%s: status lists IS-1 %s but the root differs from that tree:\n%s", what, v, d)
	}
	tr.checkDB(t, e, v, what)
	return v
}

func TestCustomCrash(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("-short: the crash test runs the binary many times")
	}
	e := setupCustomCrash(t)
	full := max(e.install*3/2, 100*time.Millisecond)
	customTxn := func(tr *crashTrial) string { return filepath.Join(tr.dir, "state", customStoreDir, "IS-1", txnDirName) }
	backups := func(tr *crashTrial, v string) bool {
		_, err := os.Stat(filepath.Join(tr.dir, "state", customStoreDir, "IS-1", backupsDirName, v))
		return err == nil
	}
	// trigs kills at delays over one clean install, when the journal
	// appears, and at the steps of version v (lines "2: apply") when
	// steps is set (an uninstall announces none).
	trigs := func(v string, steps bool, more ...crashTrigger) []crashTrigger {
		var out []crashTrigger
		const spread = 10
		for i := range spread + 1 {
			out = append(out, afterDelay(full*time.Duration(i)/spread))
		}
		if steps {
			for _, step := range []string{"verify", "journal", "backup", "apply", "commit"} {
				out = append(out, atLine(v+": "+step, 0))
			}
			out = append(out, atLine(v+": apply", 5*time.Millisecond))
		}
		out = append(out, whenFile("journal appears", func(tr *crashTrial) bool {
			_, err := os.Stat(filepath.Join(customTxn(tr), journalName))
			return err == nil
		}))
		return append(out, more...)
	}
	for _, tc := range []struct {
		name, from, repo string
		args             []string
		want             []string // the versions a trial may end at
		trigs            []crashTrigger
	}{
		{"install", e.vendor, "v1", []string{"install"}, []string{"none", "1"}, trigs("1", true,
			whenFile("backups of 1 kept", func(tr *crashTrial) bool { return backups(tr, "1") }))},
		{"uninstall", e.withV1, "v1", []string{"uninstall", "IS-1"}, []string{"none", "1"}, trigs("1", false,
			whenFile("backups of 1 taken", func(tr *crashTrial) bool { return !backups(tr, "1") }))},
		{"replace", e.withV1, "v2", []string{"install"}, []string{"none", "1", "2"}, trigs("2", true,
			whenFile("backups of 1 taken", func(tr *crashTrial) bool { return !backups(tr, "1") }),
			whenFile("backups of 2 kept", func(tr *crashTrial) bool { return backups(tr, "2") }))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			seen := map[string]int{}
			t.Run("kills", func(t *testing.T) {
				for i, trig := range tc.trigs {
					t.Run(trig.name, func(t *testing.T) {
						t.Parallel()
						tr := e.newTrial(t, tc.from, tc.repo, true)
						defer os.RemoveAll(tr.dir)
						tr.kill(t, trig, tc.args...)
						did := tr.run(t, "recover")
						v := tr.checkTree(t, e, fmt.Sprintf("%s killed %s, then recover (%q)", tc.name, trig.name, strings.TrimSpace(did)))
						if !strings.Contains(strings.Join(tc.want, " "), v) {
							t.Fatalf("%s killed %s: IS-1 %s installed", tc.name, trig.name, v)
						}
						mu.Lock()
						seen[v]++
						mu.Unlock()
						// Now and then the recovered server must still
						// get to the end and back.
						if i%4 != 0 {
							return
						}
						tr.run(t, "install")
						end := tr.checkTree(t, e, "install after "+trig.name)
						tr.run(t, "uninstall", "IS-1")
						if v := tr.checkTree(t, e, "uninstall after "+trig.name); v != "none" || end == "none" {
							t.Fatalf("after %s: install gave IS-1 %s, uninstall %s", trig.name, end, v)
						}
					})
				}
			})
			t.Logf("%s: %d kills, IS-1 after recovery %v", tc.name, len(tc.trigs), seen)
			if len(seen) < 2 {
				t.Errorf("the kills of %s reached only %v: too fast for the delays", tc.name, seen)
			}
		})
	}
}
