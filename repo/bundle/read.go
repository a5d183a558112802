package bundle

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

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
	// MaxIndexSize bounds index.json and repo.json before they are
	// verified; 0 means repo.MaxIndexSize.
	MaxIndexSize int64
	// Key receives a keys/ file (bounded); nil ignores keys. In a format
	// 2 bundle every key comes before repo.json and the index, so that
	// Root and Index can walk a key list.
	Key func(name string, data []byte) error
	// Root verifies repo.json and its signature, where the bundle
	// carries them; nil reads them and keeps nothing of them.
	Root func(data, sig []byte) error
	// Index verifies the index and its signature (trusted keys, expiry,
	// serial: the caller's trust rules) and returns the index, or
	// refuses. It is called before any archive is read.
	Index func(h *Header, data, sig []byte) (*repo.Index, error)
	// Repodata verifies repomd.xml and its signature and returns the
	// data files it names ("repodata/FILE"), which must follow in that
	// order; nil reads them unverified into no sink (a reader that keeps
	// no repodata need not parse it).
	Repodata func(md, sig []byte) ([]FileRef, error)
	// Custom verifies a customer channel's index (its trust rules, as
	// Index); a bundle that carries one is refused when Custom is nil.
	Custom func(customer string, data, sig []byte) (*repo.CustomIndex, error)
	// Archive returns where a verified file goes, named relative to the
	// channel's folder ("FILE", "repodata/FILE", "custom/CUSTOMER/FILE");
	// nil, nil skips it (read and checked, not kept).
	Archive func(name string) (Sink, error)
}

// Contents is what a bundle held, once read to its end.
type Contents struct {
	Header    *Header
	Index     *repo.Index
	IndexRaw  []byte
	SigRaw    []byte
	Fixes     []repo.IndexFix // the fixes whose archives it carries, in chain order
	Keys      []string        // keys/ names
	Root      *Signed         // repo.json, as read (verified only by Handler.Root)
	RepoMD    *Signed         // repomd.xml, as read (verified only by Handler.Repodata)
	Repodata  []FileRef       // the data files Handler.Repodata returned
	Customers []CustomContents
}

// CustomContents is one customer channel a bundle held.
type CustomContents struct {
	Customer string
	Index    *repo.CustomIndex
	Raw      Signed
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
	dataEnd int64       // offset just after the last entry's data
	last    string      // the last entry's name
	pending *tar.Header // read by a loop that stops at the first entry not its own
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
	if bh.Format >= 2 {
		if c.Keys, err = rd.keys(true); err != nil {
			return nil, err
		}
	}
	if bh.Root {
		if c.Root, err = rd.signed(rootEntry, rd.h.MaxIndexSize); err != nil {
			return nil, err
		}
		if rd.h.Root != nil {
			if err := rd.h.Root(c.Root.Data, c.Root.Sig); err != nil {
				return nil, err
			}
		}
	}
	if err := rd.channel(bh, c); err != nil {
		return nil, err
	}
	if bh.Repodata {
		if err := rd.repodata(bh, c); err != nil {
			return nil, err
		}
	}
	for _, name := range bh.Customers {
		cc, err := rd.custom(bh, name)
		if err != nil {
			return nil, err
		}
		c.Customers = append(c.Customers, *cc)
	}
	if bh.Format < 2 {
		if c.Keys, err = rd.keys(false); err != nil {
			return nil, err
		}
		return c, nil
	}
	if hdr, err := rd.next("", MaxKeySize); err != nil || hdr != nil {
		if err == nil {
			err = &Error{Entry: hdr.Name, Err: errors.New("unexpected entry after the last one the header announces: the bundle was changed after export or made by hand")}
		}
		return nil, err
	}
	return c, rd.end()
}

// channel reads the channel's index, verified, and its archives.
func (rd *reader) channel(bh *Header, c *Contents) error {
	s, err := rd.signed(bh.IndexEntry(), rd.h.MaxIndexSize)
	if err != nil {
		return err
	}
	c.IndexRaw, c.SigRaw = s.Data, s.Sig
	ix, err := rd.h.Index(bh, c.IndexRaw, c.SigRaw)
	if err != nil {
		return err
	}
	if ix.Product != bh.Product || !ix.Base.Equal(bh.Base) {
		return &Error{Entry: bh.IndexEntry(), Err: fmt.Errorf("the signed index is of %s %s, the bundle says %s %s", ix.Product, ix.Base, bh.Product, bh.Base)}
	}
	from := bh.FromVersion()
	if _, ok := ix.Fix(from); !from.IsZero() && !ok {
		return &Error{Entry: HeaderName, Err: fmt.Errorf("it says it carries the fixes from %s on, which the signed index does not list", from)}
	}
	c.Index = ix
	c.Fixes = Carried(ix, from)
	for _, f := range files(c.Fixes) {
		if err := rd.archive(bh.channelDir()+"/", f); err != nil {
			return err
		}
	}
	return nil
}

// repodata reads repomd.xml and the data files it names.
func (rd *reader) repodata(bh *Header, c *Contents) error {
	md, err := rd.signed(bh.repoMDEntry(), maxRepoMDSize)
	if err != nil {
		return err
	}
	c.RepoMD = md
	dir := bh.channelDir() + "/"
	if rd.h.Repodata == nil {
		return rd.skip(dir + repodataDir)
	}
	refs, err := rd.h.Repodata(md.Data, md.Sig)
	if err != nil {
		return err
	}
	for _, f := range refs {
		name, ok := strings.CutPrefix(f.Name, repodataDir)
		if !ok || !repo.IsPlainFileName(name) {
			return &Error{Entry: bh.repoMDEntry(), Err: fmt.Errorf("it names %q outside %s", f.Name, repodataDir)}
		}
		if err := rd.archive(dir, f); err != nil {
			return err
		}
	}
	c.Repodata = refs
	return nil
}

// custom reads one customer channel: its index, verified, and archives.
func (rd *reader) custom(bh *Header, customer string) (*CustomContents, error) {
	entry := bh.customDir(customer) + "/" + indexName
	s, err := rd.signed(entry, rd.h.MaxIndexSize)
	if err != nil {
		return nil, err
	}
	if rd.h.Custom == nil {
		return nil, &Error{Entry: entry, Err: errors.New("this reader takes no customer channels")}
	}
	ix, err := rd.h.Custom(customer, s.Data, s.Sig)
	if err != nil {
		return nil, err
	}
	if ix.Product != bh.Product || !ix.Base.Equal(bh.Base) || ix.Customer != customer {
		return nil, &Error{Entry: entry, Err: fmt.Errorf("the signed index is customer %s's of %s %s", ix.Customer, ix.Product, ix.Base)}
	}
	for _, f := range customFiles(ix) {
		if err := rd.archive(bh.channelDir()+"/", f); err != nil {
			return nil, err
		}
	}
	return &CustomContents{Customer: customer, Index: ix, Raw: *s}, nil
}

// next returns the next entry's header, insisting that it is a regular
// file of at most limit bytes named want; a want ending in "/" takes any
// plain name in that folder and, where another entry follows, returns
// nil, nil and keeps that entry for the next call. Want "" expects the
// end. At the end of the archive it returns nil, nil.
func (rd *reader) next(want string, limit int64) (*tar.Header, error) {
	if err := rd.ctx.Err(); err != nil {
		return nil, err
	}
	hdr := rd.pending
	rd.pending = nil
	if hdr == nil {
		var err error
		if hdr, err = rd.tarNext(want); hdr == nil || err != nil {
			return nil, err
		}
	}
	folder := strings.HasSuffix(want, "/")
	switch {
	case want == "":
		return hdr, nil // the caller refuses it
	case want == HeaderName && hdr.Name != HeaderName:
		return nil, fmt.Errorf("%w: its first entry is %q, not %s", ErrNotBundle, hdr.Name, HeaderName)
	case folder && !strings.HasPrefix(hdr.Name, want):
		rd.pending = hdr
		return nil, nil
	case folder && hdr.Typeflag == tar.TypeReg && !repo.IsPlainFileName(strings.TrimPrefix(hdr.Name, want)):
		return nil, &Error{Entry: hdr.Name, Err: fmt.Errorf("unexpected entry: %s holds only plain file names", want)}
	case !folder && hdr.Name != want:
		return nil, &Error{Entry: hdr.Name, Err: fmt.Errorf("unexpected entry where %s belongs: the bundle was changed after export or made by hand", want)}
	case hdr.Typeflag != tar.TypeReg:
		return nil, &Error{Entry: hdr.Name, Err: fmt.Errorf("not a regular file (tar type %q): bundles hold only regular files", hdr.Typeflag)}
	case hdr.Size < 0 || hdr.Size > limit:
		return nil, &Error{Entry: hdr.Name, Err: fmt.Errorf("%d bytes, more than the %d allowed here", hdr.Size, limit)}
	}
	rd.last = hdr.Name
	return hdr, nil
}

// tarNext reads the next tar header, telling a cut from a real end.
func (rd *reader) tarNext(want string) (*tar.Header, error) {
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
	return hdr, nil
}

// signed reads an entry and its detached signature.
func (rd *reader) signed(name string, limit int64) (*Signed, error) {
	data, err := rd.small(name, limit)
	if err != nil {
		return nil, err
	}
	sig, err := rd.small(name+sigSuffix, maxSigSize)
	if err != nil {
		return nil, err
	}
	return &Signed{Data: data, Sig: sig}, nil
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
func (rd *reader) archive(dir string, f FileRef) (err error) {
	name := dir + f.Name
	hdr, err := rd.next(name, f.Size)
	if err != nil {
		return err
	}
	if hdr == nil {
		return &Error{Entry: name, Err: errors.New("missing: the signed index lists it, but the bundle ends before it; export it again")}
	}
	if hdr.Size != f.Size {
		return &Error{Entry: name, Err: fmt.Errorf("%d bytes, the signed index says %d: the bundle was damaged or changed after export; export it again", hdr.Size, f.Size)}
	}
	var sink Sink
	if rd.h.Archive != nil {
		if sink, err = rd.h.Archive(f.Name); err != nil {
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
	n, err := io.Copy(io.MultiWriter(sink, sum), io.LimitReader(rd.tr, f.Size))
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return &Error{Entry: name, Err: fmt.Errorf("cut short after %d of %d bytes: copy the bundle again", n, f.Size)}
	}
	if err != nil {
		return &Error{Entry: name, Err: err}
	}
	rd.dataEnd = rd.in.entryDone()
	if n != f.Size {
		return &Error{Entry: name, Err: fmt.Errorf("cut short: %d of %d bytes", n, f.Size)}
	}
	if got := hex.EncodeToString(sum.Sum(nil)); got != f.SHA256 {
		return &Error{Entry: name, Err: fmt.Errorf("sha256 %s does not match the signed index's %s: the bundle was damaged or tampered with; nothing of it was kept", got, f.SHA256)}
	}
	committed = true
	if err := sink.Commit(); err != nil {
		return fmt.Errorf("keep %s: %w", name, err)
	}
	return nil
}

// keys reads the keys/ entries: in a format 2 bundle (first) up to the
// first other entry, which the next read takes; in a format 1 bundle
// (first false: they come last) up to the end of the archive, whose end
// it then checks.
func (rd *reader) keys(first bool) ([]string, error) {
	var names []string
	for {
		hdr, err := rd.next("keys/", MaxKeySize)
		if err != nil {
			return nil, err
		}
		if hdr == nil && (first || rd.pending == nil) {
			if first {
				return names, nil
			}
			return names, rd.end()
		}
		if hdr == nil {
			return nil, &Error{Entry: rd.pending.Name, Err: errors.New("unexpected entry: after the archives a bundle holds only keys/NAME files")}
		}
		base, _ := isKeyEntry(hdr.Name)
		switch {
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

// skip reads the files of folder dir up to the first other entry into no
// sink: what a reader that keeps none of them need not verify.
func (rd *reader) skip(dir string) error {
	for n := 0; ; n++ {
		hdr, err := rd.next(dir, maxRepodataSize)
		if err != nil || hdr == nil {
			return err
		}
		if n >= maxRepodata {
			return &Error{Entry: hdr.Name, Err: fmt.Errorf("more than %d files in %s", maxRepodata, dir)}
		}
		if _, err := io.Copy(io.Discard, io.LimitReader(rd.tr, hdr.Size)); err != nil {
			return &Error{Entry: hdr.Name, Err: fmt.Errorf("cut short: %w", err)}
		}
		rd.dataEnd = rd.in.entryDone()
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
