package mirror

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/fixarchive"
	"github.com/hotfix-project/hotfix/repo/publish"
)

// addCustom packs a customer fix of acme 2.4.1 for shop-a into the
// vendor's repository and builds it.
func (v *vendorRepo) addCustom(t *testing.T, id, version string) {
	t.Helper()
	dir := t.TempDir()
	testkit.WriteFile(t, dir, "fix.toml", fmt.Sprintf("product = \"acme\"\nkind = \"custom\"\ncustomer = \"shop-a\"\nid = %q\nversion = %q\nbase = \"2.4.1\"\nsummary = \"customer fix %s\"\n", id, version, id), 0o644)
	testkit.WriteFile(t, dir, "files/custom/"+id+".txt", "for shop-a\n", 0o644)
	p, _, err := fixarchive.Pack(context.Background(), dir, filepath.Join(dir, "out"), fixarchive.PackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := publish.Add(context.Background(), v.dir, []string{p}, publish.AddOptions{}); err != nil {
		t.Fatal(err)
	}
	v.build(t)
}

// TestMirrorCustomers: a directory source gives every customer channel;
// over HTTP only the named ones (nothing lists them), a name that has no
// channel is an error, and a customer's archive is verified like any.
func TestMirrorCustomers(t *testing.T) {
	v := newVendorRepo(t, 1)
	v.addCustom(t, "IS-1", "1.0")
	fromDir := filepath.Join(t.TempDir(), "m")
	if _, err := run(t, v.dir, fromDir); err != nil {
		t.Fatal(err)
	}
	if d := diff(published(t, v.dir), tree(t, fromDir)); d != "" {
		t.Fatalf("mirror of a directory with a customer differs:\n%s", d)
	}

	srv, _ := serve(t, v.dir, nil)
	plain := filepath.Join(t.TempDir(), "m")
	if _, err := run(t, srv.URL, plain); err != nil {
		t.Fatal(err)
	}
	for k := range tree(t, plain) {
		if strings.Contains(k, "/custom") {
			t.Errorf("%s mirrored over HTTP without --customer", k)
		}
	}
	named := filepath.Join(t.TempDir(), "m")
	if _, err := run(t, srv.URL, named, func(o *Options) { o.Customers = []string{"shop-a"} }); err != nil {
		t.Fatal(err)
	}
	if d := diff(published(t, v.dir), tree(t, named)); d != "" {
		t.Fatalf("mirror with --customer shop-a differs:\n%s", d)
	}
	_, err := run(t, srv.URL, named, func(o *Options) { o.Customers = []string{"shop-b"} })
	testkit.WantErr(t, err, "no channel of customer shop-b")

	v.addCustom(t, "IS-2", "1.0")
	tamper(t, filepath.Join(v.channel(), "custom", "shop-a", "acme-custom-IS-2-1.0.fix"), flip)
	before := tree(t, named)
	_, err = run(t, srv.URL, named, func(o *Options) { o.Customers = []string{"shop-a"} })
	testkit.WantErr(t, err, "acme-custom-IS-2-1.0.fix")
	var te *client.TrustError
	if !errors.As(err, &te) {
		t.Errorf("not a trust refusal: %v", err)
	}
	if d := diff(before, tree(t, named)); d != "" {
		t.Errorf("a refused run changed the mirror:\n%s", d)
	}
}

// TestMirrorBundleCustomers: a bundle exported with a customer's channel
// mirrors into the tree a directory gives, the customer's index and
// archives verified; a tampered customer archive leaves the mirror as it
// was.
func TestMirrorBundleCustomers(t *testing.T) {
	v := newVendorRepo(t, 1)
	v.addCustom(t, "IS-1", "1.0")
	out := filepath.Join(t.TempDir(), "b.tar")
	if _, err := publish.Export(context.Background(), v.dir, publish.ExportOptions{Product: demo.Product, Base: repo.MustParseVersion(demo.Base),
		Out: out, Customers: []string{"shop-a"}}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "m")
	if _, err := run(t, out, dir); err != nil {
		t.Fatal(err)
	}
	if d := diff(published(t, v.dir), tree(t, dir)); d != "" {
		t.Fatalf("mirror of a bundle with a customer differs:\n%s", d)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.tar")
	os.WriteFile(bad, testkit.RewriteTar(t, data, func(name string, b []byte) ([]byte, bool) {
		if strings.HasSuffix(name, "custom/shop-a/acme-custom-IS-1-1.0.fix") {
			b = flip(b)
		}
		return b, true
	}), 0o644)
	fresh := filepath.Join(t.TempDir(), "m")
	_, err = run(t, bad, fresh)
	testkit.WantErr(t, err, "acme-custom-IS-1-1.0.fix", "sha256")
	if _, serr := os.Stat(filepath.Join(fresh, demo.Product)); serr == nil {
		t.Error("a refused bundle left files in the mirror")
	}
}
