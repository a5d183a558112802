package bundle

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/hotfix-project/hotfix/repo"
)

// ErrNotBundle means the file does not start with a bundle's header
// entry: it is some other file (a .fix, a tar of something else).
var ErrNotBundle = errors.New("not an export bundle")

// Sink receives one archive's bytes. Read calls Commit only after the
// bytes matched the verified index's size and sha256, and Abort
// otherwise.
type Sink interface {
	io.Writer
	Commit() error
	Abort()
}

// Handler is what the reader of a bundle decides.
type Handler struct {
	// MaxIndexSize bounds index.json before it is verified; 0 means
	// repo.MaxIndexSize.
	MaxIndexSize int64
	// Index verifies the index and its signature (trusted keys, expiry,
	// serial: the caller's trust rules) and returns the index, or
	// refuses. It is called before any archive is read.
	Index func(h *Header, data, sig []byte) (*repo.Index, error)
	// Archive returns where a verified index's archive goes; nil, nil
	// skips it (read and checked, not kept).
	Archive func(name string) (Sink, error)
	// Key receives a keys/ file (bounded); nil ignores keys.
	Key func(name string, data []byte) error
}

// Contents is what a bundle held, once read to its end.
type Contents struct {
	Header   *Header
	Index    *repo.Index
	IndexRaw []byte
	SigRaw   []byte
	Fixes    []repo.IndexFix // the fixes whose archives it carries, in chain order
	Keys     []string        // keys/ names
}

// Error is a refusal of a bundle's content, naming the entry.
type Error struct {
	Entry string
	Err   error
}

func (e *Error) Error() string {
	if e.Entry == "" {
		return "export bundle: " + e.Err.Error()
	}
	return fmt.Sprintf("export bundle: %s: %v", e.Entry, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// reader walks one bundle.
type reader struct {
	ctx     context.Context
	in      *countingReader
	tr      *tar.Reader
	h       Handler
	dataEnd int64  // offset just after the last entry's data
	last    string // the last entry's name
}

// Read reads a bundle from r to its end, checking every entry as the
// package documentation says, and returns what it held. On error, every
// Sink handed out was aborted or not committed after the failing entry;
// Sinks committed earlier held verified archives.
func Read(ctx context.Context, r io.Reader, h Handler) (*Contents, error) {
	if h.MaxIndexSize <= 0 {
		h.MaxIndexSize = repo.MaxIndexSize
	}
	in := &countingReader{r: r}
	rd := &reader{ctx: ctx, in: in, tr: tar.NewReader(in), h: h}
	return rd.read()
}

func (rd *reader) read() (*Contents, error) {
	hdata, err := rd.small(HeaderName, maxHeaderSize)
	if err != nil {
		return nil, err
	}
	bh, err := parseHeader(hdata)
	if err != nil {
		return nil, &Error{Entry: HeaderName, Err: err}
	}
	c := &Contents{Header: bh}
	if c.IndexRaw, err = rd.small(bh.IndexEntry(), rd.h.MaxIndexSize); err != nil {
		return nil, err
	}
	if c.SigRaw, err = rd.small(bh.SigEntry(), maxSigSize); err != nil {
		return nil, err
	}
	ix, err := rd.h.Index(bh, c.IndexRaw, c.SigRaw)
	if err != nil {
		return nil, err
	}
	if ix.Product != bh.Product || !ix.Base.Equal(bh.Base) {
		return nil, &Error{Entry: bh.IndexEntry(), Err: fmt.Errorf("the signed index is of %s %s, the bundle says %s %s", ix.Product, ix.Base, bh.Product, bh.Base)}
	}
	from := bh.FromVersion()
	if _, ok := ix.Fix(from); !from.IsZero() && !ok {
		return nil, &Error{Entry: HeaderName, Err: fmt.Errorf("it says it carries the fixes from %s on, which the signed index does not list", from)}
	}
	c.Index = ix
	c.Fixes = Carried(ix, from)
	for _, f := range files(c.Fixes) {
		if err := rd.archive(bh.channelDir()+"/", f); err != nil {
			return nil, err
		}
	}
	if c.Keys, err = rd.keys(); err != nil {
		return nil, err
	}
	return c, nil
}

// next returns the next entry's header, insisting that it is the entry
// want names (any keys/ entry when want is "keys/") and a regular file
// of at most limit bytes. At the end of the archive it returns nil, nil.
func (rd *reader) next(want string, limit int64) (*tar.Header, error) {
	if err := rd.ctx.Err(); err != nil {
		return nil, err
	}
	hdr, err := rd.tr.Next()
	if rd.in.padErr != nil {
		return nil, &Error{Entry: rd.last, Err: rd.in.padErr}
	}
	if err == io.EOF {
		if want == HeaderName && rd.in.n == 0 {
			return nil, nil // empty: small says it is no bundle
		}
		if !rd.markerSeen() {
			return nil, &Error{Entry: want, Err: fmt.Errorf("the tar stream stops at byte %d without its end-of-archive marker: the bundle was cut short; copy it again", rd.in.n)}
		}
		return nil, nil
	}
	if err != nil {
		if rd.in.n == 0 || (want == HeaderName && rd.dataEnd == 0) {
			return nil, fmt.Errorf("%w: %v", ErrNotBundle, err)
		}
		return nil, &Error{Entry: want, Err: fmt.Errorf("the tar stream is damaged or cut short: %w", err)}
	}
	switch {
	case want == HeaderName && hdr.Name != HeaderName:
		return nil, fmt.Errorf("%w: its first entry is %q, not %s", ErrNotBundle, hdr.Name, HeaderName)
	case want != "keys/" && hdr.Name != want:
		return nil, &Error{Entry: hdr.Name, Err: fmt.Errorf("unexpected entry where %s belongs: the bundle was changed after export or made by hand", want)}
	case hdr.Typeflag != tar.TypeReg:
		return nil, &Error{Entry: hdr.Name, Err: fmt.Errorf("not a regular file (tar type %q): bundles hold only regular files", hdr.Typeflag)}
	case hdr.Size < 0 || hdr.Size > limit:
		return nil, &Error{Entry: hdr.Name, Err: fmt.Errorf("%d bytes, more than the %d allowed here", hdr.Size, limit)}
	}
	rd.last = hdr.Name
	return hdr, nil
}

// small reads a small entry whole.
func (rd *reader) small(name string, limit int64) ([]byte, error) {
	hdr, err := rd.next(name, limit)
	if err != nil {
		return nil, err
	}
	if hdr == nil {
		if name == HeaderName {
			return nil, fmt.Errorf("%w: an empty tar file", ErrNotBundle)
		}
		return nil, &Error{Entry: name, Err: errors.New("missing: the bundle ends before it; export it again")}
	}
	data, err := io.ReadAll(io.LimitReader(rd.tr, limit))
	if err != nil {
		return nil, &Error{Entry: name, Err: fmt.Errorf("cut short: %w", err)}
	}
	rd.dataEnd = rd.in.entryDone()
	return data, nil
}

// archive reads one archive entry into its sink, verified.
func (rd *reader) archive(dir string, f fileRef) (err error) {
	name := dir + f.name
	hdr, err := rd.next(name, f.size)
	if err != nil {
		return err
	}
	if hdr == nil {
		return &Error{Entry: name, Err: errors.New("missing: the signed index lists it, but the bundle ends before it; export it again")}
	}
	if hdr.Size != f.size {
		return &Error{Entry: name, Err: fmt.Errorf("%d bytes, the signed index says %d", hdr.Size, f.size)}
	}
	var sink Sink
	if rd.h.Archive != nil {
		if sink, err = rd.h.Archive(f.name); err != nil {
			return err
		}
	}
	if sink == nil {
		sink = discard{}
	}
	committed := false
	defer func() {
		if !committed {
			sink.Abort()
		}
	}()
	sum := sha256.New()
	n, err := io.Copy(io.MultiWriter(sink, sum), io.LimitReader(rd.tr, f.size))
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return &Error{Entry: name, Err: fmt.Errorf("cut short after %d of %d bytes: copy the bundle again", n, f.size)}
	}
	if err != nil {
		return &Error{Entry: name, Err: err}
	}
	rd.dataEnd = rd.in.entryDone()
	if n != f.size {
		return &Error{Entry: name, Err: fmt.Errorf("cut short: %d of %d bytes", n, f.size)}
	}
	if got := hex.EncodeToString(sum.Sum(nil)); got != f.sha256 {
		return &Error{Entry: name, Err: fmt.Errorf("sha256 %s does not match the signed index's %s: the bundle was damaged or tampered with; nothing of it was kept", got, f.sha256)}
	}
	committed = true
	if err := sink.Commit(); err != nil {
		return fmt.Errorf("keep %s: %w", name, err)
	}
	return nil
}

// keys reads the keys/ entries up to the end of the archive, then checks
// that end.
func (rd *reader) keys() ([]string, error) {
	var names []string
	for {
		hdr, err := rd.next("keys/", MaxKeySize)
		if err != nil {
			return nil, err
		}
		if hdr == nil {
			return names, rd.end()
		}
		base, ok := isKeyEntry(hdr.Name)
		switch {
		case !ok:
			return nil, &Error{Entry: hdr.Name, Err: errors.New("unexpected entry: after the archives a bundle holds only keys/NAME files")}
		case len(names) > 0 && base <= names[len(names)-1]:
			return nil, &Error{Entry: hdr.Name, Err: errors.New("keys out of order or repeated: the bundle was changed after export")}
		case len(names) >= MaxKeys:
			return nil, &Error{Entry: hdr.Name, Err: fmt.Errorf("more than %d key files", MaxKeys)}
		}
		data, err := io.ReadAll(io.LimitReader(rd.tr, MaxKeySize))
		if err != nil {
			return nil, &Error{Entry: hdr.Name, Err: fmt.Errorf("cut short: %w", err)}
		}
		rd.dataEnd = rd.in.entryDone()
		if rd.h.Key != nil {
			if err := rd.h.Key(base, data); err != nil {
				return nil, &Error{Entry: hdr.Name, Err: err}
			}
		}
		names = append(names, base)
	}
}

// end checks that the tar reader stopped at a real end-of-archive marker
// (Go's reader also reports a stream that simply stops) and that nothing
// but padding zeros follows it: an entry hidden after the marker would
// never be checked.
func (rd *reader) end() error {
	buf := make([]byte, 32<<10)
	var zeros int64
	for {
		n, err := rd.in.Read(buf)
		for i, c := range buf[:n] {
			if c != 0 {
				return &Error{Err: fmt.Errorf("data after the tar end-of-archive marker (%d bytes after it): refused rather than left unchecked; export the bundle again", zeros+int64(i))}
			}
		}
		zeros += int64(n)
		if zeros > MaxTrailingZeros {
			return &Error{Err: fmt.Errorf("more than %d bytes of zeros after the end-of-archive marker", MaxTrailingZeros)}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return &Error{Err: err}
		}
	}
}

// markerSeen reports whether the two zero blocks of the end-of-archive
// marker follow the last entry's data (and its padding).
func (rd *reader) markerSeen() bool {
	markerStart := (rd.dataEnd + 511) &^ 511
	return rd.in.n-markerStart >= 1024
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) Commit() error               { return nil }
func (discard) Abort()                      {}
