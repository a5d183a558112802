package fixarchive

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Compression is how a .fix archive's tar stream is compressed.
type Compression string

const (
	// Zstd is the default: about ten times faster than xz to pack and to
	// read, for archives a few percent larger.
	Zstd Compression = "zstd"
	// XZ is for sites that want xz-utils; packed on every core too.
	XZ Compression = "xz"
)

// ParseCompression checks a compression name.
func ParseCompression(s string) (Compression, error) {
	switch c := Compression(s); c {
	case Zstd, XZ:
		return c, nil
	case "":
		return Zstd, nil
	}
	return "", fmt.Errorf("compression %q is not supported (zstd or xz)", s)
}

// chunkSize is how much of the tar stream each independent frame (zstd)
// or stream (xz) holds. Fixed, so that the bytes do not depend on the
// number of cores. Smaller chunks cost ratio (measured on bench/pack.sh's
// mixed fix: 1 MiB 1.137× the size of tar.xz, 2 MiB 1.131×, 4 MiB 1.127×,
// one frame 1.124×), larger ones memory (packing it took 78 MiB of RSS
// with 4 MiB chunks on two cores, 60 MiB with 2 MiB).
const chunkSize = 2 << 20

// maxWorkers bounds the chunks in flight: each holds its input and its
// output (up to 4 MiB with the compressor's state), and packing a fix of
// any size must stay under 64 MiB of memory.
const maxWorkers = 4

// chunkCompressor compresses one chunk into an independent frame or
// stream, appended to dst. It must be safe for concurrent use and give
// the same bytes for the same input.
type chunkCompressor func(dst, src []byte) ([]byte, error)

// zstdEncoder is shared: EncodeAll is safe for concurrent use, and its
// pools keep one encoder per worker.
var zstdEncoder = sync.OnceValues(func() (*zstd.Encoder, error) {
	return zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderCRC(true),
		zstd.WithWindowSize(chunkSize), zstd.WithEncoderConcurrency(maxWorkers), zstd.WithZeroFrames(true))
})

func compressorFor(c Compression) (chunkCompressor, error) {
	switch c {
	case Zstd, "":
		enc, err := zstdEncoder()
		if err != nil {
			return nil, err
		}
		return func(dst, src []byte) ([]byte, error) { return enc.EncodeAll(src, dst), nil }, nil
	case XZ:
		return xzChunk, nil
	}
	return nil, fmt.Errorf("compression %q is not supported (zstd or xz)", c)
}

// xzChunk writes src as one xz stream: concatenated streams are plain xz
// to every reader (xz -d, tar -J), as xz -T0's independent blocks are.
func xzChunk(dst, src []byte) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	dict := max(len(src), 64<<10)
	w, err := xz.WriterConfig{DictCap: min(dict, chunkSize)}.NewWriter(buf)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(src); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// chunkWriter cuts what is written into chunks, compresses up to
// `workers` of them at once and writes the results in order.
type chunkWriter struct {
	w        io.Writer
	compress chunkCompressor
	workers  int
	buf      []byte
	inflight []chan chunkResult
	free     chan []byte
	err      error
}

type chunkResult struct {
	out, in []byte
	err     error
}

func newChunkWriter(w io.Writer, c chunkCompressor) *chunkWriter {
	n := min(runtime.GOMAXPROCS(0), maxWorkers)
	return &chunkWriter{w: w, compress: c, workers: n, free: make(chan []byte, 2*n+2)}
}

func (c *chunkWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if c.err != nil {
			return written, c.err
		}
		if c.buf == nil {
			c.buf = c.take()
		}
		n := copy(c.buf[len(c.buf):chunkSize], p)
		c.buf = c.buf[:len(c.buf)+n]
		p, written = p[n:], written+n
		if len(c.buf) == chunkSize {
			c.cut()
		}
	}
	return written, c.err
}

func (c *chunkWriter) take() []byte {
	select {
	case b := <-c.free:
		return b[:0]
	default:
		return make([]byte, 0, chunkSize)
	}
}

func (c *chunkWriter) give(b []byte) {
	if cap(b) < chunkSize {
		return
	}
	select {
	case c.free <- b:
	default:
	}
}

// Flush ends the current chunk here, so that what was written so far is
// a frame of its own (the manifest, read without the payload).
func (c *chunkWriter) Flush() error {
	if c.buf != nil && len(c.buf) > 0 {
		c.cut()
	}
	return c.err
}

func (c *chunkWriter) cut() {
	in := c.buf
	c.buf = nil
	if len(c.inflight) == c.workers {
		c.writeOldest()
	}
	ch := make(chan chunkResult, 1)
	c.inflight = append(c.inflight, ch)
	out := c.take()
	go func() {
		o, err := c.compress(out, in)
		ch <- chunkResult{out: o, in: in, err: err}
	}()
}

func (c *chunkWriter) writeOldest() {
	r := <-c.inflight[0]
	c.inflight = c.inflight[1:]
	c.give(r.in)
	if c.err == nil {
		c.err = r.err
	}
	if c.err == nil {
		_, c.err = c.w.Write(r.out)
	}
	c.give(r.out)
}

// abort waits for every worker and writes nothing more.
func (c *chunkWriter) abort() {
	for _, ch := range c.inflight {
		<-ch
	}
	c.inflight = nil
}

// Close compresses and writes what is left. It waits for every worker
// even after an error, so none outlives the archive.
func (c *chunkWriter) Close() error {
	if c.err == nil {
		c.Flush()
	}
	for len(c.inflight) > 0 {
		c.writeOldest()
	}
	return c.err
}
