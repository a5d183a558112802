package publish

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/internal/demo"
	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/fixarchive"
)

// damaged variants of a packed archive, as a broken mirror, a cut copy or
// a hand-made archive would leave them.
type damage struct {
	name string
	fn   func(t *testing.T, data []byte) []byte
	want string
}

func appendBytes(b string) func(t *testing.T, data []byte) []byte {
	return func(t *testing.T, data []byte) []byte { return append(bytes.Clone(data), b...) }
}

func cutBytes(n int) func(t *testing.T, data []byte) []byte {
	return func(t *testing.T, data []byte) []byte { return bytes.Clone(data[:len(data)-n]) }
}

// hideEntry hides a web shell after the tar end-of-archive marker.
func hideEntry(t *testing.T, data []byte) []byte {
	return testkit.HideTarEntry(t, data, "files/app/shell.php", []byte("<?php system($_GET['c']);\n"))
}

var containerDamage = []damage{
	{"one byte appended", appendBytes("x"), ""},
	{"garbage appended", appendBytes("garbage appended by a broken mirror\n"), ""},
	{"end cut by 5 bytes", cutBytes(5), ""},
	{"end cut by 12 bytes", cutBytes(12), ""},
}

var compressions = []fixarchive.Compression{fixarchive.Zstd, fixarchive.XZ}

// packSampleAs packs the demo fixes with compression c.
func packSampleAs(t *testing.T, c fixarchive.Compression) []string {
	t.Helper()
	dir := sample(t)
	var paths []string
	for _, v := range demo.FixVersions {
		p, _, err := fixarchive.Pack(t.Context(), filepath.Join(dir, "fixes", v), filepath.Join(dir, "out"), fixarchive.PackOptions{Epoch: testEpoch, Compression: c})
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// repo add reads every archive to its end, so no damaged container and no
// hidden entry gets in, zstd or xz.
func TestAddRefusesDamagedArchives(t *testing.T) {
	for _, c := range compressions {
		paths := packSampleAs(t, c)
		for _, d := range append(containerDamage, damage{"entry hidden after the tar end", hideEntry, "data after the tar end-of-archive marker"}) {
			t.Run(string(c)+"/"+d.name, func(t *testing.T) {
				root := t.TempDir()
				if _, err := Add(t.Context(), root, paths[:2], AddOptions{}); err != nil {
					t.Fatal(err)
				}
				data, _ := os.ReadFile(paths[2])
				bad := filepath.Join(t.TempDir(), filepath.Base(paths[2]))
				os.WriteFile(bad, d.fn(t, data), 0o644)
				_, err := Add(t.Context(), root, []string{bad}, AddOptions{})
				testkit.WantErr(t, err, bad, "invalid fix archive", d.want)
				if _, serr := os.Stat(filepath.Join(channelDir(root), filepath.Base(bad))); serr == nil {
					t.Error("the refused archive was put into the channel")
				}
			})
		}
	}
}

// repo build, for an archive copied into a channel without repo add,
// reads it as repo add does: what was appended, cut off or hidden after
// the tar end is refused before an index lists it.
func TestBuildRefusesDamagedContainers(t *testing.T) {
	for _, c := range compressions {
		paths := packSampleAs(t, c)
		for _, d := range append(containerDamage, damage{"entry hidden after the tar end", hideEntry, "data after the tar end-of-archive marker"}) {
			t.Run(string(c)+"/"+d.name, func(t *testing.T) {
				root := t.TempDir()
				if _, err := Add(t.Context(), root, paths[:2], AddOptions{}); err != nil {
					t.Fatal(err)
				}
				if _, err := Build(t.Context(), root, BuildOptions{Signer: vendorSigner(t)}); err != nil {
					t.Fatal(err)
				}
				name := filepath.Base(paths[2])
				data, _ := os.ReadFile(paths[2])
				os.WriteFile(filepath.Join(channelDir(root), name), d.fn(t, data), 0o644)
				index := filepath.Join(channelDir(root), repo.IndexName)
				before, _ := os.ReadFile(index)
				_, err := Build(t.Context(), root, BuildOptions{Signer: vendorSigner(t)})
				testkit.WantErr(t, err, name, "invalid fix archive", d.want)
				if after, _ := os.ReadFile(index); !bytes.Equal(before, after) {
					t.Error("a refused build rewrote index.json")
				}
			})
		}
	}
}

// An archive changed after the build that signed it (an entry hidden
// after the tar end by hand, say) is what repo verify finds, before a
// publish sends it to servers.
func TestVerifyFindsArchivesChangedAfterBuild(t *testing.T) {
	for _, c := range compressions {
		t.Run(string(c), func(t *testing.T) {
			paths := packSampleAs(t, c)
			root := t.TempDir()
			if _, err := Add(t.Context(), root, paths, AddOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := Build(t.Context(), root, BuildOptions{Signer: vendorSigner(t)}); err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(paths[2])
			if err := os.WriteFile(filepath.Join(channelDir(root), filepath.Base(paths[2])), hideEntry(t, data), 0o644); err != nil {
				t.Fatal(err)
			}
			problems := verify(t, root, vendorPublic)
			if len(problems) != 1 || !strings.Contains(problems[0], "acme-2.4.1.3.fix") || !strings.Contains(problems[0], "the index says") {
				t.Fatalf("problems: %q, want one naming acme-2.4.1.3.fix against its index entry", problems)
			}
		})
	}
}

// repo build compares an RPM's size with the size its signature header
// records (cheap, no payload read): data appended or a cut is refused.
func TestBuildRefusesDamagedRPMs(t *testing.T) {
	chain := packChain(t, "tool", 2, func(int) int { return 2048 }, true) // fix 1 .fix, .rpm, fix 2 .fix, .rpm
	for _, d := range []damage{
		{"one byte appended", appendBytes("x"), "appended"},
		{"garbage appended", appendBytes("garbage appended by a broken mirror\n"), "appended"},
		{"cut short", cutBytes(10), "cut short"},
	} {
		t.Run(d.name, func(t *testing.T) {
			root := t.TempDir()
			if _, err := Add(t.Context(), root, chain[:2], AddOptions{}); err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(chain[3])
			name := filepath.Base(chain[3])
			if err := os.WriteFile(filepath.Join(root, "tool", "1.0", name), d.fn(t, data), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Build(t.Context(), root, BuildOptions{Signer: vendorSigner(t)})
			testkit.WantErr(t, err, name, "invalid RPM fix package", d.want)
			if _, serr := os.Stat(filepath.Join(root, "tool", "1.0", repo.IndexName)); serr == nil {
				t.Error("a refused build wrote index.json")
			}
		})
	}
}
