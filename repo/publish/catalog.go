package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/fixarchive"
)

// catalogName is the generator's private record of what it has already
// hashed in a channel, so a rebuild does not read unchanged archives
// again. It is a dot-file: never served, never published.
//
// The file is a log of records framed like the repodata cache (see
// appendRecord): an entry record per archive (a later one for the same
// name wins), a removal record, and after every build a published record
// (serial and hash of the index.json written; the archives known at that
// point are the ones it lists). Add and an incremental build append a few
// records instead of rewriting thousands; the log is compacted when most
// of it is superseded. Loading stops at the first torn or damaged record,
// which only costs rehashing what it described.
const catalogName = ".catalog"

// oldCatalogName is the JSON catalog of earlier versions, removed when the
// new one is saved (its archives are hashed again once).
const oldCatalogName = ".catalog.json"

// catalogMagic begins the file; the page template ID follows it.
const catalogMagic = "hotfix catalog 2\n"

// catalogEntry is what the generator knows about one archive file. The
// log codec (appendEntry, decodeEntry) lists every stored field: a field
// added here must be added there (TestCatalogRoundTrip checks).
type catalogEntry struct {
	Size     int64
	MTimeNS  int64
	SHA256   string
	Product  string
	Version  repo.Version
	Summary  string
	Desc     string
	Bugs     []repo.Bug
	Verified bool // payload checked entry by entry (repo add)
	// Page is this fix's section of the channel's index.html, rendered
	// by the page template whose ID is catalog.PageTemplate.
	Page []byte

	File     string        // file name in the channel, set by scanChannel
	RPMEntry *catalogEntry // the RPM accompanying a .fix (see pairRPMs)

	// xml is the RPM's repodata, rendered when it was hashed (not stored:
	// the repodata cache keeps it).
	xml *rpmXML

	logged     bool // the log holds this entry as it is, Page aside
	loggedPage bool // ... and its Page
}

type catalog struct {
	Archives map[string]*catalogEntry
	// Published describes the index.json this generator wrote last, so
	// that the next build need not parse it.
	Published *publishedIndex
	// PageTemplate identifies the template the cached pages were rendered
	// with.
	PageTemplate string

	logged    map[string]bool // names the log holds
	published *publishedIndex // Published as the log holds it
	records   int             // records in the file
	size      int64           // bytes of valid records in the file (0: rewrite)
	template  string          // PageTemplate as the file holds it
}

// publishedIndex is what a build needs from the previous index.json.
type publishedIndex struct {
	SHA256 string            // of the index.json file
	Serial int64             // its serial
	Files  map[string]string // every file it lists (fix and RPM) → sha256
}

const (
	recEntry     = 'E'
	recRemoved   = 'D'
	recPublished = 'P'
)

func loadCatalog(dir string) *catalog {
	c := &catalog{Archives: map[string]*catalogEntry{}, logged: map[string]bool{}}
	data, err := os.ReadFile(filepath.Join(dir, catalogName))
	if err != nil || !bytes.HasPrefix(data, []byte(catalogMagic)) {
		return c
	}
	off := len(catalogMagic)
	tmpl, n := decodeRecord(data[off:])
	if tmpl == nil {
		return c
	}
	c.template, c.PageTemplate = string(tmpl), string(tmpl)
	off += n
	// A damaged catalog only costs a rehash: stop at the first bad record.
	for off < len(data) {
		body, n := decodeRecord(data[off:])
		if len(body) == 0 {
			break
		}
		d := decoder{b: body[1:]}
		switch body[0] {
		case recEntry:
			name := d.str()
			e := decodeEntry(&d)
			if d.bad || len(d.b) != 0 {
				break
			}
			e.logged, e.loggedPage = true, e.Page != nil
			c.Archives[name] = e
		case recRemoved:
			name := d.str()
			if d.bad || len(d.b) != 0 {
				break
			}
			delete(c.Archives, name)
		case recPublished:
			p := &publishedIndex{SHA256: d.str(), Serial: d.int(), Files: map[string]string{}}
			if n := d.count(); n > 0 {
				for i := 0; i < n && !d.bad; i++ {
					name := d.str()
					p.Files[name] = d.str()
				}
			} else {
				for name, e := range c.Archives {
					p.Files[name] = e.SHA256
				}
			}
			if d.bad || len(d.b) != 0 {
				break
			}
			c.Published, c.published = p, p
		default:
			d.bad = true
		}
		if d.bad || len(d.b) != 0 {
			break
		}
		off += n
		c.records++
	}
	for name := range c.Archives {
		c.logged[name] = true
	}
	c.size = int64(off)
	return c
}

// save brings the log up to date: it appends what changed since it was
// loaded, or rewrites it when that is shorter or the file is not usable.
// It is not synced: a catalog lost in a crash only costs a rehash, and the
// archives it describes are synced.
func (c *catalog) save(dir string) error {
	path := filepath.Join(dir, catalogName)
	names := make([]string, 0, len(c.Archives))
	for name := range c.Archives {
		names = append(names, name)
	}
	sort.Strings(names)
	var tail []byte
	records := 0
	for name := range c.logged {
		if c.Archives[name] == nil {
			tail = appendRecord(tail, append([]byte{recRemoved}, appendStr(nil, name)...))
			records++
		}
	}
	for _, name := range names {
		e := c.Archives[name]
		if !c.logged[name] || !e.logged || e.loggedPage != (e.Page != nil) {
			tail = appendRecord(tail, appendEntry(appendStr([]byte{recEntry}, name), e))
			records++
		}
	}
	if c.Published != c.published && c.Published != nil {
		tail = appendRecord(tail, appendPublished(c.Published, false))
		records++
	}
	if records == 0 && c.size > 0 && c.template == c.PageTemplate {
		return nil
	}
	appendable := c.size > 0 && c.template == c.PageTemplate && c.records+records <= 2*len(names)+16
	// Removal records make a published snapshot taken later differ from
	// the index's files only if the index no longer lists them, which is
	// what a new published record says anyway.
	var err error
	if appendable {
		err = appendAt(path, tail, c.size)
		if err == nil {
			c.size += int64(len(tail))
			c.records += records
		}
	}
	if !appendable || err != nil {
		buf := appendRecord([]byte(catalogMagic), []byte(c.PageTemplate))
		if c.Published != nil {
			// First, listing its files: the archives may have changed since.
			buf = appendRecord(buf, appendPublished(c.Published, true))
		}
		for _, name := range names {
			buf = appendRecord(buf, appendEntry(appendStr([]byte{recEntry}, name), c.Archives[name]))
		}
		if err := atomicfile.WriteUnsynced(filepath.Join(dir, catalogName), buf, 0o644); err != nil {
			return err
		}
		c.size, c.records, c.template = int64(len(buf)), len(names)+1, c.PageTemplate
		os.Remove(filepath.Join(dir, oldCatalogName))
	}
	c.logged = make(map[string]bool, len(names))
	for _, name := range names {
		e := c.Archives[name]
		c.logged[name], e.logged, e.loggedPage = true, true, e.Page != nil
	}
	c.published = c.Published
	return nil
}

// appendPublished encodes a published record. Without explicit, it stands
// for the archives logged before it, which is what a build appends: the
// archives it just published.
func appendPublished(p *publishedIndex, explicit bool) []byte {
	b := appendInt(appendStr([]byte{recPublished}, p.SHA256), p.Serial)
	if !explicit {
		return binary.AppendUvarint(b, 0)
	}
	names := make([]string, 0, len(p.Files))
	for name := range p.Files {
		names = append(names, name)
	}
	sort.Strings(names)
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, name := range names {
		b = appendStr(appendStr(b, name), p.Files[name])
	}
	return b
}

func appendEntry(b []byte, e *catalogEntry) []byte {
	b = appendInt(b, e.Size)
	b = appendInt(b, e.MTimeNS)
	b = appendStr(b, e.SHA256)
	b = appendStr(b, e.Product)
	b = appendStr(b, e.Version.String())
	b = appendStr(b, e.Summary)
	b = appendStr(b, e.Desc)
	b = binary.AppendUvarint(b, uint64(len(e.Bugs)))
	for _, bug := range e.Bugs {
		b = appendStr(b, bug.ID)
		b = appendStr(b, bug.Summary)
		b = appendStr(b, bug.Description)
		b = binary.AppendUvarint(b, uint64(len(bug.Files)))
		for _, f := range bug.Files {
			b = appendStr(b, f)
		}
	}
	verified := int64(0)
	if e.Verified {
		verified = 1
	}
	b = appendInt(b, verified)
	if e.Page == nil {
		return appendInt(b, 0)
	}
	b = appendInt(b, 1)
	return appendBytes(b, e.Page)
}

func decodeEntry(d *decoder) *catalogEntry {
	e := &catalogEntry{Size: d.int(), MTimeNS: d.int(), SHA256: d.str(), Product: d.str()}
	v, err := repo.ParseVersion(d.str())
	if err != nil {
		d.bad = true
	}
	e.Version, e.Summary, e.Desc = v, d.str(), d.str()
	n := d.count()
	e.Bugs = make([]repo.Bug, 0, n)
	for i := 0; i < n && !d.bad; i++ {
		bug := repo.Bug{ID: d.str(), Summary: d.str(), Description: d.str()}
		if k := d.count(); k > 0 {
			bug.Files = make([]string, 0, k)
			for j := 0; j < k && !d.bad; j++ {
				bug.Files = append(bug.Files, d.str())
			}
		}
		e.Bugs = append(e.Bugs, bug)
	}
	e.Verified = d.int() == 1
	if d.int() == 1 {
		e.Page = d.bytes()
	}
	return e
}

// appendRecord frames a record: uvarint length, CRC-32 (IEEE, little
// endian) of the body, body.
func appendRecord(buf, body []byte) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(body)))
	buf = binary.LittleEndian.AppendUint32(buf, crc32.ChecksumIEEE(body))
	return append(buf, body...)
}

// decodeRecord returns the body of the record data begins with and the
// record's length; nil if it is torn or damaged.
func decodeRecord(data []byte) ([]byte, int) {
	n, k := binary.Uvarint(data)
	if k <= 0 || n > uint64(len(data)-k) || len(data)-k-int(n) < 4 {
		return nil, 0
	}
	body := data[k+4 : k+4+int(n) : k+4+int(n)]
	if crc32.ChecksumIEEE(body) != binary.LittleEndian.Uint32(data[k:]) {
		return nil, 0
	}
	return body, k + 4 + int(n)
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

func appendInt(b []byte, v int64) []byte { return binary.AppendVarint(b, v) }

// decoder reads record fields; bad is set at the first one that does not
// fit, and every later read returns zero.
type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) bytes() []byte {
	l, m := binary.Uvarint(d.b)
	if d.bad || m <= 0 || l > uint64(len(d.b)-m) {
		d.bad = true
		return nil
	}
	out := d.b[m : m+int(l) : m+int(l)]
	d.b = d.b[m+int(l):]
	return out
}

func (d *decoder) str() string { return string(d.bytes()) }

func (d *decoder) int() int64 {
	v, m := binary.Varint(d.b)
	if d.bad || m <= 0 {
		d.bad = true
		return 0
	}
	d.b = d.b[m:]
	return v
}

// count reads a number of items, each at least one byte long.
func (d *decoder) count() int {
	l, m := binary.Uvarint(d.b)
	if d.bad || m <= 0 || l > uint64(len(d.b)-m) {
		d.bad = true
		return 0
	}
	d.b = d.b[m:]
	return int(l)
}

// appendAt writes data at offset off of an existing file.
func appendAt(path string, data []byte, off int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(data, off)
	if err == nil {
		err = f.Truncate(off + int64(len(data)))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// fresh reports whether the entry still describes the file.
func (e *catalogEntry) fresh(info fs.FileInfo) bool {
	return e != nil && e.Size == info.Size() && e.MTimeNS == info.ModTime().UnixNano()
}

// describeArchive hashes an archive file and reads its manifest in one
// pass over the bytes, verifying every entry (repo add; a build describes
// many archives at once with describeAll).
func describeArchive(ctx context.Context, path string) (*catalogEntry, *repo.Manifest, error) {
	if isRPMName(path) {
		return describeRPM(ctx, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	h := sha256.New()
	m, err := fixarchive.VerifyArchive(ctx, io.TeeReader(f, h))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	// Hash whatever the reader did not need.
	if _, err := io.Copy(h, f); err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	e := &catalogEntry{
		Size:     info.Size(),
		MTimeNS:  info.ModTime().UnixNano(),
		SHA256:   hex.EncodeToString(h.Sum(nil)),
		Product:  m.Product,
		Version:  m.Version,
		Summary:  m.Summary,
		Desc:     m.Description,
		Bugs:     m.Bugs,
		Verified: true,
	}
	return e, m, nil
}

// parallel runs fn(i) for i in [0,n) on every core and returns the first
// error in index order.
func parallel(ctx context.Context, n int, fn func(i int) error) error {
	return parallelN(ctx, n, runtime.GOMAXPROCS(0), fn)
}

// parallelN is parallel with at most workers goroutines (for work that
// waits on the disk rather than the CPU). Unlike atomicfile.Parallel,
// whose pool it uses, it runs every task and reports every error, so a
// verification lists all the bad archives, not the first.
func parallelN(ctx context.Context, n, workers int, fn func(i int) error) error {
	errs := make([]error, n+1)
	errs[n] = atomicfile.Parallel(ctx, n, min(workers, 64), func(i int) error {
		errs[i] = fn(i)
		return nil
	})
	return errors.Join(errs...)
}

// parallelChunks is parallel for many small tasks: each core takes a
// contiguous share of [0,n) instead of one index at a time.
func parallelChunks(ctx context.Context, n int, fn func(i int) error) error {
	workers := min(runtime.GOMAXPROCS(0), max(n/64, 1))
	return parallelN(ctx, workers, workers, func(w int) error {
		var errs []error
		for i := w * n / workers; i < (w+1)*n/workers; i++ {
			if err := fn(i); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	})
}

// channel is one PRODUCT/BASE directory of a repository.
type channel struct {
	Product string
	Base    repo.Version
	Dir     string
}

// listChannels finds every PRODUCT/BASE directory, sorted.
func listChannels(root string) ([]channel, error) {
	products, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("read repository %s: %w", root, err)
	}
	var out []channel
	for _, p := range products {
		if !p.IsDir() || repo.ValidProductName(p.Name()) != nil || p.Name() == "keys" || strings.HasPrefix(p.Name(), ".") {
			continue
		}
		bases, err := os.ReadDir(filepath.Join(root, p.Name()))
		if err != nil {
			return nil, err
		}
		for _, b := range bases {
			v, err := repo.ParseVersion(b.Name())
			if !b.IsDir() || err != nil {
				continue
			}
			out = append(out, channel{Product: p.Name(), Base: v, Dir: filepath.Join(root, p.Name(), b.Name())})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Product != out[j].Product {
			return out[i].Product < out[j].Product
		}
		return out[i].Base.Compare(out[j].Base) < 0
	})
	return out, nil
}
