package xzsafe

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"

	"github.com/ulikunitz/xz/lzma"
)

// DefaultMaxDict is the largest LZMA2 dictionary accepted by default: 64 MiB
// (xz -9 uses 64 MiB; hotfix pack writes 8 MiB).
const DefaultMaxDict = 64 << 20

// ErrDictTooLarge is returned (wrapped, with the size asked for and the bound)
// when a block asks for a larger LZMA2 dictionary than the caller allows.
var ErrDictTooLarge = errors.New("xz LZMA2 dictionary too large")

// ErrFormat is returned (wrapped, with the reason) when the input is not an
// xz stream, is corrupt, fails an integrity check, or uses a feature this
// package refuses (filters other than a single LZMA2).
var ErrFormat = errors.New("invalid xz data")

const (
	headerMagic = "\xfd7zXZ\x00"
	footerMagic = "YZ"

	streamHeaderLen = 12
	streamFooterLen = 12

	filterLZMA2 = 0x21

	// vliMaxBytes is the longest encoding of an xz multibyte integer
	// (63 bits).
	vliMaxBytes = 9
)

var crc64Table = crc64.MakeTable(crc64.ECMA)

// NewReader returns a reader of the data decompressed from the xz stream(s)
// in r. Blocks asking for an LZMA2 dictionary larger than maxDict bytes are
// refused with ErrDictTooLarge; maxDict <= 0 means DefaultMaxDict. The
// stream header is read and checked before NewReader returns.
func NewReader(r io.Reader, maxDict int64) (io.Reader, error) {
	if maxDict <= 0 {
		maxDict = DefaultMaxDict
	}
	xr := &reader{br: bufio.NewReader(r), maxDict: maxDict}
	if err := xr.readStreamHeader(true); err != nil {
		return nil, err
	}
	return xr, nil
}

// reader decodes a sequence of xz streams. Between blocks blk is nil.
type reader struct {
	br      *bufio.Reader
	maxDict int64
	err     error

	stream    int // index of the current stream, for messages
	flags     [2]byte
	checkID   byte
	checkSize int

	// Running summary of the blocks seen in this stream, compared with the
	// index. Hashing the records keeps memory constant however many blocks a
	// hostile stream has.
	blocks  indexSummary
	nblock  int // index of the current block within the stream
	blk     *lzma.Reader2
	in      blockInput
	check   hash.Hash // nil for check type none
	hdrSize int64
	cSize   int64 // declared compressed size, -1 if absent
	uSize   int64 // declared uncompressed size, -1 if absent
	uBytes  int64 // uncompressed bytes produced so far in this block
}

// indexSummary condenses a list of index records as xz-utils' index_hash
// does: count, sums, and a hash of the records in order.
type indexSummary struct {
	count        uint64
	unpaddedSum  uint64
	uncompressed uint64
	h            hash.Hash
}

func (s *indexSummary) reset() {
	*s = indexSummary{h: sha256.New()}
}

func (s *indexSummary) add(unpadded, uncompressed uint64) {
	s.count++
	s.unpaddedSum += unpadded
	s.uncompressed += uncompressed
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], unpadded)
	binary.LittleEndian.PutUint64(b[8:], uncompressed)
	s.h.Write(b[:])
}

func (s *indexSummary) equal(o *indexSummary) bool {
	return s.count == o.count && s.unpaddedSum == o.unpaddedSum &&
		s.uncompressed == o.uncompressed && bytes.Equal(s.h.Sum(nil), o.h.Sum(nil))
}

// blockInput counts the compressed bytes lzma.Reader2 consumes, enforces the
// declared compressed size, and remembers whether the input ran out, so that
// an LZMA2 error caused by truncation is reported as truncation.
type blockInput struct {
	r         io.Reader
	n         int64
	limit     int64 // -1: none
	eof       bool
	overLimit bool
}

func (b *blockInput) Read(p []byte) (int, error) {
	if b.limit >= 0 {
		if b.n >= b.limit {
			b.overLimit = true
			return 0, io.EOF
		}
		if int64(len(p)) > b.limit-b.n {
			p = p[:b.limit-b.n]
		}
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

func formatErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrFormat}, args...)...)
}

func truncated(where string) error {
	return fmt.Errorf("truncated xz stream: %s: %w", where, io.ErrUnexpectedEOF)
}

// readFull reads len(p) bytes, reporting a short read as truncation of where.
func (r *reader) readFull(p []byte, where string) error {
	if _, err := io.ReadFull(r.br, p); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return truncated(where)
		}
		return fmt.Errorf("read xz %s: %w", where, err)
	}
	return nil
}

func (r *reader) readStreamHeader(first bool) error {
	var h [streamHeaderLen]byte
	if first {
		// An empty input is not an xz stream at all, rather than a
		// truncated one.
		if _, err := r.br.Peek(1); err == io.EOF {
			return formatErr("empty input, not an xz stream")
		}
	}
	where := fmt.Sprintf("stream %d header", r.stream)
	n, err := io.ReadFull(r.br, h[:])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return fmt.Errorf("read xz %s: %w", where, err)
	}
	if m := min(n, len(headerMagic)); string(h[:m]) != headerMagic[:m] {
		return formatErr("%s: bad magic, not an xz stream", where)
	}
	if err != nil {
		return truncated(where)
	}
	if string(h[:6]) != headerMagic {
		return formatErr("%s: bad magic, not an xz stream", where)
	}
	if crc32.ChecksumIEEE(h[6:8]) != binary.LittleEndian.Uint32(h[8:12]) {
		return formatErr("%s: CRC32 mismatch", where)
	}
	if err := r.setFlags(h[6], h[7], where); err != nil {
		return err
	}
	r.blocks.reset()
	r.nblock = 0
	return nil
}

func (r *reader) setFlags(f0, f1 byte, where string) error {
	if f0 != 0 || f1&0xf0 != 0 {
		return formatErr("%s: reserved stream flags set (%#02x %#02x)", where, f0, f1)
	}
	r.flags = [2]byte{f0, f1}
	r.checkID = f1 & 0x0f
	switch r.checkID {
	case 0x00:
		r.checkSize = 0
	case 0x01:
		r.checkSize = 4
	case 0x04:
		r.checkSize = 8
	case 0x0a:
		r.checkSize = 32
	default:
		return formatErr("%s: unsupported check type %#02x", where, r.checkID)
	}
	return nil
}

func (r *reader) newCheck() hash.Hash {
	switch r.checkID {
	case 0x01:
		return crc32.NewIEEE()
	case 0x04:
		return crc64.New(crc64Table)
	case 0x0a:
		return sha256.New()
	}
	return nil
}

// Read implements io.Reader.
func (r *reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if r.blk == nil {
			if err := r.next(); err != nil {
				r.err = err
				return 0, err
			}
			continue
		}
		n, err := r.blk.Read(p)
		if n > 0 {
			r.uBytes += int64(n)
			if r.uSize >= 0 && r.uBytes > r.uSize {
				r.err = formatErr("%s: more uncompressed data than the %d bytes declared in its header", r.blockName(), r.uSize)
				return 0, r.err
			}
			if r.check != nil {
				r.check.Write(p[:n])
			}
		}
		switch {
		case err == io.EOF && !r.blk.EOS():
			// The decoder passes on the io.EOF of a chunk cut short.
			r.err = r.lzmaErr(errors.New("LZMA2 data ended without an end marker"))
			return 0, r.err
		case err == io.EOF:
			if ferr := r.finishBlock(); ferr != nil {
				r.err = ferr
				return 0, ferr
			}
		case err != nil:
			r.err = r.lzmaErr(err)
			return 0, r.err
		}
		if n > 0 {
			return n, nil
		}
	}
}

func (r *reader) blockName() string {
	return fmt.Sprintf("stream %d block %d", r.stream, r.nblock)
}

// lzmaErr classifies an error from the LZMA2 decoder.
func (r *reader) lzmaErr(err error) error {
	switch {
	case r.in.overLimit:
		return formatErr("%s: LZMA2 data longer than the %d bytes declared in its header", r.blockName(), r.in.limit)
	case r.in.eof:
		return truncated(r.blockName() + " data")
	}
	return formatErr("%s: corrupt LZMA2 data: %v", r.blockName(), err)
}

// next reads what follows a block or a stream header: the next block header
// (and starts decoding it), or the index, stream footer, padding and possibly
// the next stream's header. It returns io.EOF at the validated end of input.
func (r *reader) next() error {
	b, err := r.br.ReadByte()
	if err != nil {
		if err == io.EOF {
			return truncated(fmt.Sprintf("stream %d: block header or index", r.stream))
		}
		return fmt.Errorf("read xz stream %d: %w", r.stream, err)
	}
	if b == 0 {
		if err := r.readIndexAndFooter(); err != nil {
			return err
		}
		return r.afterStream()
	}
	return r.startBlock(b)
}

// startBlock parses the block header whose first byte is sizeByte and, once
// the dictionary size passed the bound, starts the LZMA2 decoder.
func (r *reader) startBlock(sizeByte byte) error {
	name := r.blockName()
	size := (int(sizeByte) + 1) * 4
	hdr := make([]byte, size)
	hdr[0] = sizeByte
	if err := r.readFull(hdr[1:], name+" header"); err != nil {
		return err
	}
	if crc32.ChecksumIEEE(hdr[:size-4]) != binary.LittleEndian.Uint32(hdr[size-4:]) {
		return formatErr("%s header: CRC32 mismatch", name)
	}
	flags := hdr[1]
	if flags&0x3c != 0 {
		return formatErr("%s header: reserved block flags set (%#02x)", name, flags)
	}
	nfilters := int(flags&0x03) + 1
	p := hdr[2 : size-4]
	r.cSize, r.uSize = -1, -1
	if flags&0x40 != 0 {
		v, n, err := decodeVLI(p)
		if err != nil {
			return formatErr("%s header: compressed size: %v", name, err)
		}
		if v == 0 {
			return formatErr("%s header: compressed size is zero", name)
		}
		r.cSize, p = int64(v), p[n:]
	}
	if flags&0x80 != 0 {
		v, n, err := decodeVLI(p)
		if err != nil {
			return formatErr("%s header: uncompressed size: %v", name, err)
		}
		r.uSize, p = int64(v), p[n:]
	}
	var dictProp byte
	for i := range nfilters {
		id, n, err := decodeVLI(p)
		if err != nil {
			return formatErr("%s header: filter %d ID: %v", name, i, err)
		}
		p = p[n:]
		psize, n, err := decodeVLI(p)
		if err != nil {
			return formatErr("%s header: filter %d properties size: %v", name, i, err)
		}
		p = p[n:]
		if psize > uint64(len(p)) {
			return formatErr("%s header: filter %d properties overrun the header", name, i)
		}
		props := p[:psize]
		p = p[psize:]
		if id != filterLZMA2 {
			return formatErr("%s header: unsupported filter %s; only a single LZMA2 filter is accepted", name, filterName(id))
		}
		if nfilters != 1 {
			return formatErr("%s header: %d filters; only a single LZMA2 filter is accepted", name, nfilters)
		}
		if len(props) != 1 {
			return formatErr("%s header: LZMA2 properties are %d bytes, want 1", name, len(props))
		}
		dictProp = props[0]
	}
	for _, c := range p {
		if c != 0 {
			return formatErr("%s header: non-zero header padding", name)
		}
	}
	if dictProp > 40 {
		return formatErr("%s header: invalid LZMA2 dictionary size property %#02x", name, dictProp)
	}
	dict := dictSize(dictProp)
	if dict > r.maxDict {
		return fmt.Errorf("%w: %s asks for a %s dictionary, the bound is %s",
			ErrDictTooLarge, name, formatSize(dict), formatSize(r.maxDict))
	}
	// A block never refers further back than its own start, so a block
	// that declares a small uncompressed size needs no bigger window.
	dictCap := dict
	if r.uSize >= 0 && r.uSize < dictCap {
		dictCap = max(r.uSize, lzma.MinDictCap)
	}
	r.hdrSize = int64(size)
	r.uBytes = 0
	r.check = r.newCheck()
	r.in = blockInput{r: r.br, limit: r.cSize}
	blk, err := lzma.Reader2Config{DictCap: int(dictCap)}.NewReader2(&r.in)
	if err != nil {
		return formatErr("%s: start LZMA2 decoder: %v", name, err)
	}
	r.blk = blk
	return nil
}

// finishBlock runs when the LZMA2 decoder reached its end marker: it checks
// the sizes, the block padding and the integrity check.
func (r *reader) finishBlock() error {
	name := r.blockName()
	r.blk = nil
	if r.cSize >= 0 && r.in.n != r.cSize {
		return formatErr("%s: LZMA2 data is %d bytes, header declares %d", name, r.in.n, r.cSize)
	}
	if r.uSize >= 0 && r.uBytes != r.uSize {
		return formatErr("%s: uncompressed data is %d bytes, header declares %d", name, r.uBytes, r.uSize)
	}
	var buf [32]byte
	if pad := (4 - r.in.n%4) % 4; pad > 0 {
		if err := r.readFull(buf[:pad], name+" padding"); err != nil {
			return err
		}
		for _, c := range buf[:pad] {
			if c != 0 {
				return formatErr("%s: non-zero block padding", name)
			}
		}
	}
	stored := buf[:r.checkSize]
	if err := r.readFull(stored, name+" check"); err != nil {
		return err
	}
	if r.check != nil {
		var sum []byte
		switch r.checkID {
		case 0x01:
			sum = binary.LittleEndian.AppendUint32(nil, r.check.(hash.Hash32).Sum32())
		case 0x04:
			sum = binary.LittleEndian.AppendUint64(nil, r.check.(hash.Hash64).Sum64())
		default:
			sum = r.check.Sum(nil)
		}
		if !bytes.Equal(sum, stored) {
			return formatErr("%s: %s check mismatch: the data is corrupt", name, checkName(r.checkID))
		}
	}
	unpadded := r.hdrSize + r.in.n + int64(r.checkSize)
	r.blocks.add(uint64(unpadded), uint64(r.uBytes))
	r.nblock++
	return nil
}
