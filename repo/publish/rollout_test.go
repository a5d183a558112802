package publish

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
)

var rolloutNow = time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)

// rolloutRepo adds the sample chain (with Add's testing option as given)
// and returns the repository and the channel directory.
func rolloutRepo(t *testing.T, testing bool) (string, string) {
	t.Helper()
	root := t.TempDir()
	if _, err := Add(context.Background(), root, packSample(t), AddOptions{Testing: testing}); err != nil {
		t.Fatal(err)
	}
	return root, filepath.Join(root, "acme", "2.4.1")
}

// buildIndex builds the repository and returns the sample channel's
// index as a client would parse it.
func buildIndex(t *testing.T, root string) *repo.Index {
	t.Helper()
	if _, err := Build(context.Background(), root, BuildOptions{Signer: vendorSigner(t), Now: func() time.Time { return rolloutNow }}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "acme", "2.4.1", repo.IndexName))
	if err != nil {
		t.Fatal(err)
	}
	ix, err := repo.ParseIndex(data)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func setRollout(t *testing.T, root string, ch RolloutChange) *RolloutResult {
	t.Helper()
	res, err := SetRollout(context.Background(), root, ch, RolloutOptions{Now: func() time.Time { return rolloutNow }})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func stages(ix *repo.Index) []string {
	var out []string
	for _, f := range ix.Fixes {
		out = append(out, f.Rollout.Stage())
	}
	return out
}

// TestRolloutSignedByBuild walks one fix through the stages a vendor
// uses; each build signs the recorded stage into the index and shows it
// on the page, and the other fixes stay as they were.
func TestRolloutSignedByBuild(t *testing.T) {
	root, dir := rolloutRepo(t, false)
	ix := buildIndex(t, root)
	data, _ := os.ReadFile(filepath.Join(dir, repo.IndexName))
	if strings.Contains(string(data), "rollout") {
		t.Fatalf("an index without rollouts mentions them:\n%s", data)
	}
	if got := strings.Join(stages(ix), "|"); got != "everyone|everyone|everyone" {
		t.Fatalf("stages %s", got)
	}
	page, _ := os.ReadFile(filepath.Join(dir, "index.html"))
	if strings.Contains(string(page), `class="rollout"`) {
		t.Fatal("a page without rollouts shows a rollout table")
	}

	v3 := repo.MustParseVersion("2.4.1.3")
	ten := 10
	steps := []struct {
		change RolloutChange
		want   string
	}{
		{RolloutChange{Version: v3, Testing: true}, "testing ring"},
		{RolloutChange{Version: v3, Percent: &ten, Ramp: &repo.Ramp{Step: 10, Every: 6 * time.Hour}}, "10 %, +10 % every 6h from 2026-11-27 04:00 UTC"},
		{RolloutChange{Version: v3, Halt: true}, "halted (was 10 %, +10 % every 6h from 2026-11-27 04:00 UTC)"},
		{RolloutChange{Version: v3, Product: "acme", Percent: &ten}, "10 % since 2026-11-27 04:00 UTC"},
		{RolloutChange{Version: v3, Full: true}, "everyone"},
	}
	for _, s := range steps {
		res := setRollout(t, root, s.change)
		if res.After.Stage() != s.want || res.Product != "acme" {
			t.Fatalf("SetRollout %+v: %s %s", s.change, res.Product, res.After.Stage())
		}
		ix := buildIndex(t, root)
		if got := strings.Join(stages(ix), "|"); got != "everyone|everyone|"+s.want {
			t.Fatalf("after %+v: stages %s", s.change, got)
		}
		page, _ := os.ReadFile(filepath.Join(dir, "index.html"))
		if shown := strings.Contains(string(page), "<td>"+strings.ReplaceAll(s.want, "+", "&#43;")+"</td>"); shown != (s.want != "everyone") {
			t.Fatalf("page after %+v shows the stage: %v\n%s", s.change, shown, page)
		}
	}
}

func TestAddTesting(t *testing.T) {
	root, _ := rolloutRepo(t, true)
	ix := buildIndex(t, root)
	if got := strings.Join(stages(ix), "|"); got != "testing ring|testing ring|testing ring" {
		t.Fatalf("stages %s", got)
	}
	// An archive added again (unchanged) keeps the stage it has.
	setRollout(t, root, RolloutChange{Version: repo.MustParseVersion("2.4.1.1"), Full: true})
	if _, err := Add(context.Background(), root, packSample(t)[:1], AddOptions{Testing: true}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(stages(buildIndex(t, root)), "|"); got != "everyone|testing ring|testing ring" {
		t.Fatalf("stages %s", got)
	}
}

// TestRolloutRecordAhead: an add cut off after recording --testing and
// before placing its archive leaves a record for a missing fix; the build
// goes on and the record applies once the fix arrives.
func TestRolloutRecordAhead(t *testing.T) {
	root, dir := rolloutRepo(t, false)
	base := repo.MustParseVersion("2.4.1")
	if err := markTesting(context.Background(), dir, base, []repo.Version{repo.MustParseVersion("2.4.1.4")}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(stages(buildIndex(t, root)), "|"); got != "everyone|everyone|everyone" {
		t.Fatalf("stages %s", got)
	}
}

func TestRolloutRefusals(t *testing.T) {
	root, dir := rolloutRepo(t, false)
	v3 := repo.MustParseVersion("2.4.1.3")
	five, over := 5, 101
	tests := []struct {
		name   string
		change RolloutChange
		want   string
	}{
		{"no stage", RolloutChange{Version: v3}, "exactly one stage"},
		{"two stages", RolloutChange{Version: v3, Full: true, Halt: true}, "exactly one stage"},
		{"ramp alone", RolloutChange{Version: v3, Testing: true, Ramp: &repo.Ramp{Step: 10, Every: time.Hour}}, "give the starting percentage"},
		{"over 100", RolloutChange{Version: v3, Percent: &over}, "want 0 to 100"},
		{"bad ramp", RolloutChange{Version: v3, Percent: &five, Ramp: &repo.Ramp{Step: 10, Every: time.Second}}, "ramp interval"},
		{"not added", RolloutChange{Version: repo.MustParseVersion("2.4.1.4"), Full: true}, "is not in the repository"},
		{"no channel", RolloutChange{Version: repo.MustParseVersion("9.9.1"), Full: true}, "no product"},
		{"other product", RolloutChange{Version: v3, Product: "shop", Full: true}, "is not in the repository"},
		{"bad product", RolloutChange{Version: v3, Product: "../x", Full: true}, "rollout"},
	}
	before := snapshot(t, root)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := SetRollout(context.Background(), root, tt.change, RolloutOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("SetRollout = %v, want %q", err, tt.want)
			}
		})
	}
	if after := snapshot(t, root); after != before {
		t.Fatalf("a refused rollout changed the repository:\n%s\n---\n%s", before, after)
	}

	// Two products with the same base: the fix's product must be named.
	if err := os.MkdirAll(filepath.Join(root, "shop", "2.4.1"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := SetRollout(context.Background(), root, RolloutChange{Version: v3, Full: true}, RolloutOptions{})
	var ape *AmbiguousProductError
	if !errors.As(err, &ape) || strings.Join(ape.Products, ",") != "acme,shop" {
		t.Fatalf("SetRollout with two products = %v", err)
	}
	_ = dir
}

// TestRolloutRecordDamaged: the build never guesses a rollout. A
// damaged or hand-edited record that makes no sense stops the build,
// naming the file, and nothing is published.
func TestRolloutRecordDamaged(t *testing.T) {
	for _, tt := range []struct{ name, content, want string }{
		{"not json", "{", "unexpected EOF"},
		{"trailing", `{"format":1,"fixes":{}} {}`, "after top-level value"},
		{"format", `{"format":2,"fixes":{}}`, "format 2 is not supported"},
		{"unknown key", `{"format":1,"fixes":{},"x":1}`, "unknown field"},
		{"other base", `{"format":1,"fixes":{"2.4.2.1":{"ring":"testing"}}}`, "is not a fix of 2.4.1"},
		{"the base", `{"format":1,"fixes":{"2.4.1":{"ring":"testing"}}}`, "is not a fix of 2.4.1"},
		{"null", `{"format":1,"fixes":{"2.4.1.1":null}}`, "empty rollout"},
		{"bad ring", `{"format":1,"fixes":{"2.4.1.1":{"ring":"beta"}}}`, "ring \"beta\""},
		{"bad ramp", `{"format":1,"fixes":{"2.4.1.1":{"ring":"stable","percent":5,"start":"2026-11-27T04:00:00Z","ramp":"5%/1s"}}}`, "ramp"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root, dir := rolloutRepo(t, false)
			buildIndex(t, root)
			if err := os.WriteFile(filepath.Join(dir, rolloutName), []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			published, _ := os.ReadFile(filepath.Join(dir, repo.IndexName))
			_, err := Build(context.Background(), root, BuildOptions{Signer: vendorSigner(t)})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), rolloutName) {
				t.Fatalf("Build = %v, want %q naming %s", err, tt.want, rolloutName)
			}
			if now, _ := os.ReadFile(filepath.Join(dir, repo.IndexName)); string(now) != string(published) {
				t.Fatal("the index changed")
			}
			// rollout refuses to build on it too.
			_, err = SetRollout(context.Background(), root, RolloutChange{Version: repo.MustParseVersion("2.4.1.1"), Full: true}, RolloutOptions{})
			testkit.WantErr(t, err, tt.want, rolloutName)
		})
	}
}
