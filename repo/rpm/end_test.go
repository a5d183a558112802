package rpm

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cavaliergopher/cpio"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// compressor returns a writer of the named payload compression ("" is
// zstd, what hotfix writes) into w.
func compressor(t testing.TB, name string, w io.Writer) io.WriteCloser {
	t.Helper()
	var zw io.WriteCloser
	var err error
	switch name {
	case "", "zstd", "lzma":
		zw, err = zstd.NewWriter(w)
	case "zstd-256MiB-window":
		// The zstd command, reading a pipe (no content size, so the frame
		// header declares the window), with --long=28: 256 MiB.
		return &cmdCompressor{w: w, args: []string{"-q", "-c", "--long=28"}}
	case "gzip":
		zw = gzip.NewWriter(w)
	case "xz":
		zw, err = xz.WriterConfig{DictCap: 1 << 20}.NewWriter(w)
	default:
		t.Fatalf("no test compressor %q", name)
	}
	if err != nil {
		t.Fatal(err)
	}
	return zw
}

// hiddenCPIO is a whole cpio archive with one entry, to hide after the
// trailer of the real payload.
func hiddenCPIO(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	cw := cpio.NewWriter(&buf)
	body := []byte("* * * * * root /tmp/evil\n")
	if err := cw.WriteHeader(&cpio.Header{Name: "/etc/cron.d/evil", Mode: 0o100644, Size: int64(len(body)), Links: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := cw.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := cw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The payload is read to its true end, in every compression a package may
// use: the cpio trailer must be there, only zeros may follow it, and the
// compressed stream must end cleanly with nothing after it.
func TestPayloadEnd(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(s *testRPM)
		want   string
	}{
		{"plain", func(s *testRPM) {}, ""},
		{"zeros after the trailer, to a 512-byte block", func(s *testRPM) { s.afterTrailer = make([]byte, 300) }, ""},
		{"a megabyte of zeros after the trailer", func(s *testRPM) { s.afterTrailer = make([]byte, maxTrailingZeros-1024) }, ""},
		{"an entry hidden after the trailer", func(s *testRPM) { s.afterTrailer = hiddenCPIO(t) }, "data after the cpio trailer"},
		{"a byte after the trailer's padding", func(s *testRPM) { s.afterTrailer = append(make([]byte, 509), 1) }, "data after the cpio trailer (at byte"},
		{"too many zeros after the trailer", func(s *testRPM) { s.afterTrailer = make([]byte, maxTrailingZeros+4) }, "more than 1048576 bytes of zeros after the cpio trailer"},
		{"no trailer", func(s *testRPM) { s.noTrailer = true }, "without the cpio trailer"},
		{"one byte after the compressed stream", func(s *testRPM) { s.afterStream = []byte{'x'} }, "after the cpio trailer"},
		{"garbage after the compressed stream", func(s *testRPM) { s.afterStream = []byte("garbage appended by a broken tool\n") }, "after the cpio trailer"},
		{"the compressed stream's end cut off", func(s *testRPM) { s.cutStream = 4 }, "invalid RPM fix package"},
	}
	for _, comp := range []string{"zstd", "gzip", "xz"} {
		for _, tt := range tests {
			t.Run(comp+"/"+tt.name, func(t *testing.T) {
				s := hostileBase(t)
				s.compressor = comp
				tt.mutate(&s)
				dir := t.TempDir()
				p := s.build(t, dir)
				_, _, err := Verify(context.Background(), p, vendorTrust(t))
				checkErr(t, err, tt.want)
				dest := filepath.Join(dir, "staging")
				_, err = Extract(context.Background(), p, dest, vendorTrust(t))
				checkErr(t, err, tt.want)
				if err != nil {
					if _, serr := os.Lstat(dest); !errors.Is(serr, fs.ErrNotExist) {
						t.Errorf("staging %s left behind after refusal", dest)
					}
				}
			})
		}
	}
}

// A zstd payload is read through the same checked reader as .fix
// archives: a frame declaring a huge window (the memory a hostile package
// could make the reader take) and a skippable frame (bytes no decoder
// shows) are refused before anything is decoded or written.
func TestPayloadZstdBounds(t *testing.T) {
	skippable := []byte{0x50, 0x2A, 0x4D, 0x18, 4, 0, 0, 0, 'e', 'v', 'i', 'l'}
	for _, tt := range []struct {
		name   string
		mutate func(s *testRPM)
		want   string
	}{
		{"a 256 MiB window", func(s *testRPM) { s.compressor = "zstd-256MiB-window" }, "window of 256 MiB, more than the limit of 64 MiB"},
		{"a skippable frame after the payload", func(s *testRPM) { s.afterStream = skippable }, "skippable frame"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := hostileBase(t)
			s.compressor = "zstd"
			tt.mutate(&s)
			dir := t.TempDir()
			p := s.build(t, dir)
			_, _, err := Verify(context.Background(), p, vendorTrust(t))
			checkErr(t, err, tt.want)
			dest := filepath.Join(dir, "staging")
			_, err = Extract(context.Background(), p, dest, vendorTrust(t))
			checkErr(t, err, tt.want)
			if _, serr := os.Lstat(dest); !errors.Is(serr, fs.ErrNotExist) {
				t.Errorf("staging %s left behind after refusal", dest)
			}
		})
	}
}

// cmdCompressor compresses what is written to it with the zstd command
// when closed.
type cmdCompressor struct {
	w    io.Writer
	args []string
	buf  bytes.Buffer
}

func (c *cmdCompressor) Write(p []byte) (int, error) { return c.buf.Write(p) }

func (c *cmdCompressor) Close() error {
	cmd := exec.Command("zstd", c.args...)
	cmd.Stdin = &c.buf
	cmd.Stdout = c.w
	return cmd.Run()
}
