package txn

import (
	"reflect"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/repo"
)

// TestPlanRefusesUnsafeModes: a manifest mode writable by every user or
// unreadable by the owner is refused before anything happens, naming the
// file and the mode; ordinary modes pass.
func TestPlanRefusesUnsafeModes(t *testing.T) {
	for _, tt := range []struct {
		mode repo.Mode
		want string // "" when the plan passes
	}{
		{0o777, "mode 0777, writable by every user"},
		{0o666, "mode 0666, writable by every user"},
		{0o602, "mode 0602, writable by every user"},
		{0o000, "mode 0000, not readable by its owner"},
		{0o200, "mode 0200, not readable by its owner"},
		{0o044, "mode 0044, not readable by its owner"},
		{0o644, ""}, {0o755, ""}, {0o600, ""}, {0o775, ""}, {0o400, ""},
	} {
		t.Run(tt.mode.String(), func(t *testing.T) {
			f := newFixture(t, t.TempDir())
			f.m.Files[1].Mode = tt.mode
			before := snapshot(t, f.store.Root)
			_, err := Plan(f.store.Root, f.m)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Plan = %v; want it to pass", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), f.m.Files[1].Path)):
				t.Fatalf("Plan = %v; want a refusal naming %s and %q", err, f.m.Files[1].Path, tt.want)
			}
			if got := snapshot(t, f.store.Root); !reflect.DeepEqual(got, before) {
				t.Error("Plan changed the root")
			}
		})
	}
}
