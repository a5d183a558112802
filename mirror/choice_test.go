package mirror

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/publish"
)

// TestMirrorChannelChoice: a source holding none of the chosen channels
// is refused with a ChannelChoiceError that names what it holds (so that
// the command can say what to run instead), over a bundle, a directory
// and HTTP, and the mirror is left as it was.
func TestMirrorChannelChoice(t *testing.T) {
	v := newVendorRepo(t, 1)
	base := repo.MustParseVersion(demo.Base)
	bundlePath := filepath.Join(t.TempDir(), "b.tar")
	if _, err := publish.Export(t.Context(), v.dir, publish.ExportOptions{Product: demo.Product, Base: base, Out: bundlePath}); err != nil {
		t.Fatal(err)
	}
	srv, _ := serve(t, v.dir, nil)
	other := repo.MustParseVersion("9.9")
	held := []ChannelID{{demo.Product, base}}
	for _, tc := range []struct {
		name    string
		source  string
		product string
		base    *repo.Version
		bundle  bool
		want    string
	}{
		{"bundle, other base", bundlePath, demo.Product, &other, true, "the bundle holds the channel acme 2.4.1, not acme 9.9"},
		{"bundle, other product", bundlePath, "widget", nil, true, "the bundle holds the channel acme 2.4.1, not product widget"},
		{"directory, other base", v.dir, "", &other, false, " lists no channel of base 9.9 (it lists acme 2.4.1)"},
		{"http, other product", srv.URL, "widget", nil, false, srv.URL + " lists no channel of product widget (it lists acme 2.4.1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "m")
			_, err := run(t, tc.source, dir, func(o *Options) { o.Product, o.Base = tc.product, tc.base })
			var cc *ChannelChoiceError
			if !errors.As(err, &cc) {
				t.Fatalf("error %v, want a ChannelChoiceError", err)
			}
			same := slices.EqualFunc(cc.Have, held, func(a, b ChannelID) bool { return a.Product == b.Product && a.Base.Equal(b.Base) })
			if cc.Bundle != tc.bundle || !same {
				t.Errorf("error says bundle %v, holds %v; want %v, %v", cc.Bundle, cc.Have, tc.bundle, held)
			}
			testkit.WantErr(t, err, tc.want, "nothing was mirrored")
			if got := tree(t, dir); len(got) != 0 {
				t.Errorf("a refused run left %v", got)
			}
		})
	}
}
