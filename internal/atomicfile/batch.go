package atomicfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"syscall"

	"golang.org/x/sync/errgroup"
)

// batchWorkers is how many fsyncs a Batch keeps in flight. One fsync per
// file is what durability needs, but one at a time each waits for its own
// journal commit; several in flight share commits, which makes a thousand
// small files several times faster on ext4 and xfs.
const batchWorkers = 8

// Batch replaces several files, each atomically as WriteFile does, with
// one round of fsyncs for all of them instead of two per file. Files are
// renamed into place in the order they were added, only after all of them
// are on disk (so a publishing order such as data, index, signature
// holds), and each directory is synced once at the end. A crash leaves at
// worst temporaries named ".NAME.tmp-*" beside their targets, which the
// next write of the same targets removes (see removeStale). Each written
// temporary stays open, holding its lock, until it is renamed: a batch
// costs a descriptor per file it writes (a build writes a dozen).
type Batch struct {
	items []batchItem
}

type batchItem struct {
	temp, target string
	f            *os.File // the open, locked temporary of a Write
	perm         os.FileMode
	uid, gid     int
	adopted      bool // temp is the caller's file, not ours to remove
	durable      bool // temp is synced already (AdoptDurable)
}

// Write adds a file whose content is read from r. uid >= 0 sets the owner
// when running as root.
func (b *Batch) Write(path string, r io.Reader, perm os.FileMode, uid, gid int) error {
	f, err := writeTemp(path, r, perm, uid, gid)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	b.items = append(b.items, batchItem{temp: f.Name(), f: f, target: path, perm: perm, uid: uid, gid: gid})
	return nil
}

// WriteBytes adds a file holding data.
func (b *Batch) WriteBytes(path string, data []byte, perm os.FileMode) error {
	return b.Write(path, bytes.NewReader(data), perm, -1, -1)
}

// Adopt adds a complete file src that Commit renames over path instead of
// copying it: src is consumed. It gets perm and the owner now. If the
// rename crosses file systems after all, Commit copies it.
func (b *Batch) Adopt(src, path string, perm os.FileMode, uid, gid int) error {
	if err := os.Chmod(src, perm); err != nil {
		return err
	}
	if uid >= 0 && os.Geteuid() == 0 {
		if err := os.Chown(src, uid, gid); err != nil {
			return err
		}
	}
	b.items = append(b.items, batchItem{temp: src, target: path, perm: perm, uid: uid, gid: gid, adopted: true})
	return nil
}

// AdoptDurable is Adopt for a file that is complete and durable already,
// content, mode and owner (a Stage's file after Stage.Sync, see
// Stage.Place): Commit renames it without syncing it again.
func (b *Batch) AdoptDurable(src, path string) error {
	info, err := os.Stat(src)
	if err != nil {
		return err
	}
	b.items = append(b.items, batchItem{temp: src, target: path, perm: info.Mode().Perm(), uid: -1, gid: -1, adopted: true, durable: true})
	return nil
}

// Abort removes the temporaries of files not yet renamed.
func (b *Batch) Abort() {
	for _, it := range b.items {
		if it.temp != "" && !it.adopted {
			os.Remove(it.temp)
		}
		if it.f != nil {
			it.f.Close() // after the removal: the lock guards the name until it is gone
		}
	}
	b.items = nil
}

// Commit syncs every file, renames them into place in order and syncs
// their directories. After an error no temporary of the batch remains,
// and the files renamed before the error stay renamed.
func (b *Batch) Commit(ctx context.Context) error {
	defer b.Abort()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(batchWorkers)
	for i := range b.items {
		if b.items[i].durable {
			continue
		}
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			if err := b.items[i].sync(); err != nil {
				return fmt.Errorf("write %s: %w", b.items[i].target, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	dirs := map[string]bool{}
	// From the first rename on, the batch is published: the rest runs to
	// its end even if ctx is cancelled, so a caller never reports as
	// failed what is already in place.
	for i := range b.items {
		it := &b.items[i]
		err := os.Rename(it.temp, it.target)
		if errors.Is(err, syscall.EXDEV) && it.adopted {
			// Same device number, other mount (a bind mount): copy.
			err = b.copyAdopted(it)
		}
		if err != nil {
			return fmt.Errorf("put %s in place: %w", it.target, err)
		}
		it.temp = ""
		dirs[filepath.Dir(it.target)] = true
	}
	b.removeStale()
	return SyncDirs(dirs)
}

// sync makes the item's file durable: through the temporary still open
// for a Write, by opening it otherwise.
func (it *batchItem) sync() error {
	if it.f != nil {
		return it.f.Sync()
	}
	return syncFile(it.temp)
}

// removeStale removes, once the batch is in place, the temporaries that
// earlier interrupted writes of its targets left: one listing per
// directory.
func (b *Batch) removeStale() {
	byDir := map[string]map[string]bool{}
	for _, it := range b.items {
		dir := filepath.Dir(it.target)
		if byDir[dir] == nil {
			byDir[dir] = map[string]bool{}
		}
		byDir[dir][filepath.Base(it.target)] = true
	}
	for dir, bases := range byDir {
		removeStale(dir, bases)
	}
}

// SyncDirs fsyncs each directory once, several at a time, so that the
// entries created, renamed or removed in them are durable.
func SyncDirs(dirs map[string]bool) error {
	list := make([]string, 0, len(dirs))
	for d := range dirs {
		list = append(list, d)
	}
	sort.Strings(list)
	var g errgroup.Group
	g.SetLimit(batchWorkers)
	for _, d := range list {
		g.Go(func() error { return SyncDir(d) })
	}
	return g.Wait()
}

// TempGlob matches the temporaries that atomic writes of path leave
// beside it when they are interrupted.
func TempGlob(path string) string {
	return filepath.Join(filepath.Dir(path), tempPrefix(path)+"*")
}

func tempPrefix(path string) string { return "." + filepath.Base(path) + ".tmp-" }

func (b *Batch) copyAdopted(it *batchItem) error {
	in, err := os.Open(it.temp)
	if err != nil {
		return err
	}
	defer in.Close()
	f, err := writeTemp(it.target, in, it.perm, it.uid, it.gid)
	if err != nil {
		return err
	}
	defer f.Close()
	err = f.Sync()
	if err == nil {
		err = os.Rename(f.Name(), it.target)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// writeTemp writes r to a new temporary beside path, unsynced, and
// returns it open: its lock lasts until the caller closes it, after
// renaming or removing it.
func writeTemp(path string, r io.Reader, perm os.FileMode, uid, gid int) (*os.File, error) {
	f, err := createTemp(path)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(f, r)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil && uid >= 0 && os.Geteuid() == 0 {
		err = f.Chown(uid, gid)
	}
	if err != nil {
		os.Remove(f.Name())
		f.Close()
		return nil, err
	}
	return f, nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
