package publish

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/fixarchive"
	"github.com/hotfix-project/hotfix/repo/rpm"
	"github.com/hotfix-project/hotfix/server"
)

// rpmRepo builds a repository whose channel acme/2.4.1 holds .1 and .2 as
// .fix with their RPMs and .3 as an RPM only. It returns the repository
// root and the channel directory.
func rpmRepo(t testing.TB) (string, string) {
	t.Helper()
	dir := t.TempDir()
	if err := demo.WriteSample(dir); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var files []string
	for i, v := range demo.FixVersions {
		src := filepath.Join(dir, "fixes", v)
		if i < 2 {
			p, _, err := fixarchive.Pack(ctx, src, filepath.Join(dir, "out"), fixarchive.PackOptions{Epoch: testEpoch})
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, p)
		}
		p, _, err := rpm.Pack(ctx, src, filepath.Join(dir, "out"), rpm.PackOptions{Epoch: testEpoch, Signer: vendorSigner(t)})
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	root := filepath.Join(dir, "repo")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Add(ctx, root, files, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(ctx, root, BuildOptions{Signer: vendorSigner(t)}); err != nil {
		t.Fatal(err)
	}
	return root, filepath.Join(root, "acme", "2.4.1")
}

func TestBuildIndexesRPMs(t *testing.T) {
	root, ch := rpmRepo(t)
	data, err := os.ReadFile(filepath.Join(ch, repo.IndexName))
	if err != nil {
		t.Fatal(err)
	}
	ix, err := repo.ParseIndex(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(ix.Fixes) != 3 {
		t.Fatalf("%d fixes", len(ix.Fixes))
	}
	for i, f := range ix.Fixes[:2] {
		if f.File != repo.ArchiveName("acme", f.Version) || f.RPM == nil || f.RPM.File != rpm.FileName("acme", f.Version) {
			t.Errorf("fix %d: file %s rpm %+v", i, f.File, f.RPM)
		}
	}
	f3 := ix.Fixes[2]
	if f3.File != "acme-hotfix-2_4_1_3-1-0.noarch.rpm" || f3.RPM != nil {
		t.Errorf("RPM-only fix: file %s rpm %+v", f3.File, f3.RPM)
	}
	if len(f3.Bugs) != 2 || f3.Bugs[0].ID != "ACME-130" || f3.Summary == "" {
		t.Errorf("RPM-only fix bugs from the header: %+v, summary %q", f3.Bugs, f3.Summary)
	}
	problems, err := VerifyRepo(context.Background(), root, VerifyOptions{Check: keyringCheck(t, vendorPublic, time.Now())})
	if err != nil || len(problems) > 0 {
		t.Fatalf("verify: %v %v", problems, err)
	}
	// repomd.xml is signed, and every file it names has its checksums.
	md, err := os.ReadFile(filepath.Join(ch, "repodata", "repomd.xml"))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := os.ReadFile(filepath.Join(ch, "repodata", "repomd.xml.asc"))
	if err != nil {
		t.Fatal(err)
	}
	if err := keyringCheck(t, vendorPublic, time.Now())(md, sig); err != nil {
		t.Fatalf("repomd.xml.asc: %v", err)
	}
	var repomd struct {
		Data []struct {
			Type         string `xml:"type,attr"`
			Checksum     string `xml:"checksum"`
			OpenChecksum string `xml:"open-checksum"`
			Location     struct {
				Href string `xml:"href,attr"`
			} `xml:"location"`
			Size     int64 `xml:"size"`
			OpenSize int64 `xml:"open-size"`
		} `xml:"data"`
	}
	if err := xml.Unmarshal(md, &repomd); err != nil {
		t.Fatal(err)
	}
	if len(repomd.Data) != 3 {
		t.Fatalf("repomd lists %d files", len(repomd.Data))
	}
	for _, d := range repomd.Data {
		gz, err := os.ReadFile(filepath.Join(ch, d.Location.Href))
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(gz); hex.EncodeToString(sum[:]) != d.Checksum || int64(len(gz)) != d.Size {
			t.Errorf("%s: checksum or size wrong", d.Type)
		}
		if sum := sha256.Sum256(plain); hex.EncodeToString(sum[:]) != d.OpenChecksum || int64(len(plain)) != d.OpenSize {
			t.Errorf("%s: open checksum or size wrong", d.Type)
		}
		if !bytes.Contains(plain, []byte(`packages="3"`)) {
			t.Errorf("%s does not count 3 packages", d.Type)
		}
	}

	// A rebuild reads no header again and keeps the data files it names.
	before := snapshot(t, filepath.Join(ch, "repodata"))
	res, err := Build(context.Background(), root, BuildOptions{Signer: vendorSigner(t), Now: func() time.Time { return time.Now() }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Hashed != 0 {
		t.Errorf("rebuild hashed %d archives", res.Hashed)
	}
	if after := snapshot(t, filepath.Join(ch, "repodata")); !strings.Contains(after, "primary.xml.gz") || strings.Count(after, "xml.gz") != 3 {
		t.Errorf("repodata after rebuild:\n%s\nbefore:\n%s", after, before)
	}
}

// dnfQuery runs dnf repoquery against a repository URL in a throwaway
// installroot and returns its output, sorted.
func dnfQuery(t *testing.T, url string, args ...string) string {
	t.Helper()
	root := t.TempDir()
	base := []string{"-q", "--installroot=" + root, "--setopt=reposdir=/dev/null", "--disableplugin=*", "--releasever=1",
		"--repofrompath=q," + url, "--repo=q", "repoquery"}
	out := runTool(t, "dnf", append(base, args...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// specPackage builds, with the real rpmbuild, a package shaped like fix
// 2.4.1.9 but carrying what hotfix never writes (versioned and pre
// requires, conflicts, obsoletes, weak dependencies, /etc and bin files, a
// ghost, a changelog of two entries), to exercise every part of the
// repodata writer.
func specPackage(t *testing.T, out string) {
	t.Helper()
	top := t.TempDir()
	spec := `Name: acme-hotfix-2_4_1_9
Version: 1
Release: 0
Summary: Spec <built> & "quoted"
License: GPL
BuildArch: noarch
Provides: acme-hotfix = 2.4.1.9
Requires: acme-hotfix-2_4_1_8
Requires: bash >= 5.0-1
Requires(post): coreutils
Requires: /etc/acme.conf
Conflicts: acme-old < 2:3.0
Obsoletes: acme-legacy <= 1.1
Recommends: acme-docs
Suggests: acme-extra > 1
Supplements: acme-core
Enhances: acme-ui = 1.0-2

%description
Line one
line <two> & three.

%install
mkdir -p %{buildroot}/etc %{buildroot}/usr/bin %{buildroot}/var/lib/hotfix/incoming/acme/2.4.1.9
echo conf > %{buildroot}/etc/acme.conf
echo '#!/bin/sh' > %{buildroot}/usr/bin/acme-tool
echo x > %{buildroot}/var/lib/hotfix/incoming/acme/2.4.1.9/manifest.json

%post
true

%files
%config(noreplace) /etc/acme.conf
%attr(0755,root,root) /usr/bin/acme-tool
/var/lib/hotfix/incoming/acme/2.4.1.9/manifest.json
%ghost /var/log/acme.log

%changelog
* Wed May 01 2024 Vendor <v@example.com> - 1-0
- second & last
* Mon Apr 01 2024 Vendor <v@example.com> - 1-0
- first
`
	specPath := filepath.Join(top, "x.spec")
	if err := os.WriteFile(specPath, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	runTool(t, "rpmbuild", "-bb", "--quiet", "--define", "_topdir "+top, "--define", "_binary_payload w2.xzdio", specPath)
	matches, _ := filepath.Glob(filepath.Join(top, "RPMS", "noarch", "*.rpm"))
	if len(matches) != 1 {
		t.Fatalf("rpmbuild made %v", matches)
	}
	data, err := os.ReadFile(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, filepath.Base(matches[0])), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRepodataAnswersLikeCreaterepo(t *testing.T) {
	_, ch := rpmRepo(t)
	// Same packages, plus one built by rpmbuild, in two directories: one
	// indexed by us, one by createrepo_c.
	ours, theirs := t.TempDir(), t.TempDir()
	rpms, _ := filepath.Glob(filepath.Join(ch, "*.rpm"))
	for _, p := range rpms {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{ours, theirs} {
			if err := os.WriteFile(filepath.Join(d, filepath.Base(p)), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	specPackage(t, ours)
	specs, _ := filepath.Glob(filepath.Join(ours, "acme-hotfix-2_4_1_9*.rpm"))
	data, _ := os.ReadFile(specs[0])
	os.WriteFile(filepath.Join(theirs, filepath.Base(specs[0])), data, 0o644)
	// Same mtimes, so that time.file agrees.
	for _, d := range []string{ours, theirs} {
		names, _ := filepath.Glob(filepath.Join(d, "*.rpm"))
		for _, n := range names {
			os.Chtimes(n, testEpoch, testEpoch)
		}
	}

	names, _ := filepath.Glob(filepath.Join(ours, "*.rpm"))
	described, err := describeAll(context.Background(), names)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range described {
		e.File = filepath.Base(names[i])
	}
	if err := writeRepodata(context.Background(), ours, described, time.Now(), vendorSigner(t)); err != nil {
		t.Fatal(err)
	}
	runTool(t, "createrepo_c", "-q", "--no-database", "--workers", "2", theirs)

	queries := [][]string{
		{"--qf", "%{name}|%{epoch}|%{version}|%{release}|%{arch}|%{summary}|%{buildtime}|%{size}|%{installsize}|%{license}|%{sourcerpm}|%{packager}|%{url}|%{location}|%{vendor}|%{group}|%{reponame}"},
		{"--qf", "%{name}: %{provides} | %{requires} | %{conflicts} | %{obsoletes}"},
		{"--qf", "%{name}: %{recommends} | %{suggests} | %{supplements} | %{enhances}"},
		{"--qf", "%{name}: %{files}"},
		{"--qf", "%{name}: %{description}"},
		{"--requires-pre"},
		{"--changelog"},
		{"--whatprovides", "/etc/acme.conf"},
		{"--whatprovides", "/var/lib/hotfix/incoming/acme/2.4.1.2/manifest.json"},
		{"--whatrequires", "acme-hotfix-2_4_1_1"},
		{"--whatprovides", "acme-hotfix >= 2.4.1.2"},
	}
	for _, q := range queries {
		a := dnfQuery(t, "file://"+ours, q...)
		b := dnfQuery(t, "file://"+theirs, q...)
		if a != b {
			t.Errorf("repoquery %s differs:\nours:\n%s\ncreaterepo_c:\n%s", strings.Join(q, " "), a, b)
		}
		if strings.TrimSpace(a) == "" {
			t.Errorf("repoquery %s: empty", strings.Join(q, " "))
		}
	}
}

// shellInRoot copies /bin/sh and the libraries it needs into an
// installroot, so that the packages' %post runs there as on a server.
func shellInRoot(t *testing.T, root string) {
	t.Helper()
	sh, err := filepath.EvalSymlinks("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ldd", sh).Output()
	if err != nil {
		t.Fatalf("ldd %s: %v", sh, err)
	}
	files := map[string]string{sh: "/bin/sh"}
	for _, m := range regexp.MustCompile(`(/[^ \t\n]+)`).FindAllString(string(out), -1) {
		files[m] = m
	}
	for src, dst := range files {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(root, dst)
		os.MkdirAll(filepath.Dir(target), 0o755)
		if err := os.WriteFile(target, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDnfInstallsFromHotfixServe(t *testing.T) {
	root, _ := rpmRepo(t)
	h, err := server.New(root, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	dnfInstallChain(t, srv.URL+"/acme/2.4.1/")
}

// dnfInstallChain has the real dnf, in a throwaway installroot with a
// shell, install acme 2.4.1.3 from the channel at url with gpgcheck and
// repo_gpgcheck on, and checks that the chain came in order and unpacked.
func dnfInstallChain(t *testing.T, url string) {
	t.Helper()
	installroot := t.TempDir()
	shellInRoot(t, installroot)
	reposdir := t.TempDir()
	keyPath, _ := filepath.Abs(vendorPublic)
	repoFile := "[acme]\nname=acme 2.4.1 fixes\nbaseurl=" + url + "\n" +
		"enabled=1\ngpgcheck=1\nrepo_gpgcheck=1\ngpgkey=file://" + keyPath + "\n"
	if err := os.WriteFile(filepath.Join(reposdir, "acme.repo"), []byte(repoFile), 0o644); err != nil {
		t.Fatal(err)
	}
	dnf := func(args ...string) string {
		t.Helper()
		base := []string{"-y", "--installroot=" + installroot, "--setopt=reposdir=" + reposdir, "--disableplugin=*", "--releasever=1"}
		cmd := exec.Command("dnf", append(base, args...)...)
		cmd.Env = append(os.Environ(), "HOTFIX_NO_INSTALL=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("dnf %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	dnf("makecache")
	list := dnf("list", "--available")
	for _, v := range demo.FixVersions {
		if !strings.Contains(list, rpm.Name("acme", repo.MustParseVersion(v))+".noarch") {
			t.Errorf("dnf list lacks %s:\n%s", v, list)
		}
	}
	out := dnf("install", "acme-hotfix-2_4_1_3")
	if strings.Contains(out, "scriptlet failed") {
		t.Errorf("%%post failed:\n%s", out)
	}
	if !strings.Contains(out, "HOTFIX_NO_INSTALL=1") {
		t.Errorf("%%post did not report the unpacked fix:\n%s", out)
	}
	// .1 and .2 came first, pulled in by the requires.
	i1, i2, i3 := strings.Index(out, "Installing       : acme-hotfix-2_4_1_1"), strings.Index(out, "Installing       : acme-hotfix-2_4_1_2"), strings.Index(out, "Installing       : acme-hotfix-2_4_1_3")
	if i1 < 0 || i2 < i1 || i3 < i2 {
		t.Errorf("install order:\n%s", out)
	}
	for _, v := range demo.FixVersions {
		dir := filepath.Join(installroot, "var/lib/hotfix/incoming/acme", v)
		data, err := os.ReadFile(filepath.Join(dir, repo.ManifestName))
		if err != nil {
			t.Fatalf("fix %s not unpacked: %v", v, err)
		}
		if m, err := repo.ParseManifest(data); err != nil || m.Version.String() != v {
			t.Errorf("manifest of %s: %v", v, err)
		}
	}
}

func TestVerifyRepoChecksRepodata(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, ch string)
		want   string
	}{
		{"data file changed", func(t *testing.T, ch string) {
			m, _ := filepath.Glob(filepath.Join(ch, "repodata", "*-primary.xml.gz"))
			os.WriteFile(m[0], []byte("junk"), 0o644)
		}, "primary.xml.gz: size 4"},
		{"repomd.xml changed", func(t *testing.T, ch string) {
			p := filepath.Join(ch, "repodata", "repomd.xml")
			data, _ := os.ReadFile(p)
			os.WriteFile(p, append(data, ' '), 0o644)
		}, "repomd.xml.asc"},
		{"signature missing", func(t *testing.T, ch string) {
			os.Remove(filepath.Join(ch, "repodata", "repomd.xml.asc"))
		}, "repomd.xml.asc missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, ch := rpmRepo(t)
			tt.damage(t, ch)
			problems, err := VerifyRepo(context.Background(), root, VerifyOptions{Check: keyringCheck(t, vendorPublic, time.Now())})
			if err != nil {
				t.Fatal(err)
			}
			var all []string
			for _, p := range problems {
				all = append(all, p.String())
			}
			if len(problems) == 0 || !strings.Contains(strings.Join(all, "\n"), tt.want) {
				t.Errorf("problems %q, want one mentioning %q", all, tt.want)
			}
			// What verify tells the user to do must mend it.
			if _, err := Build(context.Background(), root, BuildOptions{Signer: vendorSigner(t)}); err != nil {
				t.Fatal(err)
			}
			problems, err = VerifyRepo(context.Background(), root, VerifyOptions{Check: keyringCheck(t, vendorPublic, time.Now())})
			if err != nil || len(problems) != 0 {
				t.Errorf("after repo build: problems %v, err %v; want none", problems, err)
			}
		})
	}
}

func TestAddRPMBesideFix(t *testing.T) {
	dir := t.TempDir()
	if err := demo.WriteSample(dir); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	src := filepath.Join(dir, "fixes", demo.FixVersions[0])
	fix, _, err := fixarchive.Pack(ctx, src, filepath.Join(dir, "a"), fixarchive.PackOptions{Epoch: testEpoch})
	if err != nil {
		t.Fatal(err)
	}
	rpmA, _, err := rpm.Pack(ctx, src, filepath.Join(dir, "a"), rpm.PackOptions{Epoch: testEpoch})
	if err != nil {
		t.Fatal(err)
	}
	rpmB, _, err := rpm.Pack(ctx, src, filepath.Join(dir, "b"), rpm.PackOptions{Epoch: testEpoch.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "repo")
	os.Mkdir(root, 0o755)
	if _, err := Add(ctx, root, []string{fix}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(ctx, root, BuildOptions{Signer: vendorSigner(t)}); err != nil {
		t.Fatal(err)
	}
	res, err := Add(ctx, root, []string{rpmA}, AddOptions{})
	if err != nil || len(res.Added) != 1 {
		t.Fatalf("adding the RPM of a published fix: %+v %v", res, err)
	}
	if _, err := Build(ctx, root, BuildOptions{Signer: vendorSigner(t)}); err != nil {
		t.Fatalf("build after adding the RPM: %v", err)
	}
	res, err = Add(ctx, root, []string{rpmA}, AddOptions{})
	if err != nil || len(res.Unchanged) != 1 {
		t.Fatalf("adding the same RPM again: %+v %v", res, err)
	}
	_, err = Add(ctx, root, []string{rpmB}, AddOptions{})
	testkit.WantErr(t, err, "2.4.1.1 already published with different content")
	// A different RPM copied in by hand is caught by build.
	data, _ := os.ReadFile(rpmB)
	os.WriteFile(filepath.Join(root, "acme", "2.4.1", filepath.Base(rpmB)), data, 0o644)
	_, err = Build(ctx, root, BuildOptions{Signer: vendorSigner(t)})
	testkit.WantErr(t, err, "2.4.1.1 already published with different content")
}

// A cache that cannot be saved after the channel is published is a
// warning, not a failed build (the user would rebuild and skip a serial).
func TestBuildWarnsWhenCachesCannotBeSaved(t *testing.T) {
	root, ch := rpmRepo(t)
	for _, name := range []string{catalogName, ".repodata.cache"} {
		if err := os.Remove(filepath.Join(ch, name)); err != nil {
			t.Fatal(err)
		}
		// A non-empty directory where the cache goes: the rename fails.
		if err := os.MkdirAll(filepath.Join(ch, name, "x"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var logged bytes.Buffer
	res, err := Build(context.Background(), root, BuildOptions{Signer: vendorSigner(t), Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatalf("Build failed over a cache: %v", err)
	}
	if res.Channels[0].Serial != 2 {
		t.Errorf("serial %d, want 2", res.Channels[0].Serial)
	}
	for _, want := range []string{"catalog not saved", "repodata cache or cleanup failed"} {
		if !strings.Contains(logged.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logged.String())
		}
	}
	problems, err := VerifyRepo(context.Background(), root, VerifyOptions{Check: keyringCheck(t, vendorPublic, time.Now())})
	if err != nil || len(problems) != 0 {
		t.Errorf("published repository: problems %v, err %v", problems, err)
	}
}

// writeRepodata writes dir/repodata for the RPMs pkgs at once, as a build
// does for a channel.
func writeRepodata(ctx context.Context, dir string, rpms []*catalogEntry, generated time.Time, signer repo.Signer) error {
	var batch fileBatch
	defer batch.Abort()
	after, err := stageRepodata(ctx, dir, rpms, generated, signer, &batch, logger(nil), preloadRepodataCache(dir))
	if err != nil || after == nil {
		return err
	}
	if err := batch.Commit(ctx); err != nil {
		after(false)
		return err
	}
	return after(true)
}
