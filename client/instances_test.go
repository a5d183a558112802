package client

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/fixarchive"
	"github.com/hotfix-project/hotfix/repo/publish"
)

// treeStampScript is every fix's script in the instance tests: it
// stamps its start and end (nanoseconds, the script's own clock) into
// DIR/stamps/NAME, fails where the root holds FAIL-VERSION, and hangs
// where DIR/hang/NAME exists (after touching DIR/hang/NAME.started), so
// that a test can kill the binary in the middle of an instance. Where
// DIR/meet/NAME names a sibling, it waits (at most 10 s) until that
// sibling's script has started too (see meet): siblings run in parallel
// then overlap however loaded the machine, and siblings run one after
// the other never do.
const treeStampScript = `#!/bin/sh
name=$(basename "$HOTFIX_ROOT")
top=$(dirname "$(dirname "$HOTFIX_ROOT")")
[ -e "$HOTFIX_ROOT/FAIL-$HOTFIX_VERSION" ] && { echo "failing on purpose" >&2; exit 3; }
if [ -e "$top/hang/$name" ] || [ -e "$top/hang/$name-$HOTFIX_VERSION" ]; then touch "$top/hang/$name.started"; sleep 60; fi
mkdir -p "$top/stamps"
echo "$HOTFIX_VERSION start $(date +%s%N)" >> "$top/stamps/$name"
if [ -e "$top/meet/$name" ]; then
	other=$(cat "$top/meet/$name"); i=0
	while [ ! -e "$top/stamps/$other" ] && [ $i -lt 500 ]; do sleep 0.02; i=$((i+1)); done
fi
sleep 0.05
echo "$HOTFIX_VERSION end $(date +%s%N)" >> "$top/stamps/$name"
`

// treeRepo is a signed repository of product "tree", base 1.0, with
// fixes 1.0.1 and 1.0.2; each replaces app/v.txt, adds app/fN.txt and
// runs treeStampScript. It is built once per test binary.
func treeRepo(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(scratch(t), "treerepo")
	if _, err := os.Stat(filepath.Join(dir, "tree", "1.0", repo.IndexName)); err == nil {
		return dir
	}
	tmp, err := os.MkdirTemp(scratch(t), "treerepo-")
	if err != nil {
		t.Fatal(err)
	}
	var archives []string
	for n := 1; n <= 2; n++ {
		v := fmt.Sprintf("1.0.%d", n)
		src := filepath.Join(tmp, "src", v)
		testkit.WriteFile(t, src, "fix.toml", "product = \"tree\"\nversion = \""+v+"\"\nsummary = \"fix "+v+"\"\n", 0o644)
		testkit.WriteFile(t, src, "files/app/v.txt", "v"+v+"\n", 0o644)
		testkit.WriteFile(t, src, fmt.Sprintf("files/app/f%d.txt", n), "added by "+v+"\n", 0o644)
		testkit.WriteFile(t, src, "scripts/10-stamp.sh", treeStampScript, 0o755)
		p, _, err := fixarchive.Pack(context.Background(), src, filepath.Join(tmp, "out"), fixarchive.PackOptions{})
		if err != nil {
			t.Fatal(err)
		}
		archives = append(archives, p)
	}
	r := filepath.Join(tmp, "repo")
	if err := os.MkdirAll(r, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := publish.Add(context.Background(), r, archives, publish.AddOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := publish.Build(context.Background(), r, publish.BuildOptions{Signer: testSigner(t, "vendor.sec.asc")}); err != nil {
		t.Fatal(err)
	}
	// Another test may have won the race: either repository will do.
	if err := os.Rename(r, dir); err != nil && !errors.Is(err, os.ErrExist) {
		if _, serr := os.Stat(filepath.Join(dir, "tree", "1.0", repo.IndexName)); serr != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// treeEnv is a host with five instances of product "tree" in three
// levels: a; b and c under a; d and e under b.
type treeEnv struct {
	Dir    string
	Config string
	Cfg    *Config
	Roots  map[string]string
}

var treeParents = map[string]string{"a": "", "b": "a", "c": "a", "d": "b", "e": "b"}

func treeNames() []string { return []string{"a", "b", "c", "d", "e"} }

func newTreeEnv(t testing.TB, extra string) *treeEnv {
	t.Helper()
	dir := t.TempDir()
	e := &treeEnv{Dir: dir, Roots: map[string]string{}}
	keys := filepath.Join(dir, "keys")
	data, err := os.ReadFile(keyPath("vendor.pub.asc"))
	if err != nil {
		t.Fatal(err)
	}
	testkit.WriteFile(t, keys, "vendor.pub.asc", string(data), 0o644)
	for _, d := range []string{"stamps", "hang"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := fmt.Sprintf(`repo = "file://%s"
product = "tree"
version_file = "VERSION"
trusted_keys = %q
state_dir = %q
cache_dir = %q
log_dir = %q
lock_dir = %q
script_timeout = "30s"
parallel = 2
`, filepath.ToSlash(treeRepo(t)), keys, filepath.Join(dir, "state"), filepath.Join(dir, "cache"), filepath.Join(dir, "log"), filepath.Join(dir, "lock"))
	cfg += extra
	for _, name := range treeNames() {
		root := filepath.Join(dir, "roots", name)
		e.Roots[name] = root
		testkit.WriteFile(t, root, "VERSION", "1.0\n", 0o644)
		testkit.WriteFile(t, root, "app/v.txt", "v1.0\n", 0o644)
		cfg += fmt.Sprintf("\n[[instance]]\nname = %q\nroot = %q\n", name, root)
		if p := treeParents[name]; p != "" {
			cfg += fmt.Sprintf("parent = %q\n", p)
		}
	}
	e.Config = filepath.Join(dir, "hotfix.toml")
	testkit.WriteFile(t, dir, "hotfix.toml", cfg, 0o644)
	if e.Cfg, err = LoadConfig(e.Config); err != nil {
		t.Fatalf("%v\n%s", err, cfg)
	}
	return e
}

// expectedRoot is a root with the fixes of 1.0 up to level applied.
func expectedRoot(t testing.TB, level int) tree {
	t.Helper()
	root := t.TempDir()
	testkit.WriteFile(t, root, "VERSION", "1.0\n", 0o644)
	v := "v1.0\n"
	for n := 1; n <= level; n++ {
		v = fmt.Sprintf("v1.0.%d\n", n)
		testkit.WriteFile(t, root, fmt.Sprintf("app/f%d.txt", n), fmt.Sprintf("added by 1.0.%d\n", n), 0o644)
	}
	testkit.WriteFile(t, root, "app/v.txt", v, 0o644)
	return snapshot(t, root)
}

// stamp is one line a script wrote.
type stamp struct {
	instance, version, what string
	at                      int64
}

// stamps reads what the scripts stamped, every instance.
// meet makes the scripts of the sibling pairs wait for each other
// (treeStampScript), so that overlap holds on any machine when siblings
// run in parallel.
func (e *treeEnv) meet(t testing.TB, pairs ...[2]string) {
	t.Helper()
	for _, p := range pairs {
		testkit.WriteFile(t, filepath.Join(e.Dir, "meet"), p[0], p[1], 0o644)
		testkit.WriteFile(t, filepath.Join(e.Dir, "meet"), p[1], p[0], 0o644)
	}
}

func (e *treeEnv) stamps(t testing.TB) map[string][]stamp {
	t.Helper()
	out := map[string][]stamp{}
	for _, name := range treeNames() {
		data, err := os.ReadFile(filepath.Join(e.Dir, "stamps", name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			f := strings.Fields(line)
			if len(f) != 3 {
				t.Fatalf("stamp %q of %s", line, name)
			}
			at, err := strconv.ParseInt(f[2], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			out[name] = append(out[name], stamp{name, f[0], f[1], at})
		}
	}
	return out
}

// checkOrder fails unless every instance's first script started after
// its parent's last script ended (level by level, from the scripts' own
// clocks).
func (e *treeEnv) checkOrder(t testing.TB, st map[string][]stamp) {
	t.Helper()
	for name, parent := range treeParents {
		if parent == "" || len(st[name]) == 0 {
			continue
		}
		ps := st[parent]
		if len(ps) == 0 {
			t.Errorf("%s ran its scripts, its parent %s none", name, parent)
			continue
		}
		if first, last := st[name][0].at, ps[len(ps)-1].at; first <= last {
			t.Errorf("%s started (%d) before its parent %s ended (%d)", name, first, parent, last)
		}
	}
}

func (e *treeEnv) tree(t testing.TB, only ...string) *Tree {
	t.Helper()
	tr, err := NewTree(e.Cfg, nil, only)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func outcomes(res *TreeResult) string {
	var s []string
	for _, ir := range res.Instances {
		s = append(s, fmt.Sprintf("%s=%s@%s", ir.Name, ir.Outcome, ir.Level))
	}
	return strings.Join(s, " ")
}

func TestTreeInstallLevelByLevel(t *testing.T) {
	t.Parallel()
	e := newTreeEnv(t, "")
	res, err := e.tree(t).Install(context.Background(), InstallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Err(); err != nil {
		t.Fatalf("%v (%s)", err, outcomes(res))
	}
	want := "a=installed@1.0.2 b=installed@1.0.2 c=installed@1.0.2 d=installed@1.0.2 e=installed@1.0.2"
	if got := outcomes(res); got != want {
		t.Errorf("outcomes %s, want %s", got, want)
	}
	st := e.stamps(t)
	e.checkOrder(t, st)
	for _, name := range treeNames() {
		if len(st[name]) != 4 {
			t.Errorf("%s stamped %v, want start and end of two fixes", name, st[name])
		}
		assertTree(t, expectedRoot(t, 2), e.Roots[name])
		// Each instance's state, logs and audit records are its own.
		for _, p := range []string{"state/instances/" + name + "/state.json", "log/instances/" + name + "/audit.log"} {
			if _, err := os.Stat(filepath.Join(e.Dir, p)); err != nil {
				t.Errorf("%s: %v", p, err)
			}
		}
	}
	// A second run finds every instance up to date and runs nothing.
	res, err = e.tree(t).Install(context.Background(), InstallOptions{})
	if err != nil || res.Err() != nil {
		t.Fatal(err, res.Err())
	}
	if got := outcomes(res); strings.Count(got, "up to date@1.0.2") != 5 {
		t.Errorf("second run: %s", got)
	}
}

func TestTreeLeafFailureStopsOnlyItself(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, failing, fix string
		want               string
	}{
		{"leaf at its first fix", "d", "1.0.1", "a=installed@1.0.2 b=installed@1.0.2 c=installed@1.0.2 d=failed@1.0 e=installed@1.0.2"},
		{"leaf at its second fix", "e", "1.0.2", "a=installed@1.0.2 b=installed@1.0.2 c=installed@1.0.2 d=installed@1.0.2 e=failed@1.0.1"},
		{"inner instance: its subtree waits", "b", "1.0.1", "a=installed@1.0.2 b=failed@1.0 c=installed@1.0.2 d=blocked@ e=blocked@"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTreeEnv(t, "")
			testkit.WriteFile(t, e.Roots[tc.failing], "FAIL-"+tc.fix, "", 0o644)
			n, _ := strconv.Atoi(tc.fix[len(tc.fix)-1:])
			before := expectedRoot(t, n-1)
			before["FAIL-"+tc.fix] = snapshot(t, e.Roots[tc.failing])["FAIL-"+tc.fix]
			res, err := e.tree(t).Install(context.Background(), InstallOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := outcomes(res); got != tc.want {
				t.Errorf("outcomes %s, want %s", got, tc.want)
			}
			terr := res.Err()
			var te *TreeError
			var se *StepError
			if !errors.As(terr, &te) || !errors.As(terr, &se) || se.Version.String() != tc.fix || se.Step != "script 10-stamp.sh" || errors.Is(terr, ErrWaitingForPrimary) {
				t.Fatalf("error %v: want the instance, fix %s and step named", terr, tc.fix)
			}
			if msg := terr.Error(); !strings.Contains(msg, "instance "+tc.failing+": fix "+tc.fix+": script 10-stamp.sh") {
				t.Errorf("message %q does not name instance, fix and step", msg)
			}
			assertTree(t, before, e.Roots[tc.failing])
			for _, name := range treeNames() {
				if name == tc.failing || treeParents[name] == tc.failing {
					continue
				}
				assertTree(t, expectedRoot(t, 2), e.Roots[name])
			}
			e.checkOrder(t, e.stamps(t))
			// Once the cause is gone, the next run finishes the tree.
			os.Remove(filepath.Join(e.Roots[tc.failing], "FAIL-"+tc.fix))
			res, err = e.tree(t).Install(context.Background(), InstallOptions{})
			if err != nil || res.Err() != nil {
				t.Fatalf("%v %v", err, res.Err())
			}
			for _, name := range treeNames() {
				assertTree(t, expectedRoot(t, 2), e.Roots[name])
			}
		})
	}
}

func TestTreeChildNeverPastParent(t *testing.T) {
	t.Parallel()
	e := newTreeEnv(t, "")
	ctx := context.Background()
	target := repo.MustParseVersion("1.0.1")
	// a to 1.0.1 only; then b alone may follow to 1.0.1, never 1.0.2.
	if res, err := e.tree(t, "a").Install(ctx, InstallOptions{Target: &target}); err != nil || res.Err() != nil {
		t.Fatal(err, res.Err())
	}
	res, err := e.tree(t, "b").Install(ctx, InstallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := outcomes(res); got != "b=installed@1.0.1" {
		t.Errorf("outcomes %s", got)
	}
	var be *BlockedError
	if !errors.As(res.Err(), &be) || !strings.Contains(res.Err().Error(), "blocked: parent a is at 1.0.1") {
		t.Fatalf("error %v, want blocked: parent a is at 1.0.1", res.Err())
	}
	assertTree(t, expectedRoot(t, 1), e.Roots["b"])
	// d, whose parent b is at 1.0.1, asked for alone: to 1.0.1 only.
	res, _ = e.tree(t, "d").Install(ctx, InstallOptions{})
	if !errors.Is(res.Err(), ErrBlocked) || outcomes(res) != "d=installed@1.0.1" {
		t.Errorf("d: %s %v", outcomes(res), res.Err())
	}
	// c, at the base, while a is at 1.0.1 and c is asked to 1.0.2.
	two := repo.MustParseVersion("1.0.2")
	res, _ = e.tree(t, "c").Install(ctx, InstallOptions{Target: &two})
	if !errors.Is(res.Err(), ErrBlocked) || outcomes(res) != "c=installed@1.0.1" {
		t.Errorf("c: %s %v", outcomes(res), res.Err())
	}
	// Nothing to give: b at 1.0.1 like a; blocked and unchanged.
	res, _ = e.tree(t, "b").Install(ctx, InstallOptions{})
	if !errors.Is(res.Err(), ErrBlocked) || outcomes(res) != "b=blocked@1.0.1" {
		t.Errorf("b again: %s %v", outcomes(res), res.Err())
	}
	assertTree(t, expectedRoot(t, 1), e.Roots["b"])
	// An unknown instance is refused by name.
	if _, err := NewTree(e.Cfg, nil, []string{"zz"}); err == nil || !strings.Contains(err.Error(), `"zz" is not an instance`) {
		t.Errorf("unknown instance: %v", err)
	}
}

func TestTreeDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	e := newTreeEnv(t, "")
	snap := func() map[string]tree {
		out := map[string]tree{}
		for _, d := range []string{"roots", "state", "stamps"} {
			if _, err := os.Stat(filepath.Join(e.Dir, d)); err == nil {
				out[d] = snapshot(t, filepath.Join(e.Dir, d))
			}
		}
		return out
	}
	before := snap()
	res, err := e.tree(t).Install(context.Background(), InstallOptions{DryRun: true})
	if err != nil || res.Err() != nil {
		t.Fatal(err, res.Err())
	}
	if got := outcomes(res); strings.Count(got, "dry run passed@1.0.2") != 5 {
		t.Errorf("outcomes %s", got)
	}
	after := snap()
	for k, b := range before {
		if d := b.diff(after[k]); d != "" && k != "state" {
			t.Errorf("%s changed:\n%s", k, d)
		}
	}
	for _, name := range treeNames() {
		if st, err := LoadState(filepath.Join(e.Dir, "state", "instances", name)); err != nil || len(st.Installed) != 0 {
			t.Errorf("%s: state %+v, %v", name, st, err)
		}
	}
	// A failing test in a leaf is reported, and still nothing changes.
	testkit.WriteFile(t, e.Roots["e"], "app/f1.txt", "in the way\n", 0o444)
	os.Chmod(filepath.Join(e.Roots["e"], "app"), 0o555)
	defer os.Chmod(filepath.Join(e.Roots["e"], "app"), 0o755)
	res, err = e.tree(t).Install(context.Background(), InstallOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 && !strings.Contains(outcomes(res), "e=failed") {
		t.Errorf("a read-only leaf passed its dry run: %s", outcomes(res))
	}
	if got := listFiles(t, filepath.Join(e.Dir, "stamps")); len(got) != 0 {
		t.Errorf("a dry run ran scripts: %v", got)
	}
}
