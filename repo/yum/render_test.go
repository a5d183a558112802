package yum

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"testing"
	"time"

	rpmlib "github.com/cavaliergopher/rpm"
	"github.com/google/rpmpack"

	"github.com/hotfix-project/hotfix/internal/rpmhdr"
	"github.com/hotfix-project/hotfix/internal/testkit"
)

var epoch = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// testPackage writes an RPM the way hotfix pack --format rpm shapes one
// (provides, a requirement on the previous fix, files, a changelog) and
// returns its header as repo/rpm would hand it over.
func testPackage(t *testing.T, n int) (Header, Package) {
	t.Helper()
	name := "acme-hotfix-2_4_1_" + string(rune('0'+n))
	md := rpmpack.RPMMetaData{Name: name, Version: "1", Release: "0", Arch: "noarch", Epoch: rpmpack.NoEpoch,
		Summary: "Fix <" + name + "> & more", Description: "Fixes \"quoted\" things.\n", Licence: "Proprietary",
		Group: "Unspecified", Packager: "hotfix", BuildHost: "hotfix", BuildTime: epoch, Compressor: "gzip",
		Provides: rpmpack.Relations{{Name: "acme-hotfix", Version: "2.4.1." + string(rune('0'+n)), Sense: rpmpack.SenseEqual}}}
	if n > 1 {
		md.Requires = rpmpack.Relations{{Name: "acme-hotfix-2_4_1_" + string(rune('0'+n-1))}}
	}
	r, err := rpmpack.NewRPM(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []rpmpack.RPMFile{
		{Name: "/etc/acme.conf", Body: []byte("x = 1\n"), Mode: 0o100644},
		{Name: "/usr/bin/acme", Body: []byte("#!/bin/sh\n"), Mode: 0o100755},
		{Name: "/var/lib/acme/data.bin", Body: []byte{0, 1, 2}, Mode: 0o100600},
		{Name: "/var/lib/acme", Mode: 0o040755},
	} {
		f.Owner, f.Group, f.MTime = "root", "root", uint32(epoch.Unix())
		r.AddFile(f)
	}
	r.AddCustomTag(rpmhdr.TagChangelogTime, rpmpack.EntryInt32([]int32{int32(epoch.Unix())}))
	r.AddCustomTag(rpmhdr.TagChangelogName, rpmpack.EntryStringSlice([]string{"hotfix - 2.4.1"}))
	r.AddCustomTag(rpmhdr.TagChangelogText, rpmpack.EntryStringSlice([]string{"- ACME-1: <b>bold</b> & fixed"}))
	var buf bytes.Buffer
	if err := r.Write(&buf); err != nil {
		t.Fatal(err)
	}
	pkg, err := rpmlib.Read(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	files, err := rpmhdr.Files(pkg)
	if err != nil {
		t.Fatal(err)
	}
	start, end := pkg.HeaderRange()
	sum := sha256.Sum256(buf.Bytes())
	return Header{Pkg: pkg, Start: int64(start), End: int64(end), Files: files},
		Package{Name: name + "-1-0.noarch.rpm", Size: int64(buf.Len()), MTimeNS: epoch.UnixNano(), SHA256: hex.EncodeToString(sum[:])}
}

// The repodata of two packages is exactly the committed XML:
// repomd.xml and the decompressed primary, filelists and other.
// (repo/publish's tests check that dnf reads it as it reads
// createrepo_c's.)
func TestRepodataGolden(t *testing.T) {
	var pkgs []*Package
	for n := 1; n <= 2; n++ {
		h, p := testPackage(t, n)
		x, err := Render(h, p)
		if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, x)
	}
	rd, err := Stage(t.Context(), pkgs, epoch, LoadCache(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	testkit.Golden(t, "repomd.xml", rd.RepoMD)
	kinds := []string{"primary", "filelists", "other"}
	if len(rd.Files) != len(kinds) {
		t.Fatalf("%d data files", len(rd.Files))
	}
	for i, f := range rd.Files {
		zr, err := gzip.NewReader(bytes.NewReader(f.Data))
		if err != nil {
			t.Fatal(err)
		}
		xml, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		testkit.Golden(t, kinds[i]+".xml", xml)
	}
}
