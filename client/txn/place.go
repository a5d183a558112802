package txn

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
)

// rootPath maps a manifest path into the root.
func rootPath(root, rel string) string { return filepath.Join(root, filepath.FromSlash(rel)) }

// placement is one file to write: the content of src at target, with
// mode, and with owner uid:gid when running as root (uid -1: leave it).
// With move set, src is scratch that may be consumed: on the same
// filesystem it is renamed into place instead of copied.
type placement struct {
	src, target string
	mode        os.FileMode
	uid, gid    int
	move        bool
}

// placeFiles puts every file in place through one atomicfile.Batch: each
// target changes atomically (readers see the old file or the new, never a
// mix), the fsyncs of all files are in flight at once, and every directory
// touched is synced once. A scratch source on the target's file system is
// renamed instead of copied. The parents of the targets must exist. On
// error no temporary is left; a crash leaves at worst temporaries, which
// restore removes (removeTemps).
func placeFiles(ctx context.Context, ps []placement) error {
	var b atomicfile.Batch
	defer b.Abort()
	moving := sameDevice(ps)
	for i, p := range ps {
		var err error
		if moving[i] {
			err = b.Adopt(p.src, p.target, p.mode, p.uid, p.gid)
		} else {
			err = addCopy(&b, p)
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", p.target, err)
		}
	}
	return b.Commit(ctx)
}

func addCopy(b *atomicfile.Batch, p placement) error {
	in, err := os.Open(p.src)
	if err != nil {
		return err
	}
	defer in.Close()
	return b.Write(p.target, in, p.mode, p.uid, p.gid)
}

// sameDevice reports, per placement, whether it may be renamed from src
// (move set, and src on the filesystem of target's directory).
func sameDevice(ps []placement) []bool {
	out := make([]bool, len(ps))
	devs := map[string]uint64{}
	dev := func(dir string) (uint64, bool) {
		if d, ok := devs[dir]; ok {
			return d, true
		}
		fi, err := os.Stat(dir)
		if err != nil {
			return 0, false
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return 0, false
		}
		devs[dir] = uint64(st.Dev)
		return uint64(st.Dev), true
	}
	for i, p := range ps {
		if !p.move {
			continue
		}
		a, okA := dev(filepath.Dir(p.src))
		b, okB := dev(filepath.Dir(p.target))
		out[i] = okA && okB && a == b
	}
	return out
}

// syncTree fsyncs dir and every directory below it.
func syncTree(dir string) error {
	dirs := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			dirs[p] = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	return atomicfile.SyncDirs(dirs)
}

// ownerOf returns the uid and gid of path, or -1 when unknown.
func ownerOf(fi fs.FileInfo) (int, int) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid), int(st.Gid)
	}
	return -1, -1
}

// removeTemps deletes atomic-write temporaries a crash left beside target.
func removeTemps(target string) {
	matches, _ := filepath.Glob(atomicfile.TempGlob(target))
	for _, m := range matches {
		os.Remove(m)
	}
}

// syncParents makes creations, renames and removals in every directory
// the journal touched durable: the directories of its entries, the
// parents of the directories it created, and the root.
func syncParents(root string, j *Journal) error {
	dirs := map[string]bool{root: true}
	for _, e := range j.Entries {
		dirs[filepath.Dir(rootPath(root, e.Path))] = true
	}
	for _, d := range j.CreatedDirs {
		dirs[filepath.Dir(rootPath(root, d))] = true
	}
	for d := range dirs {
		// A directory restore removed again has nothing left to sync.
		if _, err := os.Stat(d); errors.Is(err, fs.ErrNotExist) {
			delete(dirs, d)
		}
	}
	return atomicfile.SyncDirs(dirs)
}
