package publish

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/site"
)

// TestBuildKeepsPublishedTimes: a fix's published time is the build that
// first listed it, signed in the index, and later builds keep it, with or
// without the catalog; an index from before the field gives its fixes
// their archives' time, not the upgrade's.
func TestBuildKeepsPublishedTimes(t *testing.T) {
	paths := packSample(t)
	root := t.TempDir()
	signer := vendorSigner(t)
	day := func(d int) func() time.Time {
		return func() time.Time { return time.Date(2026, 11, d, 8, 0, 0, 0, time.UTC) }
	}
	build := func(now func() time.Time) *repo.Index {
		t.Helper()
		if _, err := Build(t.Context(), root, BuildOptions{Signer: signer, Now: now}); err != nil {
			t.Fatal(err)
		}
		return readIndex(t, root)
	}
	if _, err := Add(t.Context(), root, paths[:1], AddOptions{}); err != nil {
		t.Fatal(err)
	}
	first := build(day(1)).Fixes[0].Published
	if !first.Equal(day(1)()) {
		t.Fatalf("first build published 2.4.1.1 at %v", first)
	}
	if _, err := Add(t.Context(), root, paths[1:2], AddOptions{}); err != nil {
		t.Fatal(err)
	}
	ix := build(day(2))
	if !ix.Fixes[0].Published.Equal(day(1)()) || !ix.Fixes[1].Published.Equal(day(2)()) {
		t.Fatalf("second build: %v and %v", ix.Fixes[0].Published, ix.Fixes[1].Published)
	}
	// Without the catalog the times come from the signed index.
	os.Remove(filepath.Join(channelDir(root), catalogName))
	ix = build(day(3))
	if !ix.Fixes[0].Published.Equal(day(1)()) || !ix.Fixes[1].Published.Equal(day(2)()) {
		t.Fatalf("build without a catalog: %v and %v", ix.Fixes[0].Published, ix.Fixes[1].Published)
	}

	// An index written before indexes carried the time.
	data, err := os.ReadFile(filepath.Join(channelDir(root), repo.IndexName))
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	for _, f := range raw["fixes"].([]any) {
		delete(f.(map[string]any), "published")
	}
	old, _ := json.Marshal(raw)
	if err := os.WriteFile(filepath.Join(channelDir(root), repo.IndexName), old, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(channelDir(root), catalogName))
	archive := filepath.Join(channelDir(root), filepath.Base(paths[0]))
	released := time.Date(2026, 10, 20, 12, 0, 0, 0, time.UTC)
	if err := os.Chtimes(archive, released, released); err != nil {
		t.Fatal(err)
	}
	ix = build(day(4))
	if !ix.Fixes[0].Published.Equal(released) {
		t.Errorf("a fix listed without a time got %v, want its archive's %v", ix.Fixes[0].Published, released)
	}
}

// TestBuildBugURL: --bug-url links the ids on the pages, is kept for later
// builds (and their cached sections follow it), "" stops linking, and a
// template that cannot make links is refused before anything is written.
func TestBuildBugURL(t *testing.T) {
	root, _ := builtRepo(t, BuildOptions{})
	signer := vendorSigner(t)
	page := func() string {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(channelDir(root), "index.html"))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	link := `href="https://bugs.example.com/browse/ACME-101"`
	if strings.Contains(page(), link) {
		t.Fatal("linked before any --bug-url")
	}
	tmpl := "https://bugs.example.com/browse/{id}"
	if _, err := Build(t.Context(), root, BuildOptions{Signer: signer, BugURL: &tmpl}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page(), link) {
		t.Fatal("no bug link after --bug-url")
	}
	if _, err := Build(t.Context(), root, BuildOptions{Signer: signer}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page(), link) {
		t.Fatal("the template was not kept for the next build")
	}
	for _, bad := range []string{"bugs.example.com/{id}", "https://bugs.example.com/all", "ftp://x/{id}"} {
		_, err := Build(t.Context(), root, BuildOptions{Signer: signer, BugURL: &bad})
		if !errors.Is(err, ErrBugURL) {
			t.Errorf("--bug-url %q: %v, want ErrBugURL", bad, err)
		}
	}
	none := ""
	if _, err := Build(t.Context(), root, BuildOptions{Signer: signer, BugURL: &none}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(page(), "bugs.example.com") {
		t.Error("still linked after --bug-url \"\"")
	}
	// The feed is written beside the page.
	if _, err := os.Stat(filepath.Join(channelDir(root), site.FeedName)); err != nil {
		t.Errorf("no feed: %v", err)
	}
}

// A build that fails keeps the bug link template it was given out of
// .site.json too: the repository, that file included, stays as it was.
func TestBuildBugURLKeptOnlyWhenBuilt(t *testing.T) {
	root, _ := builtRepo(t, BuildOptions{})
	signer := vendorSigner(t)
	old := "https://old.example.com/{id}"
	if _, err := Build(t.Context(), root, BuildOptions{Signer: signer, BugURL: &old}); err != nil {
		t.Fatal(err)
	}
	before := treeOf(t, root)
	tmpl := "https://bugs.example.com/browse/{id}"
	// An index limit no index fits fails the build after the template
	// was read and checked.
	_, err := Build(t.Context(), root, BuildOptions{Signer: signer, BugURL: &tmpl, MaxIndexSize: 10})
	testkit.WantErr(t, err, "index")
	after := treeOf(t, root)
	for name, v := range before {
		if after[name] != v {
			t.Errorf("%s changed by a failed build", name)
		}
	}
	if _, err := Build(t.Context(), root, BuildOptions{Signer: signer}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(channelDir(root), "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "old.example.com/ACME-101") || strings.Contains(string(data), "bugs.example.com") {
		t.Error("the failed build's template was kept")
	}
}

// A damaged .site.json stops the build before anything is written, naming
// the file and what to do, rather than silently dropping the bug links.
func TestBuildRefusesDamagedSiteConfig(t *testing.T) {
	for _, tt := range []struct{ name, content, want string }{
		{"cut off", `{"bug_url": `, "unexpected EOF"},
		{"trailing data", `{"bug_url": ""} {}`, "after top-level value"},
		{"unknown key", `{"bug_url": "", "bugurl": "https://x/{id}"}`, "unknown field"},
		{"not a link", `{"bug_url": "javascript:alert(1)//{id}"}`, "want an http or https URL"},
		{"no id", `{"bug_url": "https://bugs.example.com/"}`, "has no {id}"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root, _ := builtRepo(t, BuildOptions{})
			before := treeOf(t, root)
			if err := os.WriteFile(filepath.Join(root, siteConfigName), []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Build(t.Context(), root, BuildOptions{Signer: vendorSigner(t)})
			testkit.WantErr(t, err, siteConfigName, tt.want, "fix it or remove it")
			after := treeOf(t, root)
			delete(after, siteConfigName)
			if len(after) != len(before) {
				t.Fatalf("files changed: %d before, %d after", len(before), len(after))
			}
			for name, v := range before {
				if after[name] != v {
					t.Errorf("%s changed", name)
				}
			}
		})
	}
}
