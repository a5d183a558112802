package client

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/publish"
)

const samplesPart = `[[part]]
name = "samples"
summary = "Sample catalogue"
mandatory = false
files = ["samples/"]
scripts = ["30-load-samples.sh"]
`

// partsRepo is the sample repository with two fixes that carry the
// optional part "samples": 2.4.1.4 adds two sample files and a script
// that records its run; 2.4.1.5 changes one, adds one, and changes a
// mandatory file.
func partsRepo(t *testing.T) *testRepo {
	t.Helper()
	r := newRepo(t)
	load := "#!/bin/sh\necho \"$HOTFIX_VERSION\" >> \"$HOTFIX_ROOT/../samples-loaded.log\"\n"
	r.addSource(t, writeFixSource(t, "2.4.1.4", samplesPart,
		map[string]string{"lib/tax.php": "<?php // 2.4.1.4\n", "samples/a.csv": "a,1\n", "samples/sub/b.csv": "b,1\n"},
		map[string]string{"30-load-samples.sh": load}))
	r.addSource(t, writeFixSource(t, "2.4.1.5", samplesPart,
		map[string]string{"app/cart.php": "<?php // 2.4.1.5\n", "samples/a.csv": "a,2\n", "samples/c.csv": "c,2\n"},
		map[string]string{"30-load-samples.sh": load}))
	r.build(t, publish.BuildOptions{})
	return r
}

// samplesIn lists what the part put in the root: sample files, and the
// script's record beside the root (rollback does not undo a script),
// "name=content".
func samplesIn(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	for _, rel := range []string{"samples/a.csv", "samples/sub/b.csv", "samples/c.csv", "../samples-loaded.log"} {
		data, err := os.ReadFile(filepath.Join(root, rel))
		rel = strings.TrimPrefix(rel, "../")
		if err == nil {
			out = append(out, rel+"="+strings.ReplaceAll(string(data), "\n", ";"))
		} else if !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	return out
}

func TestPartsInstallRollback(t *testing.T) {
	t.Parallel()
	withAll := []string{"samples/a.csv=a,1;", "samples/sub/b.csv=b,1;", "samples-loaded.log=2.4.1.4;"}
	withBoth := []string{"samples/a.csv=a,2;", "samples/sub/b.csv=b,1;", "samples/c.csv=c,2;", "samples-loaded.log=2.4.1.4;2.4.1.5;"}
	cases := []struct {
		name        string
		extra       string // configuration
		first, next InstallOptions
		want4       []string // what the part put there after 2.4.1.4
		want5       []string // ... and after 2.4.1.5
		parts       []string // recorded for 2.4.1.5
	}{
		{name: "not chosen", want4: nil, want5: nil},
		{name: "chosen in the configuration", extra: "parts = [\"samples\"]\n", want4: withAll, want5: withBoth, parts: []string{"samples"}},
		{name: "--with, later fix follows", first: InstallOptions{With: []string{"samples"}}, want4: withAll, want5: withBoth, parts: []string{"samples"}},
		{name: "--without over the configuration, later fix follows", extra: "parts = [\"samples\"]\n",
			first: InstallOptions{Without: []string{"samples"}}, want4: nil, want5: nil},
		{name: "--with on the later fix only", next: InstallOptions{With: []string{"samples"}},
			want4: nil, want5: []string{"samples/a.csv=a,2;", "samples/c.csv=c,2;", "samples-loaded.log=2.4.1.5;"}, parts: []string{"samples"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{Repo: partsRepo(t), Extra: tc.extra})
			c := e.client(t)
			ctx := context.Background()
			if _, err := c.Install(ctx, InstallOptions{Target: ver("2.4.1.3")}); err != nil {
				t.Fatal(err)
			}
			at3 := snapshot(t, e.Root)
			tc.first.Target = ver("2.4.1.4")
			if _, err := c.Install(ctx, tc.first); err != nil {
				t.Fatal(err)
			}
			if got := samplesIn(t, e.Root); !reflect.DeepEqual(got, tc.want4) {
				t.Errorf("after 2.4.1.4: %q, want %q", got, tc.want4)
			}
			at4 := snapshot(t, e.Root)
			if _, err := c.Install(ctx, tc.next); err != nil {
				t.Fatal(err)
			}
			if got := samplesIn(t, e.Root); !reflect.DeepEqual(got, tc.want5) {
				t.Errorf("after 2.4.1.5: %q, want %q", got, tc.want5)
			}
			st, _ := LoadState(e.Cfg.StateDir)
			last := st.Installed[len(st.Installed)-1]
			if !reflect.DeepEqual(last.Parts, tc.parts) || (len(tc.parts) == 0) != reflect.DeepEqual(last.SkippedParts, []string{"samples"}) {
				t.Errorf("2.4.1.5 recorded parts %v, left out %v", last.Parts, last.SkippedParts)
			}
			// The file database names the part of each sample file.
			for _, line := range tc.want5 {
				rel := line[:strings.IndexByte(line, '=')]
				if rec, ok := st.DB.Owner(rel); strings.HasPrefix(rel, "samples/") && (!ok || rec.Part != "samples") {
					t.Errorf("record of %s: %+v %v", rel, rec, ok)
				}
			}
			if rec, _ := st.DB.Owner("app/cart.php"); rec.Fix != "2.4.1.5" || rec.Part != "" {
				t.Errorf("record of the mandatory app/cart.php: %+v", rec)
			}
			// Rollback removes exactly what each fix installed.
			if _, err := c.Rollback(ctx, RollbackOptions{}); err != nil {
				t.Fatal(err)
			}
			assertTree(t, at4, e.Root)
			if _, err := c.Rollback(ctx, RollbackOptions{}); err != nil {
				t.Fatal(err)
			}
			assertTree(t, at3, e.Root)
		})
	}
}

func TestPartsUnknownNameChangesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{Repo: partsRepo(t)})
	c := e.client(t)
	before := snapshot(t, e.Root)
	for _, opts := range []InstallOptions{
		{With: []string{"sample"}},
		{Without: []string{"docs"}},
		{Target: ver("2.4.1.3"), With: []string{"samples"}}, // no fix up to 2.4.1.3 has it
	} {
		_, err := c.Install(context.Background(), opts)
		wantErr(t, err, ErrUnknownPart, "no fix to install", "samples")
		assertTree(t, before, e.Root)
	}
	_, err := c.Install(context.Background(), InstallOptions{With: []string{"samples"}, Without: []string{"samples"}})
	wantErr(t, err, nil, `part "samples" is both to install and to leave out`)
	assertTree(t, before, e.Root)
	if got := installed(t, e); len(got) != 0 {
		t.Errorf("installed %v", got)
	}
}

// TestPartsListed: the index, info and the page list the parts; the
// command line takes --with; owns names the part.
func TestPartsListed(t *testing.T) {
	t.Parallel()
	r := partsRepo(t)
	data, err := os.ReadFile(r.indexPath())
	if err != nil {
		t.Fatal(err)
	}
	ix, err := repo.ParseIndex(data)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := ix.Fix(repo.MustParseVersion("2.4.1.4"))
	if !reflect.DeepEqual(f.Parts, []repo.PartRef{{Name: "samples", Summary: "Sample catalogue"}}) {
		t.Errorf("index parts of 2.4.1.4: %+v", f.Parts)
	}
	if f, _ := ix.Fix(repo.MustParseVersion("2.4.1.3")); f.Parts != nil || strings.Contains(string(data), `"parts": null`) {
		t.Errorf("a fix without parts lists %+v", f.Parts)
	}
	page, err := os.ReadFile(filepath.Join(r.channel("2.4.1"), "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), `<span class="bugid">samples</span> optional: Sample catalogue`) {
		t.Error("index.html does not list the part")
	}

	e := newEnv(t, envOptions{Repo: r})
	if res := e.hotfix(t, "install", "--yes", "--with", "samples", "2.4.1.4"); res.Code != 0 {
		t.Fatalf("install --with: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	if res := e.hotfix(t, "install", "--yes", "--with", "sample"); res.Code != 1 || !strings.Contains(res.Stderr, `unknown part "sample"`) || !strings.Contains(res.Stderr, "--with") {
		t.Errorf("install --with a wrong name: exit %d\n%s", res.Code, res.Stderr)
	}
	res := e.hotfix(t, "info", "2.4.1.4")
	for _, want := range []string{"parts:      installed: samples; left out: none", "part   samples (optional): Sample catalogue", "2 files, scripts: 30-load-samples.sh"} {
		if !strings.Contains(res.Stdout, want) {
			t.Errorf("info lacks %q:\n%s", want, res.Stdout)
		}
	}
	res = e.hotfix(t, "owns", filepath.Join(e.Root, "samples/a.csv"))
	if res.Code != 0 || !strings.Contains(res.Stdout, "is owned by fix 2.4.1.4, part samples") {
		t.Errorf("owns: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	res = e.hotfix(t, "--json", "owns", filepath.Join(e.Root, "samples/a.csv"))
	var o struct{ Owner struct{ Fix, Part string } }
	if err := json.Unmarshal([]byte(res.Stdout), &o); err != nil || o.Owner.Part != "samples" {
		t.Errorf("owns --json: %v %s", err, res.Stdout)
	}
}

func TestPartsConfig(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	for _, tc := range []struct {
		parts string
		want  string
	}{
		{`["samples", "preset-data"]`, ""},
		{`["Samples"]`, `part name "Samples"`},
		{`["samples", "samples"]`, `part "samples" is listed twice`},
		{`"samples"`, "parts"},
	} {
		cfg, err := os.ReadFile(e.Config)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "hotfix.toml")
		if err := os.WriteFile(path, []byte("parts = "+tc.parts+"\n"+string(cfg)), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := LoadConfig(path)
		if tc.want == "" {
			if err != nil || !reflect.DeepEqual(c.Parts, []string{"samples", "preset-data"}) {
				t.Errorf("parts = %s: %v %+v", tc.parts, err, c)
			}
			continue
		}
		wantErr(t, err, nil, path+":1", tc.want)
	}
}
