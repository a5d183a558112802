package zstdsafe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

var text = []byte(strings.Repeat("a zstd frame of hotfix text\n", 4000))

// stockZstd compresses data with the zstd command.
func stockZstd(t *testing.T, data []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("zstd", append([]string{"-c", "-q"}, args...)...)
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("zstd %v: %v", args, err)
	}
	return out
}

func goZstd(t *testing.T, data []byte, opts ...zstd.EOption) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return enc.EncodeAll(data, nil)
}

func decode(data []byte, maxWindow int64) ([]byte, error) {
	r, err := NewReader(bytes.NewReader(data), maxWindow)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// stockAccepts says whether zstd -t accepts data.
func stockAccepts(data []byte) bool {
	cmd := exec.Command("zstd", "-t", "-q", "--memory=2048MB")
	cmd.Stdin = bytes.NewReader(data)
	return cmd.Run() == nil
}

// frameHeader builds a frame header: magic, descriptor, window byte or
// content size as given.
func frameHeader(fhd byte, rest ...byte) []byte {
	return append([]byte{0x28, 0xB5, 0x2F, 0xFD, fhd}, rest...)
}

// rawBlock is a last raw block holding p.
func rawBlock(p []byte) []byte {
	v := uint32(len(p))<<3 | 1
	return append([]byte{byte(v), byte(v >> 8), byte(v >> 16)}, p...)
}

func TestValidStreams(t *testing.T) {
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	one := stockZstd(t, text, "-3")
	double := append(bytes.Clone(text), text...)
	tests := []struct {
		name string
		data []byte
		want []byte // nil means text
	}{
		{"zstd -3", one, nil},
		{"zstd -19", stockZstd(t, text, "-19"), nil},
		{"zstd --no-check", stockZstd(t, text, "--no-check"), nil},
		{"no content size", stockZstd(t, text, "--no-content-size"), nil},
		{"klauspost with CRC", goZstd(t, text, zstd.WithEncoderCRC(true)), nil},
		{"two frames", cat(one, one), double},
		{"hand-made raw block", cat(frameHeader(0x20, 5), rawBlock([]byte("hello"))), []byte("hello")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decode(tt.data, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !stockAccepts(tt.data) {
				t.Fatal("zstd -t refuses the valid case")
			}
			want := tt.want
			if want == nil {
				want = text
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("decoded %d bytes that are not the input", len(got))
			}
		})
	}
}

// Hostile frames are refused before anything large is allocated, with an
// error that says what is wrong; stock zstd refuses most of them too (it
// accepts a skippable frame and larger windows, which we never write).
func TestHostileStreams(t *testing.T) {
	one := stockZstd(t, text, "-3")
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	fcs8 := func(n uint64) []byte {
		b := binary.LittleEndian.AppendUint64(nil, n)
		return frameHeader(0xE0, b...) // 8-byte content size, single segment
	}
	skippable := binary.LittleEndian.AppendUint32([]byte{0x50, 0x2A, 0x4D, 0x18}, 8)
	skippable = append(skippable, "hidden!!"...)
	tests := []struct {
		name string
		data []byte
		is   error
		want string
	}{
		{"window of 2 GiB", cat(frameHeader(0x00, (31-10)<<3), rawBlock([]byte("x"))), ErrWindowTooLarge, "a window of 2 GiB"},
		{"window of 3.75 TiB", cat(frameHeader(0x00, 0xFF), rawBlock([]byte("x"))), ErrWindowTooLarge, "more than the limit of 16 MiB"},
		{"window just over the bound", cat(frameHeader(0x00, (24-10)<<3|1), rawBlock([]byte("x"))), ErrWindowTooLarge, "a window of"},
		{"single segment of 1 TiB", cat(fcs8(1<<40), rawBlock([]byte("x"))), ErrWindowTooLarge, "a window of 1024 GiB"},
		{"single segment of 4 GiB-1", cat(frameHeader(0xA0, 0xFF, 0xFF, 0xFF, 0xFF), rawBlock([]byte("x"))), ErrWindowTooLarge, "a window of"},
		{"huge window in the second frame", cat(one, frameHeader(0x00, (30-10)<<3), rawBlock([]byte("x"))), ErrWindowTooLarge, "frame 2 header"},
		{"skippable frame first", cat(skippable, one), ErrFormat, "skippable frame"},
		{"skippable frame after", cat(one, skippable), ErrFormat, "skippable frame"},
		{"dictionary", cat(frameHeader(0x21, 1, 5), rawBlock([]byte("hello"))), ErrFormat, "dictionary"},
		{"reserved bit", cat(frameHeader(0x28, 5), rawBlock([]byte("hello"))), ErrFormat, "reserved bit"},
		{"reserved block type", cat(frameHeader(0x20, 5), []byte{0x07, 0, 0}), ErrFormat, "reserved block type"},
		{"block over 128 KiB", cat(frameHeader(0x00, (20-10)<<3), []byte{0x01, 0x00, 0x20}), ErrFormat, "more than zstd's"},
		{"garbage appended", cat(one, []byte("garbage appended by a mirror")), ErrFormat, "data after the end of frame 1"},
		{"one byte appended", cat(one, []byte{0}), ErrFormat, "1 bytes after the end of frame 1"},
		{"zeros appended", cat(one, make([]byte, 512)), ErrFormat, "data after the end of frame 1"},
		{"cut in the checksum", one[:len(one)-2], io.ErrUnexpectedEOF, "cut short"},
		{"cut in a block", one[:len(one)/2], io.ErrUnexpectedEOF, "cut short"},
		{"cut in the header", one[:5], io.ErrUnexpectedEOF, "frame 1 header"},
		{"not zstd", []byte("just text, no frame"), ErrFormat, "no zstd frame magic"},
		{"empty", nil, ErrFormat, "empty input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := decode(tt.data, 0)
			runtime.ReadMemStats(&after)
			if err == nil || !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("decode: %v, want %v mentioning %q", err, tt.is, tt.want)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
				t.Errorf("refusing it allocated %d MiB", alloc>>20)
			}
		})
	}
}

// A corrupted checksum is refused by the decoder, which checks every
// frame's checksum before io.EOF.
func TestCorruptPayload(t *testing.T) {
	one := stockZstd(t, text, "-3")
	bad := bytes.Clone(one)
	bad[len(bad)-1] ^= 0xFF // the checksum
	if _, err := decode(bad, 0); !errors.Is(err, ErrFormat) {
		t.Fatalf("decode of a frame with a wrong checksum: %v, want ErrFormat", err)
	}
	if stockAccepts(bad) {
		t.Fatal("zstd -t accepts a wrong checksum")
	}
}

// A caller's bound is honoured both ways.
func TestMaxWindow(t *testing.T) {
	data := stockZstd(t, bytes.Repeat(text, 40), "-19") // 8 MiB window... or content size
	if _, err := decode(data, 1<<10); !errors.Is(err, ErrWindowTooLarge) {
		t.Fatalf("with a 1 KiB bound: %v", err)
	}
	if _, err := decode(data, 0); err != nil {
		t.Fatalf("with the default bound: %v", err)
	}
}

// Decoders go back to a pool on Close and are Reset before their next
// stream: whatever the previous stream did (read halfway, refused as
// hostile, a bad checksum), the next one decodes exactly, a closed
// Reader cannot be read, and each window bound keeps decoders of its own.
func TestDecoderReuse(t *testing.T) {
	a := stockZstd(t, text, "-3")
	b := stockZstd(t, bytes.Repeat([]byte("other content "), 9000), "-3")
	badSum := bytes.Clone(b)
	badSum[len(badSum)-1] ^= 0xFF
	hostile := append(frameHeader(0x00, (31-10)<<3), rawBlock([]byte("x"))...)
	wide := stockZstd(t, bytes.Repeat(text, 300), "--long=25", "-1") // 32 MiB window
	for round := range 3 {
		r, err := NewReader(bytes.NewReader(a), 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(r, make([]byte, 1000)); err != nil {
			t.Fatal(err)
		}
		r.Close()
		if n, err := r.Read(make([]byte, 10)); n != 0 || err == nil {
			t.Fatalf("read after Close: %d, %v", n, err)
		}
		r.Close() // twice is harmless
		if _, err := decode(hostile, 0); !errors.Is(err, ErrWindowTooLarge) {
			t.Fatalf("round %d: hostile: %v", round, err)
		}
		if _, err := decode(badSum, 0); !errors.Is(err, ErrFormat) {
			t.Fatalf("round %d: bad checksum: %v", round, err)
		}
		if got, err := decode(wide, 64<<20); err != nil || !bytes.Equal(got, bytes.Repeat(text, 300)) {
			t.Fatalf("round %d: 32 MiB window under a 64 MiB bound: %d bytes, %v", round, len(got), err)
		}
		if _, err := decode(wide, 0); !errors.Is(err, ErrWindowTooLarge) {
			t.Fatalf("round %d: 32 MiB window under the default bound: %v", round, err)
		}
		for _, want := range [][]byte{text, bytes.Repeat([]byte("other content "), 9000)} {
			src := a
			if !bytes.Equal(want, text) {
				src = b
			}
			if got, err := decode(src, 0); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("round %d: a reused decoder gave %d bytes, %v; want %d", round, len(got), err, len(want))
			}
		}
	}
}
