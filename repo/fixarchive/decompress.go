package fixarchive

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	"github.com/hotfix-project/hotfix/internal/xzsafe"
	"github.com/hotfix-project/hotfix/internal/zstdsafe"
)

var xzMagic = []byte{0xFD, '7', 'z', 'X', 'Z', 0x00}

// DetectCompression tells a .fix archive's compression by its first bytes,
// so archives packed with xz before zstd became the default still read.
func DetectCompression(head []byte) (Compression, error) {
	switch {
	case bytes.HasPrefix(head, zstdsafe.Magic):
		return Zstd, nil
	case len(head) >= 4 && head[0]&0xF0 == 0x50 && bytes.Equal(head[1:4], []byte{0x2A, 0x4D, 0x18}):
		return Zstd, nil // a skippable frame: zstdsafe refuses it by name
	case bytes.HasPrefix(head, xzMagic):
		return XZ, nil
	}
	n := min(len(head), 6)
	return "", fmt.Errorf("neither zstd nor xz (the file starts with %x): not a .fix archive, or a damaged one", head[:n])
}

// decompressor returns the decompressed stream of r, bounded for hostile
// input (window and dictionary sizes), and the compression it found.
func decompressor(r io.Reader) (io.Reader, Compression, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(len(xzMagic))
	c, err := DetectCompression(head)
	if err != nil {
		return nil, "", err
	}
	var zr io.Reader
	if c == Zstd {
		zr, err = zstdsafe.NewReader(br, 0)
	} else {
		zr, err = xzsafe.NewReader(br, 0)
	}
	if err != nil {
		return nil, c, fmt.Errorf("%s: %w", c, err)
	}
	return zr, c, nil
}
