package client

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/repo"
)

// TestTreeClient: Tree.Client, the one constructor of an instance's
// client, gives each instance its own root and state, the tree's clock,
// and a logger that names the instance; a name the configuration lacks
// is refused, naming the instances it has.
func TestTreeClient(t *testing.T) {
	t.Parallel()
	e := newTreeEnv(t, "")
	var logs bytes.Buffer
	tr, err := NewTree(e.Cfg, slog.New(slog.NewTextHandler(&logs, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 1, 6, 4, 0, 0, 0, time.UTC)
	tr.Now = func() time.Time { return at }
	for _, tt := range []struct {
		name, parent, err string
	}{
		{name: "a"},
		{name: "b", parent: "a"},
		{name: "d", parent: "b"},
		{name: "z", err: `"z" is not an instance of ` + e.Config + " (instances: a, b, c, d, e)"},
		{name: "", err: `"" is not an instance of`},
	} {
		t.Run("instance "+tt.name, func(t *testing.T) {
			cl, err := tr.Client(tt.name)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cl.Cfg.Instance != tt.name || cl.Cfg.Root != e.Roots[tt.name] || filepath.Base(cl.Cfg.StateDir) != tt.name {
				t.Errorf("instance %q root %s state %s; want %s, %s, .../%s", cl.Cfg.Instance, cl.Cfg.Root, cl.Cfg.StateDir, tt.name, e.Roots[tt.name], tt.name)
			}
			if p := cl.Cfg.parent; (p == nil) != (tt.parent == "") || p != nil && p.Instance != tt.parent {
				t.Errorf("parent %+v, want %q", p, tt.parent)
			}
			if !cl.Now().Equal(at) {
				t.Errorf("clock %s, want the tree's %s", cl.Now(), at)
			}
			cl.Log.Info("hello")
			if !strings.Contains(logs.String(), "msg=hello instance="+tt.name+"\n") {
				t.Errorf("log does not name instance %s:\n%s", tt.name, logs.String())
			}
		})
	}
}

// TestTreeLevelReaderReadsOnce: status reads a parent's recorded level
// once for all its children: a second child asking after the parent's
// root changed gets the first read, while a new status reads afresh
// (and a parent that cannot be read stays unreadable for the rest).
func TestTreeLevelReaderReadsOnce(t *testing.T) {
	t.Parallel()
	e := newTreeEnv(t, "")
	tr, err := NewTree(e.Cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := repo.MustParseVersion("1.0.1")
	for _, name := range treeNames() {
		cl, err := tr.Client(name)
		if err != nil {
			t.Fatal(err)
		}
		if name == "a" {
			if _, err := cl.Install(t.Context(), InstallOptions{Target: &want}); err != nil {
				t.Fatalf("a to %s: %v", want, err)
			}
		}
		if _, err := cl.Check(t.Context()); err != nil {
			t.Fatalf("check %s: %v", name, err)
		}
	}
	levelOf := tr.levelReader()
	if lv, err := levelOf("a"); err != nil || !lv.Equal(want) {
		t.Fatalf("level of a: %s, %v; want %s", lv, err, want)
	}
	// a's root loses its version file: a fresh read fails.
	if err := os.Remove(filepath.Join(e.Roots["a"], "VERSION")); err != nil {
		t.Fatal(err)
	}
	if lv, err := levelOf("a"); err != nil || !lv.Equal(want) {
		t.Errorf("second read of a: %s, %v; want the first, %s", lv, err, want)
	}
	fresh := tr.levelReader()
	if _, err := fresh("a"); err == nil {
		t.Fatal("a fresh read of a without its version file did not fail")
	}
	if err := os.WriteFile(filepath.Join(e.Roots["a"], "VERSION"), []byte("1.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := fresh("a"); err == nil {
		t.Error("the failed read of a was read again")
	}
	// Status: a's children b and c are compared with one read of a.
	st, err := tr.Status()
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, is := range st.Instances {
		states[is.Name] = is.State + "|" + is.Blocked
	}
	for name, wantState := range map[string]string{"b": "pending|", "c": "pending|", "d": "blocked|blocked: parent b is at 1.0", "e": "blocked|blocked: parent b is at 1.0"} {
		if states[name] != wantState {
			t.Errorf("%s: %q, want %q", name, states[name], wantState)
		}
	}
}
