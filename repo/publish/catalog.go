package publish

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
	"github.com/hotfix-project/hotfix/internal/recordlog"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/yum"
)

// catalogName is publish's private record of what it has already
// hashed in a channel, so a rebuild does not read unchanged archives
// again. It is a dot-file: never served, never published.
//
// The file is a log of records framed by internal/recordlog, as the yum
// caches are: an entry record per archive (a later one for the same
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
const catalogMagic = "hotfix catalog 4\n" // 4: parts

// catalogEntry is what the catalog keeps of one archive file: its
// description (repo.Archive, File aside, which is the key), when it was
// described, and this package's caches for it. The log codec
// (appendEntry, decodeEntry) lists every stored field: a field added here
// must be added there (TestCatalogRoundTrip checks).
type catalogEntry struct {
	repo.Archive
	MTimeNS  int64
	Verified bool // payload checked entry by entry (repo add)
	// Published is when the fix first appeared in the channel's index,
	// as the last build signed it (zero until a build lists it).
	Published time.Time
	// Page is this fix's section of the channel's index.html, rendered
	// by the site template whose ID is catalog.PageTemplate.
	Page []byte

	RPMEntry *catalogEntry // the RPM accompanying a .fix (see pairRPMs)

	// xml is the RPM's repodata, rendered when it was hashed (not stored:
	// the repodata cache keeps it).
	xml *yum.Package

	logged     bool // the log holds this entry as it is, Page aside
	loggedPage bool // ... and its Page
}

type catalog struct {
	Archives map[string]*catalogEntry
	// Published describes the index.json this package wrote last, so
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
	// Times holds each fix's published time by version, when the index
	// was parsed (a record from the catalog leaves it nil: the catalog's
	// entries hold the times then).
	Times map[string]time.Time
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
	tmpl, n := recordlog.Next(data[off:])
	if tmpl == nil {
		return c
	}
	c.template, c.PageTemplate = string(tmpl), string(tmpl)
	off += n
	// A damaged catalog only costs a rehash: stop at the first bad record.
	for off < len(data) {
		body, n := recordlog.Next(data[off:])
		if len(body) == 0 {
			break
		}
		d := recordlog.Decoder{B: body[1:]}
		switch body[0] {
		case recEntry:
			name := d.String()
			e := decodeEntry(&d)
			if !d.Done() {
				break
			}
			e.logged, e.loggedPage = true, e.Page != nil
			c.Archives[name] = e
		case recRemoved:
			name := d.String()
			if !d.Done() {
				break
			}
			delete(c.Archives, name)
		case recPublished:
			p := &publishedIndex{SHA256: d.String(), Serial: d.Int(), Files: map[string]string{}}
			if n := d.Count(); n > 0 {
				for i := 0; i < n && !d.Bad; i++ {
					name := d.String()
					p.Files[name] = d.String()
				}
			} else {
				for name, e := range c.Archives {
					p.Files[name] = e.SHA256
				}
			}
			if !d.Done() {
				break
			}
			c.Published, c.published = p, p
		default:
			d.Bad = true
		}
		if !d.Done() {
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
			tail = recordlog.Append(tail, append([]byte{recRemoved}, recordlog.AppendString(nil, name)...))
			records++
		}
	}
	for _, name := range names {
		e := c.Archives[name]
		if !c.logged[name] || !e.logged || e.loggedPage != (e.Page != nil) {
			tail = recordlog.Append(tail, appendEntry(recordlog.AppendString([]byte{recEntry}, name), e))
			records++
		}
	}
	if c.Published != c.published && c.Published != nil {
		tail = recordlog.Append(tail, appendPublished(c.Published, false))
		records++
	}
	if records == 0 && c.size > 0 && c.template == c.PageTemplate {
		atomicfile.RemoveStale(path) // a killed rewrite's temporary
		return nil
	}
	appendable := c.size > 0 && c.template == c.PageTemplate && c.records+records <= 2*len(names)+16
	// Removal records make a published snapshot taken later differ from
	// the index's files only if the index no longer lists them, which is
	// what a new published record says anyway.
	var err error
	if appendable {
		err = recordlog.AppendAt(path, tail, c.size)
		if err == nil {
			// A rewrite killed earlier may have left its temporary: the
			// rewrite below removes such leftovers itself, an append here.
			atomicfile.RemoveStale(path)
			c.size += int64(len(tail))
			c.records += records
		}
	}
	if !appendable || err != nil {
		buf := recordlog.Append([]byte(catalogMagic), []byte(c.PageTemplate))
		if c.Published != nil {
			// First, listing its files: the archives may have changed since.
			buf = recordlog.Append(buf, appendPublished(c.Published, true))
		}
		for _, name := range names {
			buf = recordlog.Append(buf, appendEntry(recordlog.AppendString([]byte{recEntry}, name), c.Archives[name]))
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
	b := recordlog.AppendInt(recordlog.AppendString([]byte{recPublished}, p.SHA256), p.Serial)
	if !explicit {
		return recordlog.AppendCount(b, 0)
	}
	names := make([]string, 0, len(p.Files))
	for name := range p.Files {
		names = append(names, name)
	}
	sort.Strings(names)
	b = recordlog.AppendCount(b, len(names))
	for _, name := range names {
		b = recordlog.AppendString(recordlog.AppendString(b, name), p.Files[name])
	}
	return b
}

func appendEntry(b []byte, e *catalogEntry) []byte {
	b = recordlog.AppendInt(b, e.Size)
	b = recordlog.AppendInt(b, e.MTimeNS)
	b = recordlog.AppendString(b, e.SHA256)
	b = recordlog.AppendString(b, e.Product)
	b = recordlog.AppendString(b, e.Version.String())
	b = recordlog.AppendString(b, e.Summary)
	b = recordlog.AppendString(b, e.Description)
	b = recordlog.AppendCount(b, len(e.Bugs))
	for _, bug := range e.Bugs {
		b = recordlog.AppendString(b, bug.ID)
		b = recordlog.AppendString(b, bug.Summary)
		b = recordlog.AppendString(b, bug.Description)
		b = recordlog.AppendCount(b, len(bug.Files))
		for _, f := range bug.Files {
			b = recordlog.AppendString(b, f)
		}
	}
	b = recordlog.AppendCount(b, len(e.Parts))
	for _, p := range e.Parts {
		mandatory := int64(0)
		if p.Mandatory {
			mandatory = 1
		}
		b = recordlog.AppendInt(recordlog.AppendString(recordlog.AppendString(b, p.Name), p.Summary), mandatory)
	}
	verified := int64(0)
	if e.Verified {
		verified = 1
	}
	b = recordlog.AppendInt(b, verified)
	b = recordlog.AppendString(b, e.Severity)
	for _, list := range [][]string{e.Files, e.Deleted, e.Scripts} {
		b = recordlog.AppendCount(b, len(list))
		for _, p := range list {
			b = recordlog.AppendString(b, p)
		}
	}
	published := int64(0)
	if !e.Published.IsZero() {
		published = e.Published.Unix()
	}
	b = recordlog.AppendInt(b, published)
	if e.Page == nil {
		return recordlog.AppendInt(b, 0)
	}
	b = recordlog.AppendInt(b, 1)
	return recordlog.AppendBytes(b, e.Page)
}

func decodeEntry(d *recordlog.Decoder) *catalogEntry {
	e := &catalogEntry{Archive: repo.Archive{Size: d.Int()}, MTimeNS: d.Int()}
	e.SHA256, e.Product = d.String(), d.String()
	v, err := repo.ParseVersion(d.String())
	if err != nil {
		d.Bad = true
	}
	e.Version, e.Summary, e.Description = v, d.String(), d.String()
	n := d.Count()
	e.Bugs = make([]repo.Bug, 0, n)
	for i := 0; i < n && !d.Bad; i++ {
		bug := repo.Bug{ID: d.String(), Summary: d.String(), Description: d.String()}
		if k := d.Count(); k > 0 {
			bug.Files = make([]string, 0, k)
			for j := 0; j < k && !d.Bad; j++ {
				bug.Files = append(bug.Files, d.String())
			}
		}
		e.Bugs = append(e.Bugs, bug)
	}
	if n := d.Count(); n > 0 {
		e.Parts = make([]repo.PartRef, 0, n)
		for i := 0; i < n && !d.Bad; i++ {
			e.Parts = append(e.Parts, repo.PartRef{Name: d.String(), Summary: d.String(), Mandatory: d.Int() == 1})
		}
	}
	e.Verified = d.Int() == 1
	e.Severity = d.String()
	for _, list := range []*[]string{&e.Files, &e.Deleted, &e.Scripts} {
		n := d.Count()
		for i := 0; i < n && !d.Bad; i++ {
			*list = append(*list, d.String())
		}
	}
	if t := d.Int(); t != 0 {
		e.Published = time.Unix(t, 0).UTC()
	}
	if d.Int() == 1 {
		e.Page = d.Bytes()
	}
	return e
}

// fresh reports whether the entry still describes the file.
func (e *catalogEntry) fresh(info fs.FileInfo) bool {
	return e != nil && e.Size == info.Size() && e.MTimeNS == info.ModTime().UnixNano()
}
