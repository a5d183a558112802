package xzsafe

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// CheckFraming checks the framing of the xz file in data without
// decompressing it, as `xz --list` reads a file: walking back from the
// end over stream padding, each stream's footer, its index and the
// blocks the index counts, to a stream header, until the streams fill
// data exactly. It finds data appended after the last stream and a file
// cut anywhere in its last stream's index or footer at the cost of
// reading the indexes; what it cannot see (a damaged block) is found only
// by decompressing, with NewReader. A file NewReader reads to io.EOF
// always passes.
func CheckFraming(data []byte) error {
	pos := len(data)
	if pos == 0 {
		return formatErr("empty input, not an xz stream")
	}
	for stream := 0; pos > 0; stream++ {
		for pos >= 4 && bytes.Equal(data[pos-4:pos], []byte{0, 0, 0, 0}) {
			pos -= 4
		}
		start, err := checkStreamBackwards(data[:pos], stream)
		if err != nil {
			return err
		}
		pos = start
	}
	return nil
}

// checkStreamBackwards checks the stream that ends at the end of data (the
// stream-th counted from the end) and returns where it starts.
func checkStreamBackwards(data []byte, stream int) (int, error) {
	last := "the last stream"
	if stream > 0 {
		last = fmt.Sprintf("stream %d from the end", stream)
	}
	pos := len(data)
	if pos%4 != 0 {
		return 0, formatErr("%d bytes are not a multiple of four: data after the end of %s, or the file was cut", pos, last)
	}
	if pos < streamHeaderLen+streamFooterLen {
		return 0, truncated(fmt.Sprintf("%s: %d bytes cannot hold a stream header and footer", last, pos))
	}
	foot := data[pos-streamFooterLen:]
	if string(foot[10:12]) != footerMagic {
		return 0, formatErr("no stream footer at the end of %s: data after its end, or the file was cut", last)
	}
	if crc32.ChecksumIEEE(foot[4:10]) != binary.LittleEndian.Uint32(foot[:4]) {
		return 0, formatErr("footer of %s: CRC32 mismatch", last)
	}
	indexSize := (int(binary.LittleEndian.Uint32(foot[4:8])) + 1) * 4
	indexEnd := pos - streamFooterLen
	if indexSize > indexEnd-streamHeaderLen {
		return 0, formatErr("footer of %s: an index of %d bytes does not fit in the file", last, indexSize)
	}
	index := data[indexEnd-indexSize : indexEnd]
	blocks, err := indexBlocksSize(index, last)
	if err != nil {
		return 0, err
	}
	start := indexEnd - indexSize - streamHeaderLen
	if blocks > uint64(start) {
		return 0, formatErr("index of %s: its blocks (%d bytes) do not fit in the file", last, blocks)
	}
	start -= int(blocks)
	h := data[start : start+streamHeaderLen]
	if string(h[:6]) != headerMagic {
		return 0, formatErr("%s: no stream header where its index says it starts (byte %d)", last, start)
	}
	if crc32.ChecksumIEEE(h[6:8]) != binary.LittleEndian.Uint32(h[8:12]) {
		return 0, formatErr("%s header: CRC32 mismatch", last)
	}
	if h[6] != foot[8] || h[7] != foot[9] {
		return 0, formatErr("%s: stream flags of the footer differ from the header's", last)
	}
	return start, nil
}

// indexBlocksSize checks an index (indicator, records, padding, CRC32)
// and returns the total size of the blocks it lists, each padded to four
// bytes.
func indexBlocksSize(index []byte, last string) (uint64, error) {
	where := "index of " + last
	if index[0] != 0 {
		return 0, formatErr("%s: no index indicator", where)
	}
	body := index[:len(index)-4]
	if crc32.ChecksumIEEE(body) != binary.LittleEndian.Uint32(index[len(index)-4:]) {
		return 0, formatErr("%s: CRC32 mismatch", where)
	}
	br := bytes.NewReader(body[1:])
	count, err := readVLI(br)
	if err != nil {
		return 0, formatErr("%s: number of records: %v", where, err)
	}
	var total uint64
	for i := uint64(0); i < count; i++ {
		unpadded, err := readVLI(br)
		if err != nil {
			return 0, formatErr("%s: record %d: %v", where, i, err)
		}
		if _, err := readVLI(br); err != nil {
			return 0, formatErr("%s: record %d: %v", where, i, err)
		}
		// Each record takes at least two bytes, so a count larger than
		// the index ends above; total cannot overflow before that.
		total += (unpadded + 3) &^ 3
		if total > 1<<62 {
			return 0, formatErr("%s: blocks larger than any file", where)
		}
	}
	for br.Len() > 0 {
		if b, _ := br.ReadByte(); b != 0 {
			return 0, formatErr("%s: data after its records", where)
		}
	}
	return total, nil
}
