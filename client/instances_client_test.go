package client

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
