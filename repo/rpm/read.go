package rpm

import (
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/cavaliergopher/cpio"
	"github.com/hotfix-project/hotfix/internal/atomicfile"
	"github.com/hotfix-project/hotfix/internal/xzsafe"
	"github.com/hotfix-project/hotfix/internal/zstdsafe"
	"github.com/hotfix-project/hotfix/repo"
)

// Trust says which header signatures an RPM reader accepts.
type Trust struct {
	// Check verifies a detached signature over the header; when set, a
	// package that carries a header signature must pass it. nil: the
	// signature is not checked (the repository side, where the vendor's
	// own files are indexed and their sha256 signed in the index).
	Check repo.CheckSignature
	// RequireSignature refuses a package without a header signature.
	RequireSignature bool
}

// rpmReader walks an RPM fix package: header, signature, payload digest,
// then the cpio payload, checking each entry against the header and, at
// the end, everything against manifest.json.
type rpmReader struct {
	h      *Header
	prefix string // payload directory, without the leading '/'
	byPath map[string]*File
	seen   map[string]bool
	got    map[string]repo.FileEntry // "files/x", "scripts/y" as read
	mdata  []byte
}

// openRPM reads and authenticates the package at path: header structure,
// header signature per trust, header digest, declared sizes and the
// payload digest, all before a byte is decompressed. It returns the file
// positioned at the payload.
func openRPM(ctx context.Context, path string, trust Trust) (*os.File, *Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
		}
	}()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	h, err := readHeader(f)
	if err != nil {
		return nil, nil, err
	}
	if err := h.authenticate(trust); err != nil {
		return nil, nil, err
	}
	if err := h.CheckFileSize(info.Size()); err != nil {
		return nil, nil, err
	}
	want := h.Pkg.Header.GetTag(tagPayloadDigest).String()
	if want == "" {
		return nil, nil, rpmErr("", "no payload digest in the header (tag 5092): rebuild the package with rpm 4.14 or later")
	}
	if alg := h.Pkg.Header.GetTag(tagPayloadDigestAlg).Int64(); alg != hashAlgoSHA256 {
		return nil, nil, rpmErr("", "payload digest algorithm %d is not SHA-256 (8)", alg)
	}
	hs := sha256.New()
	if _, err := io.Copy(hs, ctxReader{ctx, f}); err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	if got := hex.EncodeToString(hs.Sum(nil)); got != strings.ToLower(want) {
		return nil, nil, rpmErr("", "payload digest mismatch: the payload's sha256 is %s, the header says %s", got, want)
	}
	if _, err := f.Seek(h.HeaderEnd, io.SeekStart); err != nil {
		return nil, nil, err
	}
	ok = true
	return f, h, nil
}

// authenticate checks the header digest and, per trust, the signature.
func (h *Header) authenticate(trust Trust) error {
	if h.sigHeaderSHA256 != "" {
		sum := sha256.Sum256(h.headerBytes)
		if hex.EncodeToString(sum[:]) != strings.ToLower(h.sigHeaderSHA256) {
			return rpmErr("", "header digest mismatch: the header was changed after it was written")
		}
	}
	if len(h.signature) == 0 {
		if trust.RequireSignature {
			return &Error{Err: ErrUnsigned}
		}
		return nil
	}
	if trust.Check != nil {
		if err := trust.Check(h.headerBytes, h.signature); err != nil {
			return rpmErr("", "bad header signature: %w", err)
		}
	}
	return nil
}

// maxRPMWindow bounds the zstd window of an RPM payload, and with it the
// memory a hostile package can make the reader take.
const maxRPMWindow = 64 << 20

// payloadReader decompresses the payload read from r.
func (h *Header) payloadReader(r io.Reader) (io.Reader, func(), error) {
	if f := h.Pkg.PayloadFormat(); f != "cpio" {
		return nil, nil, rpmErr("", "payload format %q is not cpio", f)
	}
	switch c := h.Pkg.PayloadCompression(); c {
	case "zstd":
		// The same checked reader as .fix archives: frame headers read
		// before any decoding, no skippable frames, windows bounded
		// (rpmbuild's zstd -19 uses 8 MiB; 64 MiB leaves room for
		// --long), and the payload must end where its last frame ends.
		zr, err := zstdsafe.NewReader(r, maxRPMWindow)
		if err != nil {
			return nil, nil, rpmErr("", "zstd payload: %v", err)
		}
		return zr, func() { zr.Close() }, nil
	case "xz":
		xr, err := xzsafe.NewReader(r, 0)
		if err != nil {
			return nil, nil, rpmErr("", "xz payload: %v", err)
		}
		return xr, func() {}, nil
	case "gzip":
		gr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, rpmErr("", "gzip payload: %v", err)
		}
		return gr, func() { gr.Close() }, nil
	default:
		return nil, nil, rpmErr("", "payload compression %q is not supported (zstd, xz and gzip are)", c)
	}
}

// readPayload walks the cpio payload. For each regular file of files/ or
// scripts/ it calls put (which may write it out) with a reader of exactly
// the entry's bytes. It returns the verified manifest.
func (h *Header) readPayload(ctx context.Context, r io.Reader, put func(kind, rel string, mode uint32, body io.Reader) error) (*repo.Manifest, error) {
	pr, closeFn, err := h.payloadReader(r)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	rr := &rpmReader{h: h, prefix: strings.TrimPrefix(fixDir(h.Product, h.Fix), "/"),
		byPath: map[string]*File{}, seen: map[string]bool{}, got: map[string]repo.FileEntry{}}
	var total uint64
	for i := range h.Files {
		f := &h.Files[i]
		rr.byPath[strings.TrimPrefix(f.Path, "/")] = f
		total += uint64(f.Size) + 110 + uint64(len(f.Path)) + 8
	}
	if total > rpmMaxTotalBytes {
		return nil, rpmErr("", "the header lists %d bytes of files, more than the limit of %d", total, uint64(rpmMaxTotalBytes))
	}
	// The payload cannot be longer than the header's files and their cpio
	// headers: a header that lies about sizes stops here.
	in := &cpioInput{r: pr}
	cr := cpio.NewReader(io.LimitReader(in, int64(total)+4096))
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hdr, err := cr.Next()
		if err == io.EOF {
			if err := in.readToEnd(); err != nil {
				return nil, err
			}
			break
		}
		if err != nil {
			return nil, rpmErr("", "read payload: %v", noEOF(err))
		}
		if err := rr.entry(hdr, cr, put); err != nil {
			return nil, err
		}
	}
	return rr.finish()
}

func (rr *rpmReader) entry(hdr *cpio.Header, body io.Reader, put func(kind, rel string, mode uint32, body io.Reader) error) error {
	raw := hdr.Name
	var name string
	switch {
	case strings.HasPrefix(raw, "./"):
		name = raw[2:]
	case strings.HasPrefix(raw, "/"):
		name = raw[1:]
	default:
		return rpmErr(raw, "name must start with \"./\" or \"/\"")
	}
	if strings.HasPrefix(name, "/") || strings.ContainsRune(name, 0) {
		return rpmErr(raw, "name is not a clean absolute path")
	}
	if slices.Contains(strings.Split(name, "/"), "..") {
		return rpmErr(raw, "path climbs out with '..'")
	}
	if rr.seen[name] {
		return rpmErr(raw, "duplicate entry")
	}
	rr.seen[name] = true
	hf, ok := rr.byPath[name]
	if !ok {
		return rpmErr(raw, "not in the header's file list")
	}
	typ := uint32(hdr.Mode) & cpio.ModeType
	if typ != hf.Mode&0o170000 {
		return rpmErr(raw, "type %#o differs from the header's %#o", typ, hf.Mode&0o170000)
	}
	switch typ {
	case cpio.TypeDir:
		if hdr.Size != 0 {
			return rpmErr(raw, "directory with %d bytes of data", hdr.Size)
		}
		if name != rr.prefix && !strings.HasPrefix(name, rr.prefix+"/") && !strings.HasPrefix(rr.prefix, name+"/") {
			return rpmErr(raw, "outside %s", "/"+rr.prefix)
		}
		return nil
	case cpio.TypeReg:
	case cpio.TypeSymlink:
		return rpmErr(raw, "is a symbolic link (to %q): fixes carry only regular files", hdr.Linkname)
	case cpio.TypeChar, cpio.TypeBlock, cpio.TypeFifo, cpio.TypeSocket:
		return rpmErr(raw, "is a device, fifo or socket (mode %#o): fixes carry only regular files", uint32(hdr.Mode))
	default:
		return rpmErr(raw, "unknown file type %#o", typ)
	}
	if hdr.Links > 1 {
		return rpmErr(raw, "is a hard link (%d links): fixes carry only plain files", hdr.Links)
	}
	if hdr.Size != hf.Size {
		return rpmErr(raw, "size %d differs from the header's %d", hdr.Size, hf.Size)
	}
	rel, ok := strings.CutPrefix(name, rr.prefix+"/")
	if !ok {
		return rpmErr(raw, "outside %s: a fix package delivers only into its incoming directory", "/"+rr.prefix)
	}
	if rel == repo.ManifestName {
		if hdr.Size > repo.MaxManifestSize {
			return rpmErr(raw, "%d bytes, more than the limit of %d", hdr.Size, repo.MaxManifestSize)
		}
		data, err := io.ReadAll(body)
		if err != nil || int64(len(data)) != hdr.Size {
			return rpmErr(raw, "truncated: %v", noEOF(err))
		}
		rr.mdata = data
		return nil
	}
	kind, sub, _ := strings.Cut(rel, "/")
	if kind != "files" && kind != "scripts" {
		return rpmErr(raw, "not manifest.json, files/… or scripts/…")
	}
	clean, err := repo.CleanRelPath(sub)
	if err != nil {
		return rpmErr(raw, "%v", err)
	}
	if kind == "scripts" && strings.Contains(clean, "/") {
		return rpmErr(raw, "scripts must be plain file names")
	}
	hs := sha256.New()
	cnt := &countingReader{r: io.TeeReader(body, hs)}
	if put != nil {
		if err := put(kind, clean, uint32(hdr.Mode)&0o777, cnt); err != nil {
			return err
		}
	}
	if _, err := io.Copy(io.Discard, cnt); err != nil {
		return rpmErr(raw, "%v", noEOF(err))
	}
	if cnt.n != hdr.Size {
		return rpmErr(raw, "truncated: %d of %d bytes", cnt.n, hdr.Size)
	}
	rr.got[kind+"/"+clean] = repo.FileEntry{Path: clean, Size: cnt.n, SHA256: hex.EncodeToString(hs.Sum(nil))}
	return nil
}

// cpioInput is the decompressed payload as the cpio reader consumes it;
// it remembers the last bytes read, so that the end of the payload can be
// told apart from the trailer entry (the cpio reader reports both as
// io.EOF).
type cpioInput struct {
	r    io.Reader
	n    int64
	tail [len(cpioTrailer)]byte
}

// cpioTrailer is the name of the entry that ends a cpio archive, as read
// with its terminating NUL.
const cpioTrailer = "TRAILER!!!\x00"

// maxTrailingZeros bounds the zeros accepted after the cpio trailer
// (cpio pads its output to 512-byte blocks, other writers to more), so a
// run of zeros cannot keep a reader decompressing.
const maxTrailingZeros = 1 << 20

func (c *cpioInput) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if n >= len(c.tail) {
		copy(c.tail[:], p[n-len(c.tail):n])
	} else {
		k := copy(c.tail[:], c.tail[n:])
		copy(c.tail[k:], p[:n])
	}
	return n, err
}

// readToEnd runs when the cpio reader reports the end of the archive: it
// checks that the end was the trailer entry, that only zeros follow it,
// and that the compressed stream then ends cleanly (its checks verified,
// nothing after it), so that every byte of the payload is accounted for.
// An entry hidden after the trailer would be skipped by rpm and cpio
// alike, and so never checked.
func (c *cpioInput) readToEnd() error {
	if string(c.tail[:]) != cpioTrailer {
		return rpmErr("", "the payload ends at byte %d without the cpio trailer (TRAILER!!!): it was cut short; rebuild the package", c.n)
	}
	end := c.n
	buf := make([]byte, 32<<10)
	var zeros int64
	for {
		n, err := c.r.Read(buf)
		for i, b := range buf[:n] {
			if b != 0 {
				return rpmErr("", "data after the cpio trailer (at byte %d of the payload, %d bytes after the trailer): rpm ignores it, so it is refused rather than left unchecked; rebuild the package",
					end+zeros+int64(i), zeros+int64(i))
			}
		}
		zeros += int64(n)
		if zeros > maxTrailingZeros {
			return rpmErr("", "more than %d bytes of zeros after the cpio trailer: rebuild the package", maxTrailingZeros)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return rpmErr("", "read payload after the cpio trailer: %v", noEOF(err))
		}
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// finish checks the payload against the header's file list and the
// manifest, exactly as the .fix reader does: nothing missing, nothing
// extra, every size and digest equal.
func (rr *rpmReader) finish() (*repo.Manifest, error) {
	for p, f := range rr.byPath {
		if !rr.seen[p] && !f.IsGhost() {
			return nil, rpmErr("/"+p, "listed in the header but missing from the payload")
		}
	}
	if rr.mdata == nil {
		return nil, rpmErr("", "no %s in %s", repo.ManifestName, "/"+rr.prefix)
	}
	m, err := repo.ParseManifest(rr.mdata)
	if err != nil {
		return nil, rpmErr(repo.ManifestName, "%v", err)
	}
	if m.Product != rr.h.Product || !m.Version.Equal(rr.h.Fix) {
		return nil, rpmErr(repo.ManifestName, "holds %s %s, but the package provides %s %s", m.Product, m.Version, rr.h.Product, rr.h.Fix)
	}
	want := map[string]repo.FileEntry{}
	for _, f := range m.Files {
		want["files/"+f.Path] = f
	}
	for _, s := range m.Scripts {
		want["scripts/"+s.Path] = s
	}
	var names []string
	for k := range want {
		names = append(names, k)
	}
	for k := range rr.got {
		if _, ok := want[k]; !ok {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		w, inManifest := want[k]
		g, inPayload := rr.got[k]
		switch {
		case !inManifest:
			return nil, rpmErr(k, "not listed in the manifest")
		case !inPayload:
			return nil, rpmErr(k, "listed in the manifest but missing from the payload")
		case g.Size != w.Size:
			return nil, rpmErr(k, "size %d differs from the manifest's %d", g.Size, w.Size)
		case g.SHA256 != w.SHA256:
			return nil, rpmErr(k, "sha256 %s does not match the manifest's %s", g.SHA256, w.SHA256)
		}
	}
	return m, nil
}

// Verify authenticates an RPM fix package per trust and checks every
// payload entry against the header and the manifest, writing nothing.
func Verify(ctx context.Context, path string, trust Trust) (*Header, *repo.Manifest, error) {
	f, h, err := openRPM(ctx, path, trust)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	m, err := h.readPayload(ctx, f, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return h, m, nil
}

// Extract authenticates an RPM fix package per trust (signature and
// payload digest before anything is decompressed), then unpacks it into
// dest (which must not exist yet) as dest/files/… and dest/scripts/…, the
// layout Extract gives a .fix. Entries are written only inside dest and
// checked against the manifest at the end; on any error dest is removed,
// so a caller never sees a half-verified tree.
func Extract(ctx context.Context, path, dest string, trust Trust) (m *repo.Manifest, err error) {
	f, h, err := openRPM(ctx, path, trust)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	if err := os.Mkdir(dest, 0o700); err != nil {
		return nil, fmt.Errorf("extract: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dest)
		}
	}()
	for _, sub := range []string{"files", "scripts"} {
		if err := os.Mkdir(filepath.Join(dest, sub), 0o700); err != nil {
			return nil, fmt.Errorf("extract: %w", err)
		}
	}
	put := func(kind, rel string, mode uint32, body io.Reader) error {
		target := filepath.Join(dest, kind, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
			return fmt.Errorf("extract: %w", err)
		}
		out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("extract: %w", err)
		}
		_, err = io.Copy(out, body)
		if err == nil {
			err = out.Sync()
		}
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return rpmErr(kind+"/"+rel, "%v", noEOF(err))
		}
		return nil
	}
	m, err = h.readPayload(ctx, f, put)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// Modes come from the manifest, as for a .fix.
	for kind, list := range map[string][]repo.FileEntry{"files": m.Files, "scripts": m.Scripts} {
		for _, e := range list {
			if err := os.Chmod(filepath.Join(dest, kind, filepath.FromSlash(e.Path)), os.FileMode(e.Mode)|0o600); err != nil {
				return nil, fmt.Errorf("extract: %w", err)
			}
		}
	}
	if err := atomicfile.SyncDir(dest); err != nil {
		return nil, err
	}
	return m, nil
}

// ctxReader stops a long read (hashing a payload) once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
