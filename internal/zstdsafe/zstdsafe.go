package zstdsafe

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// DefaultMaxWindow is the largest window accepted by default: eight times
// the 2 MiB frames hotfix pack writes and twice what `zstd -19` uses, far
// below what would let a hostile archive exhaust memory.
const DefaultMaxWindow = 16 << 20

// Magic is the first four bytes of every zstd frame.
var Magic = []byte{0x28, 0xB5, 0x2F, 0xFD}

// Reader decompresses a checked zstd stream.
type Reader struct {
	g    *guard
	dec  *zstd.Decoder
	pool *sync.Pool // where Close returns dec
}

// NewReader returns a reader of the concatenated zstd frames in r, each
// with a window of at most maxWindow bytes (maxWindow <= 0 means
// DefaultMaxWindow). It decodes on the calling goroutine: no goroutines
// to leak, and memory bounded by one window. Read returns io.EOF only
// after the last frame has decoded, its checksum matched and r ended.
func NewReader(r io.Reader, maxWindow int64) (*Reader, error) {
	if maxWindow <= 0 {
		maxWindow = DefaultMaxWindow
	}
	g := newGuard(r, maxWindow)
	pool, _ := decoders.LoadOrStore(maxWindow, &sync.Pool{})
	if dec, ok := pool.(*sync.Pool).Get().(*zstd.Decoder); ok {
		if err := dec.Reset(g); err == nil {
			return &Reader{g: g, dec: dec, pool: pool.(*sync.Pool)}, nil
		}
	}
	// The guard has already refused larger windows; the decoder's own
	// bounds stay as a second line, MaxMemory because it is what bounds a
	// single-segment frame's window there.
	dec, err := zstd.NewReader(g, zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxWindow(uint64(maxWindow)), zstd.WithDecoderMaxMemory(uint64(maxWindow)),
		zstd.IgnoreChecksum(false))
	if err != nil {
		return nil, fmt.Errorf("zstd: %w", err)
	}
	return &Reader{g: g, dec: dec, pool: pool.(*sync.Pool)}, nil
}

// decoders keeps the decoders of closed Readers by their window bound, so
// that reading a thousand archives (repo add) does not allocate and clear
// a thousand decoders' buffers. A decoder is Reset before it is used
// again: nothing of one stream reaches the next.
var decoders sync.Map // int64 -> *sync.Pool of *zstd.Decoder

func (r *Reader) Read(p []byte) (int, error) {
	if r.dec == nil {
		return 0, errClosed
	}
	n, err := r.dec.Read(p)
	if err == nil || err == io.EOF {
		return n, err
	}
	// The guard's refusal says more than the decoder's echo of it.
	if r.g.err != nil && r.g.err != io.EOF {
		err = r.g.err
	} else if !errors.Is(err, ErrFormat) && !errors.Is(err, io.ErrUnexpectedEOF) {
		err = fmt.Errorf("%w: %v", ErrFormat, err)
	}
	return n, err
}

var errClosed = errors.New("zstd: read after Close")

// Close releases the decoder for the next Reader. The Reader cannot be
// read after it.
func (r *Reader) Close() error {
	if r.dec == nil {
		return nil
	}
	if r.dec.Reset(nil) == nil {
		r.pool.Put(r.dec)
	}
	r.dec = nil
	return nil
}
