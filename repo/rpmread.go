package repo

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cavaliergopher/cpio"
	"github.com/cavaliergopher/rpm"
	"github.com/hotfix-project/hotfix/internal/atomicfile"
	"github.com/hotfix-project/hotfix/internal/xzsafe"
	"github.com/klauspost/compress/zstd"
)

// ErrRPM marks an RPM fix package that is broken, hostile or not a fix.
var ErrRPM = errors.New("invalid RPM fix package")

// RPMError names what was refused in an RPM fix package and why.
type RPMError struct {
	Entry string // payload entry, or "" for the package as a whole
	Err   error
}

func (e *RPMError) Error() string {
	if e.Entry == "" {
		return fmt.Sprintf("invalid RPM fix package: %v", e.Err)
	}
	return fmt.Sprintf("invalid RPM fix package: entry %q: %v", e.Entry, e.Err)
}

func (e *RPMError) Unwrap() []error { return []error{ErrRPM, e.Err} }

func rpmErr(entry, format string, args ...any) error {
	return &RPMError{Entry: entry, Err: fmt.Errorf(format, args...)}
}

// Bounds on what a header may ask for: they are checked before anything is
// allocated from the header's numbers.
const (
	rpmLeadSize      = 96
	rpmMaxIndex      = 65535    // entries per header, as rpm itself
	rpmMaxStore      = 64 << 20 // data bytes per header
	rpmMaxSigStore   = 1 << 20  // the signature header is small
	rpmMaxTotalBytes = 64 << 30 // sum of the payload's file sizes
)

// Signature-header and header tags hotfix reads.
const (
	sigTagSize          = 1000 // header + payload bytes
	sigTagPayloadSize   = 1007
	sigTagLongSize      = 270
	sigTagSHA256        = 273
	sigTagDSA           = 267 // OpenPGP header signature (DSA, ECDSA, EdDSA)
	sigTagRSA           = 268 // OpenPGP header signature (RSA; rpmpack uses it for all)
	tagLongArchiveSize  = 271
	tagSize             = 1009
	tagLongSize         = 5009
	tagArchiveSize      = 1046
	tagPayloadDigest    = 5092
	tagPayloadDigestAlg = 5093
	tagFileSizes        = 1028
	tagLongFileSizes    = 5008
	tagFileModes        = 1030
	tagFileMTimes       = 1034
	tagFileDigests      = 1035
	tagFileLinkTos      = 1036
	tagFileFlags        = 1037
	tagDirIndexes       = 1116
	tagBaseNames        = 1117
	tagDirNames         = 1118
	fileFlagGhost       = 1 << 6
	hashAlgoSHA256      = 8
)

// RPMFile is one file the header of a package lists.
type RPMFile struct {
	Path   string // absolute, as installed
	Size   int64
	Mode   uint32 // st_mode: type and permission bits
	MTime  int64
	Digest string
	Link   string
	Flags  uint32
}

// IsDir reports whether the file is a directory (by its type bits).
func (f *RPMFile) IsDir() bool { return f.Mode&0o170000 == 0o040000 }

// IsGhost reports a %ghost file, which has no payload.
func (f *RPMFile) IsGhost() bool { return f.Flags&fileFlagGhost != 0 }

// RPMHeader is what hotfix reads from an RPM's header without touching the
// payload: enough for a channel index and for yum repodata.
type RPMHeader struct {
	Pkg *rpm.Package
	// Product and Fix come from "Provides: PRODUCT-hotfix = VERSION".
	Product string
	Fix     Version
	Bugs    []Bug // from the changelog lines "- ID: summary"
	Files   []RPMFile
	// HeaderStart and HeaderEnd delimit the signed main header; the
	// payload starts at HeaderEnd.
	HeaderStart, HeaderEnd int64
	signature              []byte // binary OpenPGP header signature, if any
	headerBytes            []byte
	sigHeaderSHA256        string
	sigSize                int64 // -1 when absent
}

// Signed reports whether the header carries an OpenPGP signature.
func (h *RPMHeader) Signed() bool { return len(h.signature) > 0 }

// readRPMHeader reads the lead, the signature header and the main header
// from r, checking every count and offset before the header parser (which
// allocates whatever a header asks for) sees them. On return r is at the
// start of the payload.
func readRPMHeader(r io.Reader) (*RPMHeader, error) {
	var buf bytes.Buffer
	if _, err := io.CopyN(&buf, r, rpmLeadSize); err != nil {
		return nil, rpmErr("", "read lead: %v", noEOF(err))
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte{0xed, 0xab, 0xee, 0xdb}) {
		return nil, rpmErr("", "not an RPM package (bad lead magic)")
	}
	sigStart := buf.Len()
	if err := readHeaderStructure(r, &buf, "signature header", rpmMaxSigStore); err != nil {
		return nil, err
	}
	sigLen := buf.Len() - sigStart
	if pad := (8 - sigLen%8) % 8; pad > 0 {
		if _, err := io.CopyN(&buf, r, int64(pad)); err != nil {
			return nil, rpmErr("", "read signature padding: %v", noEOF(err))
		}
	}
	hdrStart := buf.Len()
	if err := readHeaderStructure(r, &buf, "header", rpmMaxStore); err != nil {
		return nil, err
	}
	all := buf.Bytes()
	// The structure is checked: the library may parse it now. It reads
	// from memory, so short reads cannot confuse it.
	pkg, err := rpm.Read(bytes.NewReader(all))
	if err != nil {
		return nil, rpmErr("", "parse header: %v", err)
	}
	if pkg.Name() == "" {
		return nil, rpmErr("", "the header has no package name")
	}
	if start, end := pkg.HeaderRange(); start != hdrStart || end != len(all) {
		return nil, rpmErr("", "header range %d-%d does not match the file layout %d-%d", start, end, hdrStart, len(all))
	}
	h := &RPMHeader{Pkg: pkg, HeaderStart: int64(hdrStart), HeaderEnd: int64(len(all)), headerBytes: all[hdrStart:], sigSize: -1}
	sig := pkg.Signature.GetTag(sigTagRSA).Bytes()
	if len(sig) == 0 {
		sig = pkg.Signature.GetTag(sigTagDSA).Bytes()
	}
	h.signature = sig
	h.sigHeaderSHA256 = pkg.Signature.GetTag(sigTagSHA256).String()
	if t := pkg.Signature.GetTag(sigTagLongSize); t != nil {
		h.sigSize = t.Int64()
	} else if t := pkg.Signature.GetTag(sigTagSize); t != nil {
		h.sigSize = int64(uint32(t.Int64()))
	}
	if err := h.parseFix(); err != nil {
		return nil, err
	}
	return h, nil
}

// readHeaderStructure copies one header (intro, index, store) from r into
// buf after checking that every index entry lies inside the store.
func readHeaderStructure(r io.Reader, buf *bytes.Buffer, what string, maxStore int) error {
	var intro [16]byte
	if _, err := io.ReadFull(r, intro[:]); err != nil {
		return rpmErr("", "read %s: %v", what, noEOF(err))
	}
	if !bytes.Equal(intro[:4], []byte{0x8e, 0xad, 0xe8, 0x01}) {
		return rpmErr("", "%s: bad magic", what)
	}
	n := binary.BigEndian.Uint32(intro[8:12])
	size := binary.BigEndian.Uint32(intro[12:16])
	if n == 0 || n > rpmMaxIndex {
		return rpmErr("", "%s: %d index entries (at most %d)", what, n, rpmMaxIndex)
	}
	if size > uint32(maxStore) {
		return rpmErr("", "%s: %d data bytes (at most %d)", what, size, maxStore)
	}
	index := make([]byte, int(n)*16)
	if _, err := io.ReadFull(r, index); err != nil {
		return rpmErr("", "read %s index: %v", what, noEOF(err))
	}
	store := make([]byte, size)
	if _, err := io.ReadFull(r, store); err != nil {
		return rpmErr("", "read %s data: %v", what, noEOF(err))
	}
	for i := 0; i < int(n); i++ {
		e := index[i*16:]
		tag := binary.BigEndian.Uint32(e[0:4])
		typ := binary.BigEndian.Uint32(e[4:8])
		off := uint64(binary.BigEndian.Uint32(e[8:12]))
		count := uint64(binary.BigEndian.Uint32(e[12:16]))
		if count == 0 || off >= uint64(size) {
			return rpmErr("", "%s: tag %d lies outside the header data", what, tag)
		}
		var width uint64
		switch typ {
		case 0: // NULL
		case 1, 2, 7: // CHAR, INT8, BIN
			width = 1
		case 3:
			width = 2
		case 4:
			width = 4
		case 5:
			width = 8
		case 6, 8, 9: // STRING, STRING_ARRAY, I18NSTRING
			if typ == 6 && count != 1 {
				return rpmErr("", "%s: string tag %d has count %d", what, tag, count)
			}
			o := off
			for s := uint64(0); s < count; s++ {
				j := bytes.IndexByte(store[o:], 0)
				if j < 0 {
					return rpmErr("", "%s: string tag %d runs past the header data", what, tag)
				}
				o += uint64(j) + 1
				if s+1 < count && o >= uint64(size) {
					return rpmErr("", "%s: string tag %d runs past the header data", what, tag)
				}
			}
			continue
		default:
			return rpmErr("", "%s: tag %d has unknown type %d", what, tag, typ)
		}
		if off+count*width > uint64(size) {
			return rpmErr("", "%s: tag %d (%d values) runs past the header data", what, tag, count)
		}
	}
	buf.Write(intro[:])
	buf.Write(index)
	buf.Write(store)
	return nil
}

// parseFix reads what makes the package a hotfix fix: the provides, the
// file list, the bugs.
func (h *RPMHeader) parseFix() error {
	p := h.Pkg
	provides, err := deps(p, depProvides)
	if err != nil {
		return err
	}
	for _, d := range provides {
		product, ok := strings.CutSuffix(d.Name, "-hotfix")
		if !ok || d.Flags&senseMask != rpm.DepFlagEqual {
			continue
		}
		v, err := ParseVersion(d.Version)
		if err != nil || ValidProductName(product) != nil {
			continue
		}
		h.Product, h.Fix = product, v
	}
	if h.Product == "" {
		return rpmErr("", "%s is not a hotfix fix package: it has no \"Provides: PRODUCT-hotfix = VERSION\"", p.Name())
	}
	if err := checkFixVersion(h.Fix); err != nil {
		return rpmErr("", "%v", err)
	}
	if want := RPMName(h.Product, h.Fix); p.Name() != want {
		return rpmErr("", "package %s provides %s %s, so it must be named %s", p.Name(), RPMProvides(h.Product), h.Fix, want)
	}
	files, err := headerFiles(p)
	if err != nil {
		return err
	}
	h.Files = files
	texts := p.Header.GetTag(tagChangelogText).StringSlice()
	if len(texts) > 0 {
		seen := map[string]bool{}
		for _, line := range strings.Split(texts[0], "\n") {
			id, summary, ok := strings.Cut(strings.TrimPrefix(line, "- "), ": ")
			if !strings.HasPrefix(line, "- ") || !ok || id == "" || seen[id] {
				continue
			}
			seen[id] = true
			h.Bugs = append(h.Bugs, Bug{ID: id, Summary: summary})
		}
	}
	return nil
}

// RPMDep is one dependency (provides, requires, ...) of a package.
type RPMDep struct {
	Name    string
	Flags   int    // rpm sense flags
	Version string // [EPOCH:]VERSION[-RELEASE], or ""
}

// senseMask keeps the comparison bits of a dependency's flags.
const senseMask = rpm.DepFlagLesser | rpm.DepFlagGreater | rpm.DepFlagEqual

// Dependency kinds: name, flags and version tags.
var (
	depProvides    = [3]int{1047, 1112, 1113}
	depRequires    = [3]int{1049, 1048, 1050}
	depConflicts   = [3]int{1054, 1053, 1055}
	depObsoletes   = [3]int{1090, 1114, 1115}
	depRecommends  = [3]int{5046, 5048, 5047}
	depSuggests    = [3]int{5049, 5051, 5050}
	depSupplements = [3]int{5052, 5054, 5053}
	depEnhances    = [3]int{5055, 5057, 5056}
)

// deps reads one kind of dependency, refusing tag lists of different
// lengths (the library's own accessors index past them).
func deps(p *rpm.Package, tags [3]int) ([]RPMDep, error) {
	names := p.Header.GetTag(tags[0]).StringSlice()
	if len(names) == 0 {
		return nil, nil
	}
	flags := p.Header.GetTag(tags[1]).Int64Slice()
	vers := p.Header.GetTag(tags[2]).StringSlice()
	if len(flags) != len(names) || len(vers) != len(names) {
		return nil, rpmErr("", "dependency tag %d: %d names, %d flags, %d versions", tags[0], len(names), len(flags), len(vers))
	}
	out := make([]RPMDep, len(names))
	for i := range names {
		out[i] = RPMDep{Name: names[i], Flags: int(flags[i]), Version: vers[i]}
	}
	return out, nil
}

// headerFiles lists the files of the header, refusing lists that disagree
// in length (the library would index past them).
func headerFiles(p *rpm.Package) ([]RPMFile, error) {
	hdr := &p.Header
	names := hdr.GetTag(tagBaseNames).StringSlice()
	n := len(names)
	if n == 0 {
		return nil, nil
	}
	dirs := hdr.GetTag(tagDirNames).StringSlice()
	idx := hdr.GetTag(tagDirIndexes).Int64Slice()
	sizes := hdr.GetTag(tagLongFileSizes).Int64Slice()
	if sizes == nil {
		sizes = hdr.GetTag(tagFileSizes).Int64Slice()
	}
	modes := hdr.GetTag(tagFileModes).Int64Slice()
	if len(idx) != n || len(sizes) != n || len(modes) != n {
		return nil, rpmErr("", "the header's file lists disagree: %d names, %d directory indexes, %d sizes, %d modes", n, len(idx), len(sizes), len(modes))
	}
	opt := func(tag int) []int64 {
		v := hdr.GetTag(tag).Int64Slice()
		if len(v) != n {
			return make([]int64, n)
		}
		return v
	}
	optS := func(tag int) []string {
		v := hdr.GetTag(tag).StringSlice()
		if len(v) != n {
			return make([]string, n)
		}
		return v
	}
	mtimes, flags := opt(tagFileMTimes), opt(tagFileFlags)
	digests, links := optS(tagFileDigests), optS(tagFileLinkTos)
	out := make([]RPMFile, n)
	for i := range names {
		if idx[i] < 0 || idx[i] >= int64(len(dirs)) {
			return nil, rpmErr("", "file %q has directory index %d of %d", names[i], idx[i], len(dirs))
		}
		if sizes[i] < 0 {
			return nil, rpmErr("", "file %q has negative size", names[i])
		}
		out[i] = RPMFile{Path: dirs[idx[i]] + names[i], Size: sizes[i], Mode: uint32(modes[i]) & 0xffff,
			MTime: mtimes[i], Digest: digests[i], Link: links[i], Flags: uint32(flags[i])}
	}
	return out, nil
}

// RPMTrust says which header signatures an RPM reader accepts.
type RPMTrust struct {
	// Check verifies a detached signature over the header; when set, a
	// package that carries a header signature must pass it. nil: the
	// signature is not checked (the repository side, where the vendor's
	// own files are indexed and their sha256 signed in the index).
	Check CheckSignature
	// RequireSignature refuses a package without a header signature.
	RequireSignature bool
}

// rpmReader walks an RPM fix package: header, signature, payload digest,
// then the cpio payload, checking each entry against the header and, at
// the end, everything against manifest.json.
type rpmReader struct {
	h      *RPMHeader
	prefix string // payload directory, without the leading '/'
	byPath map[string]*RPMFile
	seen   map[string]bool
	got    map[string]FileEntry // "files/x", "scripts/y" as read
	mdata  []byte
}

// openRPM reads and authenticates the package at path: header structure,
// header signature per trust, header digest, declared sizes and the
// payload digest, all before a byte is decompressed. It returns the file
// positioned at the payload.
func openRPM(ctx context.Context, path string, trust RPMTrust) (*os.File, *RPMHeader, error) {
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
	h, err := readRPMHeader(f)
	if err != nil {
		return nil, nil, err
	}
	if err := h.authenticate(trust); err != nil {
		return nil, nil, err
	}
	if h.sigSize >= 0 && h.sigSize != info.Size()-h.HeaderStart {
		return nil, nil, rpmErr("", "the signature header says header and payload are %d bytes, but they are %d", h.sigSize, info.Size()-h.HeaderStart)
	}
	want := h.Pkg.Header.GetTag(tagPayloadDigest).String()
	if want == "" {
		return nil, nil, rpmErr("", "no payload digest in the header (tag 5092): rebuild the package with rpm 4.14 or later")
	}
	if alg := h.Pkg.Header.GetTag(tagPayloadDigestAlg).Int64(); alg != hashAlgoSHA256 {
		return nil, nil, rpmErr("", "payload digest algorithm %d is not SHA-256 (8)", alg)
	}
	hs := sha256.New()
	if _, err := io.Copy(hs, &ctxReader{ctx, f}); err != nil {
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
func (h *RPMHeader) authenticate(trust RPMTrust) error {
	if h.sigHeaderSHA256 != "" {
		sum := sha256.Sum256(h.headerBytes)
		if hex.EncodeToString(sum[:]) != strings.ToLower(h.sigHeaderSHA256) {
			return rpmErr("", "header digest mismatch: the header was changed after it was written")
		}
	}
	if len(h.signature) == 0 {
		if trust.RequireSignature {
			return rpmErr("", "the package is not signed: sign it with \"hotfix pack --format rpm --key\"")
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

// payloadReader decompresses the payload read from r.
func (h *RPMHeader) payloadReader(r io.Reader) (io.Reader, func(), error) {
	if f := h.Pkg.PayloadFormat(); f != "cpio" {
		return nil, nil, rpmErr("", "payload format %q is not cpio", f)
	}
	switch c := h.Pkg.PayloadCompression(); c {
	case "zstd":
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(64<<20), zstd.WithDecoderMaxMemory(256<<20))
		if err != nil {
			return nil, nil, rpmErr("", "zstd payload: %v", err)
		}
		return zr, zr.Close, nil
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
func (h *RPMHeader) readPayload(ctx context.Context, r io.Reader, put func(kind, rel string, mode uint32, body io.Reader) error) (*Manifest, error) {
	pr, closeFn, err := h.payloadReader(r)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	rr := &rpmReader{h: h, prefix: strings.TrimPrefix(rpmFixDir(h.Product, h.Fix), "/"),
		byPath: map[string]*RPMFile{}, seen: map[string]bool{}, got: map[string]FileEntry{}}
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
	cr := cpio.NewReader(io.LimitReader(pr, int64(total)+4096))
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hdr, err := cr.Next()
		if err == io.EOF {
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
	if hasDotDot(name) {
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
	if rel == ManifestName {
		if hdr.Size > maxManifestSize {
			return rpmErr(raw, "%d bytes, more than the limit of %d", hdr.Size, maxManifestSize)
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
	clean, err := CleanRelPath(sub)
	if err != nil {
		return rpmErr(raw, "%v", err)
	}
	if kind == "scripts" && containsSlash(clean) {
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
	rr.got[kind+"/"+clean] = FileEntry{Path: clean, Size: cnt.n, SHA256: hex.EncodeToString(hs.Sum(nil))}
	return nil
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
func (rr *rpmReader) finish() (*Manifest, error) {
	for p, f := range rr.byPath {
		if !rr.seen[p] && !f.IsGhost() {
			return nil, rpmErr("/"+p, "listed in the header but missing from the payload")
		}
	}
	if rr.mdata == nil {
		return nil, rpmErr("", "no %s in %s", ManifestName, "/"+rr.prefix)
	}
	m, err := ParseManifest(rr.mdata)
	if err != nil {
		return nil, rpmErr(ManifestName, "%v", err)
	}
	if m.Product != rr.h.Product || !m.Version.Equal(rr.h.Fix) {
		return nil, rpmErr(ManifestName, "holds %s %s, but the package provides %s %s", m.Product, m.Version, rr.h.Product, rr.h.Fix)
	}
	want := map[string]FileEntry{}
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

// ReadRPMHeader reads only the header of an RPM fix package: cheap, for
// listing and indexing, but it proves nothing about the payload.
func ReadRPMHeader(path string) (*RPMHeader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h, err := readRPMHeader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return h, nil
}

// VerifyRPM authenticates an RPM fix package per trust and checks every
// payload entry against the header and the manifest, writing nothing.
func VerifyRPM(ctx context.Context, path string, trust RPMTrust) (*RPMHeader, *Manifest, error) {
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

// ExtractRPM authenticates an RPM fix package per trust (signature and
// payload digest before anything is decompressed), then unpacks it into
// dest (which must not exist yet) as dest/files/… and dest/scripts/…, the
// layout Extract gives a .fix. Entries are written only inside dest and
// checked against the manifest at the end; on any error dest is removed,
// so a caller never sees a half-verified tree.
func ExtractRPM(ctx context.Context, path, dest string, trust RPMTrust) (m *Manifest, err error) {
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
	for kind, list := range map[string][]FileEntry{"files": m.Files, "scripts": m.Scripts} {
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

// isRPMName reports whether a file name is an RPM package's.
func isRPMName(name string) bool { return path.Ext(name) == ".rpm" }

// describeRPM is describeArchive for an RPM: what a build reads of it
// (describeAll: its sha256 and header), then its payload verified against
// the manifest (the signature is not required: the vendor indexes its own
// packages, and the index signs their sha256).
func describeRPM(ctx context.Context, path string) (*catalogEntry, *Manifest, error) {
	described, err := describeAll(ctx, []string{path})
	if err != nil {
		return nil, nil, err
	}
	_, m, err := VerifyRPM(ctx, path, RPMTrust{})
	if err != nil {
		return nil, nil, err
	}
	e := described[0]
	e.Summary, e.Desc, e.Bugs, e.Verified = m.Summary, m.Description, m.Bugs, true
	return e, m, nil
}
