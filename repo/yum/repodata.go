package yum

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"golang.org/x/sync/errgroup"

	"github.com/hotfix-project/hotfix/repo"
)

// Dir is the yum/dnf metadata directory of a channel with RPMs.
const Dir = "repodata"

// RepoMDName is the index of the repodata in Dir, published last and
// signed (RepoMDName + repo.SigSuffix).
const RepoMDName = "repomd.xml"

// gzipLevel trades size for speed: dnf reads any level, and the XML is
// rewritten at every build that changes a package.
const gzipLevel = gzip.BestSpeed

// File is one data file of the repodata.
type File struct {
	Path string // relative to the channel directory, slash-separated
	Data []byte
}

// Repodata is a channel's repodata, rendered: the data files, and
// repomd.xml, which names them and must be published after them.
type Repodata struct {
	Files  []File
	RepoMD []byte

	keep      map[string]bool // names in Dir this repodata publishes
	cache     *Cache
	pkgs      []*Package
	added     []*Package // to append to the cache file; nil: rewrite it
	segs      []*gzSegment
	freshSegs bool
}

// part is one of the three XML files.
type part struct {
	kind, head, tail string
	body             func(x *Package) []byte
}

func parts(n int) []part {
	count := strconv.Itoa(n)
	return []part{
		{"primary", `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
			`<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="` + count + `">` + "\n",
			"</metadata>\n", func(x *Package) []byte { return x.Primary }},
		{"filelists", `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
			`<filelists xmlns="http://linux.duke.edu/metadata/filelists" packages="` + count + `">` + "\n",
			"</filelists>\n", func(x *Package) []byte { return x.Filelists }},
		{"other", `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
			`<otherdata xmlns="http://linux.duke.edu/metadata/other" packages="` + count + `">` + "\n",
			"</otherdata>\n", func(x *Package) []byte { return x.Other }},
	}
}

// written is one XML file, compressed, as repomd.xml describes it.
type written struct {
	kind, href, sum, openSum string
	size, openSize           int64
	data                     []byte
}

// Stage renders the repodata of a channel whose packages, in order, are
// pkgs, every one rendered (Render, or Cache.Lookup). cache is the
// channel's cache as loaded: its compressed segments are reused where
// they still fit, so that only new packages are compressed.
func Stage(ctx context.Context, pkgs []*Package, generated time.Time, cache *Cache) (*Repodata, error) {
	r := &Repodata{cache: cache, pkgs: pkgs}
	for _, p := range pkgs {
		if cache.Lookup(p) == nil {
			r.added = append(r.added, p)
		}
	}
	// The cache file can be appended to when the packages it holds are
	// all still here, unchanged.
	if len(cache.packages) != len(pkgs)-len(r.added) {
		r.added = nil
	}
	ps := parts(len(pkgs))
	var fresh []int
	r.segs, fresh = gzSegmentsFor(cache.segs, pkgs)
	r.freshSegs = len(fresh) > 0
	if err := compressSegments(ctx, ps, r.segs, fresh); err != nil {
		return nil, err
	}
	results := make([]written, len(ps))
	g, gctx := errgroup.WithContext(ctx)
	for i := range ps {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			w, err := assemble(ps[i], i, pkgs, r.segs)
			results[i] = w
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	r.RepoMD = repomd(results, generated)
	r.keep = map[string]bool{RepoMDName: true, RepoMDName + repo.SigSuffix: true}
	for _, w := range results {
		r.Files = append(r.Files, File{Path: w.href, Data: w.data})
		r.keep[path.Base(w.href)] = true
	}
	return r, nil
}

// compressSegments compresses the new segments (listed by index in
// fresh), each part of each on its own core.
func compressSegments(ctx context.Context, ps []part, segs []*gzSegment, fresh []int) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for k := range len(fresh) * len(ps) {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			sg, i := segs[fresh[k/len(ps)]], k%len(ps)
			var raw int
			for _, x := range sg.pkgs {
				raw += len(ps[i].body(x))
			}
			var gz bytes.Buffer
			gz.Grow(raw/4 + 1024)
			zw, err := gzip.NewWriterLevel(&gz, gzipLevel)
			if err != nil {
				return err
			}
			for _, x := range sg.pkgs {
				zw.Write(ps[i].body(x))
			}
			if err := zw.Close(); err != nil {
				return err
			}
			sg.members[i] = gz.Bytes()
			return nil
		})
	}
	return g.Wait()
}

// assemble makes XML file i of ps: its opening member, the segments'
// members and its closing member, with the digests repomd.xml lists.
func assemble(p part, i int, pkgs []*Package, segs []*gzSegment) (written, error) {
	openSize := int64(len(p.head) + len(p.tail))
	oh := sha256.New()
	oh.Write([]byte(p.head))
	for _, x := range pkgs {
		b := p.body(x)
		oh.Write(b)
		openSize += int64(len(b))
	}
	oh.Write([]byte(p.tail))
	head, err := gzipMember(p.head)
	if err != nil {
		return written{}, err
	}
	tail, err := gzipMember(p.tail)
	if err != nil {
		return written{}, err
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
	href := Dir + "/" + hexSum + "-" + p.kind + ".xml.gz"
	return written{p.kind, href, hexSum, hex.EncodeToString(oh.Sum(nil)), int64(len(gz)), openSize, gz}, nil
}

// repomd renders repomd.xml, naming the data files.
func repomd(results []written, generated time.Time) []byte {
	ts := strconv.FormatInt(generated.Unix(), 10)
	var md bytes.Buffer
	md.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">` + "\n")
	md.WriteString("  <revision>" + ts + "</revision>\n")
	for _, r := range results {
		fmt.Fprintf(&md, `  <data type="%s">
    <checksum type="sha256">%s</checksum>
    <open-checksum type="sha256">%s</open-checksum>
    <location href="%s"/>
    <timestamp>%s</timestamp>
    <size>%d</size>
    <open-size>%d</open-size>
  </data>
`, r.kind, r.sum, r.openSum, r.href, ts, r.size, r.openSize)
	}
	md.WriteString("</repomd>\n")
	return md.Bytes()
}

// gzipMember compresses s as one gzip member.
func gzipMember(s string) ([]byte, error) {
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzipLevel)
	if err != nil {
		return nil, err
	}
	zw.Write([]byte(s))
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// SaveCache writes the channel's caches in dir for this repodata's
// packages. The caches describe the packages, not what is published, so
// they may be written while the published files wait for the disk; they
// are not synced (losing them costs re-reading headers).
func (r *Repodata) SaveCache(dir string) error {
	errc := make(chan error, 1)
	go func() { errc <- r.cache.savePackages(dir, r.pkgs, r.added) }()
	var serr error
	if r.freshSegs {
		serr = saveGzSegments(dir, r.segs)
	}
	return errors.Join(<-errc, serr)
}

// Prune removes from the channel in dir the data files of earlier
// repodata, once this one is published.
func (r *Repodata) Prune(dir string) {
	rd := filepath.Join(dir, Dir)
	entries, err := os.ReadDir(rd)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !r.keep[e.Name()] && !strings.HasPrefix(e.Name(), ".") {
			os.Remove(filepath.Join(rd, e.Name()))
		}
	}
}
