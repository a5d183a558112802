package bundle

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"time"
)

// File is one archive or key to write into a bundle.
type File struct {
	// Name is relative to the channel's folder for archives and
	// repodata ("FILE", "repodata/FILE"), to the customer's folder for a
	// customer's archives, and to keys/ for keys.
	Name string
	Size int64
	Open func() (io.ReadCloser, error)
}

// Signed is a file and its detached signature.
type Signed struct{ Data, Sig []byte }

// CustomChannel is one customer's channel: its signed index and archives.
type CustomChannel struct {
	Customer string
	Index    Signed
	Archives []File
}

// Bundle is what Write writes, in the order of the format. Header's
// Root, Repodata and Customers are set by Write from what it holds.
type Bundle struct {
	Header    Header
	Keys      []File  // sorted by name
	Root      *Signed // repo.json; nil when the repository has none
	Index     []byte
	Sig       []byte
	Archives  []File  // in the order Carried and the RPM-after-fix rule give
	RepoMD    *Signed // repodata/repomd.xml; nil when the channel has none
	Repodata  []File  // the data files repomd.xml names, in its order
	Customers []CustomChannel
	ModTime   time.Time
}

// Write writes b as a bundle to w. Each file must have exactly its Size:
// a file that changed while it was written is an error, not a bundle
// whose content the index does not describe.
func Write(ctx context.Context, w io.Writer, b *Bundle) error {
	h := b.Header
	h.Format = Format
	h.Root, h.Repodata, h.Customers = b.Root != nil, b.RepoMD != nil, nil
	for _, c := range b.Customers {
		h.Customers = append(h.Customers, c.Customer)
	}
	if err := h.validate(); err != nil {
		return err
	}
	hb, err := marshalHeader(&h)
	if err != nil {
		return err
	}
	bw := &writer{ctx: ctx, tw: tar.NewWriter(w), mtime: b.ModTime}
	bw.small(HeaderName, hb)
	for _, f := range b.Keys {
		bw.file("keys/"+f.Name, f)
	}
	if b.Root != nil {
		bw.signed(rootEntry, *b.Root)
	}
	bw.signed(h.IndexEntry(), Signed{b.Index, b.Sig})
	dir := h.channelDir() + "/"
	for _, f := range b.Archives {
		bw.file(dir+f.Name, f)
	}
	if b.RepoMD != nil {
		bw.signed(h.repoMDEntry(), *b.RepoMD)
		for _, f := range b.Repodata {
			bw.file(dir+f.Name, f)
		}
	}
	for _, c := range b.Customers {
		cdir := h.customDir(c.Customer) + "/"
		bw.signed(cdir+indexName, c.Index)
		for _, f := range c.Archives {
			bw.file(cdir+f.Name, f)
		}
	}
	if bw.err != nil {
		return bw.err
	}
	return bw.tw.Close()
}

// writer writes entries until the first error, which it keeps.
type writer struct {
	ctx   context.Context
	tw    *tar.Writer
	mtime time.Time
	err   error
}

func (w *writer) small(name string, data []byte) {
	if w.err != nil {
		return
	}
	if w.err = w.tw.WriteHeader(tarHeader(name, int64(len(data)), w.mtime)); w.err == nil {
		_, w.err = w.tw.Write(data)
	}
}

func (w *writer) signed(name string, s Signed) {
	w.small(name, s.Data)
	w.small(name+sigSuffix, s.Sig)
}

func (w *writer) file(name string, f File) {
	if w.err == nil {
		w.err = writeFile(w.ctx, w.tw, name, f, w.mtime)
	}
}

func writeFile(ctx context.Context, tw *tar.Writer, name string, f File, mtime time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := tw.WriteHeader(tarHeader(name, f.Size, mtime)); err != nil {
		return err
	}
	n, err := io.Copy(tw, io.LimitReader(rc, f.Size))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if n != f.Size {
		return fmt.Errorf("%s: %d bytes, expected %d: did it change during the export?", name, n, f.Size)
	}
	return nil
}
