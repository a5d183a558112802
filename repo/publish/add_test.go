package publish

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/fixarchive"
	"github.com/hotfix-project/hotfix/repo/rpm"
)

func channelDir(root string) string { return filepath.Join(root, "acme", "2.4.1") }

func TestAddGap(t *testing.T) {
	paths := packSample(t)
	root := t.TempDir()
	before := snapshot(t, root)

	_, err := Add(t.Context(), root, paths[1:2], AddOptions{})
	testkit.WantErr(t, err, "acme 2.4.1", "gap", "2.4.1.1 missing")
	var ce *repo.ChainError
	if !errors.As(err, &ce) || strings.Join(ce.Missing, ",") != "2.4.1.1" {
		t.Errorf("err = %#v, want a repo.ChainError missing 2.4.1.1", err)
	}
	_, err = Add(t.Context(), root, []string{paths[0], paths[2]}, AddOptions{})
	testkit.WantErr(t, err, "2.4.1.2 missing")
	if after := snapshot(t, root); after != before {
		t.Fatalf("a refused add changed the repository:\n%s", after)
	}

	// All three together close the gap, in any order.
	res, err := Add(t.Context(), root, []string{paths[2], paths[0], paths[1]}, AddOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"acme/2.4.1/acme-2.4.1.1.fix", "acme/2.4.1/acme-2.4.1.2.fix", "acme/2.4.1/acme-2.4.1.3.fix"}
	if strings.Join(res.Added, " ") != strings.Join(want, " ") || len(res.Unchanged) != 0 {
		t.Errorf("added %v, unchanged %v", res.Added, res.Unchanged)
	}
	for i, p := range paths {
		a, _ := os.ReadFile(p)
		b, _ := os.ReadFile(filepath.Join(root, want[i]))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs from the archive added", want[i])
		}
	}
}

func TestAddIdempotentAndImmutable(t *testing.T) {
	dir := sample(t)
	var paths []string
	for _, v := range demo.FixVersions {
		p, _, err := fixarchive.Pack(t.Context(), filepath.Join(dir, "fixes", v), filepath.Join(dir, "out"), fixarchive.PackOptions{Epoch: testEpoch})
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	root := t.TempDir()
	if _, err := Add(t.Context(), root, paths, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, root)
	res, err := Add(t.Context(), root, paths[1:2], AddOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Added) != 0 || strings.Join(res.Unchanged, "") != "acme/2.4.1/acme-2.4.1.2.fix" {
		t.Errorf("re-adding an identical archive: added %v, unchanged %v", res.Added, res.Unchanged)
	}
	if after := snapshot(t, root); after != before {
		t.Fatal("re-adding an identical archive changed the repository")
	}

	// Repack 2.4.1.2 with changed content: refused, naming the version.
	testkit.WriteFile(t, dir, "fixes/2.4.1.2/files/app/cart.php", "<?php // changed after publishing\n", 0o644)
	changed, _, err := fixarchive.Pack(t.Context(), filepath.Join(dir, "fixes", "2.4.1.2"), filepath.Join(dir, "out2"), fixarchive.PackOptions{Epoch: testEpoch})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Add(t.Context(), root, []string{changed}, AddOptions{})
	testkit.WantErr(t, err, "2.4.1.2 already published with different content")
	var ce *repo.ChainError
	if !errors.As(err, &ce) || strings.Join(ce.Changed, ",") != "2.4.1.2" {
		t.Errorf("err = %#v, want a repo.ChainError naming 2.4.1.2 as changed", err)
	}
	if after := snapshot(t, root); after != before {
		t.Fatal("a refused add changed the repository")
	}

	// Two different archives for one version in one call are refused too.
	_, err = Add(t.Context(), t.TempDir(), []string{paths[0], paths[1], changed}, AddOptions{})
	testkit.WantErr(t, err, "two different archives given for 2.4.1.2")
}

// The manifest, not the file name, decides where an archive goes.
func TestAddPlacesByManifest(t *testing.T) {
	paths := packSample(t)
	renamed := filepath.Join(t.TempDir(), "whatever-name.fix")
	data, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(renamed, data, 0o600); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	res, err := Add(t.Context(), root, []string{renamed}, AddOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Added) != 1 || res.Added[0] != "acme/2.4.1/acme-2.4.1.1.fix" {
		t.Fatalf("added %v", res.Added)
	}
	info, err := os.Stat(filepath.Join(root, res.Added[0]))
	if err != nil || info.Mode().Perm() != 0o644 {
		t.Errorf("archive in repository: %v, mode %v", err, info.Mode())
	}
}

func TestAddRefusesMissingRepoAndFiles(t *testing.T) {
	paths := packSample(t)
	_, err := Add(t.Context(), filepath.Join(t.TempDir(), "nope"), paths[:1], AddOptions{})
	testkit.WantErr(t, err, "does not exist", "create it with mkdir first")
	_, err = Add(t.Context(), t.TempDir(), []string{filepath.Join(t.TempDir(), "absent.fix")}, AddOptions{})
	testkit.WantErr(t, err, "absent.fix")
}

// builtRepo is a repository with the three sample fixes added and built.
func builtRepo(t testing.TB, opts BuildOptions) (string, *BuildResult) {
	t.Helper()
	paths := packSample(t)
	root := t.TempDir()
	if _, err := Add(t.Context(), root, paths, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	if opts.Signer == nil {
		opts.Signer = vendorSigner(t)
	}
	res, err := Build(t.Context(), root, opts)
	if err != nil {
		t.Fatal(err)
	}
	return root, res
}

func readIndex(t testing.TB, root string) *repo.Index {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(channelDir(root), repo.IndexName))
	if err != nil {
		t.Fatal(err)
	}
	ix, err := repo.ParseIndex(data)
	if err != nil {
		t.Fatalf("index.json does not validate: %v", err)
	}
	return ix
}

func TestBuildIndex(t *testing.T) {
	now := time.Date(2025, 3, 4, 5, 6, 7, 800, time.UTC)
	clock := func() time.Time { return now }
	root, res := builtRepo(t, BuildOptions{Now: clock})
	if len(res.Channels) != 1 || res.Channels[0].Serial != 1 || res.Channels[0].Fixes != 3 || res.Channels[0].Latest.String() != "2.4.1.3" {
		t.Errorf("result %+v", res.Channels)
	}
	ix := readIndex(t, root)
	if ix.Product != "acme" || ix.Base.String() != "2.4.1" || ix.Serial != 1 || len(ix.Fixes) != 3 {
		t.Fatalf("index %+v", ix)
	}
	if !ix.Generated.Equal(now.Truncate(time.Second)) || ix.Expires.Sub(ix.Generated) != 30*24*time.Hour {
		t.Errorf("generated %s expires %s: want 30 days", ix.Generated, ix.Expires)
	}
	for i, f := range ix.Fixes {
		data, err := os.ReadFile(filepath.Join(channelDir(root), f.File))
		if err != nil {
			t.Fatal(err)
		}
		if f.Size != int64(len(data)) || f.SHA256 != sha(data) || f.File != "acme-"+demo.FixVersions[i]+".fix" {
			t.Errorf("fix %s: file %s size %d sha %s", f.Version, f.File, f.Size, f.SHA256)
		}
	}
	if f := ix.Fixes[1]; f.Requires.String() != "2.4.1.1" || len(f.Bugs) != 2 || f.Bugs[0].ID != "ACME-117" || f.Summary == "" {
		t.Errorf("fix 2: %+v", f)
	}

	// Serial grows by one per build; --expires is honoured.
	for want := int64(2); want <= 3; want++ {
		res, err := Build(t.Context(), root, BuildOptions{Signer: vendorSigner(t), Expires: 7 * 24 * time.Hour, Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		ix := readIndex(t, root)
		if ix.Serial != want || res.Channels[0].Serial != want {
			t.Errorf("serial %d after build %d", ix.Serial, want)
		}
		if ix.Expires.Sub(ix.Generated) != 7*24*time.Hour {
			t.Errorf("expires after %s, want 7 days", ix.Expires.Sub(ix.Generated))
		}
		if res.Hashed != 0 {
			t.Errorf("rebuild without changes read %d archives", res.Hashed)
		}
	}

	data, err := os.ReadFile(filepath.Join(root, repo.RootIndexName))
	if err != nil {
		t.Fatal(err)
	}
	ri, err := repo.ParseRootIndex(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(ri.Products) != 1 || ri.Products[0].Name != "acme" || ri.Products[0].Channels[0].Serial != 3 || ri.Products[0].Channels[0].Fixes != 3 {
		t.Errorf("repo.json %+v", ri)
	}

	fpr := vendorSigner(t).Fingerprint()
	key, err := os.ReadFile(filepath.Join(root, "keys", fpr+".asc"))
	if err != nil || !bytes.Contains(key, []byte("BEGIN PGP PUBLIC KEY BLOCK")) || bytes.Contains(key, []byte("PRIVATE")) {
		t.Errorf("keys/%s.asc: %v\n%s", fpr, err, key)
	}
	noTemporaries(t, root)
}

// The signed indexes of the sample repository, built at a fixed time from
// archives packed at a fixed epoch, are exactly the committed ones.
func TestBuildGolden(t *testing.T) {
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	root, _ := builtRepo(t, BuildOptions{Now: func() time.Time { return now }})
	for name, path := range map[string]string{
		"index.json": filepath.Join(channelDir(root), repo.IndexName),
		"repo.json":  filepath.Join(root, repo.RootIndexName),
	} {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		testkit.Golden(t, name, data)
	}
	// With RPMs: .1 and .2 as .fix beside their RPM, .3 as an RPM only
	// (unsigned, so that the packages are the same bytes every time).
	dir := sample(t)
	var files []string
	for i, v := range demo.FixVersions {
		src := filepath.Join(dir, "fixes", v)
		if i < 2 {
			p, _, err := fixarchive.Pack(t.Context(), src, filepath.Join(dir, "out"), fixarchive.PackOptions{Epoch: testEpoch})
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, p)
		}
		p, _, err := rpm.Pack(t.Context(), src, filepath.Join(dir, "out"), rpm.PackOptions{Epoch: testEpoch})
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	root = t.TempDir()
	if _, err := Add(t.Context(), root, files, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(t.Context(), root, BuildOptions{Signer: vendorSigner(t), Now: func() time.Time { return now }}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(channelDir(root), repo.IndexName))
	if err != nil {
		t.Fatal(err)
	}
	testkit.Golden(t, "index-rpm.json", data)
}

func TestBuildNeedsSigner(t *testing.T) {
	_, err := Build(t.Context(), t.TempDir(), BuildOptions{})
	if !errors.Is(err, ErrNoSigner) {
		t.Errorf("err = %v, want ErrNoSigner", err)
	}
	_, err = Build(t.Context(), t.TempDir(), BuildOptions{Signer: vendorSigner(t), Expires: -time.Hour})
	testkit.WantErr(t, err, "negative expiry")
}

// noTemporaries fails if a dot-file other than the catalog is left.
func noTemporaries(t testing.TB, root string) {
	t.Helper()
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".") && d.Name() != catalogName && p != root {
			t.Errorf("temporary left behind: %s", p)
		}
		return nil
	})
}

func TestBuildGPGVerifies(t *testing.T) {
	root, _ := builtRepo(t, BuildOptions{})
	home := testkit.GPGHome(t)
	if out, err := testkit.GPG(t, home, "--import", vendorPublic); err != nil {
		t.Fatalf("gpg --import: %v\n%s", err, out)
	}
	for _, f := range []string{filepath.Join(channelDir(root), repo.IndexName), filepath.Join(root, repo.RootIndexName)} {
		out, err := testkit.GPG(t, home, "--verify", f+repo.SigSuffix, f)
		if err != nil || !strings.Contains(string(out), "Good signature") {
			t.Errorf("gpg --verify %s: %v\n%s", f, err, out)
		}
	}
	// And gpg notices tampering.
	f := filepath.Join(channelDir(root), repo.IndexName)
	data, _ := os.ReadFile(f)
	os.WriteFile(f, bytes.Replace(data, []byte(`"serial": 1`), []byte(`"serial": 9`), 1), 0o644)
	if out, err := testkit.GPG(t, home, "--verify", f+repo.SigSuffix, f); err == nil {
		t.Errorf("gpg accepted a tampered index:\n%s", out)
	}
}

func TestBuildHTML(t *testing.T) {
	root, _ := builtRepo(t, BuildOptions{})
	page, err := os.ReadFile(filepath.Join(channelDir(root), "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	html := string(page)
	paths := packSample(t)
	for _, p := range paths {
		m, err := fixarchive.ReadManifestFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{m.Version.String(), m.Summary, repo.ArchiveName(m.Product, m.Version)} {
			if !strings.Contains(html, s) {
				t.Errorf("index.html lacks %q", s)
			}
		}
		for _, b := range m.Bugs {
			if !strings.Contains(html, b.ID) || !strings.Contains(html, b.Summary) {
				t.Errorf("index.html lacks bug %s %q", b.ID, b.Summary)
			}
		}
	}
	wellFormed(t, html)
	top, err := os.ReadFile(filepath.Join(root, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	wellFormed(t, string(top))
	for _, s := range []string{"acme", `href="acme/2.4.1/"`, "2.4.1.3", vendorSigner(t).Fingerprint()} {
		if !strings.Contains(string(top), s) {
			t.Errorf("top index.html lacks %q", s)
		}
	}
}

// wellFormed checks the shape of an HTML page: doctype, one html, head,
// title and body, and balanced block elements.
func wellFormed(t *testing.T, page string) {
	t.Helper()
	if !strings.HasPrefix(page, "<!doctype html>") || !strings.HasSuffix(strings.TrimSpace(page), "</html>") {
		t.Errorf("page does not start with a doctype and end with </html>")
	}
	for _, tag := range []string{"html", "head", "title", "body", "main", "section", "ul", "li", "p", "table", "tr", "td", "h1", "h2", "a", "style", "footer", "header", "code", "span"} {
		open := strings.Count(page, "<"+tag+">") + strings.Count(page, "<"+tag+" ")
		if closed := strings.Count(page, "</"+tag+">"); open != closed {
			t.Errorf("<%s> opened %d times, closed %d times", tag, open, closed)
		}
	}
	if strings.Count(page, "<title>") != 1 || !strings.Contains(page, `<meta charset="utf-8">`) {
		t.Error("page needs one title and a charset")
	}
}

// HTML pages escape what vendors write.
func TestBuildHTMLEscapes(t *testing.T) {
	dir := t.TempDir()
	testkit.WriteFile(t, dir, "fix.toml", `product = "acme"
version = "9.0.1"
summary = "<script>alert(1)</script> & more"
[[bug]]
id = "X-1"
summary = "<b>bold</b>"
`, 0o644)
	testkit.WriteFile(t, dir, "files/a.txt", "a\n", 0o644)
	p, _, err := fixarchive.Pack(t.Context(), dir, filepath.Join(dir, "out"), fixarchive.PackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if _, err := Add(t.Context(), root, []string{p}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(t.Context(), root, BuildOptions{Signer: vendorSigner(t)}); err != nil {
		t.Fatal(err)
	}
	page, _ := os.ReadFile(filepath.Join(root, "acme", "9.0", "index.html"))
	if bytes.Contains(page, []byte("<script>alert")) || bytes.Contains(page, []byte("<b>bold")) {
		t.Errorf("vendor text not escaped:\n%s", page)
	}
	if !bytes.Contains(page, []byte("&lt;script&gt;")) {
		t.Errorf("escaped summary missing")
	}
}

func TestBuildIncremental(t *testing.T) {
	paths := packSample(t)
	root := t.TempDir()
	signer := vendorSigner(t)
	if _, err := Add(t.Context(), root, paths[:2], AddOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := Build(t.Context(), root, BuildOptions{Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	if res.Hashed != 0 {
		t.Errorf("build after add read %d archives: add already recorded them", res.Hashed)
	}

	// An archive copied in by hand is read once, and only it.
	data, _ := os.ReadFile(paths[2])
	if err := os.WriteFile(filepath.Join(channelDir(root), filepath.Base(paths[2])), data, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err = Build(t.Context(), root, BuildOptions{Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	if res.Hashed != 1 {
		t.Errorf("rebuild after adding one archive read %d archives, want 1", res.Hashed)
	}
	if ix := readIndex(t, root); len(ix.Fixes) != 3 || ix.Serial != 2 {
		t.Errorf("index has %d fixes, serial %d", len(ix.Fixes), ix.Serial)
	}
	res, err = Build(t.Context(), root, BuildOptions{Signer: signer})
	if err != nil || res.Hashed != 0 {
		t.Errorf("rebuild without changes read %d archives (%v)", res.Hashed, err)
	}

	// A lost catalog costs a rehash, not a failure.
	os.Remove(filepath.Join(channelDir(root), catalogName))
	res, err = Build(t.Context(), root, BuildOptions{Signer: signer})
	if err != nil || res.Hashed != 3 {
		t.Errorf("rebuild without a catalog read %d archives (%v), want 3", res.Hashed, err)
	}
	noTemporaries(t, root)
}

func TestBuildRefusesChangedPublishedArchive(t *testing.T) {
	root, _ := builtRepo(t, BuildOptions{})
	dir := sample(t)
	testkit.WriteFile(t, dir, "fixes/2.4.1.2/files/app/cart.php", "<?php // quietly changed\n", 0o644)
	changed, _, err := fixarchive.Pack(t.Context(), filepath.Join(dir, "fixes", "2.4.1.2"), t.TempDir(), fixarchive.PackOptions{Epoch: testEpoch})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(changed)
	if err := os.WriteFile(filepath.Join(channelDir(root), "acme-2.4.1.2.fix"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	index := filepath.Join(channelDir(root), repo.IndexName)
	before, _ := os.ReadFile(index)
	_, err = Build(t.Context(), root, BuildOptions{Signer: vendorSigner(t)})
	testkit.WantErr(t, err, "2.4.1.2 already published with different content")
	if after, _ := os.ReadFile(index); !bytes.Equal(before, after) {
		t.Error("a refused build rewrote index.json")
	}
}

func TestBuildRefusesGap(t *testing.T) {
	root, _ := builtRepo(t, BuildOptions{})
	if err := os.Remove(filepath.Join(channelDir(root), "acme-2.4.1.2.fix")); err != nil {
		t.Fatal(err)
	}
	_, err := Build(t.Context(), root, BuildOptions{Signer: vendorSigner(t)})
	testkit.WantErr(t, err, "acme 2.4.1", "gap", "2.4.1.2 missing")
	noTemporaries(t, root)
}

func TestBuildRefusesMisplacedArchive(t *testing.T) {
	root, _ := builtRepo(t, BuildOptions{})
	data, _ := os.ReadFile(filepath.Join(channelDir(root), "acme-2.4.1.1.fix"))
	other := filepath.Join(root, "acme", "2.5.0")
	os.MkdirAll(other, 0o755)
	os.WriteFile(filepath.Join(other, "acme-2.5.0.1.fix"), data, 0o644)
	_, err := Build(t.Context(), root, BuildOptions{Signer: vendorSigner(t)})
	testkit.WantErr(t, err, "acme-2.5.0.1.fix", "holds acme 2.4.1.1", "acme/2.4.1/acme-2.4.1.1.fix")
}

func TestBuildEmptyRepo(t *testing.T) {
	root := t.TempDir()
	res, err := Build(t.Context(), root, BuildOptions{Signer: vendorSigner(t)})
	if err != nil || len(res.Channels) != 0 {
		t.Fatalf("%+v, %v", res, err)
	}
	data, _ := os.ReadFile(filepath.Join(root, repo.RootIndexName))
	if _, err := repo.ParseRootIndex(data); err != nil {
		t.Fatal(err)
	}
}

// TestAddCopiesNotLinks: what add puts into the repository is a file of
// its own: writing into the vendor's archive afterwards (cp over an
// existing file does) leaves the published archive as it was verified.
func TestAddCopiesNotLinks(t *testing.T) {
	paths := packSample(t)
	root := t.TempDir()
	if _, err := Add(t.Context(), root, paths[:1], AddOptions{}); err != nil {
		t.Fatal(err)
	}
	published := filepath.Join(channelDir(root), filepath.Base(paths[0]))
	before, err := os.ReadFile(published)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(paths[0], []byte("overwritten in place"), 0o644); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(published)
	if !bytes.Equal(before, after) {
		t.Fatal("writing into the source changed the published archive")
	}
}

// TestAddStaging: add copies each archive into a staging directory of the
// repository while verifying it; nothing of it stays, whether the add
// succeeds, refuses a broken or truncated archive or a gap, or finds a
// staging directory left by a killed add (which it removes).
func TestAddStaging(t *testing.T) {
	paths := packSample(t)
	data, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	truncated := filepath.Join(dir, "acme-2.4.1.1.fix")
	garbage := filepath.Join(dir, "garbage.fix")
	if err := os.WriteFile(truncated, data[:len(data)-9], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(garbage, []byte("not an archive at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	stale := filepath.Join(root, stagePrefix+"killed")
	if err := os.MkdirAll(stale, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stale, "0"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	noStage := func(when string) {
		t.Helper()
		if left, _ := filepath.Glob(filepath.Join(root, stagePrefix+"*")); len(left) != 0 {
			t.Fatalf("%s: staging left behind: %v", when, left)
		}
	}
	for _, bad := range [][]string{{truncated}, {garbage}, {paths[0], truncated, paths[2]}, {paths[1]}} {
		if _, err := Add(t.Context(), root, bad, AddOptions{}); err == nil {
			t.Fatalf("add of %v succeeded", bad)
		}
		noStage(fmt.Sprintf("refused %v", bad))
	}
	if _, err := os.Stat(filepath.Join(root, "acme")); !os.IsNotExist(err) {
		t.Fatalf("a refused add created the channel: %v", err)
	}
	res, err := Add(t.Context(), root, append(paths, paths[0]), AddOptions{})
	if err != nil {
		t.Fatal(err)
	}
	noStage("add")
	if len(res.Added) != 3 {
		t.Fatalf("added %v", res.Added)
	}
	if _, err := Add(t.Context(), root, paths, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	noStage("add of archives already there")
	if left, _ := filepath.Glob(filepath.Join(channelDir(root), ".*tmp*")); len(left) != 0 {
		t.Fatalf("temporaries in the channel: %v", left)
	}
}
