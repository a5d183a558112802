package rpm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	rpmlib "github.com/cavaliergopher/rpm"
	"github.com/hotfix-project/hotfix/internal/rpmhdr"
	"github.com/hotfix-project/hotfix/repo"
)

// ErrInvalid marks an RPM fix package that is broken, hostile or not a fix.
var ErrInvalid = errors.New("invalid RPM fix package")

// ErrUnsigned is the reason an unsigned package is refused where Trust
// requires a signature; callers branch on it to advise signing.
var ErrUnsigned = errors.New("the package is not signed")

// Error names what was refused in an RPM fix package and why.
type Error struct {
	Entry string // payload entry, or "" for the package as a whole
	Err   error
}

func (e *Error) Error() string {
	if e.Entry == "" {
		return fmt.Sprintf("invalid RPM fix package: %v", e.Err)
	}
	return fmt.Sprintf("invalid RPM fix package: entry %q: %v", e.Entry, e.Err)
}

func (e *Error) Unwrap() []error { return []error{ErrInvalid, e.Err} }

func rpmErr(entry, format string, args ...any) error {
	return &Error{Entry: entry, Err: fmt.Errorf(format, args...)}
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

// Signature-header and header tags hotfix reads (rpmhdr has the rest).
const (
	sigTagSize          = 1000 // header + payload bytes
	sigTagLongSize      = 270
	sigTagSHA256        = 273
	sigTagDSA           = 267 // OpenPGP header signature (DSA, ECDSA, EdDSA)
	sigTagRSA           = 268 // OpenPGP header signature (RSA; rpmpack uses it for all)
	tagPayloadDigest    = 5092
	tagPayloadDigestAlg = 5093
	hashAlgoSHA256      = 8
)

// File is one file the header of a package lists.
type File = rpmhdr.File

// Header is what hotfix reads from an RPM's header without touching the
// payload: enough for a channel index and for yum repodata.
type Header struct {
	Pkg *rpmlib.Package
	// Product and Fix come from "Provides: PRODUCT-hotfix = VERSION".
	Product string
	Fix     repo.Version
	Bugs    []repo.Bug // from the changelog lines "- ID: summary"
	Files   []File
	// HeaderStart and HeaderEnd delimit the signed main header; the
	// payload starts at HeaderEnd.
	HeaderStart, HeaderEnd int64
	signature              []byte // binary OpenPGP header signature, if any
	headerBytes            []byte
	sigHeaderSHA256        string
	sigSize                int64 // -1 when absent
}

// Signed reports whether the header carries an OpenPGP signature.
func (h *Header) Signed() bool { return len(h.signature) > 0 }

// readHeader reads the lead, the signature header and the main header
// from r, checking every count and offset before the header parser (which
// allocates whatever a header asks for) sees them. On return r is at the
// start of the payload.
func readHeader(r io.Reader) (*Header, error) {
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
	pkg, err := rpmlib.Read(bytes.NewReader(all))
	if err != nil {
		return nil, rpmErr("", "parse header: %v", err)
	}
	if pkg.Name() == "" {
		return nil, rpmErr("", "the header has no package name")
	}
	if start, end := pkg.HeaderRange(); start != hdrStart || end != len(all) {
		return nil, rpmErr("", "header range %d-%d does not match the file layout %d-%d", start, end, hdrStart, len(all))
	}
	h := &Header{Pkg: pkg, HeaderStart: int64(hdrStart), HeaderEnd: int64(len(all)), headerBytes: all[hdrStart:], sigSize: -1}
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
func (h *Header) parseFix() error {
	p := h.Pkg
	provides, err := rpmhdr.Deps(p, rpmhdr.Provides)
	if err != nil {
		return &Error{Err: err}
	}
	for _, d := range provides {
		product, ok := strings.CutSuffix(d.Name, "-hotfix")
		if !ok || d.Flags&rpmhdr.SenseMask != rpmlib.DepFlagEqual {
			continue
		}
		v, err := repo.ParseVersion(d.Version)
		if err != nil || repo.ValidProductName(product) != nil {
			continue
		}
		h.Product, h.Fix = product, v
	}
	if h.Product == "" {
		return rpmErr("", "%s is not a hotfix fix package: it has no \"Provides: PRODUCT-hotfix = VERSION\"", p.Name())
	}
	if err := repo.ValidFixVersion(h.Fix); err != nil {
		return rpmErr("", "%v", err)
	}
	if want := Name(h.Product, h.Fix); p.Name() != want {
		return rpmErr("", "package %s provides %s %s, so it must be named %s", p.Name(), Provides(h.Product), h.Fix, want)
	}
	files, err := rpmhdr.Files(p)
	if err != nil {
		return &Error{Err: err}
	}
	h.Files = files
	texts := p.Header.GetTag(rpmhdr.TagChangelogText).StringSlice()
	if len(texts) > 0 {
		seen := map[string]bool{}
		for _, line := range strings.Split(texts[0], "\n") {
			id, summary, ok := strings.Cut(strings.TrimPrefix(line, "- "), ": ")
			if !strings.HasPrefix(line, "- ") || !ok || id == "" || seen[id] {
				continue
			}
			seen[id] = true
			h.Bugs = append(h.Bugs, repo.Bug{ID: id, Summary: summary})
		}
	}
	return nil
}

// ParseHeader reads the header of the RPM fix package data begins with:
// for a caller that holds the package's bytes (a mapping) already.
func ParseHeader(data []byte) (*Header, error) { return readHeader(bytes.NewReader(data)) }

// CheckFileSize compares the size of the package's file with the size of
// header and payload its signature header records: data appended to the
// package or a package cut short is found without reading the payload
// (a build can afford it for every new package; the payload itself is
// checked only by Verify and Extract).
func (h *Header) CheckFileSize(size int64) error {
	if h.sigSize >= 0 && h.sigSize != size-h.HeaderStart {
		return rpmErr("", "the signature header says header and payload are %d bytes, but they are %d: the file was cut short or something was appended to it", h.sigSize, size-h.HeaderStart)
	}
	return nil
}

// ReadHeader reads only the header of an RPM fix package: cheap, for
// listing and indexing, but it proves nothing about the payload.
func ReadHeader(path string) (*Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h, err := readHeader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return h, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
