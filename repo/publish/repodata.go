package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	rpmlib "github.com/cavaliergopher/rpm"
	"github.com/klauspost/compress/gzip"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
	"github.com/hotfix-project/hotfix/internal/rpmhdr"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/rpm"
)

// RepodataDir is the yum/dnf metadata directory of a channel with RPMs.
const RepodataDir = "repodata"

// repodataCacheName keeps each package's rendered metadata between
// builds, keyed by file name, size, mtime and sha256, so adding one RPM to
// thousands costs one header read. A dot-file: never published.
//
// The file is a log: a magic line, then one record per package (uvarint
// length, CRC-32 of the body, body). A build that only adds packages
// appends their records; a later record for the same name wins. Loading
// stops at the first torn or damaged record, which only costs re-reading
// the headers it would have described.
const repodataCacheName = ".repodata.cache"

const repodataCacheMagic = "hotfix repodata cache 2\n"

// rpmXML is one package's three metadata fragments, already escaped.
type rpmXML struct {
	Name      string
	Size      int64
	MTimeNS   int64
	SHA256    string
	Primary   []byte
	Filelists []byte
	Other     []byte
}

type repodataCache struct {
	Packages map[string]*rpmXML
	records  int   // records in the file, superseded ones included
	size     int64 // bytes of valid records in the file
}

func loadRepodataCache(dir string) *repodataCache {
	c := &repodataCache{Packages: map[string]*rpmXML{}}
	data, err := os.ReadFile(filepath.Join(dir, repodataCacheName))
	if err != nil || !bytes.HasPrefix(data, []byte(repodataCacheMagic)) {
		return c
	}
	off := len(repodataCacheMagic)
	for off < len(data) {
		x, n := decodeRPMXML(data[off:])
		if x == nil {
			break
		}
		c.Packages[x.Name] = x
		c.records++
		off += n
	}
	c.size = int64(off)
	return c
}

// save writes the cache for exactly the packages in pkgs: by appending the
// records of added packages when that is all that changed, else by
// rewriting the file. The cache is not synced: losing it costs a rehash.
func (c *repodataCache) save(dir string, pkgs []*rpmXML, added []*rpmXML) error {
	if c.size > 0 && len(pkgs)-len(added) == c.records && len(added) > 0 {
		if appendAt(filepath.Join(dir, repodataCacheName), appendRPMXMLs(nil, added), c.size) == nil {
			return nil
		}
	}
	return atomicfile.WriteUnsynced(filepath.Join(dir, repodataCacheName), appendRPMXMLs([]byte(repodataCacheMagic), pkgs), 0o644)
}

// appendRPMXMLs appends the records of pkgs, growing buf once.
func appendRPMXMLs(buf []byte, pkgs []*rpmXML) []byte {
	n := 0
	for _, x := range pkgs {
		n += len(x.Name) + len(x.SHA256) + len(x.Primary) + len(x.Filelists) + len(x.Other) + 64
	}
	buf = slices.Grow(buf, n)
	var body []byte
	for _, x := range pkgs {
		body = appendRPMXMLBody(body[:0], x)
		buf = appendRecord(buf, body)
	}
	return buf
}

func appendRPMXMLBody(body []byte, x *rpmXML) []byte {
	body = appendStr(body, x.Name)
	body = appendInt(body, x.Size)
	body = appendInt(body, x.MTimeNS)
	body = appendStr(body, x.SHA256)
	body = appendBytes(body, x.Primary)
	body = appendBytes(body, x.Filelists)
	return appendBytes(body, x.Other)
}

// decodeRPMXML reads one record; nil if it is torn or damaged.
func decodeRPMXML(data []byte) (*rpmXML, int) {
	body, n := decodeRecord(data)
	if body == nil {
		return nil, 0
	}
	d := decoder{b: body}
	x := &rpmXML{Name: d.str(), Size: d.int(), MTimeNS: d.int(), SHA256: d.str(), Primary: d.bytes(), Filelists: d.bytes(), Other: d.bytes()}
	if d.bad || len(d.b) != 0 {
		return nil, 0
	}
	return x, n
}

// rpmFile is an RPM of a channel as the catalog knows it.
type rpmFile struct {
	Name    string
	Size    int64
	MTimeNS int64
	SHA256  string
	XML     *rpmXML // already rendered, if not nil
}

// stageRepodata adds to batch dir/repodata for the RPMs of a channel:
// primary, filelists and other (gzip, sha256), repomd.xml and its detached
// signature repomd.xml.asc, in that order. The caches are saved in the
// background; the returned function, which must be called, waits for
// them and, once the batch is committed, removes the data files the new
// repomd.xml no longer names. Headers are read only for packages
// the cache does not know, on every core. caches returns the channel's
// caches (see preloadRepodataCaches).
func stageRepodata(ctx context.Context, dir string, pkgs []rpmFile, generated time.Time, signer repo.Signer, batch *fileBatch, log *slog.Logger, caches func() (*repodataCache, []*gzSegment)) (func(committed bool) error, error) {
	cache, cachedSegs := caches()
	out := make([]*rpmXML, len(pkgs))
	var stale []int
	for i, p := range pkgs {
		if c := cache.Packages[p.Name]; c != nil && c.Size == p.Size && c.MTimeNS == p.MTimeNS && c.SHA256 == p.SHA256 {
			out[i] = c
		} else {
			stale = append(stale, i)
		}
	}
	// The repodata is written again even when no package changed: the
	// cache describes the packages, not what is published, which may be
	// damaged, signed with another key or left behind by a build that
	// failed; the cached gzip segments keep that cheap.
	rd := filepath.Join(dir, RepodataDir)
	if len(stale) > 0 {
		log.Debug("reading rpm headers", "channel", dir, "count", len(stale))
	}
	err := parallel(ctx, len(stale), func(k int) error {
		i := stale[k]
		if x := pkgs[i].XML; x != nil && x.Name == pkgs[i].Name && x.Size == pkgs[i].Size && x.MTimeNS == pkgs[i].MTimeNS && x.SHA256 == pkgs[i].SHA256 {
			out[i] = x // rendered while the archive was hashed
			return nil
		}
		x, err := renderRPM(filepath.Join(dir, pkgs[i].Name), pkgs[i])
		out[i] = x
		return err
	})
	if err != nil {
		return nil, err
	}
	// The cache file can be appended to when the packages it holds are all
	// still here, unchanged.
	added := make([]*rpmXML, 0, len(stale))
	for _, i := range stale {
		added = append(added, out[i])
	}
	if len(cache.Packages) != len(pkgs)-len(stale) {
		added = nil // something went away: rewrite
	}
	if err := os.MkdirAll(rd, 0o755); err != nil {
		return nil, err
	}
	n := strconv.Itoa(len(out))
	type part struct {
		kind, head, tail string
		body             func(x *rpmXML) []byte
	}
	parts := []part{
		{"primary", `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
			`<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="` + n + `">` + "\n",
			"</metadata>\n", func(x *rpmXML) []byte { return x.Primary }},
		{"filelists", `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
			`<filelists xmlns="http://linux.duke.edu/metadata/filelists" packages="` + n + `">` + "\n",
			"</filelists>\n", func(x *rpmXML) []byte { return x.Filelists }},
		{"other", `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
			`<otherdata xmlns="http://linux.duke.edu/metadata/other" packages="` + n + `">` + "\n",
			"</otherdata>\n", func(x *rpmXML) []byte { return x.Other }},
	}
	type written struct {
		kind, href, sum, openSum string
		size, openSize           int64
		data                     []byte
	}
	results := make([]written, len(parts))
	segs, fresh := gzSegmentsFor(cachedSegs, out)
	// New segments are compressed first, on every core; each part is then
	// its three members and the cached ones between them.
	err = parallel(ctx, len(fresh)*len(parts), func(k int) error {
		sg, i := segs[fresh[k/len(parts)]], k%len(parts)
		var raw int
		for _, x := range sg.pkgs {
			raw += len(parts[i].body(x))
		}
		var gz bytes.Buffer
		gz.Grow(raw/4 + 1024)
		zw, err := gzip.NewWriterLevel(&gz, repodataGzipLevel)
		if err != nil {
			return err
		}
		for _, x := range sg.pkgs {
			zw.Write(parts[i].body(x))
		}
		if err := zw.Close(); err != nil {
			return err
		}
		sg.members[i] = gz.Bytes()
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = parallel(ctx, len(parts), func(i int) error {
		p := parts[i]
		openSize := int64(len(p.head) + len(p.tail))
		oh := sha256.New()
		oh.Write([]byte(p.head))
		for _, x := range out {
			b := p.body(x)
			oh.Write(b)
			openSize += int64(len(b))
		}
		oh.Write([]byte(p.tail))
		head, err := gzipMember(p.head)
		if err != nil {
			return err
		}
		tail, err := gzipMember(p.tail)
		if err != nil {
			return err
		}
		size := len(head) + len(tail)
		for _, sg := range segs {
			size += len(sg.members[i])
		}
		gz := make([]byte, 0, size)
		gz = append(gz, head...)
		for _, sg := range segs {
			gz = append(gz, sg.members[i]...)
		}
		gz = append(gz, tail...)
		sum := sha256.Sum256(gz)
		hexSum := hex.EncodeToString(sum[:])
		href := RepodataDir + "/" + hexSum + "-" + p.kind + ".xml.gz"
		results[i] = written{p.kind, href, hexSum, hex.EncodeToString(oh.Sum(nil)), int64(len(gz)), openSize, gz}
		return nil
	})
	if err != nil {
		return nil, err
	}
	ts := strconv.FormatInt(generated.Unix(), 10)
	var md bytes.Buffer
	md.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">` + "\n")
	md.WriteString("  <revision>" + ts + "</revision>\n")
	keep := map[string]bool{"repomd.xml": true, "repomd.xml" + repo.SigSuffix: true}
	for _, r := range results {
		keep[filepath.Base(r.href)] = true
		fmt.Fprintf(&md, `  <data type="%s">
    <checksum type="sha256">%s</checksum>
    <open-checksum type="sha256">%s</open-checksum>
    <location href="%s"/>
    <timestamp>%s</timestamp>
    <size>%d</size>
    <open-size>%d</open-size>
  </data>
`, r.kind, r.sum, r.openSum, r.href, ts, r.size, r.openSize)
		if err := batch.add(filepath.Join(dir, filepath.FromSlash(r.href)), r.data); err != nil {
			return nil, err
		}
	}
	md.WriteString("</repomd>\n")
	if err := batch.addSigned(filepath.Join(rd, "repomd.xml"), md.Bytes(), signer); err != nil {
		return nil, err
	}
	// The caches describe the packages, not what is published: they are
	// written while the caller's batch waits for the disk.
	saved := make(chan error, 2)
	go func() { saved <- cache.save(dir, out, added) }()
	go func() {
		if len(fresh) == 0 {
			saved <- nil
			return
		}
		saved <- saveGzSegments(dir, segs)
	}()
	return func(committed bool) error {
		if committed {
			if entries, err := os.ReadDir(rd); err == nil {
				for _, e := range entries {
					if !keep[e.Name()] && !strings.HasPrefix(e.Name(), ".") {
						os.Remove(filepath.Join(rd, e.Name()))
					}
				}
			}
		}
		return errors.Join(<-saved, <-saved)
	}, nil
}

// The XML files are gzip files of several members, which zlib (and so
// libsolv and dnf), Go and Python read as one stream: a member for the
// opening tag (it carries the package count), the packages in runs of
// members ("segments") kept between builds, and one for the closing tag.
// Adding a package to thousands then compresses only its own fragments
// instead of all of them again.
//
// repodataGzName holds the segments: a magic line, then a record per
// segment (framed as in the repodata cache): its packages (name, size,
// mtime, sha256), then for primary, filelists and other the compressed
// member. A segment is reused only where the channel has exactly its
// packages, in that order; a build that finds more than maxGzSegments
// compresses everything again as one segment.
const repodataGzName = ".repodata.gz"

const repodataGzMagic = "hotfix repodata gzip segments 1\n" + repodataCacheMagic

const maxGzSegments = 16

type gzSegment struct {
	pkgs    []*rpmXML // only Name, Size, MTimeNS and SHA256 when loaded
	members [3][]byte
}

func loadGzSegments(dir string) []*gzSegment {
	data, err := os.ReadFile(filepath.Join(dir, repodataGzName))
	if err != nil || !bytes.HasPrefix(data, []byte(repodataGzMagic)) {
		return nil
	}
	var segs []*gzSegment
	for off := len(repodataGzMagic); off < len(data); {
		body, n := decodeRecord(data[off:])
		if body == nil {
			break
		}
		d := decoder{b: body}
		sg := &gzSegment{pkgs: make([]*rpmXML, d.count())}
		for i := range sg.pkgs {
			sg.pkgs[i] = &rpmXML{Name: d.str(), Size: d.int(), MTimeNS: d.int(), SHA256: d.str()}
		}
		for i := range sg.members {
			sg.members[i] = d.bytes()
			// Members are published as they are: each must at least
			// be gzip.
			if !bytes.HasPrefix(sg.members[i], []byte{0x1f, 0x8b}) {
				d.bad = true
			}
		}
		if d.bad || len(d.b) != 0 || len(sg.pkgs) == 0 {
			break
		}
		segs = append(segs, sg)
		off += n
	}
	return segs
}

func saveGzSegments(dir string, segs []*gzSegment) error {
	buf := []byte(repodataGzMagic)
	for _, sg := range segs {
		var body []byte
		body = binary.AppendUvarint(body, uint64(len(sg.pkgs)))
		for _, x := range sg.pkgs {
			body = appendStr(appendInt(appendInt(appendStr(body, x.Name), x.Size), x.MTimeNS), x.SHA256)
		}
		for _, m := range sg.members {
			body = appendBytes(body, m)
		}
		buf = appendRecord(buf, body)
	}
	return atomicfile.WriteUnsynced(filepath.Join(dir, repodataGzName), buf, 0o644)
}

func samePackage(a, b *rpmXML) bool {
	return a.Name == b.Name && a.Size == b.Size && a.MTimeNS == b.MTimeNS && a.SHA256 == b.SHA256
}

// gzSegmentsFor covers out, in order, with the cached segments that fit
// and new ones (members not yet compressed, listed by index in fresh) for
// the runs of packages between them.
func gzSegmentsFor(cached []*gzSegment, out []*rpmXML) (segs []*gzSegment, fresh []int) {
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
				if !samePackage(x, out[i+j]) {
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

// gzipMember compresses s as one gzip member.
func gzipMember(s string) ([]byte, error) {
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, repodataGzipLevel)
	if err != nil {
		return nil, err
	}
	zw.Write([]byte(s))
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// repodataGzipLevel trades size for speed: dnf reads any level, and the
// XML is rewritten at every build that changes a package.
const repodataGzipLevel = gzip.BestSpeed

// renderRPM reads one package's header (not its payload) and renders its
// three metadata fragments the way createrepo_c does.
func renderRPM(path string, p rpmFile) (*rpmXML, error) {
	h, err := rpm.ReadHeader(path)
	if err != nil {
		return nil, err
	}
	return renderRPMHeader(h, path, p)
}

// renderRPMHeader renders the metadata fragments of the package at path
// (named in errors only) from its header.
func renderRPMHeader(h *rpm.Header, path string, p rpmFile) (*rpmXML, error) {
	pkg := h.Pkg
	x := &rpmXML{Name: p.Name, Size: p.Size, MTimeNS: p.MTimeNS, SHA256: p.SHA256}
	name, arch := pkg.Name(), pkg.Architecture()
	if pkg.SourceRPM() == "" {
		arch = "src"
	}
	ver := fmt.Sprintf(`<version epoch="%d" ver="%s" rel="%s"/>`, pkg.Epoch(), esc(pkg.Version()), esc(pkg.Release()))
	pkgHead := fmt.Sprintf(`<package pkgid="%s" name="%s" arch="%s">`+"\n  %s\n", p.SHA256, esc(name), esc(arch), ver)

	var b bytes.Buffer
	b.WriteString("<package type=\"rpm\">\n")
	fmt.Fprintf(&b, "  <name>%s</name>\n  <arch>%s</arch>\n  %s\n", esc(name), esc(arch), ver)
	fmt.Fprintf(&b, "  <checksum type=\"sha256\" pkgid=\"YES\">%s</checksum>\n", p.SHA256)
	fmt.Fprintf(&b, "  <summary>%s</summary>\n  <description>%s</description>\n", esc(pkg.Summary()), esc(pkg.Description()))
	fmt.Fprintf(&b, "  <packager>%s</packager>\n  <url>%s</url>\n", esc(pkg.Packager()), esc(pkg.URL()))
	fmt.Fprintf(&b, "  <time file=\"%d\" build=\"%d\"/>\n", time.Unix(0, p.MTimeNS).Unix(), pkg.Header.GetTag(1006).Int64())
	installed := pkg.Header.GetTag(rpmhdr.TagLongSize).Int64()
	if installed == 0 {
		installed = int64(uint32(pkg.Header.GetTag(rpmhdr.TagSize).Int64()))
	}
	archive := pkg.Signature.GetTag(rpmhdr.SigTagLongArchive).Int64()
	if archive == 0 {
		archive = int64(uint32(pkg.Signature.GetTag(rpmhdr.SigTagPayloadSize).Int64()))
	}
	if archive == 0 {
		archive = int64(uint32(pkg.Header.GetTag(rpmhdr.TagArchiveSize).Int64()))
	}
	fmt.Fprintf(&b, "  <size package=\"%d\" installed=\"%d\" archive=\"%d\"/>\n", p.Size, installed, archive)
	fmt.Fprintf(&b, "  <location href=\"%s\"/>\n", esc(p.Name))
	b.WriteString("  <format>\n")
	fmt.Fprintf(&b, "    <rpm:license>%s</rpm:license>\n    <rpm:vendor>%s</rpm:vendor>\n", esc(pkg.License()), esc(pkg.Vendor()))
	fmt.Fprintf(&b, "    <rpm:group>%s</rpm:group>\n    <rpm:buildhost>%s</rpm:buildhost>\n", esc(strings.Join(pkg.Groups(), "")), esc(pkg.BuildHost()))
	fmt.Fprintf(&b, "    <rpm:sourcerpm>%s</rpm:sourcerpm>\n", esc(pkg.SourceRPM()))
	fmt.Fprintf(&b, "    <rpm:header-range start=\"%d\" end=\"%d\"/>\n", h.HeaderStart, h.HeaderEnd)
	provides, err := rpmhdr.Deps(pkg, rpmhdr.Provides)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	provided := map[rpmhdr.Dep]bool{}
	for _, d := range provides {
		provided[rpmhdr.Dep{Name: d.Name, Flags: d.Flags & rpmhdr.SenseMask, Version: d.Version}] = true
	}
	fileSet := map[string]bool{}
	for _, f := range h.Files {
		fileSet[f.Path] = true
	}
	for _, kind := range []struct {
		tag  string
		tags [3]int
	}{
		{"provides", rpmhdr.Provides}, {"requires", rpmhdr.Requires}, {"conflicts", rpmhdr.Conflicts}, {"obsoletes", rpmhdr.Obsoletes},
		{"suggests", rpmhdr.Suggests}, {"enhances", rpmhdr.Enhances}, {"recommends", rpmhdr.Recommends}, {"supplements", rpmhdr.Supplements},
	} {
		list, err := rpmhdr.Deps(pkg, kind.tags)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		var entries []string
		seen := map[string]bool{}
		for _, d := range list {
			pre := false
			if kind.tag == "requires" {
				if strings.HasPrefix(d.Name, "rpmlib(") || d.Flags&rpmlib.DepFlagRpmlib != 0 {
					continue
				}
				// As createrepo_c: a package's own primary files and exact
				// provides satisfy themselves.
				if fileSet[d.Name] && isPrimaryFile(d.Name) || provided[rpmhdr.Dep{Name: d.Name, Flags: d.Flags & rpmhdr.SenseMask, Version: d.Version}] {
					continue
				}
				pre = d.Flags&(rpmlib.DepFlagPrereq|rpmlib.DepFlagScriptPre|rpmlib.DepFlagScriptPost) != 0
			}
			e := depEntry(d, pre)
			if seen[e] {
				continue
			}
			seen[e] = true
			entries = append(entries, e)
		}
		if len(entries) == 0 {
			continue
		}
		fmt.Fprintf(&b, "    <rpm:%s>\n", kind.tag)
		for _, e := range entries {
			b.WriteString("      " + e + "\n")
		}
		fmt.Fprintf(&b, "    </rpm:%s>\n", kind.tag)
	}
	var fl bytes.Buffer
	fl.WriteString(pkgHead)
	for _, f := range h.Files {
		typ := ""
		switch {
		case f.IsGhost():
			typ = ` type="ghost"`
		case f.IsDir():
			typ = ` type="dir"`
		}
		line := fmt.Sprintf("<file%s>%s</file>", typ, esc(f.Path))
		fmt.Fprintf(&fl, "  %s\n", line)
		if isPrimaryFile(f.Path) {
			fmt.Fprintf(&b, "    %s\n", line)
		}
	}
	fl.WriteString("</package>\n")
	b.WriteString("  </format>\n</package>\n")

	var ot bytes.Buffer
	ot.WriteString(pkgHead)
	times := pkg.Header.GetTag(rpmhdr.TagChangelogTime).Int64Slice()
	names := pkg.Header.GetTag(rpmhdr.TagChangelogName).StringSlice()
	texts := pkg.Header.GetTag(rpmhdr.TagChangelogText).StringSlice()
	if len(times) == len(names) && len(names) == len(texts) {
		// createrepo_c lists the oldest entry first.
		for i := len(texts) - 1; i >= 0; i-- {
			fmt.Fprintf(&ot, "  <changelog author=\"%s\" date=\"%d\">%s</changelog>\n", esc(names[i]), uint32(times[i]), esc(texts[i]))
		}
	}
	ot.WriteString("</package>\n")
	x.Primary, x.Filelists, x.Other = b.Bytes(), fl.Bytes(), ot.Bytes()
	return x, nil
}

// isPrimaryFile is createrepo_c's rule for the files primary.xml lists
// (those dependencies name most often).
func isPrimaryFile(p string) bool {
	return strings.HasPrefix(p, "/etc/") || strings.Contains(p, "bin/") || p == "/usr/lib/sendmail"
}

// depEntry renders one <rpm:entry>.
func depEntry(d rpmhdr.Dep, pre bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<rpm:entry name="%s"`, esc(d.Name))
	if flag := senseName(d.Flags); flag != "" && d.Version != "" {
		epoch, ver, rel := "0", d.Version, ""
		if i := strings.IndexByte(ver, ':'); i >= 0 {
			epoch, ver = ver[:i], ver[i+1:]
		}
		if i := strings.LastIndexByte(ver, '-'); i >= 0 {
			ver, rel = ver[:i], ver[i+1:]
		}
		fmt.Fprintf(&b, ` flags="%s" epoch="%s" ver="%s"`, flag, esc(epoch), esc(ver))
		if rel != "" {
			fmt.Fprintf(&b, ` rel="%s"`, esc(rel))
		}
	}
	if pre {
		b.WriteString(` pre="1"`)
	}
	b.WriteString("/>")
	return b.String()
}

func senseName(flags int) string {
	switch flags & rpmhdr.SenseMask {
	case rpmlib.DepFlagLesser:
		return "LT"
	case rpmlib.DepFlagGreater:
		return "GT"
	case rpmlib.DepFlagEqual:
		return "EQ"
	case rpmlib.DepFlagLesserOrEqual:
		return "LE"
	case rpmlib.DepFlagGreaterOrEqual:
		return "GE"
	}
	return ""
}

// esc escapes text for XML content and attributes.
func esc(s string) string {
	// Most strings (names, versions, paths) need nothing: return them
	// without the encoder's copies.
	plain := true
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c >= 0x20 && c < 0x7f && c != '<' && c != '>' && c != '&' && c != '\'' && c != '"'
	}
	if plain {
		return s
	}
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// fixFileName is the name a fix's file must have in its channel, by kind:
// PRODUCT-VERSION.fix or PRODUCT-hotfix-V-1-0.noarch.rpm.
func fixFileName(name string, e *catalogEntry) string {
	if isRPMName(name) {
		return rpm.FileName(e.Product, e.Version)
	}
	return repo.ArchiveName(e.Product, e.Version)
}

// pairRPMs gives each entry its file name and folds an RPM into the .fix
// of the same version (as its RPMEntry, which becomes IndexFix.RPM). An RPM
// without a .fix stands for its fix alone: IndexFix.File names the .rpm and
// the client picks the reader by the extension.
func pairRPMs(names []string, entries []*catalogEntry) []*catalogEntry {
	fixes := map[string]*catalogEntry{}
	for i, e := range entries {
		e.File, e.RPMEntry = names[i], nil
		if !isRPMName(names[i]) {
			fixes[e.Version.String()] = e
		}
	}
	out := entries[:0:0]
	for _, e := range entries {
		if isRPMName(e.File) {
			if f := fixes[e.Version.String()]; f != nil {
				f.RPMEntry = e
				continue
			}
		}
		out = append(out, e)
	}
	return out
}

// fileNamed returns the entry of a fix that describes the file name: the
// fix's own or its RPM's.
func (e *catalogEntry) fileNamed(name string) *catalogEntry {
	switch {
	case e.File == name:
		return e
	case e.RPMEntry != nil && e.RPMEntry.File == name:
		return e.RPMEntry
	}
	return nil
}

func (e *catalogEntry) rpmRef() *repo.RPMRef {
	if e.RPMEntry == nil {
		return nil
	}
	return &repo.RPMRef{File: e.RPMEntry.File, Size: e.RPMEntry.Size, SHA256: e.RPMEntry.SHA256}
}

// writeChannelRepodata adds yum repodata for the RPMs of a channel to
// batch (see stageRepodata), or removes a repodata directory left from
// RPMs that are gone.
func writeChannelRepodata(ctx context.Context, dir string, entries []*catalogEntry, generated time.Time, signer repo.Signer, batch *fileBatch, log *slog.Logger, caches func() (*repodataCache, []*gzSegment)) (func(committed bool) error, error) {
	var pkgs []rpmFile
	for _, e := range entries {
		r := e
		if !isRPMName(e.File) {
			r = e.RPMEntry
		}
		if r != nil {
			pkgs = append(pkgs, rpmFile{Name: r.File, Size: r.Size, MTimeNS: r.MTimeNS, SHA256: r.SHA256, XML: r.xml})
		}
	}
	if len(pkgs) == 0 {
		os.Remove(filepath.Join(dir, repodataCacheName))
		os.Remove(filepath.Join(dir, repodataGzName))
		return nil, os.RemoveAll(filepath.Join(dir, RepodataDir))
	}
	return stageRepodata(ctx, dir, pkgs, generated, signer, batch, log, caches)
}

// preloadRepodataCaches starts reading a channel's repodata caches and
// returns a function that waits for them, so that a build can read them
// while it scans the channel.
func preloadRepodataCaches(dir string) func() (*repodataCache, []*gzSegment) {
	type loaded struct {
		cache *repodataCache
		segs  []*gzSegment
	}
	c := make(chan loaded, 1)
	go func() { c <- loaded{loadRepodataCache(dir), loadGzSegments(dir)} }()
	var l *loaded
	return func() (*repodataCache, []*gzSegment) {
		if l == nil {
			v := <-c
			l = &v
		}
		return l.cache, l.segs
	}
}

// checkRepodata verifies a channel's repodata as dnf would: the signature
// of repomd.xml, the size and sha256 of each data file it names, and that
// primary.xml lists exactly the RPMs given (file name → sha256).
func checkRepodata(dir string, check repo.CheckSignature, rpms map[string]string) []error {
	rd := filepath.Join(dir, RepodataDir)
	md, err := os.ReadFile(filepath.Join(rd, "repomd.xml"))
	if err != nil {
		if len(rpms) == 0 && os.IsNotExist(err) {
			return nil
		}
		return []error{fmt.Errorf("repomd.xml missing: run \"hotfix repo build\"")}
	}
	sig, err := os.ReadFile(filepath.Join(rd, "repomd.xml"+repo.SigSuffix))
	if err != nil {
		return []error{fmt.Errorf("repomd.xml.asc missing: run \"hotfix repo build\"")}
	}
	if err := check(md, sig); err != nil {
		return []error{fmt.Errorf("repomd.xml.asc: %w", err)}
	}
	var repomd struct {
		Data []struct {
			Type     string `xml:"type,attr"`
			Checksum string `xml:"checksum"`
			Location struct {
				Href string `xml:"href,attr"`
			} `xml:"location"`
			Size int64 `xml:"size"`
		} `xml:"data"`
	}
	if err := xml.Unmarshal(md, &repomd); err != nil {
		return []error{fmt.Errorf("repomd.xml: %w", err)}
	}
	var errs []error
	for _, d := range repomd.Data {
		name, ok := strings.CutPrefix(d.Location.Href, RepodataDir+"/")
		if !ok || !repo.IsPlainFileName(name) {
			errs = append(errs, fmt.Errorf("repomd.xml names %q outside repodata/", d.Location.Href))
			continue
		}
		if err := checkFile(filepath.Join(rd, name), d.Size, d.Checksum); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d.Location.Href, err))
			continue
		}
		if d.Type != "primary" {
			continue
		}
		listed, err := primaryPackages(filepath.Join(rd, name))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d.Location.Href, err))
			continue
		}
		for file, sum := range rpms {
			if listed[file] != sum {
				errs = append(errs, fmt.Errorf("%s: %s missing or with another sha256: run \"hotfix repo build\"", d.Location.Href, file))
			}
		}
		for file := range listed {
			if _, ok := rpms[file]; !ok {
				errs = append(errs, fmt.Errorf("%s lists %s, which the index does not: run \"hotfix repo build\"", d.Location.Href, file))
			}
		}
	}
	return errs
}

// primaryPackages reads location → sha256 from a primary.xml.gz.
func primaryPackages(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	var md struct {
		Packages []struct {
			Checksum string `xml:"checksum"`
			Location struct {
				Href string `xml:"href,attr"`
			} `xml:"location"`
		} `xml:"package"`
	}
	if err := xml.NewDecoder(io.LimitReader(zr, 1<<30)).Decode(&md); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, p := range md.Packages {
		out[p.Location.Href] = p.Checksum
	}
	return out, nil
}
