package mirror

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/internal/beneath"
	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/publish"
)

// TestMirrorNeverWritesThroughLinks: a symbolic link planted inside DIR
// pointing outside it (a directory on the way to what a run writes, the
// staging directory, the lock file, a file the run replaces) is never
// written, removed or read through, from a directory, over HTTP or from
// a bundle: what is outside stays as it was, byte for byte. A link where
// a directory must be stops the run with an error naming the link and the
// fix; a link where the run replaces a whole file (a partial download of
// its own, repo.json) is replaced, not followed.
func TestMirrorNeverWritesThroughLinks(t *testing.T) {
	v := newVendorRepo(t, 2)
	srv, _ := serve(t, v.dir, nil)
	bundlePath := filepath.Join(t.TempDir(), "b.tar")
	if _, err := publish.Export(t.Context(), v.dir, publish.ExportOptions{Product: demo.Product, Base: repo.MustParseVersion(demo.Base), Out: bundlePath}); err != nil {
		t.Fatal(err)
	}
	channel := demo.Product + "/" + demo.Base
	sources := map[string]string{"directory": v.dir, "http": srv.URL, "bundle": bundlePath}
	for _, tc := range []struct {
		name    string
		link    string // in DIR
		dirs    []string
		outside string // "dir" or "file": what the link points to
		refused bool   // the run stops (else it succeeds, the link replaced)
	}{
		{"the product directory", demo.Product, nil, "dir", true},
		{"the channel directory", channel, []string{demo.Product}, "dir", true},
		{"the repodata directory", channel + "/repodata", []string{channel}, "dir", true},
		{"keys", "keys", nil, "dir", true},
		{"the staging directory", stagingName, nil, "dir", true},
		{"a directory inside staging", stagingName + "/" + demo.Product, []string{stagingName}, "dir", true},
		{"an archive", channel + "/acme-2.4.1.1.fix", []string{channel}, "file", true},
		{"an index", channel + "/" + repo.IndexName, []string{channel}, "file", true},
		{"the lock file", lockName, nil, "file", true},
		{"repo.json", repo.RootIndexName, nil, "file", false},
		{"a partial download", stagingName + "/" + channel + "/acme-2.4.1.2.fix.part", []string{stagingName + "/" + channel}, "file", false},
	} {
		for _, src := range []string{"directory", "http", "bundle"} {
			t.Run(tc.name+"/"+src, func(t *testing.T) {
				dir := filepath.Join(t.TempDir(), "mirror")
				for _, d := range append([]string{"."}, tc.dirs...) {
					if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
						t.Fatal(err)
					}
				}
				outside := t.TempDir()
				target := outside
				if tc.outside == "file" {
					target = filepath.Join(outside, "precious")
					if err := os.WriteFile(target, []byte("not the mirror's\n"), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				link := filepath.Join(dir, filepath.FromSlash(tc.link))
				if err := os.Symlink(target, link); err != nil {
					t.Fatal(err)
				}
				before := tree(t, outside)
				_, err := run(t, sources[src], dir)
				if d := diff(before, tree(t, outside)); d != "" {
					t.Fatalf("the run changed what the link %s points to:\n%s(error %v)", tc.link, d, err)
				}
				if !tc.refused {
					if err != nil {
						t.Fatalf("a link where a file is replaced: %v", err)
					}
					if fi, err := os.Lstat(link); err == nil && fi.Mode()&os.ModeSymlink != 0 {
						t.Errorf("%s is still a link after the run", tc.link)
					}
					return
				}
				if err == nil {
					t.Fatalf("a link at %s did not stop the run", tc.link)
				}
				if !strings.Contains(err.Error(), link) {
					t.Errorf("the error does not name the link %s: %v", link, err)
				}
				if errors.Is(err, beneath.ErrLink) && !strings.Contains(err.Error(), "never through a symbolic link") {
					t.Errorf("the error gives no fix: %v", err)
				}
				if fi, lerr := os.Lstat(link); !strings.HasPrefix(tc.link, stagingName) && (lerr != nil || fi.Mode()&os.ModeSymlink == 0) {
					t.Errorf("the link %s was removed or replaced (%v): the refusal should leave DIR as it was (but for its own staging directory)", tc.link, lerr)
				}
			})
		}
	}
}
