package fixarchive

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/repo"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// The end of an archive: what may follow the last entry, in the tar
// stream and in the xz container around it. The reference for the xz
// layer is what `xz -t` accepts (concatenated streams, stream padding in
// multiples of four zero bytes, nothing else); tar's own rule is looser
// than ours (it ignores whatever follows its end-of-archive marker), so
// an entry hidden there is refused here although tar exits 0.

// rawTar writes entries as a plain tar stream. Without the end marker
// the stream stops after the last entry's padding.
func rawTar(t *testing.T, endMarker bool, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.hdr
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Flush(); err != nil {
		t.Fatal(err)
	}
	if !endMarker {
		return buf.Bytes()
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// xzOf compresses data as one xz stream.
func xzOf(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	xw, err := xz.WriterConfig{DictCap: 1 << 20}.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := xw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := xw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// zstdOf compresses data as one zstd frame with a checksum.
func zstdOf(t *testing.T, data []byte) []byte {
	t.Helper()
	zw, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer zw.Close()
	return zw.EncodeAll(data, nil)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// endEntries is the valid payload of the end cases: the manifest and its
// one file.
func endEntries(t *testing.T) []tarEntry {
	ok := map[string][]byte{"lib/ok.php": okBody}
	return []tarEntry{reg(repo.ManifestName, hostileManifest(t, ok, nil)), reg("files/lib/ok.php", okBody)}
}

// endCases are the hostile fixtures about the end of an archive; they
// join hostileCases, so that every reader and the fuzzer see them.
func endCases() []hostileCase {
	valid := func(t *testing.T) []byte { return xzOf(t, rawTar(t, true, endEntries(t)...)) }
	evil := reg("files/lib/evil.php", evilBody)
	return []hostileCase{
		{"xz-trailing-byte.fix", func(t *testing.T) []byte {
			return cat(valid(t), []byte("x"))
		}, []string{"data after the end of stream 0"}},
		{"xz-trailing-garbage.fix", func(t *testing.T) []byte {
			return cat(valid(t), []byte("garbage appended by a broken mirror\n"))
		}, []string{"stream 1 header: bad magic", "data after the end of stream 0"}},
		{"xz-cut-footer.fix", func(t *testing.T) []byte {
			v := valid(t)
			return v[:len(v)-5]
		}, []string{"truncated xz stream: stream 0 footer"}},
		{"xz-no-footer.fix", func(t *testing.T) []byte {
			v := valid(t)
			return v[:len(v)-12]
		}, []string{"truncated xz stream"}},
		{"xz-cut-index.fix", func(t *testing.T) []byte {
			v := valid(t)
			return v[:len(v)-14]
		}, []string{"truncated xz stream: stream 0 index"}},
		{"xz-odd-padding.fix", func(t *testing.T) []byte {
			return cat(valid(t), []byte{0, 0, 0, 0, 0})
		}, []string{"truncated xz stream: stream padding"}},
		{"tar-hidden-entry.fix", func(t *testing.T) []byte {
			// A whole valid tar stream follows the first one's end
			// marker: tar -t lists only the first part.
			return xzOf(t, cat(rawTar(t, true, endEntries(t)...), rawTar(t, true, evil)))
		}, []string{"data after the tar end-of-archive marker", "0 bytes after the marker"}},
		{"tar-hidden-stream.fix", func(t *testing.T) []byte {
			// The hidden entry in a second xz stream: valid xz, which
			// xz -t accepts.
			return cat(valid(t), xzOf(t, rawTar(t, true, evil)))
		}, []string{"data after the tar end-of-archive marker"}},
		{"tar-data-after-padding.fix", func(t *testing.T) []byte {
			return xzOf(t, cat(rawTar(t, true, endEntries(t)...), make([]byte, 8192), []byte{1}))
		}, []string{"data after the tar end-of-archive marker", "8192 bytes after the marker"}},
		{"tar-no-end-marker.fix", func(t *testing.T) []byte {
			return xzOf(t, rawTar(t, false, endEntries(t)...))
		}, []string{"without its end-of-archive marker"}},
		{"tar-lone-zero-block.fix", func(t *testing.T) []byte {
			return xzOf(t, cat(rawTar(t, false, endEntries(t)...), make([]byte, 512)))
		}, []string{"without its end-of-archive marker"}},
		{"zstd-trailing-byte.fix", func(t *testing.T) []byte {
			return cat(zstdOf(t, rawTar(t, true, endEntries(t)...)), []byte("x"))
		}, []string{"zstd", "after the end of frame 1"}},
		{"zstd-trailing-garbage.fix", func(t *testing.T) []byte {
			return cat(zstdOf(t, rawTar(t, true, endEntries(t)...)), []byte("garbage appended by a broken mirror\n"))
		}, []string{"zstd", "after the end of frame 1"}},
		{"zstd-cut-checksum.fix", func(t *testing.T) []byte {
			z := zstdOf(t, rawTar(t, true, endEntries(t)...))
			return z[:len(z)-2]
		}, []string{"cut short"}},
		{"tar-zstd-hidden-entry.fix", func(t *testing.T) []byte {
			return zstdOf(t, cat(rawTar(t, true, endEntries(t)...), rawTar(t, true, evil)))
		}, []string{"data after the tar end-of-archive marker", "0 bytes after the marker"}},
		{"tar-zstd-hidden-frame.fix", func(t *testing.T) []byte {
			// The hidden entry in a second frame: valid zstd, which
			// zstd -t accepts.
			return cat(zstdOf(t, rawTar(t, true, endEntries(t)...)), zstdOf(t, rawTar(t, true, evil)))
		}, []string{"data after the tar end-of-archive marker"}},
		{"tar-too-many-zeros.fix", func(t *testing.T) []byte {
			return xzOf(t, cat(rawTar(t, true, endEntries(t)...), make([]byte, MaxTrailingZeros+1)))
		}, []string{"more than 1048576 bytes of zeros after the tar end-of-archive marker"}},
	}
}

// What a real writer may put at the end is accepted: GNU tar's record
// padding, xz stream padding, a tar stream split over two xz streams or
// two zstd frames.
func TestArchiveEndAccepted(t *testing.T) {
	tarred := func(t *testing.T) []byte { return rawTar(t, true, endEntries(t)...) }
	tests := []struct {
		name string
		make func(t *testing.T) []byte
	}{
		{"plain", func(t *testing.T) []byte { return xzOf(t, tarred(t)) }},
		{"GNU tar record padding", func(t *testing.T) []byte {
			tr := tarred(t)
			return xzOf(t, cat(tr, make([]byte, 10240-len(tr)%10240)))
		}},
		{"a megabyte of zeros", func(t *testing.T) []byte {
			return xzOf(t, cat(tarred(t), make([]byte, MaxTrailingZeros)))
		}},
		{"xz stream padding", func(t *testing.T) []byte { return cat(xzOf(t, tarred(t)), make([]byte, 8)) }},
		{"two xz streams", func(t *testing.T) []byte {
			tr := tarred(t)
			return cat(xzOf(t, tr[:700]), []byte{0, 0, 0, 0}, xzOf(t, tr[700:]))
		}},
		{"two zstd frames", func(t *testing.T) []byte {
			tr := tarred(t)
			return cat(zstdOf(t, tr[:700]), zstdOf(t, tr[700:]))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "acme-2.4.1.2.fix")
			if err := os.WriteFile(path, tt.make(t), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := VerifyArchiveFile(t.Context(), path); err != nil {
				t.Fatal(err)
			}
			tool := "xz"
			if strings.Contains(tt.name, "zstd") {
				tool = "zstd"
			}
			if err := realTest(t, tool, path); err != nil {
				t.Errorf("%s -t refuses what hotfix accepts: %v", tool, err)
			}
		})
	}
}

// The end cases against the real tools: where hotfix refuses the xz
// container, xz -t does too; where it refuses what follows the tar end
// marker, tar lists the archive without the hidden entry, which is why
// hotfix must not rely on tar's view.
func TestArchiveEndAgainstRealTools(t *testing.T) {
	for _, c := range endCases() {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join("testdata", "hostile", c.name)
			tool, tarFlag := "xz", "-J"
			if strings.Contains(c.name, "zstd-") {
				tool, tarFlag = "zstd", "--zstd"
			}
			toolErr := realTest(t, tool, path)
			switch {
			case strings.HasPrefix(c.name, "xz-"), strings.HasPrefix(c.name, "zstd-"):
				if toolErr == nil {
					t.Errorf("%s -t accepts %s, which hotfix refuses", tool, c.name)
				}
			case strings.HasPrefix(c.name, "tar-"):
				if toolErr != nil {
					t.Fatalf("%s -t refuses %s (%v): the case is meant to be a valid container", tool, c.name, toolErr)
				}
				out, _ := exec.Command("tar", tarFlag, "-tf", path).CombinedOutput()
				if strings.Contains(string(out), "evil.php") {
					t.Errorf("tar lists the hidden entry: %s", out)
				}
			}
		})
	}
}

// realTest runs `TOOL -t` (xz or zstd) on path.
func realTest(t *testing.T, tool, path string) error {
	t.Helper()
	toolPath, err := exec.LookPath(tool)
	if err != nil {
		t.Fatalf("the %s command is needed (scripts/install-deps.sh): %v", tool, err)
	}
	out, err := exec.Command(toolPath, "-t", path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}
