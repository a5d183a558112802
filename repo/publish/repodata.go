package publish

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/rpm"
	"github.com/hotfix-project/hotfix/repo/yum"
)

// yumHeader is what repo/yum renders from, out of what repo/rpm read.
func yumHeader(h *rpm.Header) yum.Header {
	return yum.Header{Pkg: h.Pkg, Start: h.HeaderStart, End: h.HeaderEnd, Files: h.Files}
}

// rpmPackages lists the RPMs of a channel's entries, in order: an RPM-only
// fix's own file and the RPM beside a .fix.
func rpmPackages(entries []*catalogEntry) []*catalogEntry {
	var out []*catalogEntry
	for _, e := range entries {
		r := e
		if !isRPMName(e.File) {
			r = e.RPMEntry
		}
		if r != nil {
			out = append(out, r)
		}
	}
	return out
}

// stageRepodata adds yum repodata for the RPMs of a channel to batch: the
// data files, then repomd.xml and its detached signature, in that order;
// or, when the channel has no RPM left, removes what earlier builds left.
// Headers are read only for packages neither the cache nor the build's
// hashing rendered, on every core. The caches are saved in the background;
// the returned function, which must be called, waits for them and, once
// the batch is committed, removes the data files the new repomd.xml no
// longer names. caches waits for the channel's cache (see
// preloadRepodataCache).
func stageRepodata(ctx context.Context, dir string, entries []*catalogEntry, generated time.Time, signer repo.Signer, batch *fileBatch, log *slog.Logger, caches func() *yum.Cache) (func(committed bool) error, error) {
	rpms := rpmPackages(entries)
	if len(rpms) == 0 {
		return nil, yum.Remove(dir)
	}
	cache := caches()
	pkgs, err := renderPackages(ctx, dir, rpms, cache, log)
	if err != nil {
		return nil, err
	}
	// The repodata is written again even when no package changed: the
	// cache describes the packages, not what is published, which may be
	// damaged, signed with another key or left behind by a build that
	// failed; the cached gzip segments keep that cheap.
	rd, err := yum.Stage(ctx, pkgs, generated, cache)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, yum.Dir), 0o755); err != nil {
		return nil, err
	}
	for _, f := range rd.Files {
		if err := batch.add(filepath.Join(dir, filepath.FromSlash(f.Path)), f.Data); err != nil {
			return nil, err
		}
	}
	if err := batch.addSigned(filepath.Join(dir, yum.Dir, yum.RepoMDName), rd.RepoMD, signer); err != nil {
		return nil, err
	}
	// The caches describe the packages, not what is published: they are
	// written while the caller's batch waits for the disk.
	saved := make(chan error, 1)
	go func() { saved <- rd.SaveCache(dir) }()
	return func(committed bool) error {
		if committed {
			rd.Prune(dir)
		}
		return <-saved
	}, nil
}

// renderPackages returns the rendered repodata of rpms: from the cache,
// from the build's hashing (describeAll renders an RPM from the header it
// read anyway), or from the package's header, read now.
func renderPackages(ctx context.Context, dir string, rpms []*catalogEntry, cache *yum.Cache, log *slog.Logger) ([]*yum.Package, error) {
	pkgs := make([]*yum.Package, len(rpms))
	var stale []int
	for i, e := range rpms {
		p := &yum.Package{Name: e.File, Size: e.Size, MTimeNS: e.MTimeNS, SHA256: e.SHA256}
		if x := cache.Lookup(p); x != nil {
			pkgs[i] = x
		} else if e.xml != nil && e.xml.Same(p) {
			pkgs[i] = e.xml
		} else {
			pkgs[i] = p
			stale = append(stale, i)
		}
	}
	if len(stale) == 0 {
		return pkgs, nil
	}
	log.Debug("reading rpm headers", "channel", dir, "count", len(stale))
	errs, err := forEach(ctx, len(stale), func(k int) error {
		i := stale[k]
		path := filepath.Join(dir, pkgs[i].Name)
		h, err := rpm.ReadHeader(path)
		if err != nil {
			return err
		}
		if pkgs[i], err = yum.Render(yumHeader(h), *pkgs[i]); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return pkgs, errors.Join(errs...)
}

// preloadRepodataCache starts reading a channel's repodata cache and
// returns a function that waits for it, so that a build can read it while
// it scans the channel.
func preloadRepodataCache(dir string) func() *yum.Cache {
	c := make(chan *yum.Cache, 1)
	go func() { c <- yum.LoadCache(dir) }()
	var cache *yum.Cache
	return func() *yum.Cache {
		if cache == nil {
			cache = <-c
		}
		return cache
	}
}
