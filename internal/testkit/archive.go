package testkit

import (
	"archive/tar"
	"bytes"
	"os/exec"
	"testing"
	"time"
)

// HideTarEntry decompresses a .fix archive (xz data) with the real xz,
// appends a tar stream holding one entry name after the archive's tar
// end-of-archive marker, and compresses it again. The result is valid xz,
// and tar -t lists it without the hidden entry: what a reader that stops
// at the marker never checks.
func HideTarEntry(tb testing.TB, data []byte, name string, body []byte) []byte {
	tb.Helper()
	cmd := exec.Command("xz", "-dc")
	cmd.Stdin = bytes.NewReader(data)
	tarred, err := cmd.Output()
	if err != nil {
		tb.Fatalf("xz -dc (the xz command is needed: apt-get install xz-utils): %v", err)
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
	cmd = exec.Command("xz", "-0", "-c")
	cmd.Stdin = bytes.NewReader(append(tarred, hidden.Bytes()...))
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("xz -0: %v", err)
	}
	return out
}
