package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"syscall"

	"github.com/hotfix-project/hotfix/internal/sha256mb"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/fixarchive"
	"github.com/hotfix-project/hotfix/repo/rpm"
	"github.com/hotfix-project/hotfix/repo/yum"
	"golang.org/x/sync/errgroup"
)

// describeAll describes the archives at paths for a build on every core:
// what describeArchive does for a .fix (every entry checked against the
// manifest, read to its true end: a build signs no archive it has not
// verified, even one copied into the repository by hand), and for an RPM
// its header and size. Each core maps up to 16 files at a time and hashes
// them together (internal/sha256mb), reading each one from the mapping as
// it starts, so no byte is copied out of the page cache. It describes
// every archive and joins every error. Archives that repo add placed are
// in the catalog and not read again.
func describeAll(ctx context.Context, paths []string) ([]*catalogEntry, error) {
	return describeMapped(ctx, paths, func(path string) (*mappedArchive, error) { return mapArchive(ctx, path) })
}

// describeMapped is describeAll with the function that maps each archive
// (a test maps and then truncates one).
func describeMapped(ctx context.Context, paths []string, mapFn func(string) (*mappedArchive, error)) ([]*catalogEntry, error) {
	entries := make([]*catalogEntry, len(paths))
	errs := make([]error, len(paths))
	var next atomic.Int64
	var g errgroup.Group
	for range min(runtime.GOMAXPROCS(0), len(paths)) {
		g.Go(func() error { return describeWorker(ctx, paths, mapFn, &next, entries, errs) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return entries, errors.Join(errs...)
}

// describeWorker takes archives from paths in turn until none is left.
func describeWorker(ctx context.Context, paths []string, mapFn func(string) (*mappedArchive, error), next *atomic.Int64, entries []*catalogEntry, errs []error) (err error) {
	open := map[*mappedArchive]bool{}
	defer func() {
		for a := range open {
			a.unmap()
		}
	}()
	// A file truncated while it is mapped makes the kernel fault the
	// access: that becomes an error instead of a crash.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(interface{ Addr() uintptr }); !ok {
				panic(r)
			}
			err = errors.New("an archive shrank while it was read: build again once nothing is writing to the repository")
		}
	}()
	return sha256mb.Hash(ctx, func() (sha256mb.Job, bool) {
		for {
			i := int(next.Add(1)) - 1
			if i >= len(paths) {
				return sha256mb.Job{}, false
			}
			a, err := mapFn(paths[i])
			if err != nil {
				errs[i] = err
				continue
			}
			open[a] = true
			return sha256mb.Job{Data: a.data, Done: func(sum [sha256mb.Size]byte) {
				entries[i], errs[i] = a.entry(hex.EncodeToString(sum[:]))
				a.unmap()
				delete(open, a)
			}}, true
		}
	})
}

// mappedArchive is an archive being described: its bytes, mapped, and
// what its header or manifest says.
type mappedArchive struct {
	path   string
	info   fs.FileInfo
	data   []byte
	mapped bool
	rpm    *rpm.Header
	fix    *repo.Manifest
}

// mapArchive maps the file at path and reads its RPM header, or verifies
// the whole .fix, from the mapping. Where the file cannot be mapped it is
// read.
func mapArchive(ctx context.Context, path string) (*mappedArchive, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	a := &mappedArchive{path: path, info: info}
	if size := info.Size(); size > 0 && int64(int(size)) == size {
		if m, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED); err == nil {
			a.data, a.mapped = m, true
		}
	}
	if !a.mapped {
		if a.data, err = os.ReadFile(path); err != nil {
			return nil, err
		}
	}
	if isRPMName(path) {
		if a.rpm, err = rpm.ParseHeader(a.data); err == nil {
			err = a.rpm.CheckFileSize(int64(len(a.data)))
		}
	} else {
		a.fix, err = fixarchive.VerifyArchive(ctx, bytes.NewReader(a.data))
	}
	if err != nil {
		a.unmap()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

func (a *mappedArchive) unmap() {
	if a.mapped {
		syscall.Munmap(a.data)
		a.mapped = false
	}
	a.data = nil
}

// entry is the archive's catalog entry, given its sha256; an RPM's
// repodata is rendered from the header already read.
func (a *mappedArchive) entry(sum string) (*catalogEntry, error) {
	e := &catalogEntry{Archive: repo.Archive{Size: a.info.Size(), SHA256: sum}, MTimeNS: a.info.ModTime().UnixNano()}
	if m := a.fix; m != nil {
		e.Verified = true
		e.DescribeManifest(m)
		return e, nil
	}
	h := a.rpm
	e.Product, e.Version, e.Summary, e.Description, e.Bugs = h.Product, h.Fix, h.Pkg.Summary(), h.Pkg.Description(), h.Bugs
	if e.Bugs == nil {
		e.Bugs = []repo.Bug{}
	}
	var err error
	e.xml, err = yum.Render(yumHeader(h), yum.Package{Name: filepath.Base(a.path), Size: e.Size, MTimeNS: e.MTimeNS, SHA256: sum})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", a.path, err)
	}
	return e, nil
}

// isRPMName reports whether a file name is an RPM package's.
func isRPMName(name string) bool { return path.Ext(name) == ".rpm" }

// describeRPM is describeArchive for an RPM: what a build reads of it
// (describeAll: its sha256 and header), then its payload verified against
// the manifest (the signature is not required: the vendor indexes its own
// packages, and the index signs their sha256).
func describeRPM(ctx context.Context, path string) (*catalogEntry, *repo.Manifest, error) {
	described, err := describeAll(ctx, []string{path})
	if err != nil {
		return nil, nil, err
	}
	_, m, err := rpm.Verify(ctx, path, rpm.Trust{})
	if err != nil {
		return nil, nil, err
	}
	e := described[0]
	e.Summary, e.Description, e.Bugs, e.Parts, e.Verified = m.Summary, m.Description, m.Bugs, m.PartRefs(), true
	return e, m, nil
}

// describeArchive hashes an archive file and reads its manifest in one
// pass over the bytes, verifying every entry (repo add; a build describes
// many archives at once with describeAll). With copyTo set, the same pass
// writes the archive's bytes there too (an RPM, verified in passes of its
// own, is copied after them), and the entry describes what was copied:
// the vendor's file may change meanwhile, the copy is what was verified.
func describeArchive(ctx context.Context, path string, copyTo io.Writer) (*catalogEntry, *repo.Manifest, error) {
	if isRPMName(path) {
		return describeRPMCopy(ctx, path, copyTo)
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
	var w io.Writer = h
	if copyTo != nil {
		w = io.MultiWriter(h, copyTo)
	}
	n := &countingWriter{w: w}
	m, err := verifyGated(ctx, io.TeeReader(f, n), copyTo)
	if n.err != nil { // a full disk, not a broken archive
		return nil, nil, fmt.Errorf("copy %s into the repository: %w", path, n.err)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	// Hash (and copy) whatever the reader did not need.
	if _, err := io.Copy(n, f); err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	e := &catalogEntry{Archive: repo.Archive{Size: n.n, SHA256: hex.EncodeToString(h.Sum(nil))},
		MTimeNS: info.ModTime().UnixNano(), Verified: true}
	e.DescribeManifest(m)
	return e, m, nil
}

// manifestGate is a copyTo that is told the manifest as soon as it is
// read, before the copy goes on (see lazyCopy in add.go): an archive of a
// version the channel holds already need not be copied at all.
type manifestGate interface {
	io.Writer
	manifestRead(m *repo.Manifest) error
}

// verifyGated is fixarchive.VerifyArchive that tells copyTo the manifest
// first if it is a manifestGate.
func verifyGated(ctx context.Context, r io.Reader, copyTo io.Writer) (*repo.Manifest, error) {
	a, err := fixarchive.NewArchiveReader(r)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	if g, ok := copyTo.(manifestGate); ok {
		if err := g.manifestRead(a.Manifest); err != nil {
			return nil, err
		}
	}
	return a.VerifyRest(ctx)
}

// describeRPMCopy is describeRPM, then a copy of the RPM into copyTo
// checked against the sha256 described: a package changed between the
// reads is refused, not published.
func describeRPMCopy(ctx context.Context, path string, copyTo io.Writer) (*catalogEntry, *repo.Manifest, error) {
	e, m, err := describeRPM(ctx, path)
	if err != nil || copyTo == nil {
		return e, m, err
	}
	if g, ok := copyTo.(manifestGate); ok {
		if err := g.manifestRead(m); err != nil {
			return nil, nil, err
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(h, copyTo), f); err != nil {
		return nil, nil, fmt.Errorf("copy %s into the repository: %w", path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != e.SHA256 {
		return nil, nil, fmt.Errorf("%s changed while it was added (sha256 %s, then %s): add it again once nothing writes to it", path, e.SHA256, got)
	}
	return e, m, nil
}

// countingWriter counts the bytes written through it and keeps the
// first write error, which the tee would otherwise hand to the archive
// reader as if the archive were at fault.
type countingWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}
