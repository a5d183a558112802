package zstdsafe

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrFormat marks zstd data that is broken, hostile, or uses a feature
// hotfix never writes (dictionaries, skippable frames).
var ErrFormat = errors.New("invalid zstd data")

// ErrWindowTooLarge marks a frame declaring a window above the reader's
// bound: decoding it would allocate that much.
var ErrWindowTooLarge = errors.New("zstd window too large")

const (
	frameMagic    = 0xFD2FB528
	skippableMask = 0xFFFFFFF0
	skippableBase = 0x184D2A50
	maxBlockSize  = 128 << 10
)

func formatErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(format, args...))
}

// guard passes zstd bytes through unchanged while walking their framing,
// so the decoder behind it only ever sees frames whose window is bounded,
// and whatever is not a frame is refused where it starts.
type guard struct {
	r         *bufio.Reader
	maxWindow int64
	pending   []byte // header bytes parsed but not yet passed on
	remaining int64  // body bytes of the current block or checksum still to pass
	frame     int    // frames started
	inFrame   bool
	last      bool // the current block is its frame's last
	checksum  bool // the current frame ends in a 4-byte checksum
	hdr       [18]byte
	err       error
}

func newGuard(r io.Reader, maxWindow int64) *guard {
	return &guard{r: bufio.NewReaderSize(r, 64<<10), maxWindow: maxWindow}
}

func (g *guard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	for len(g.pending) == 0 && g.remaining == 0 {
		if err := g.step(); err != nil {
			g.err = err
			return 0, err
		}
	}
	if len(g.pending) > 0 {
		n := copy(p, g.pending)
		g.pending = g.pending[n:]
		return n, nil
	}
	if int64(len(p)) > g.remaining {
		p = p[:g.remaining]
	}
	n, err := g.r.Read(p)
	g.remaining -= int64(n)
	if err == io.EOF {
		err = g.cut("frame %d: inside a block", g.frame)
	}
	if err != nil {
		g.err = err
	}
	return n, err
}

func (g *guard) cut(format string, args ...any) error {
	return fmt.Errorf("%w: %s: the data was cut short", io.ErrUnexpectedEOF, fmt.Sprintf(format, args...))
}

// step parses the next header (frame header, block header or checksum)
// into pending, setting remaining to the body that follows it; io.EOF
// only between frames, after at least one.
func (g *guard) step() error {
	switch {
	case !g.inFrame:
		return g.frameHeader()
	case g.last && g.checksum:
		g.inFrame, g.remaining = false, 4
		return nil
	case g.last:
		g.inFrame = false
		return nil
	}
	return g.blockHeader()
}

func (g *guard) readFull(b []byte, where string) error {
	if _, err := io.ReadFull(g.r, b); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return g.cut("%s", where)
		}
		return err
	}
	return nil
}

func (g *guard) frameHeader() error {
	h := g.hdr[:0]
	var magic [4]byte
	n, err := io.ReadFull(g.r, magic[:])
	switch {
	case n == 0 && err == io.EOF && g.frame > 0:
		return io.EOF
	case n == 0 && err == io.EOF:
		return formatErr("empty input, not a zstd frame")
	case err == io.ErrUnexpectedEOF && g.frame > 0:
		return formatErr("%d bytes after the end of frame %d: the file was damaged or something was appended to it", n, g.frame)
	case err != nil:
		return g.cut("frame %d header", g.frame+1)
	}
	m := binary.LittleEndian.Uint32(magic[:])
	switch {
	case m&skippableMask == skippableBase:
		return formatErr("a skippable frame at frame %d: hotfix never writes one, and it could hide data", g.frame+1)
	case m != frameMagic && g.frame > 0:
		return formatErr("data after the end of frame %d (bytes %x…): the file was damaged or something was appended to it", g.frame, magic)
	case m != frameMagic:
		return formatErr("no zstd frame magic at the start (bytes %x)", magic)
	}
	g.frame++
	where := fmt.Sprintf("frame %d header", g.frame)
	h = append(h, magic[:]...)
	fhd, err := g.r.ReadByte()
	if err != nil {
		return g.cut("%s", where)
	}
	h = append(h, fhd)
	fcsFlag, single, dictFlag := fhd>>6, fhd&0x20 != 0, fhd&3
	if fhd&0x08 != 0 {
		return formatErr("%s: the reserved bit is set", where)
	}
	if dictFlag != 0 {
		return formatErr("%s: the frame needs a dictionary; hotfix never writes one", where)
	}
	fcsLen := [4]int{0, 2, 4, 8}[fcsFlag]
	if fcsFlag == 0 && single {
		fcsLen = 1
	}
	rest := fcsLen
	if !single {
		rest++
	}
	b := g.hdr[len(h) : len(h)+rest]
	if err := g.readFull(b, where); err != nil {
		return err
	}
	h = append(h, b...)
	var window uint64
	if !single {
		wd := b[0]
		windowLog := 10 + uint(wd>>3)
		base := uint64(1) << windowLog
		window = base + base/8*uint64(wd&7)
		b = b[1:]
	}
	if single {
		switch fcsLen {
		case 1:
			window = uint64(b[0])
		case 2:
			window = uint64(binary.LittleEndian.Uint16(b)) + 256
		case 4:
			window = uint64(binary.LittleEndian.Uint32(b))
		case 8:
			window = binary.LittleEndian.Uint64(b)
		}
	}
	if window > uint64(g.maxWindow) {
		return fmt.Errorf("%w: %s: a window of %s, more than the limit of %s", ErrWindowTooLarge, where, formatSize(window), formatSize(uint64(g.maxWindow)))
	}
	g.inFrame, g.last, g.checksum = true, false, fhd&0x04 != 0
	g.pending = h
	return nil
}

func (g *guard) blockHeader() error {
	where := fmt.Sprintf("frame %d: block header", g.frame)
	b := g.hdr[:3]
	if err := g.readFull(b, where); err != nil {
		return err
	}
	v := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16
	g.last = v&1 != 0
	size := int64(v >> 3)
	switch (v >> 1) & 3 {
	case 0: // raw: size bytes follow
	case 1: // RLE: one byte, repeated size times
		size = 1
	case 2: // compressed
	default:
		return formatErr("%s: reserved block type", where)
	}
	if size > maxBlockSize {
		return formatErr("%s: a block of %d bytes, more than zstd's %d", where, size, maxBlockSize)
	}
	g.pending, g.remaining = b, size
	return nil
}

func formatSize(n uint64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
