package cmd

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
)

// TestCheckJSONInstancesSameKeys: `check` and `check --json` over [[instance]] tables
// gives each instance exactly the keys of a single installation's check
// (published and custom included; they were once missing or zero there),
// and the format once, at the top, as `status --json` does.
func TestCheckJSONInstancesSameKeys(t *testing.T) {
	e := newUAEnv(t, "")
	text := func() string {
		t.Helper()
		code, out, errOut := runHotfix(t, "--config", e.Config, "check")
		if code != ExitPending {
			t.Fatalf("check: exit %d, want %d\n%s%s", code, ExitPending, out, errOut)
		}
		return out
	}
	check := func() map[string]any {
		t.Helper()
		code, out, errOut := runHotfix(t, "--config", e.Config, "--json", "check")
		if code != ExitPending {
			t.Fatalf("check --json: exit %d, want %d\n%s%s", code, ExitPending, out, errOut)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return m
	}
	single, singleText := check(), text()
	if single["published"] != float64(3) {
		t.Fatalf("single check: published %v, want 3", single["published"])
	}
	e.write(t, fmt.Sprintf("\n[[instance]]\nname = \"only\"\nroot = %q\n", e.Root))
	tree := check()
	// The text too: an instance's lines are a single installation's, its
	// name first (they once lacked the bugs and said "1 fixes").
	if got := text(); got != "only: "+singleText {
		t.Errorf("an instance's check text:\n%s\nwant\n%s", got, "only: "+singleText)
	}
	if tree["format"] != float64(jsonFormat) {
		t.Errorf("instances check: format %v, want %d", tree["format"], jsonFormat)
	}
	instances, _ := tree["instances"].([]any)
	if len(instances) != 1 {
		t.Fatalf("instances check: %v", tree)
	}
	inst, _ := instances[0].(map[string]any)
	if inst["name"] != "only" {
		t.Errorf("instance name %v", inst["name"])
	}
	delete(inst, "name")
	delete(single, "format")
	if !reflect.DeepEqual(inst, single) {
		t.Errorf("an instance's check differs from a single installation's:\n%v\nwant\n%v", inst, single)
	}
}
