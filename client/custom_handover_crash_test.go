package client

// The crash proof for the handover of overridden files: vendor fix
// 2.4.1.3, installed with --force over customer fix IS-1, owns most of
// IS-1's paths (a replaced base file, added files, one of 1 MiB, a
// deletion). Uninstalling IS-1 hands the undoing of those paths over to
// 2.4.1.3's rollback record. The real binary is killed with SIGKILL at
// many instants of that uninstall; then the vendor fix is rolled back
// first (with or without "hotfix recover" before), and at every step the
// root and the file database must be exactly those of the clean run that
// "hotfix status --json" says the server is at.

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/testkit"
)

// handoverEnv is what the handover crash trials share.
type handoverEnv struct {
	bin, work, keys string
	before, after   string // repository URLs: without and with vendor fix 2.4.1.3
	over            string // a trial dir: 2.4.1.3 forced over IS-1, to copy
	// trees and dbs by state: "v2" (vendor to 2.4.1.2), "v2+IS-1", "v3"
	// (vendor to 2.4.1.3), "v3+IS-1" (IS-1 overridden by 2.4.1.3).
	trees     map[string]tree
	dbs       map[string]map[string]FileRecord
	uninstall time.Duration
}

// handoverShared are the paths both IS-1 and vendor fix 2.4.1.3 write:
// the vendor fix overrides them all.
func handoverShared(who string) map[string]string {
	files := map[string]string{
		"app/checkout.php": "<?php // checkout by " + who + "\n",
		"lib/big.bin":      strings.Repeat("big by "+who+" ", 1<<17),
	}
	for i := range 24 {
		files[fmt.Sprintf("custom/h%02d.php", i)] = strings.Repeat(fmt.Sprintf("<?php // %s %d\n", who, i), 100+i*20)
	}
	return files
}

func setupHandoverCrash(t *testing.T) *handoverEnv {
	t.Helper()
	e := &handoverEnv{bin: hotfixBinary(t), work: t.TempDir(), trees: map[string]tree{}, dbs: map[string]map[string]FileRecord{}}
	e.keys = filepath.Join(e.work, "keys")
	data, err := os.ReadFile(keyPath("vendor.pub.asc"))
	if err != nil {
		t.Fatal(err)
	}
	testkit.WriteFile(t, e.keys, "vendor.pub.asc", string(data), 0o644)

	// IS-1 replaces a base file and a vendor one that stay its own
	// (lib/tax.php of 2.4.1.1), adds one that stays its own, and deletes
	// app/legacy.php, which 2.4.1.3 deletes too.
	is1 := handoverShared("IS-1")
	is1["app/extra.php"] = "<?php // extra\n"
	is1["lib/tax.php"] = "<?php // tax by IS-1\n"
	custom := packCustomFix(t, "shop-a", "IS-1", "1", is1, "delete = [\"app/legacy.php\"]\n")
	r := newRepo(t, "2.4.1.1", "2.4.1.2")
	r.addCustom(t, custom)
	e.before = serveDir(t, r.Dir, nil).URL
	r3 := newRepo(t, "2.4.1.1", "2.4.1.2")
	src := filepath.Join(t.TempDir(), "2.4.1.3")
	orig := filepath.Join(sampleSource, "fixes", "2.4.1.3")
	testkit.CopyTree(t, filepath.Join(orig, "files"), filepath.Join(src, "files"))
	toml, err := os.ReadFile(filepath.Join(orig, "fix.toml"))
	if err != nil {
		t.Fatal(err)
	}
	testkit.WriteFile(t, src, "fix.toml", string(toml), 0o644)
	for p, data := range handoverShared("2.4.1.3") {
		testkit.WriteFile(t, src, "files/"+p, data, 0o644)
	}
	r3.addSource(t, src)
	r3.add(t, custom)
	r3.build(t, publishOpts())
	e.after = serveDir(t, r3.Dir, nil).URL

	// Clean runs by the binary give the expected trees and databases.
	tr := e.newTrial(t, "", e.before, false)
	tr.run(t, "install")
	e.keep(t, tr, "v2")
	tr = e.newTrial(t, tr.dir, e.before, true)
	tr.run(t, "install")
	e.keep(t, tr, "v2+IS-1")
	tr = e.newTrial(t, tr.dir, e.after, true)
	tr.run(t, "install", "--force")
	e.keep(t, tr, "v3+IS-1")
	e.over = tr.dir
	if got := tr.at(t); got != "v3+IS-1" {
		t.Fatalf("after install --force the server is at %s", got)
	}
	un := e.newTrial(t, e.over, e.after, true)
	start := time.Now()
	un.run(t, "uninstall", "IS-1")
	e.uninstall = time.Since(start)
	e.keep(t, un, "v3")
	un.run(t, "rollback")
	un.check(t, e, "clean uninstall, then rollback", "v2")
	rb := e.newTrial(t, e.over, e.after, true)
	rb.run(t, "rollback")
	rb.check(t, e, "clean rollback", "v2+IS-1")
	rb.run(t, "uninstall", "IS-1")
	rb.check(t, e, "clean rollback, then uninstall", "v2")
	return e
}

// keep records the trial's root and file database as those of state.
func (e *handoverEnv) keep(t *testing.T, tr *handoverTrial, state string) {
	t.Helper()
	if got := tr.at(t); got != state {
		t.Fatalf("clean run: the server is at %s, want %s", got, state)
	}
	e.trees[state], e.dbs[state] = snapshot(t, tr.root), maps.Clone(fileDB(t, tr.crashTrial))
}

// handoverTrial is one server of the handover crash trials.
type handoverTrial struct {
	*crashTrial
}

func (e *handoverEnv) newTrial(t testing.TB, from, url string, customer bool) *handoverTrial {
	t.Helper()
	return &handoverTrial{newSandboxTrial(t, e.bin, e.work, e.keys, url, from, customer)}
}

// at is the state "hotfix status --json" reports: the newest vendor fix
// ("v2", "v3"), "+IS-1" when IS-1 is installed.
func (tr *handoverTrial) at(t testing.TB) string {
	t.Helper()
	var st struct {
		Installed []struct{ Version string }     `json:"installed"`
		Custom    []struct{ ID, Version string } `json:"custom"`
	}
	out := tr.run(t, "status", "--json")
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	var s string
	switch n := len(st.Installed); {
	case n == 2 && st.Installed[1].Version == "2.4.1.2":
		s = "v2"
	case n == 3 && st.Installed[2].Version == "2.4.1.3":
		s = "v3"
	default:
		t.Fatalf("status lists vendor fixes %+v", st.Installed)
	}
	switch {
	case len(st.Custom) == 1 && st.Custom[0].ID == "IS-1" && st.Custom[0].Version == "1":
		s += "+IS-1"
	case len(st.Custom) > 0:
		t.Fatalf("status lists customer fixes %+v", st.Custom)
	}
	return s
}

// check asserts that the server is at one of want (the first when only
// one is given), with exactly the root and file database of the clean
// run at that state, each record matching the root; it returns the
// state.
func (tr *handoverTrial) check(t testing.TB, e *handoverEnv, what string, want ...string) string {
	t.Helper()
	s := tr.at(t)
	if !slices.Contains(want, s) {
		t.Fatalf("%s: the server is at %s, want one of %v", what, s, want)
	}
	if d := e.trees[s].diff(snapshot(t, tr.root)); d != "" {
		t.Fatalf("%s: status says %s but the root differs from that tree:\n%s", what, s, d)
	}
	if bad := fileDBProblems(t, tr.crashTrial, e.dbs[s]); len(bad) > 0 {
		t.Fatalf("%s: the file database at %s is wrong:\n  %s", what, s, strings.Join(bad, "\n  "))
	}
	return s
}

// journalNames reports whether the rollback record of a fix (the
// journal in dir, or the transaction's while it is rolled back) names
// rel.
func journalNames(dirs []string, rel string) (found, names bool) {
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, journalName))
		if err != nil {
			continue
		}
		var j struct{ Entries []struct{ Path string } }
		if json.Unmarshal(data, &j) != nil {
			return false, false
		}
		for _, en := range j.Entries {
			if en.Path == rel {
				return true, true
			}
		}
		return true, false
	}
	return false, false
}

func TestCustomHandoverCrash(t *testing.T) {
	e := setupHandoverCrash(t)
	full := max(e.uninstall*3/2, 60*time.Millisecond)
	custom := func(tr *crashTrial) []string {
		d := tr.statePath(customStoreDir, "IS-1")
		return []string{filepath.Join(d, backupsDirName, "1"), filepath.Join(d, txnDirName)}
	}
	vendor := func(tr *crashTrial) []string { return []string{tr.statePath(backupsDirName, "2.4.1.3")} }
	base, err := os.ReadFile(filepath.Join(sampleRoot(t), "app", "checkout.php"))
	if err != nil {
		t.Fatal(err)
	}
	var trigs []crashTrigger
	const spread = 10
	for i := range spread + 1 {
		trigs = append(trigs, afterDelay(full*time.Duration(i)/spread))
	}
	for _, p := range []string{"app/checkout.php", "app/legacy.php", "custom/h11.php", "lib/big.bin"} {
		trigs = append(trigs, whenFile("IS-1's record dropped "+p, func(tr *crashTrial) bool {
			found, names := journalNames(custom(tr), p)
			return found && !names
		}))
	}
	trigs = append(trigs,
		whenFile("2.4.1.3's backup of checkout.php is the base's", func(tr *crashTrial) bool {
			got, err := os.ReadFile(tr.statePath(backupsDirName, "2.4.1.3", backupSubdir, "app", "checkout.php"))
			return err == nil && string(got) == string(base)
		}),
		whenFile("2.4.1.3's record names legacy.php", func(tr *crashTrial) bool {
			_, names := journalNames(vendor(tr), "app/legacy.php")
			return names
		}),
		whenFile("2.4.1.3's backup of big.bin gone", func(tr *crashTrial) bool {
			_, err := os.Stat(tr.statePath(backupsDirName, "2.4.1.3", backupSubdir, "lib", "big.bin"))
			return os.IsNotExist(err)
		}),
		whenFile("IS-1's rollback journal appears", func(tr *crashTrial) bool {
			_, err := os.Stat(filepath.Join(tr.statePath(customStoreDir, "IS-1", txnDirName), journalName))
			return err == nil
		}),
	)
	var mu sync.Mutex
	seen := map[string]int{}
	t.Run("kills", func(t *testing.T) {
		for _, trig := range trigs {
			for _, recoverFirst := range []bool{true, false} {
				name := trig.name + ", rollback"
				if recoverFirst {
					name = trig.name + ", recover, rollback"
				}
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					tr := &handoverTrial{e.newTrial(t, e.over, e.after, true).crashTrial}
					defer os.RemoveAll(tr.dir)
					tr.kill(t, trig, "uninstall", "IS-1")
					if recoverFirst {
						did := tr.run(t, "recover")
						s := tr.check(t, e, fmt.Sprintf("uninstall killed %s, then recover (%q)", trig.name, strings.TrimSpace(did)), "v3+IS-1", "v3")
						mu.Lock()
						seen[s]++
						mu.Unlock()
					}
					// The vendor fix goes first: its rollback must give back
					// the customer's files where IS-1 stayed, the files from
					// before IS-1 where it went.
					tr.run(t, "rollback")
					s := tr.check(t, e, "rollback of 2.4.1.3 after the kill "+trig.name, "v2+IS-1", "v2")
					if s == "v2+IS-1" {
						tr.run(t, "uninstall", "IS-1")
						tr.check(t, e, "uninstall after "+trig.name, "v2")
					}
				})
			}
		}
	})
	t.Logf("%d kills: after recover %v", len(trigs)*2, seen)
	if len(seen) < 2 {
		t.Errorf("the kills reached only %v: the uninstall is too fast for the delays", seen)
	}
}
