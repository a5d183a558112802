package fixarchive

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hotfix-project/hotfix/repo"
)

// Entry names inside a .fix archive, after repo.ManifestName.
const (
	filesPrefix   = "files/"
	scriptsPrefix = "scripts/"
)

// ErrArchive marks an archive that is broken or hostile; callers branch on
// it to tell bad input from I/O trouble.
var ErrArchive = errors.New("invalid fix archive")

// ArchiveError names the entry of an archive that was refused and why.
type ArchiveError struct {
	Entry string // entry name, or "" for the stream as a whole
	Err   error
}

func (e *ArchiveError) Error() string {
	if e.Entry == "" {
		return fmt.Sprintf("invalid fix archive: %v", e.Err)
	}
	return fmt.Sprintf("invalid fix archive: entry %q: %v", e.Entry, e.Err)
}

func (e *ArchiveError) Unwrap() []error { return []error{ErrArchive, e.Err} }

func archiveErr(entry string, format string, args ...any) error {
	return &ArchiveError{Entry: entry, Err: fmt.Errorf(format, args...)}
}

// Entry is one payload entry of an archive, already matched against the
// manifest. Its Reader yields exactly Size bytes; the digest is checked
// when the archive moves on.
type Entry struct {
	Kind string // "files" or "scripts"
	repo.FileEntry
	Reader io.Reader
}

// ArchiveReader reads a .fix stream and verifies each entry against the
// manifest it starts with: names, types, sizes, digests, no duplicates,
// nothing missing, nothing extra.
type ArchiveReader struct {
	Manifest *repo.Manifest
	tr       *tar.Reader
	in       *tarInput
	comp     Compression
	dataEnd  int64                     // offset in the tar stream where the last entry's data ended
	want     map[string]repo.FileEntry // by entry name, still expected
	cur      *hashingReader
	curName  string
}

// tarInput counts the decompressed bytes the tar reader consumes. Go's
// tar reader reads exactly what it needs and keeps nothing buffered, so
// the count says where the end-of-archive marker ended and what is left.
type tarInput struct {
	r io.Reader
	n int64
}

func (t *tarInput) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.n += int64(n)
	return n, err
}

// MaxTrailingZeros bounds the zeros accepted after the tar end-of-archive
// marker. Writers pad the archive to their record size (GNU tar to 10 KiB
// by default, up to 1 MiB with -b 2048); more is refused, so a stream of
// zeros cannot keep a reader decompressing.
const MaxTrailingZeros = 1 << 20

// NewArchiveReader starts reading a .fix stream, zstd or xz by its magic
// bytes. The decompressor is bounded (window or dictionary size) before
// anything is decompressed, and manifest.json must be the first entry.
func NewArchiveReader(r io.Reader) (*ArchiveReader, error) {
	zr, comp, err := decompressor(r)
	if err != nil {
		return nil, &ArchiveError{Err: err}
	}
	a, err := startArchive(zr, comp)
	if err != nil {
		closeReader(zr)
		return nil, err
	}
	return a, nil
}

// Close releases the decompressor (a zstd decoder goes back to its pool
// for the next archive). The reader cannot be used after it.
func (a *ArchiveReader) Close() error {
	closeReader(a.in.r)
	return nil
}

func closeReader(r io.Reader) {
	if c, ok := r.(io.Closer); ok {
		c.Close()
	}
}

// startArchive reads the manifest, the first entry of the decompressed
// stream zr.
func startArchive(zr io.Reader, comp Compression) (*ArchiveReader, error) {
	in := &tarInput{r: zr}
	tr := tar.NewReader(in)
	hdr, err := tr.Next()
	if err == io.EOF {
		return nil, &ArchiveError{Err: fmt.Errorf("the archive has no entries: the first entry must be %s", repo.ManifestName)}
	}
	if err != nil {
		return nil, &ArchiveError{Err: fmt.Errorf("read first entry: %w", noEOF(err))}
	}
	if hdr.Name != repo.ManifestName || hdr.Typeflag != tar.TypeReg {
		return nil, archiveErr(hdr.Name, "the first entry must be %s", repo.ManifestName)
	}
	if hdr.Size > repo.MaxManifestSize {
		return nil, archiveErr(hdr.Name, "%d bytes, more than the limit of %d", hdr.Size, repo.MaxManifestSize)
	}
	data, err := io.ReadAll(io.LimitReader(tr, repo.MaxManifestSize))
	if err != nil {
		return nil, archiveErr(repo.ManifestName, "%v", noEOF(err))
	}
	m, err := repo.ParseManifest(data)
	if err != nil {
		return nil, archiveErr(repo.ManifestName, "%v", err)
	}
	want := make(map[string]repo.FileEntry, len(m.Files)+len(m.Scripts))
	for _, f := range m.Files {
		want[filesPrefix+f.Path] = f
	}
	for _, s := range m.Scripts {
		want[scriptsPrefix+s.Path] = s
	}
	return &ArchiveReader{Manifest: m, tr: tr, in: in, comp: comp, dataEnd: in.n, want: want}, nil
}

// Next returns the next payload entry, or io.EOF after the last one once
// every manifest entry has been seen and verified.
func (a *ArchiveReader) Next() (*Entry, error) {
	if err := a.finishCurrent(); err != nil {
		return nil, err
	}
	hdr, err := a.tr.Next()
	if err == io.EOF {
		if len(a.want) > 0 {
			missing := make([]string, 0, len(a.want))
			for name := range a.want {
				missing = append(missing, name)
			}
			return nil, archiveErr(firstSorted(missing), "listed in the manifest but missing from the archive (%d missing)", len(missing))
		}
		if err := a.readToEnd(); err != nil {
			return nil, err
		}
		return nil, io.EOF
	}
	if err != nil {
		return nil, &ArchiveError{Err: fmt.Errorf("read entry: %w", noEOF(err))}
	}
	name := hdr.Name
	switch {
	case strings.HasPrefix(name, "/"):
		return nil, archiveErr(name, "absolute path")
	case hasDotDot(name):
		return nil, archiveErr(name, "path climbs out with '..'")
	}
	switch hdr.Typeflag {
	case tar.TypeReg:
	case tar.TypeSymlink, tar.TypeLink:
		return nil, archiveErr(name, "is a link (to %q): fixes carry only regular files", hdr.Linkname)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return nil, archiveErr(name, "is a device or fifo: fixes carry only regular files")
	default:
		return nil, archiveErr(name, "entry type %q is not a regular file", hdr.Typeflag)
	}
	fe, ok := a.want[name]
	if !ok {
		if name == repo.ManifestName || a.seenBefore(name) {
			return nil, archiveErr(name, "duplicate entry")
		}
		return nil, archiveErr(name, "not listed in the manifest")
	}
	if hdr.Size != fe.Size {
		return nil, archiveErr(name, "size %d differs from the manifest's %d", hdr.Size, fe.Size)
	}
	delete(a.want, name)
	kind, _, _ := strings.Cut(name, "/")
	a.cur = &hashingReader{r: a.tr, h: sha256.New(), want: fe.SHA256}
	a.curName = name
	return &Entry{Kind: kind, FileEntry: fe, Reader: a.cur}, nil
}

// readToEnd runs when the tar reader reports the end of the archive. It
// checks that the end was the two zero blocks of the end-of-archive
// marker (Go's tar reader also reports a stream that simply stops), that
// nothing but padding zeros follows it (an entry hidden after the marker
// is ignored by tar and so would never be checked), and that the zstd or
// xz container then ends where it should: every checksum verified (and an
// xz file's index and footer), nothing after the last frame or stream.
// Only then has every byte of the file been accounted for.
func (a *ArchiveReader) readToEnd() error {
	markerStart := (a.dataEnd + 511) &^ 511
	if a.in.n-markerStart < 1024 {
		return &ArchiveError{Err: fmt.Errorf("the tar stream ends at byte %d without its end-of-archive marker (two zero blocks): the archive was cut short or made by hand; pack it again", a.in.n)}
	}
	end := a.in.n
	buf := make([]byte, 32<<10)
	var zeros int64
	for {
		n, err := a.in.Read(buf)
		for i, c := range buf[:n] {
			if c != 0 {
				return &ArchiveError{Err: fmt.Errorf("data after the tar end-of-archive marker (at byte %d of the tar stream, %d bytes after the marker): "+
					"tar ignores it, so it is refused rather than left unchecked; pack the archive again", end+zeros+int64(i), zeros+int64(i))}
			}
		}
		zeros += int64(n)
		if zeros > MaxTrailingZeros {
			return &ArchiveError{Err: fmt.Errorf("more than %d bytes of zeros after the tar end-of-archive marker: pack the archive again", MaxTrailingZeros)}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return &ArchiveError{Err: fmt.Errorf("%s: %w", a.comp, err)}
		}
	}
}

func (a *ArchiveReader) seenBefore(name string) bool {
	for _, f := range a.Manifest.Files {
		if filesPrefix+f.Path == name {
			return true
		}
	}
	for _, s := range a.Manifest.Scripts {
		if scriptsPrefix+s.Path == name {
			return true
		}
	}
	return false
}

// finishCurrent drains the current entry and checks its digest.
func (a *ArchiveReader) finishCurrent() error {
	if a.cur == nil {
		return nil
	}
	cur, name := a.cur, a.curName
	a.cur = nil
	if _, err := io.Copy(io.Discard, cur); err != nil {
		return archiveErr(name, "%v", noEOF(err))
	}
	a.dataEnd = a.in.n
	if got := hex.EncodeToString(cur.h.Sum(nil)); got != cur.want {
		return archiveErr(name, "sha256 %s does not match the manifest's %s", got, cur.want)
	}
	return nil
}

type hashingReader struct {
	r    io.Reader
	h    hash.Hash
	want string
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	return n, err
}

func hasDotDot(name string) bool { return slices.Contains(strings.Split(name, "/"), "..") }

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func firstSorted(s []string) string {
	min := s[0]
	for _, x := range s[1:] {
		if x < min {
			min = x
		}
	}
	return min
}

// VerifyArchive reads a whole archive from r and checks every entry
// against its manifest, returning the manifest.
func VerifyArchive(ctx context.Context, r io.Reader) (*repo.Manifest, error) {
	a, err := NewArchiveReader(r)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	return a.VerifyRest(ctx)
}

// VerifyRest reads the rest of the archive, to its true end, checking
// every entry against the manifest, and returns the manifest: what
// VerifyArchive does after NewArchiveReader, for a caller that looks at
// the manifest first.
func (a *ArchiveReader) VerifyRest(ctx context.Context) (*repo.Manifest, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		_, err := a.Next()
		if err == io.EOF {
			return a.Manifest, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// VerifyArchiveFile is VerifyArchive on a file.
func VerifyArchiveFile(ctx context.Context, path string) (*repo.Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := VerifyArchive(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// ReadManifestFile reads only the manifest of an archive file: cheap, for
// listing, but it proves nothing about the payload.
func ReadManifestFile(path string) (*repo.Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a, err := NewArchiveReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	a.Close()
	return a.Manifest, nil
}

// Extract verifies an archive and unpacks it into dest (which must not
// exist yet) as dest/files/… and dest/scripts/…. On any error dest is
// removed again, so a caller never sees a half-verified tree. dest is a
// staging area: nothing is fsynced here, because a crash may lose it (the
// next run unpacks again) and whatever is copied on from it is made
// durable where it lands.
func Extract(ctx context.Context, r io.Reader, dest string) (m *repo.Manifest, err error) {
	a, err := NewArchiveReader(r)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	if err := os.Mkdir(dest, 0o700); err != nil {
		return nil, fmt.Errorf("extract: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dest)
		}
	}()
	made := map[string]bool{}
	for _, sub := range []string{"files", "scripts"} {
		if err := os.Mkdir(filepath.Join(dest, sub), 0o700); err != nil {
			return nil, fmt.Errorf("extract: %w", err)
		}
		made[filepath.Join(dest, sub)] = true
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		e, err := a.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		target := filepath.Join(dest, e.Kind, filepath.FromSlash(e.Path))
		if dir := filepath.Dir(target); !made[dir] {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("extract: %w", err)
			}
			made[dir] = true
		}
		f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, os.FileMode(e.Mode)|0o600)
		if err != nil {
			return nil, fmt.Errorf("extract: %w", err)
		}
		_, err = io.Copy(f, e.Reader)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, archiveErr(e.Kind+"/"+e.Path, "%v", noEOF(err))
		}
	}
	return a.Manifest, nil
}
