package zstdsafe

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// FuzzReader feeds arbitrary bytes to the decoder: it may not panic or
// hang, and fails only with the documented errors.
func FuzzReader(f *testing.F) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderCRC(true))
	if err != nil {
		f.Fatal(err)
	}
	good := enc.EncodeAll([]byte("hotfix zstd frame\n"), nil)
	f.Add(good)
	f.Add(append(append([]byte{}, good...), good...))
	f.Add(good[:len(good)-1])
	f.Add(append(append([]byte{}, good...), 0))
	f.Add(frameHeader(0x00, 0x7f)) // a huge window
	f.Add(frameHeader(0x20, 0xff)) // single segment
	f.Add([]byte{0x50, 0x2A, 0x4D, 0x18, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data), 1<<20)
		if err != nil {
			t.Fatalf("NewReader: %v", err)
		}
		defer r.Close()
		_, readErr := io.Copy(io.Discard, io.LimitReader(r, 64<<20))
		if readErr != nil && !errors.Is(readErr, ErrFormat) && !errors.Is(readErr, ErrWindowTooLarge) && !errors.Is(readErr, io.ErrUnexpectedEOF) {
			t.Errorf("decoder error outside the documented ones: %v", readErr)
		}
	})
}
