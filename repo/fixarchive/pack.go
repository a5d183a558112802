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
	"github.com/ulikunitz/xz"
)

// packDictSize is the xz dictionary hotfix pack writes: large enough for
// good ratios on typical fixes, small enough that every reader's bound
// (xzsafe.DefaultMaxDict) accepts it with room to spare.
const packDictSize = 8 << 20

// manifestDictSize is the dictionary of the manifest's own xz stream: the
// manifest is small, and a shallow read should allocate little.
const manifestDictSize = 64 << 10

// PackOptions tune Pack.
type PackOptions struct {
	// Epoch is the modification time written for every entry. The zero
	// value means SOURCE_DATE_EPOCH, or the Unix epoch when unset, so that
	// the same source always gives the same bytes.
	Epoch  time.Time
	Logger *slog.Logger
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
	out := filepath.Join(outDir, repo.ArchiveName(m.Product, m.Version))
	f, err := atomicfile.Create(out, 0o644)
	if err != nil {
		return "", nil, fmt.Errorf("pack: %w", err)
	}
	defer f.Abort()
	if err := writeArchive(ctx, f, src, epoch); err != nil {
		return "", nil, fmt.Errorf("pack %s: %w", out, err)
	}
	if err := f.Commit(); err != nil {
		return "", nil, fmt.Errorf("pack: %w", err)
	}
	return out, m, nil
}

// writeArchive writes the tar.xz stream: manifest.json, then files/…, then
// scripts/…, each in sorted order with fixed owners and times.
//
// The manifest entry is an xz stream of its own, with a small dictionary,
// and the payload follows in a second stream (concatenated streams are
// plain xz to every tool). Go's LZMA decoder fills its whole window before
// it returns anything, so with one stream reading just the manifest
// decompressed up to 8 MiB of payload: "repo build" ran at xz speed instead
// of hashing speed.
func writeArchive(ctx context.Context, w io.Writer, src *repo.Source, epoch time.Time) error {
	m := &src.Manifest
	mxw, err := xz.WriterConfig{DictCap: manifestDictSize}.NewWriter(w)
	if err != nil {
		return err
	}
	sw := &switchWriter{w: mxw}
	tw := tar.NewWriter(sw)
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
	if err := mxw.Close(); err != nil {
		return err
	}
	xw, err := xz.WriterConfig{DictCap: packDictSize}.NewWriter(w)
	if err != nil {
		return err
	}
	sw.w = xw
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
	return xw.Close()
}

// switchWriter lets one tar stream continue into the next xz stream.
type switchWriter struct{ w io.Writer }

func (s *switchWriter) Write(p []byte) (int, error) { return s.w.Write(p) }

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
