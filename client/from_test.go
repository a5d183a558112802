package client

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/publish"
	"github.com/hotfix-project/hotfix/repo/rpm"
)

// packRPM packs sample fix v as an RPM signed with key (nil: unsigned).
func packRPM(t testing.TB, v string, keyName string) string {
	t.Helper()
	sampleArchives(t)
	opts := rpm.PackOptions{}
	if keyName != "" {
		opts.Signer = testSigner(t, keyName)
	}
	p, _, err := rpm.Pack(context.Background(), filepath.Join(sampleSource, "fixes", v), t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// unpackedFix lays sample fix v out as an RPM delivers it under
// /var/lib/hotfix/incoming/PRODUCT/VERSION: manifest.json, files/, scripts/.
func unpackedFix(t testing.TB, v string) string {
	t.Helper()
	sampleArchives(t)
	dir := filepath.Join(t.TempDir(), v)
	staging := filepath.Join(t.TempDir(), "x")
	m, err := rpm.Extract(context.Background(), packRPM(t, v, ""), staging, rpm.Trust{})
	if err != nil {
		t.Fatal(err)
	}
	testkit.CopyTree(t, staging, dir)
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, repo.ManifestName), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func installedVersions(t testing.TB, c *Client) []string {
	t.Helper()
	st, _, err := c.loadState(false)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range st.Installed {
		out = append(out, f.Version.String())
	}
	return out
}

func TestInstallFrom(t *testing.T) {
	env := newEnv(t, envOptions{})
	c := env.client(t)
	ctx := context.Background()
	arch := sampleArchives(t)
	sources := []string{arch["2.4.1.1"], packRPM(t, "2.4.1.2", "vendor.sec.asc"), unpackedFix(t, "2.4.1.3")}
	for i, src := range sources {
		res, err := c.InstallFrom(ctx, src, InstallOptions{})
		if err != nil {
			t.Fatalf("install --from %s: %v", src, err)
		}
		if len(res.Installed) != 1 || res.Installed[0].Version.String() != demo.FixVersions[i] {
			t.Fatalf("installed %+v", res.Installed)
		}
	}
	if got := strings.Join(installedVersions(t, c), " "); got != "2.4.1.1 2.4.1.2 2.4.1.3" {
		t.Fatalf("installed: %s", got)
	}
	// The root is what installing the same fixes from the repository gives.
	ref := newEnv(t, envOptions{Repo: env.Repo})
	if _, err := ref.client(t).Install(ctx, InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	if d := snapshot(t, ref.Root).diff(snapshot(t, env.Root)); d != "" {
		t.Errorf("root after install --from differs from a repository install:\n%s", d)
	}
	_, err := c.InstallFrom(ctx, sources[2], InstallOptions{})
	if err == nil || !strings.Contains(err.Error(), "already installed") {
		t.Errorf("installing again: %v", err)
	}
}

func TestInstallFromRefuses(t *testing.T) {
	tamperedDir := func(t *testing.T) string {
		d := unpackedFix(t, "2.4.1.1")
		p := filepath.Join(d, "files", "lib", "tax.php")
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		data[0] ^= 1 // same size, other content
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return d
	}
	tests := []struct {
		name string
		src  func(t *testing.T) string
		want string
	}{
		{"RPM signed by an untrusted key", func(t *testing.T) string { return packRPM(t, "2.4.1.1", "other.sec.asc") }, "bad header signature"},
		{"RPM with a damaged payload", func(t *testing.T) string {
			p := packRPM(t, "2.4.1.1", "vendor.sec.asc")
			data, _ := os.ReadFile(p)
			data[len(data)-5] ^= 1
			os.WriteFile(p, data, 0o644)
			return p
		}, "payload digest mismatch"},
		{"directory with a changed file", tamperedDir, "does not match the manifest"},
		{"directory with an extra file", func(t *testing.T) string {
			d := unpackedFix(t, "2.4.1.1")
			os.WriteFile(filepath.Join(d, "files", "extra.php"), []byte("x"), 0o644)
			return d
		}, "is not listed in manifest.json"},
		{"directory with a symlink", func(t *testing.T) string {
			d := unpackedFix(t, "2.4.1.1")
			os.Symlink("/etc/passwd", filepath.Join(d, "files", "link.php"))
			return d
		}, "is a symbolic link"},
		{"directory missing a file", func(t *testing.T) string {
			d := unpackedFix(t, "2.4.1.1")
			os.Remove(filepath.Join(d, "files", "lib", "tax.php"))
			return d
		}, "files/lib/tax.php listed in manifest.json but missing"},
		{"out of chain order", func(t *testing.T) string { return packRPM(t, "2.4.1.2", "vendor.sec.asc") }, "requires 2.4.1.1"},
		{"not a fix", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "x.tar")
			os.WriteFile(p, []byte("x"), 0o644)
			return p
		}, "not a .fix, a .rpm or a fix directory"},
		{"truncated .fix", func(t *testing.T) string {
			data, _ := os.ReadFile(sampleArchives(t)["2.4.1.1"])
			p := filepath.Join(t.TempDir(), "acme-2.4.1.1.fix")
			os.WriteFile(p, data[:len(data)/2], 0o644)
			return p
		}, "get the archive again"},
		{"garbage named .fix", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "acme-2.4.1.1.fix")
			os.WriteFile(p, []byte("this is not an archive"), 0o644)
			return p
		}, "neither zstd nor xz"},
		{".fix with a byte appended", damagedFix(func(t *testing.T, d []byte) []byte { return append(d, 'x') }), "1 bytes after the end of frame"},
		{".fix with garbage appended", damagedFix(func(t *testing.T, d []byte) []byte { return append(d, "garbage from a broken mirror"...) }), "data after the end of frame"},
		{".fix with its end cut", damagedFix(func(t *testing.T, d []byte) []byte { return d[:len(d)-5] }), "the data was cut short"},
		{".fix with an entry hidden after the tar end", damagedFix(func(t *testing.T, d []byte) []byte {
			return testkit.HideTarEntry(t, d, "files/app/shell.php", []byte("<?php system($_GET['c']);\n"))
		}), "data after the tar end-of-archive marker"},
		{"garbage named .rpm", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "acme-hotfix-2_4_1_1-1-0.noarch.rpm")
			os.WriteFile(p, []byte("this is not a package"), 0o644)
			return p
		}, "get the package again"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, envOptions{})
			before := snapshot(t, env.Root)
			_, err := env.client(t).InstallFrom(context.Background(), tt.src(t), InstallOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tt.want)
			}
			if d := before.diff(snapshot(t, env.Root)); d != "" {
				t.Errorf("root changed:\n%s", d)
			}
		})
	}
}

func TestInstallRPMOnlyFixFromRepository(t *testing.T) {
	r := newRepo(t, "2.4.1.1", "2.4.1.2")
	r.add(t, packRPM(t, "2.4.1.3", "vendor.sec.asc"))
	r.build(t, publish.BuildOptions{})
	env := newEnv(t, envOptions{Repo: r})
	c := env.client(t)
	res, err := c.Install(context.Background(), InstallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Installed) != 3 || res.Installed[2].File != "acme-hotfix-2_4_1_3-1-0.noarch.rpm" {
		t.Fatalf("installed %+v", res.Installed)
	}
	if got := strings.Join(installedVersions(t, c), " "); got != "2.4.1.1 2.4.1.2 2.4.1.3" {
		t.Fatalf("installed: %s", got)
	}
}

// A paused server installs nothing from a file either.
func TestInstallFromRefusesWhilePaused(t *testing.T) {
	env := newEnv(t, envOptions{})
	c := env.client(t)
	if _, err := c.Pause(context.Background(), 0, 0, "full patch running"); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, env.Root)
	_, err := c.InstallFrom(context.Background(), sampleArchives(t)["2.4.1.1"], InstallOptions{})
	if !errors.Is(err, ErrPaused) {
		t.Fatalf("InstallFrom while paused = %v, want ErrPaused", err)
	}
	if d := before.diff(snapshot(t, env.Root)); d != "" {
		t.Errorf("root changed:\n%s", d)
	}
}

// damagedFix returns a source of sample fix 2.4.1.1 as a .fix changed by
// damage.
func damagedFix(damage func(t *testing.T, data []byte) []byte) func(t *testing.T) string {
	return func(t *testing.T) string {
		data, err := os.ReadFile(sampleArchives(t)["2.4.1.1"])
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "acme-2.4.1.1.fix")
		if err := os.WriteFile(p, damage(t, data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
}
