package fixarchive

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
	"github.com/hotfix-project/hotfix/repo"
)

// PackOptions tune Pack.
type PackOptions struct {
	// Epoch is the modification time written for every entry. The zero
	// value means SOURCE_DATE_EPOCH, or the Unix epoch when unset, so that
	// the same source always gives the same bytes.
	Epoch time.Time
	// Compression of the tar stream: Zstd (the zero value) or XZ. Either
	// way the stream is cut into 2 MiB chunks compressed independently on
	// up to four cores, so the bytes never depend on the number of cores.
	Compression Compression
	Logger      *slog.Logger
}

// Pack validates the fix source in srcDir and writes PRODUCT-VERSION.fix
// into outDir, returning its path and manifest. It streams: memory stays
// flat whatever the payload size. The archive appears only when complete.
func Pack(ctx context.Context, srcDir, outDir string, opts PackOptions) (string, *repo.Manifest, error) {
	src, err := repo.PrepareSource(ctx, srcDir)
	if err != nil {
		return "", nil, err
	}
	epoch := opts.Epoch
	if epoch.IsZero() {
		if epoch, err = repo.SourceDateEpoch(); err != nil {
			return "", nil, err
		}
	}
	m := &src.Manifest
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", nil, fmt.Errorf("pack: %w", err)
	}
	out := filepath.Join(outDir, m.ArchiveName())
	f, err := atomicfile.Create(out, 0o644)
	if err != nil {
		return "", nil, fmt.Errorf("pack: %w", err)
	}
	defer f.Abort()
	if err := writeArchive(ctx, f, src, epoch, opts.Compression); err != nil {
		return "", nil, fmt.Errorf("pack %s: %w", out, err)
	}
	if err := f.Commit(); err != nil {
		return "", nil, fmt.Errorf("pack: %w", err)
	}
	return out, m, nil
}

// writeArchive writes the compressed tar stream: manifest.json, then
// files/…, then scripts/…, each in sorted order with fixed owners and
// times.
//
// The manifest entry is a frame (zstd) or stream (xz) of its own, and the
// payload follows in 2 MiB chunks, each its own frame or stream
// (concatenated frames and streams are plain zstd and xz to every tool).
// Reading just the manifest thus decompresses only the manifest, and the
// chunks compress on several cores with bytes that depend only on the
// source.
func writeArchive(ctx context.Context, w io.Writer, src *repo.Source, epoch time.Time, c Compression) (err error) {
	m := &src.Manifest
	compress, err := compressorFor(c)
	if err != nil {
		return err
	}
	cw := newChunkWriter(w, compress)
	defer func() {
		if err != nil {
			cw.abort()
		}
	}()
	tw := tar.NewWriter(cw)
	manifest, err := m.Marshal()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(tarHeader(repo.ManifestName, int64(len(manifest)), 0o644, epoch)); err != nil {
		return err
	}
	if _, err := tw.Write(manifest); err != nil {
		return err
	}
	if err := tw.Flush(); err != nil { // pads the entry to its 512-byte block
		return err
	}
	if err := cw.Flush(); err != nil {
		return err
	}
	copyEntries := func(kind string, entries []repo.FileEntry) error {
		for _, e := range entries {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := tw.WriteHeader(tarHeader(kind+"/"+e.Path, e.Size, int64(e.Mode), epoch)); err != nil {
				return err
			}
			if err := src.CopyEntry(tw, kind, e); err != nil {
				return err
			}
		}
		return nil
	}
	if err := copyEntries("files", m.Files); err != nil {
		return err
	}
	if err := copyEntries("scripts", m.Scripts); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return cw.Close()
}

func tarHeader(name string, size, mode int64, epoch time.Time) *tar.Header {
	return &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     name,
		Size:     size,
		Mode:     mode,
		ModTime:  epoch,
		Format:   tar.FormatPAX,
	}
}
