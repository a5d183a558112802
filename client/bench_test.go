package client

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/repo/fixarchive"
	"github.com/hotfix-project/hotfix/repo/publish"
)

// benchFix packs a fix of n files of about size bytes each, spread over
// 25 directories that do not exist in the root, and returns a repository
// that holds it (reached by file://) and the archive.
func benchFix(b testing.TB, n, size int) (repoDir, archive string) {
	b.Helper()
	dir := b.TempDir()
	src := filepath.Join(dir, "src")
	r := rand.New(rand.NewPCG(1000, 4))
	for i := range n {
		crashWrite(b, src, fmt.Sprintf("files/app/m%02d/f%04d.php", i%25, i), crashText(r, size/2+r.IntN(size)), 0o644)
	}
	crashWrite(b, src, "fix.toml", []byte("product = \"bench\"\nversion = \"1.0.1\"\nsummary = \"a fix of many files\"\n"), 0o644)
	archive, _, err := fixarchive.Pack(context.Background(), src, filepath.Join(dir, "out"), fixarchive.PackOptions{})
	if err != nil {
		b.Fatal(err)
	}
	repoDir = filepath.Join(dir, "repo")
	if err := os.Mkdir(repoDir, 0o755); err != nil {
		b.Fatal(err)
	}
	if _, err := publish.Add(context.Background(), repoDir, []string{archive}, publish.AddOptions{}); err != nil {
		b.Fatal(err)
	}
	if _, err := publish.Build(context.Background(), repoDir, publish.BuildOptions{Signer: testSigner(b, "vendor.sec.asc")}); err != nil {
		b.Fatal(err)
	}
	return repoDir, archive
}

// BenchmarkInstall1000Files installs a fix of 1000 files of about 4 KB
// into a fresh root, every fsync included, and, in the same run, unpacks
// the same archive with tar -xJf for the ratio.
func BenchmarkInstall1000Files(b *testing.B) {
	repoDir, archive := benchFix(b, 1000, 4096)
	work := b.TempDir()
	keys, err := filepath.Abs(keyPath("vendor.pub.asc"))
	if err != nil {
		b.Fatal(err)
	}

	b.Run("hotfix", func(b *testing.B) {
		cache := filepath.Join(work, "cache")
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			dir := filepath.Join(work, fmt.Sprint("i", i))
			root := filepath.Join(dir, "root")
			crashWrite(b, root, "VERSION", []byte("1.0\n"), 0o644)
			// One cache for every round: the archive is downloaded once.
			text := strings.Replace(SandboxConfig("file://"+repoDir, "bench", root, keys, dir),
				fmt.Sprintf("cache_dir = %q", filepath.Join(dir, "cache")), fmt.Sprintf("cache_dir = %q", cache), 1)
			cfg, err := ParseConfig("bench.toml", []byte(text))
			if err != nil {
				b.Fatal(err)
			}
			c, err := New(cfg, nil)
			if err != nil {
				b.Fatal(err)
			}
			if i == 0 {
				// The download is not what is measured: fill the cache once.
				if _, err := c.Download(context.Background(), nil, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.StartTimer()
			res, err := c.Install(context.Background(), InstallOptions{})
			if err != nil {
				b.Fatal(err)
			}
			if len(res.Installed) != 1 {
				b.Fatalf("installed %d fixes", len(res.Installed))
			}
			b.StopTimer()
			os.RemoveAll(dir)
			b.StartTimer()
		}
	})

	b.Run("tar-xJf", func(b *testing.B) {
		if _, err := exec.LookPath("tar"); err != nil {
			b.Fatal("tar is needed for the comparison: apt-get install tar xz-utils")
		}
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			dir := filepath.Join(work, fmt.Sprint("t", i))
			if err := os.Mkdir(dir, 0o755); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if out, err := exec.Command("tar", "-xJf", archive, "-C", dir).CombinedOutput(); err != nil {
				b.Fatalf("tar -xJf: %v\n%s", err, out)
			}
			b.StopTimer()
			os.RemoveAll(dir)
			b.StartTimer()
		}
	})
}
