package testkit

import (
	"archive/tar"
	"bytes"
	"io"
	"os/exec"
	"testing"
	"time"
)

// HideTarEntry decompresses a .fix archive (zstd or xz, by its magic
// bytes) with the real zstd or xz, appends a tar stream holding one entry
// name after the archive's tar end-of-archive marker, and compresses it
// again with the same tool. The result is a valid container, and tar -t
// lists it without the hidden entry: what a reader that stops at the
// marker never checks.
func HideTarEntry(tb testing.TB, data []byte, name string, body []byte) []byte {
	tb.Helper()
	tool, level := "xz", "-0"
	if bytes.HasPrefix(data, []byte{0x28, 0xB5, 0x2F, 0xFD}) {
		tool, level = "zstd", "-1"
	}
	cmd := exec.Command(tool, "-dc")
	cmd.Stdin = bytes.NewReader(data)
	tarred, err := cmd.Output()
	if err != nil {
		tb.Fatalf("%s -dc (the %s command is needed: scripts/install-deps.sh): %v", tool, tool, err)
	}
	var hidden bytes.Buffer
	tw := tar.NewWriter(&hidden)
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: int64(len(body)), Mode: 0o644, ModTime: time.Unix(1714564800, 0)}
	if err := tw.WriteHeader(hdr); err != nil {
		tb.Fatal(err)
	}
	if _, err := tw.Write(body); err != nil {
		tb.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	cmd = exec.Command(tool, level, "-c")
	cmd.Stdin = bytes.NewReader(append(tarred, hidden.Bytes()...))
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("%s %s: %v", tool, level, err)
	}
	return out
}

// RewriteTar copies a plain tar stream (an export bundle) entry by entry
// through edit, which returns an entry's new bytes and whether to keep
// it; headers are kept but for the size. What a hand-made or tampered
// bundle looks like.
func RewriteTar(tb testing.TB, data []byte, edit func(name string, data []byte) ([]byte, bool)) []byte {
	tb.Helper()
	tr := tar.NewReader(bytes.NewReader(data))
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			tb.Fatal(err)
		}
		body, keep := edit(hdr.Name, body)
		if !keep {
			continue
		}
		hdr.Size = int64(len(body))
		if err := tw.WriteHeader(hdr); err != nil {
			tb.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}
