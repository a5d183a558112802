package xzsafe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
)

// The end of a stream: its index and footer, the variable-length integers
// they are written in, and the names used in error messages.

// indexReader feeds the index bytes into its CRC32 and counts them.
type indexReader struct {
	r   *reader
	crc hash.Hash32
	n   int64
}

func (ir *indexReader) ReadByte() (byte, error) {
	b, err := ir.r.br.ReadByte()
	if err != nil {
		return 0, err
	}
	ir.crc.Write([]byte{b})
	ir.n++
	return b, nil
}

func (ir *indexReader) vli(what string) (uint64, error) {
	v, err := readVLI(ir)
	if err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return 0, truncated(fmt.Sprintf("stream %d index", ir.r.stream))
		}
		if errors.Is(err, errVLI) {
			return 0, formatErr("stream %d index: %s: %v", ir.r.stream, what, err)
		}
		return 0, fmt.Errorf("read xz stream %d index: %w", ir.r.stream, err)
	}
	return v, nil
}

// readIndexAndFooter is called after the index indicator byte was read.
func (r *reader) readIndexAndFooter() error {
	where := fmt.Sprintf("stream %d index", r.stream)
	ir := &indexReader{r: r, crc: crc32.NewIEEE(), n: 1}
	ir.crc.Write([]byte{0})
	count, err := ir.vli("number of records")
	if err != nil {
		return err
	}
	if count != r.blocks.count {
		return formatErr("%s: %d records for %d blocks", where, count, r.blocks.count)
	}
	var seen indexSummary
	seen.reset()
	for i := uint64(0); i < count; i++ {
		unpadded, err := ir.vli("unpadded size")
		if err != nil {
			return err
		}
		uncompressed, err := ir.vli("uncompressed size")
		if err != nil {
			return err
		}
		seen.add(unpadded, uncompressed)
	}
	if !seen.equal(&r.blocks) {
		return formatErr("%s: records do not match the blocks", where)
	}
	for ir.n%4 != 0 {
		b, err := ir.ReadByte()
		if err != nil {
			return truncated(where)
		}
		if b != 0 {
			return formatErr("%s: non-zero index padding", where)
		}
	}
	indexSize := ir.n + 4
	var tail [4 + streamFooterLen]byte
	if err := r.readFull(tail[:4], where); err != nil {
		return err
	}
	if ir.crc.Sum32() != binary.LittleEndian.Uint32(tail[:4]) {
		return formatErr("%s: CRC32 mismatch", where)
	}
	foot := tail[4:]
	fwhere := fmt.Sprintf("stream %d footer", r.stream)
	if err := r.readFull(foot, fwhere); err != nil {
		return err
	}
	if string(foot[10:12]) != footerMagic {
		return formatErr("%s: bad magic", fwhere)
	}
	if crc32.ChecksumIEEE(foot[4:10]) != binary.LittleEndian.Uint32(foot[:4]) {
		return formatErr("%s: CRC32 mismatch", fwhere)
	}
	if foot[8] != r.flags[0] || foot[9] != r.flags[1] {
		return formatErr("%s: stream flags differ from the header's", fwhere)
	}
	backward := (int64(binary.LittleEndian.Uint32(foot[4:8])) + 1) * 4
	if backward != indexSize {
		return formatErr("%s: backward size %d, but the index is %d bytes", fwhere, backward, indexSize)
	}
	return nil
}

// afterStream consumes stream padding and reads the next stream's header, or
// returns io.EOF at the end of the input.
func (r *reader) afterStream() error {
	for {
		b, err := r.br.Peek(1)
		if err == io.EOF {
			return io.EOF
		}
		if err != nil {
			return fmt.Errorf("read xz after stream %d: %w", r.stream, err)
		}
		if b[0] != 0 {
			r.stream++
			if err := r.readStreamHeader(false); err != nil {
				// Concatenated streams are valid xz (xz -t accepts
				// them), so what follows a stream is read as the next
				// one; when it is not, say what it most likely is.
				return fmt.Errorf("%w (data after the end of stream %d: the file was damaged or something was appended to it)", err, r.stream-1)
			}
			return nil
		}
		var pad [4]byte
		if err := r.readFull(pad[:], fmt.Sprintf("stream padding after stream %d", r.stream)); err != nil {
			return err
		}
		if pad != [4]byte{} {
			return formatErr("non-zero stream padding after stream %d", r.stream)
		}
	}
}

// dictSize decodes the LZMA2 dictionary size property (0..40).
func dictSize(p byte) int64 {
	if p == 40 {
		return 1<<32 - 1
	}
	return int64(2|p&1) << (p/2 + 11)
}

var errVLI = errors.New("invalid multibyte integer")

// readVLI reads an xz multibyte integer.
func readVLI(br io.ByteReader) (uint64, error) {
	var v uint64
	for i := range vliMaxBytes {
		b, err := br.ReadByte()
		if err != nil {
			if i > 0 && err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		v |= uint64(b&0x7f) << (7 * i)
		if b&0x80 == 0 {
			if b == 0 && i > 0 {
				return 0, fmt.Errorf("%w: not minimally encoded", errVLI)
			}
			return v, nil
		}
	}
	return 0, fmt.Errorf("%w: longer than %d bytes", errVLI, vliMaxBytes)
}

// decodeVLI decodes an xz multibyte integer from the front of p.
func decodeVLI(p []byte) (uint64, int, error) {
	br := bytes.NewReader(p)
	v, err := readVLI(br)
	if err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return 0, 0, fmt.Errorf("%w: runs past the end of the header", errVLI)
		}
		return 0, 0, err
	}
	return v, len(p) - br.Len(), nil
}

func filterName(id uint64) string {
	names := map[uint64]string{
		0x03: "delta",
		0x04: "x86 BCJ",
		0x05: "PowerPC BCJ",
		0x06: "IA-64 BCJ",
		0x07: "ARM BCJ",
		0x08: "ARM-Thumb BCJ",
		0x09: "SPARC BCJ",
		0x0a: "ARM64 BCJ",
		0x0b: "RISC-V BCJ",
		0x21: "LZMA2",
	}
	if n, ok := names[id]; ok {
		return fmt.Sprintf("%s (%#x)", n, id)
	}
	return fmt.Sprintf("%#x", id)
}

func checkName(id byte) string {
	switch id {
	case 0x01:
		return "CRC32"
	case 0x04:
		return "CRC64"
	case 0x0a:
		return "SHA-256"
	}
	return "none"
}

func formatSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n > 1<<30:
		return fmt.Sprintf("%d bytes (%.1f GiB)", n, float64(n)/(1<<30))
	}
	return fmt.Sprintf("%d bytes", n)
}
