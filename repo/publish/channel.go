package publish

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/rpm"
	"golang.org/x/sync/errgroup"
)

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

// scanChannel describes every archive in a channel directory, reusing the
// catalog for files that have not changed and hashing the rest on every
// core. It returns the entries sorted by version and the updated catalog.
func scanChannel(ctx context.Context, ch channel, log *slog.Logger) ([]*catalogEntry, *catalog, int, error) {
	// The catalog is decoded while the directory is listed and its files
	// are stat'ed (on every core: thousands of system calls).
	catc := make(chan *catalog, 1)
	go func() { catc <- loadCatalog(ch.Dir) }()
	dirents, err := os.ReadDir(ch.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, <-catc, 0, nil
	}
	if err != nil {
		<-catc
		return nil, nil, 0, err
	}
	var names []string
	var archives []fs.DirEntry
	for _, d := range dirents {
		if !(strings.HasSuffix(d.Name(), ".fix") || isRPMName(d.Name())) || strings.HasPrefix(d.Name(), ".") {
			continue
		}
		names = append(names, d.Name())
		archives = append(archives, d)
	}
	infos := make([]fs.FileInfo, len(archives))
	err = statAll(ctx, ch.Dir, archives, infos)
	cat := <-catc
	if err != nil {
		return nil, nil, 0, err
	}
	entries := make([]*catalogEntry, len(names))
	var stale []int
	for i, name := range names {
		if e := cat.Archives[name]; e.fresh(infos[i]) {
			entries[i] = e
		} else {
			stale = append(stale, i)
		}
	}
	if len(stale) > 0 {
		log.Debug("hashing archives", "channel", ch.Dir, "count", len(stale))
	}
	stalePaths := make([]string, len(stale))
	for k, i := range stale {
		stalePaths[k] = filepath.Join(ch.Dir, names[i])
	}
	described, err := describeAll(ctx, stalePaths)
	if err != nil {
		return nil, nil, 0, err
	}
	for k, i := range stale {
		entries[i] = described[k]
	}
	fresh := map[string]*catalogEntry{}
	for i, e := range entries {
		fresh[names[i]] = e
		if e.Product != ch.Product || !e.Version.Base().Equal(ch.Base) || names[i] != fixFileName(names[i], e) {
			return nil, nil, 0, fmt.Errorf("%s holds %s %s: it belongs in %s/%s/%s", filepath.Join(ch.Dir, names[i]),
				e.Product, e.Version, e.Product, e.Version.Base(), fixFileName(names[i], e))
		}
	}
	cat.Archives = fresh
	entries = pairRPMs(names, entries)
	sort.Slice(entries, func(i, j int) bool { return entries[i].Version.Compare(entries[j].Version) < 0 })
	return entries, cat, len(stale), nil
}

// statAll stats the archives of dir into infos, every core taking a
// contiguous share: thousands of system calls, each too small to be a
// task of its own.
func statAll(ctx context.Context, dir string, archives []fs.DirEntry, infos []fs.FileInfo) error {
	n := len(archives)
	workers := min(runtime.GOMAXPROCS(0), max(n/64, 1))
	errs := make([]error, n)
	g, gctx := errgroup.WithContext(ctx)
	for w := range workers {
		g.Go(func() error {
			for i := w * n / workers; i < (w+1)*n/workers; i++ {
				if err := gctx.Err(); err != nil {
					return err
				}
				info, err := archives[i].Info()
				if err == nil && !info.Mode().IsRegular() {
					err = fmt.Errorf("%s: not a regular file", filepath.Join(dir, archives[i].Name()))
				}
				infos[i], errs[i] = info, err
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return errors.Join(errs...)
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
