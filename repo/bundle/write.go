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
	Name string // plain name: in the channel's folder (archives) or keys/
	Size int64
	Open func() (io.ReadCloser, error)
}

// Bundle is what Write writes, in the order of the format.
type Bundle struct {
	Header   Header
	Index    []byte
	Sig      []byte
	Archives []File // in the order Carried and the RPM-after-fix rule give
	Keys     []File // sorted by name
	ModTime  time.Time
}

// Write writes b as a bundle to w. Each file must have exactly its Size:
// a file that changed while it was written is an error, not a bundle
// whose content the index does not describe.
func Write(ctx context.Context, w io.Writer, b *Bundle) error {
	if err := b.Header.validate(); err != nil {
		return err
	}
	hb, err := marshalHeader(&b.Header)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	small := []struct {
		name string
		data []byte
	}{{HeaderName, hb}, {b.Header.IndexEntry(), b.Index}, {b.Header.SigEntry(), b.Sig}}
	for _, e := range small {
		if err := tw.WriteHeader(tarHeader(e.name, int64(len(e.data)), b.ModTime)); err != nil {
			return err
		}
		if _, err := tw.Write(e.data); err != nil {
			return err
		}
	}
	for _, f := range b.Archives {
		if err := writeFile(ctx, tw, b.Header.channelDir()+"/"+f.Name, f, b.ModTime); err != nil {
			return err
		}
	}
	for _, f := range b.Keys {
		if err := writeFile(ctx, tw, "keys/"+f.Name, f, b.ModTime); err != nil {
			return err
		}
	}
	return tw.Close()
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
