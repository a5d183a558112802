package repo

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
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

// SourceDateEpoch returns SOURCE_DATE_EPOCH as a time, or the Unix epoch.
func SourceDateEpoch() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds since 1970", s)
	}
	return time.Unix(n, 0).UTC(), nil
}

// Pack validates the fix source in srcDir and writes PRODUCT-VERSION.fix
// into outDir, returning its path and manifest. It streams: memory stays
// flat whatever the payload size. The archive appears only when complete.
func Pack(ctx context.Context, srcDir, outDir string, opts PackOptions) (string, *Manifest, error) {
	m, epoch, err := prepareManifest(ctx, srcDir, opts.Epoch)
	if err != nil {
		return "", nil, err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", nil, fmt.Errorf("pack: %w", err)
	}
	out := filepath.Join(outDir, ArchiveName(m.Product, m.Version))
	f, err := atomicfile.Create(out, 0o644)
	if err != nil {
		return "", nil, fmt.Errorf("pack: %w", err)
	}
	defer f.Abort()
	if err := writeArchive(ctx, f, srcDir, &m, epoch); err != nil {
		return "", nil, fmt.Errorf("pack %s: %w", out, err)
	}
	if err := f.Commit(); err != nil {
		return "", nil, fmt.Errorf("pack: %w", err)
	}
	return out, &m, nil
}

// prepareManifest loads and checks a fix source and completes its
// manifest with every file's digest, for any archive format. A zero epoch
// means SourceDateEpoch.
func prepareManifest(ctx context.Context, srcDir string, epoch time.Time) (Manifest, time.Time, error) {
	src, err := LoadSource(srcDir)
	if err != nil {
		return Manifest{}, epoch, err
	}
	if epoch.IsZero() {
		if epoch, err = SourceDateEpoch(); err != nil {
			return Manifest{}, epoch, err
		}
	}
	m := src.Manifest
	if err := hashEntries(ctx, filepath.Join(srcDir, "files"), m.Files); err != nil {
		return Manifest{}, epoch, err
	}
	if err := hashEntries(ctx, filepath.Join(srcDir, "scripts"), m.Scripts); err != nil {
		return Manifest{}, epoch, err
	}
	if err := m.Validate(); err != nil {
		return Manifest{}, epoch, err
	}
	return m, epoch, nil
}

// hashEntries fills in the sha256 of every entry, on every core.
func hashEntries(ctx context.Context, dir string, entries []FileEntry) error {
	return atomicfile.Parallel(ctx, len(entries), runtime.GOMAXPROCS(0), func(i int) error {
		sum, n, err := HashFile(filepath.Join(dir, filepath.FromSlash(entries[i].Path)))
		if err == nil && n != entries[i].Size {
			err = fmt.Errorf("%s changed while packing: pack again", entries[i].Path)
		}
		entries[i].SHA256 = sum
		return err
	})
}

// HashFile returns the hex sha256 and the size of a file: the one digest
// that archives, indexes and installed-file records use.
func HashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", n, fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
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
func writeArchive(ctx context.Context, w io.Writer, srcDir string, m *Manifest, epoch time.Time) error {
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
	if err := tw.WriteHeader(tarHeader(ManifestName, int64(len(manifest)), 0o644, epoch)); err != nil {
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
	copyEntries := func(prefix, dir string, entries []FileEntry) error {
		for _, e := range entries {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := tw.WriteHeader(tarHeader(prefix+e.Path, e.Size, int64(e.Mode), epoch)); err != nil {
				return err
			}
			if err := copyVerified(tw, filepath.Join(dir, filepath.FromSlash(e.Path)), e); err != nil {
				return err
			}
		}
		return nil
	}
	if err := copyEntries(filesPrefix, filepath.Join(srcDir, "files"), m.Files); err != nil {
		return err
	}
	if err := copyEntries(scriptsPrefix, filepath.Join(srcDir, "scripts"), m.Scripts); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return xw.Close()
}

// copyVerified copies a source file into the archive and insists that it
// still has the size and digest recorded in the manifest: a file edited
// during packing must not produce an archive that contradicts itself.
func copyVerified(w io.Writer, path string, e FileEntry) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(f, e.Size))
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if n != e.Size || hex.EncodeToString(h.Sum(nil)) != e.SHA256 {
		return fmt.Errorf("%s changed while packing: pack again", path)
	}
	return nil
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
