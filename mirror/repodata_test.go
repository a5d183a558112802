package mirror

import (
	"context"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/fixarchive"
	"github.com/hotfix-project/hotfix/repo/publish"
	"github.com/hotfix-project/hotfix/repo/rpm"
)

// addRPM packs a demo fix as a .fix and an RPM into the repository and
// builds it: the repodata's data files change.
func (v *vendorRepo) addRPM(t *testing.T, ver string) {
	t.Helper()
	src := filepath.Join(v.sources, "fixes", ver)
	p, _, err := fixarchive.Pack(context.Background(), src, v.out, fixarchive.PackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	q, _, err := rpm.Pack(context.Background(), src, v.out, rpm.PackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := publish.Add(context.Background(), v.dir, []string{p, q}, publish.AddOptions{}); err != nil {
		t.Fatal(err)
	}
	v.build(t)
}

// repodataFiles lists the files of a tree's channel repodata/.
func repodataFiles(tr map[string]string) []string {
	var out []string
	for k := range tr {
		if strings.HasPrefix(k, demo.Product+"/"+demo.Base+"/repodata/") {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// TestMirrorPrunesRepodata: once the new repomd.xml is in place, the
// mirror removes the data files it no longer names (as createrepo_c and
// reposync do), from a URL, a directory or a bundle alike; the mirror is
// then the vendor's tree, and the real dnf reads it.
func TestMirrorPrunesRepodata(t *testing.T) {
	v := newVendorRepo(t, 2)
	srv, _ := serve(t, v.dir, nil)
	sources := map[string]func() string{
		"url":       func() string { return srv.URL },
		"directory": func() string { return v.dir },
		"bundle": func() string {
			out := filepath.Join(t.TempDir(), "b.tar")
			if _, err := publish.Export(context.Background(), v.dir, publish.ExportOptions{Product: demo.Product, Base: repo.MustParseVersion(demo.Base), Out: out}); err != nil {
				t.Fatal(err)
			}
			return out
		},
	}
	dirs := map[string]string{}
	for name, src := range sources {
		dirs[name] = filepath.Join(t.TempDir(), name)
		if _, err := run(t, src(), dirs[name]); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	old := repodataFiles(published(t, v.dir))
	v.addRPM(t, demo.FixVersions[2])
	now := repodataFiles(published(t, v.dir))
	stale := 0
	for _, f := range old {
		if !strings.Contains(strings.Join(now, " "), f) {
			stale++
		}
	}
	if stale == 0 {
		t.Fatalf("the rebuild left the same data files, nothing to prune: %v", now)
	}
	for name, src := range sources {
		res, err := run(t, src(), dirs[name])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if res.Removed != stale {
			t.Errorf("%s: removed %d stale data files, want %d", name, res.Removed, stale)
		}
		if d := diff(published(t, v.dir), tree(t, dirs[name])); d != "" {
			t.Errorf("%s: mirror differs from the vendor's tree:\n%s", name, d)
		}
	}
	mirrored, _ := serve(t, dirs["bundle"], nil)
	got := dnfQuery(t, mirrored.URL+"/"+demo.Product+"/"+demo.Base+"/")
	for _, v := range demo.FixVersions[1:3] {
		if !strings.Contains(got, rpm.Name(demo.Product, repo.MustParseVersion(v))) {
			t.Errorf("dnf does not list %s from the mirror of a bundle:\n%s", v, got)
		}
	}
}

// dnfQuery runs the real dnf's repoquery against a repository URL in a
// throwaway installroot.
func dnfQuery(t *testing.T, url string) string {
	t.Helper()
	args := []string{"-q", "--installroot=" + t.TempDir(), "--setopt=reposdir=/dev/null", "--disableplugin=*", "--releasever=1",
		"--repofrompath=q," + url, "--repo=q", "repoquery"}
	out, err := exec.Command("dnf", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("dnf %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
