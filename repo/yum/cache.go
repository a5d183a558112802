package yum

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
	"github.com/hotfix-project/hotfix/internal/recordlog"
)

// cacheName keeps each package's rendered metadata between builds, keyed
// by file name, size, mtime and sha256, so adding one RPM to thousands
// costs one header read. A dot-file: never published.
//
// The file is a log (internal/recordlog): a magic line, then one record
// per package. A build that only adds packages appends their records; a
// later record for the same name wins. Loading stops at the first torn or
// damaged record, which only costs re-reading the headers it would have
// described.
const cacheName = ".repodata.cache"

const cacheMagic = "hotfix repodata cache 2\n"

// The XML files are gzip files of several members, which zlib (and so
// libsolv and dnf), Go and Python read as one stream: a member for the
// opening tag (it carries the package count), the packages in runs of
// members ("segments") kept between builds, and one for the closing tag.
// Adding a package to thousands then compresses only its own fragments
// instead of all of them again.
//
// gzName holds the segments: a magic line, then a record per segment: its
// packages (name, size, mtime, sha256), then for primary, filelists and
// other the compressed member. A segment is reused only where the channel
// has exactly its packages, in that order; a build that finds more than
// maxGzSegments compresses everything again as one segment.
const gzName = ".repodata.gz"

const gzMagic = "hotfix repodata gzip segments 1\n" + cacheMagic

const maxGzSegments = 16

// Cache is a channel's rendered package XML and compressed segments, as
// the last build left them.
type Cache struct {
	packages map[string]*Package
	records  int   // records in the file, superseded ones included
	size     int64 // bytes of valid records in the file
	segs     []*gzSegment
}

type gzSegment struct {
	pkgs    []*Package // only the identity when loaded
	members [3][]byte
}

// LoadCache reads the caches of the channel in dir; a missing or damaged
// cache is an empty one.
func LoadCache(dir string) *Cache {
	c := &Cache{packages: map[string]*Package{}}
	c.loadPackages(dir)
	c.segs = loadGzSegments(dir)
	return c
}

// Lookup returns the cached rendering of the package file p names, if the
// cache has it for exactly that file.
func (c *Cache) Lookup(p *Package) *Package {
	if x := c.packages[p.Name]; x != nil && x.Same(p) {
		return x
	}
	return nil
}

func (c *Cache) loadPackages(dir string) {
	data, err := os.ReadFile(filepath.Join(dir, cacheName))
	if err != nil || !bytes.HasPrefix(data, []byte(cacheMagic)) {
		return
	}
	off := len(cacheMagic)
	for off < len(data) {
		body, n := recordlog.Next(data[off:])
		if body == nil {
			break
		}
		d := recordlog.Decoder{B: body}
		x := &Package{Name: d.String(), Size: d.Int(), MTimeNS: d.Int(), SHA256: d.String(), Primary: d.Bytes(), Filelists: d.Bytes(), Other: d.Bytes()}
		if !d.Done() {
			break
		}
		c.packages[x.Name] = x
		c.records++
		off += n
	}
	c.size = int64(off)
}

// savePackages writes the cache for exactly the packages in pkgs: by
// appending the records of added packages when that is all that changed,
// else by rewriting the file. The cache is not synced: losing it costs a
// rehash.
func (c *Cache) savePackages(dir string, pkgs, added []*Package) error {
	if c.size > 0 && len(pkgs)-len(added) == c.records && len(added) > 0 {
		if recordlog.AppendAt(filepath.Join(dir, cacheName), appendPackages(nil, added), c.size) == nil {
			return nil
		}
	}
	return atomicfile.WriteUnsynced(filepath.Join(dir, cacheName), appendPackages([]byte(cacheMagic), pkgs), 0o644)
}

// appendPackages appends the records of pkgs, growing buf once.
func appendPackages(buf []byte, pkgs []*Package) []byte {
	n := 0
	for _, x := range pkgs {
		n += len(x.Name) + len(x.SHA256) + len(x.Primary) + len(x.Filelists) + len(x.Other) + 64
	}
	buf = slices.Grow(buf, n)
	var body []byte
	for _, x := range pkgs {
		body = appendIdentity(body[:0], x)
		body = recordlog.AppendBytes(body, x.Primary)
		body = recordlog.AppendBytes(body, x.Filelists)
		body = recordlog.AppendBytes(body, x.Other)
		buf = recordlog.Append(buf, body)
	}
	return buf
}

func appendIdentity(b []byte, x *Package) []byte {
	b = recordlog.AppendString(b, x.Name)
	b = recordlog.AppendInt(b, x.Size)
	b = recordlog.AppendInt(b, x.MTimeNS)
	return recordlog.AppendString(b, x.SHA256)
}

func loadGzSegments(dir string) []*gzSegment {
	data, err := os.ReadFile(filepath.Join(dir, gzName))
	if err != nil || !bytes.HasPrefix(data, []byte(gzMagic)) {
		return nil
	}
	var segs []*gzSegment
	for off := len(gzMagic); off < len(data); {
		body, n := recordlog.Next(data[off:])
		if body == nil {
			break
		}
		d := recordlog.Decoder{B: body}
		sg := &gzSegment{pkgs: make([]*Package, d.Count())}
		for i := range sg.pkgs {
			sg.pkgs[i] = &Package{Name: d.String(), Size: d.Int(), MTimeNS: d.Int(), SHA256: d.String()}
		}
		for i := range sg.members {
			sg.members[i] = d.Bytes()
			// Members are published as they are: each must at least
			// be gzip.
			if !bytes.HasPrefix(sg.members[i], []byte{0x1f, 0x8b}) {
				d.Bad = true
			}
		}
		if !d.Done() || len(sg.pkgs) == 0 {
			break
		}
		segs = append(segs, sg)
		off += n
	}
	return segs
}

func saveGzSegments(dir string, segs []*gzSegment) error {
	buf := []byte(gzMagic)
	for _, sg := range segs {
		body := recordlog.AppendCount(nil, len(sg.pkgs))
		for _, x := range sg.pkgs {
			body = appendIdentity(body, x)
		}
		for _, m := range sg.members {
			body = recordlog.AppendBytes(body, m)
		}
		buf = recordlog.Append(buf, body)
	}
	return atomicfile.WriteUnsynced(filepath.Join(dir, gzName), buf, 0o644)
}

// gzSegmentsFor covers out, in order, with the cached segments that fit
// and new ones (members not yet compressed, listed by index in fresh) for
// the runs of packages between them.
func gzSegmentsFor(cached []*gzSegment, out []*Package) (segs []*gzSegment, fresh []int) {
	byFirst := map[string][]*gzSegment{}
	for _, sg := range cached {
		byFirst[sg.pkgs[0].Name] = append(byFirst[sg.pkgs[0].Name], sg)
	}
	match := func(i int) *gzSegment {
		for _, sg := range byFirst[out[i].Name] {
			if len(sg.pkgs) > len(out)-i {
				continue
			}
			ok := true
			for j, x := range sg.pkgs {
				if !x.Same(out[i+j]) {
					ok = false
					break
				}
			}
			if ok {
				return sg
			}
		}
		return nil
	}
	var run *gzSegment
	for i := 0; i < len(out); {
		if sg := match(i); sg != nil {
			segs, run = append(segs, sg), nil
			i += len(sg.pkgs)
			continue
		}
		if run == nil {
			run = &gzSegment{}
			fresh = append(fresh, len(segs))
			segs = append(segs, run)
		}
		run.pkgs = append(run.pkgs, out[i])
		i++
	}
	if len(segs) > maxGzSegments {
		return []*gzSegment{{pkgs: out}}, []int{0}
	}
	return segs, fresh
}

// Remove deletes the repodata and caches of a channel that no longer has
// RPMs.
func Remove(dir string) error {
	os.Remove(filepath.Join(dir, cacheName))
	os.Remove(filepath.Join(dir, gzName))
	return os.RemoveAll(filepath.Join(dir, Dir))
}
