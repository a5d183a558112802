package publish

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/fixarchive"
)

// packCustom packs a customer fix of acme 2.4.1 for shop-a holding files
// (path → content); extra is appended to its fix.toml.
func packCustom(t testing.TB, id, version string, files map[string]string, extra string) string {
	t.Helper()
	dir := t.TempDir()
	testkit.WriteFile(t, dir, "fix.toml", fmt.Sprintf("product = \"acme\"\nkind = \"custom\"\ncustomer = \"shop-a\"\nid = %q\nversion = %q\nbase = \"2.4.1\"\nsummary = \"customer fix %s\"\n%s", id, version, id, extra), 0o644)
	for p, data := range files {
		testkit.WriteFile(t, dir, "files/"+p, data, 0o644)
	}
	p, _, err := fixarchive.Pack(context.Background(), dir, filepath.Join(dir, "out"), fixarchive.PackOptions{Epoch: testEpoch})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const shopA = "acme/2.4.1/custom/shop-a"

func buildAndVerify(t *testing.T, root string) *BuildResult {
	t.Helper()
	res, err := Build(t.Context(), root, BuildOptions{Signer: vendorSigner(t)})
	if err != nil {
		t.Fatal(err)
	}
	problems, err := VerifyRepo(t.Context(), root, VerifyOptions{Check: keyringCheck(t, vendorPublic, time.Now())})
	if err != nil || len(problems) > 0 {
		t.Fatalf("verify: %v %v", problems, err)
	}
	return res
}

func readCustomIndex(t *testing.T, root string) *repo.CustomIndex {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, shopA, repo.IndexName))
	if err != nil {
		t.Fatal(err)
	}
	ix, err := repo.ParseCustomIndex(data)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func TestAddCustomPlacesAndBuildsItsOwnIndex(t *testing.T) {
	root := t.TempDir()
	vendor := packSample(t)
	is1 := packCustom(t, "IS-1", "1", map[string]string{"app/checkout.php": "shop a v1\n"}, "")
	res, err := Add(t.Context(), root, []string{vendor[0], is1}, AddOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := "acme/2.4.1/acme-2.4.1.1.fix " + shopA + "/acme-custom-IS-1-1.fix"
	if strings.Join(res.Added, " ") != want {
		t.Fatalf("added %v, want %s", res.Added, want)
	}
	br := buildAndVerify(t, root)
	if len(br.Customers) != 1 || br.Customers[0].Customer != "shop-a" || br.Customers[0].Serial != 1 || br.Customers[0].Fixes != 1 {
		t.Fatalf("customer channels %+v", br.Customers)
	}
	// The vendor chain does not list the customer fix.
	vdata, _ := os.ReadFile(filepath.Join(root, "acme/2.4.1", repo.IndexName))
	vix, err := repo.ParseIndex(vdata)
	if err != nil || len(vix.Fixes) != 1 {
		t.Fatalf("vendor index %v %v", vix, err)
	}
	ix := readCustomIndex(t, root)
	if len(ix.Fixes) != 1 || ix.Fixes[0].ID != "IS-1" || strings.Join(ix.Fixes[0].Paths, ",") != "app/checkout.php" {
		t.Fatalf("customer index %+v", ix)
	}
	// Re-adding it is no change; a newer version replaces it in the index.
	res, err = Add(t.Context(), root, []string{is1}, AddOptions{})
	if err != nil || len(res.Added) != 0 || strings.Join(res.Unchanged, "") != shopA+"/acme-custom-IS-1-1.fix" {
		t.Fatalf("re-add: %+v %v", res, err)
	}
	is1v2 := packCustom(t, "IS-1", "2", map[string]string{"app/checkout.php": "shop a v2\n"}, "min_fix = \"2.4.1.1\"\n")
	if _, err := Add(t.Context(), root, []string{is1v2}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	buildAndVerify(t, root)
	ix = readCustomIndex(t, root)
	if len(ix.Fixes) != 1 || ix.Fixes[0].Version.String() != "2" || ix.Fixes[0].MinFix.String() != "2.4.1.1" || ix.Serial != 2 {
		t.Fatalf("after the newer version: %+v", ix)
	}
}

func TestAddCustomRefusals(t *testing.T) {
	root := t.TempDir()
	is1 := packCustom(t, "IS-1", "2", map[string]string{"app/cart.php": "a\n", "app/x.php": "x\n"}, "")
	if _, err := Add(t.Context(), root, []string{is1}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		archive func(t *testing.T) []string
		want    []string
	}{
		{"two fixes own one file", func(t *testing.T) []string {
			return []string{packCustom(t, "IS-2", "1", map[string]string{"app/cart.php": "b\n"}, "")}
		}, []string{shopA, "IS-1 and IS-2 both own app/cart.php", "supersedes"}},
		{"two conflicting given together", func(t *testing.T) []string {
			return []string{packCustom(t, "IS-3", "1", map[string]string{"lib/t.php": "b\n"}, ""), packCustom(t, "IS-4", "1", map[string]string{"lib/t.php": "c\n"}, "")}
		}, []string{"IS-3 and IS-4 both own lib/t.php"}},
		{"a deletion conflicts too", func(t *testing.T) []string {
			return []string{packCustom(t, "IS-5", "1", map[string]string{"lib/y.php": "y\n"}, "delete = [\"app/x.php\"]\n")}
		}, []string{"IS-1 and IS-5 both own app/x.php"}},
		{"older version", func(t *testing.T) []string {
			return []string{packCustom(t, "IS-1", "1", map[string]string{"app/cart.php": "old\n"}, "")}
		}, []string{"IS-1 1 is older than version 2 already published"}},
		{"same version changed", func(t *testing.T) []string {
			return []string{packCustom(t, "IS-1", "2", map[string]string{"app/cart.php": "changed\n"}, "")}
		}, []string{"IS-1 2 is already there with different content", "new version"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := snapshot(t, root)
			_, err := Add(t.Context(), root, tt.archive(t), AddOptions{})
			testkit.WantErr(t, err, tt.want...)
			if after := snapshot(t, root); after != before {
				t.Fatalf("a refused add changed the repository")
			}
		})
	}
	// A fix that supersedes IS-1 may own its file.
	is9 := packCustom(t, "IS-9", "1", map[string]string{"app/cart.php": "merged\n"}, "supersedes = [\"IS-1\"]\n")
	if _, err := Add(t.Context(), root, []string{is9}, AddOptions{}); err != nil {
		t.Fatalf("superseding fix refused: %v", err)
	}
	buildAndVerify(t, root)
	if ix := readCustomIndex(t, root); len(ix.Fixes) != 2 || strings.Join(ix.Fixes[1].Supersedes, "") != "IS-1" {
		t.Fatalf("index %+v", ix)
	}
}

func TestBuildAndVerifyCustomProblems(t *testing.T) {
	root := t.TempDir()
	is1 := packCustom(t, "IS-1", "1", map[string]string{"app/cart.php": "a\n"}, "")
	if _, err := Add(t.Context(), root, []string{is1}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	buildAndVerify(t, root)
	dir := filepath.Join(root, shopA)
	// Each verify checks signatures at its own time: a refused build
	// still signs the vendor channels anew. A minute ahead, because under
	// heavy load the VM's wall clock was seen to step back across a
	// second boundary between signing and checking (OpenPGP dates
	// signatures to the second and refuses one dated after now).
	check := func(data, sig []byte) error {
		return keyringCheck(t, vendorPublic, time.Now().Add(time.Minute))(data, sig)
	}

	// An archive copied in by hand beside the listed one, conflicting:
	// build refuses it; verify names the unlisted file.
	is2 := packCustom(t, "IS-2", "1", map[string]string{"app/cart.php": "b\n"}, "")
	data, _ := os.ReadFile(is2)
	testkit.WriteFile(t, dir, filepath.Base(is2), string(data), 0o644)
	_, err := Build(t.Context(), root, BuildOptions{Signer: vendorSigner(t)})
	testkit.WantErr(t, err, shopA, "IS-1 and IS-2 both own app/cart.php")
	problems, err := VerifyRepo(t.Context(), root, VerifyOptions{Check: check})
	if err != nil || len(problems) != 1 || !strings.Contains(problems[0].String(), "acme-custom-IS-2-1.fix: not in the index") {
		t.Fatalf("verify: %v %v", problems, err)
	}
	os.Remove(filepath.Join(dir, filepath.Base(is2)))

	// A vendor fix in a customer's channel is refused by build.
	vendor := packSample(t)
	data, _ = os.ReadFile(vendor[0])
	testkit.WriteFile(t, dir, "acme-2.4.1.1.fix", string(data), 0o644)
	_, err = Build(t.Context(), root, BuildOptions{Signer: vendorSigner(t)})
	testkit.WantErr(t, err, "acme-2.4.1.1.fix", "belongs in PRODUCT/BASE/")
	os.Remove(filepath.Join(dir, "acme-2.4.1.1.fix"))

	// A listed archive changed on disk, and a bad signature.
	listed := filepath.Join(dir, "acme-custom-IS-1-1.fix")
	orig, _ := os.ReadFile(listed)
	os.WriteFile(listed, append(orig[:len(orig):len(orig)], 0), 0o644)
	problems, _ = VerifyRepo(t.Context(), root, VerifyOptions{Check: check})
	if len(problems) != 1 || !strings.Contains(problems[0].Path, "acme-custom-IS-1-1.fix") {
		t.Fatalf("verify of a changed archive: %v", problems)
	}
	os.WriteFile(listed, orig, 0o644)
	problems, _ = VerifyRepo(t.Context(), root, VerifyOptions{Check: keyringCheck(t, otherPublic, time.Now())})
	found := false
	for _, p := range problems {
		found = found || p.Path == shopA+"/index.json.asc"
	}
	if !found {
		t.Fatalf("verify with another key: %v", problems)
	}
	// Expired.
	problems, _ = VerifyRepo(t.Context(), root, VerifyOptions{Check: check, Now: time.Now().Add(60 * 24 * time.Hour)})
	found = false
	for _, p := range problems {
		found = found || (p.Path == shopA+"/index.json" && strings.Contains(p.Err.Error(), "expired"))
	}
	if !found {
		t.Fatalf("verify after expiry: %v", problems)
	}
}
