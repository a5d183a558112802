package publish

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/hotfix-project/hotfix/internal/beneath"
	"github.com/hotfix-project/hotfix/internal/lockfile"
)

// publishLockName is the lock a publish holds at its destination. A
// dot-file: hotfix serve never serves it, and Publish never copies one.
const publishLockName = ".hotfix-publish.lock"

// DirDestination publishes into a directory, typically a mounted web
// root or network share. Each file is written to a synced temporary
// beside its target and renamed into place, so a web server never serves
// half a file; archives are renamed only where no file of that name is
// (renameat2's RENAME_NOREPLACE). Nothing below the directory is
// followed through a symbolic link.
type DirDestination struct {
	dir  string
	root *beneath.Root
}

// NewDirDestination opens (creating it if needed) the directory dir.
func NewDirDestination(dir string) (*DirDestination, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("publish destination: %w", err)
	}
	r, err := beneath.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("publish destination: %w", err)
	}
	return &DirDestination{dir: dir, root: r}, nil
}

// Close releases the directory.
func (d *DirDestination) Close() error { return d.root.Close() }

func (d *DirDestination) String() string { return d.dir }

// List walks the directory, skipping dot-files as Publish does. A
// directory has no ETag, so Publish asks Stat for each file's digest.
func (d *DirDestination) List(ctx context.Context) (map[string]Remote, error) {
	out := map[string]Remote{}
	return out, d.list(ctx, ".", out)
}

func (d *DirDestination) list(ctx context.Context, rel string, out map[string]Remote) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := d.root.OpenDir(rel)
	if err != nil {
		return err
	}
	ents, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		return fmt.Errorf("list %s: %w", d.root.Join(rel), err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		key := path.Join(rel, e.Name())
		switch {
		case e.IsDir():
			if err := d.list(ctx, key, out); err != nil {
				return err
			}
		case e.Type().IsRegular():
			info, err := e.Info()
			if err != nil {
				return err
			}
			out[key] = Remote{Size: info.Size()}
		}
	}
	return nil
}

// Stat hashes the file: on a directory the digest is the content itself.
func (d *DirDestination) Stat(ctx context.Context, key string) (*Remote, error) {
	f, err := d.root.Open(key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, &ctxReader{ctx, f})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", f.Name(), err)
	}
	return &Remote{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// Put writes the object to a synced temporary beside its target, then
// renames it into place (never over an existing file with createOnly)
// and syncs the directory: after a crash the file is there whole or not
// at all.
func (d *DirDestination) Put(ctx context.Context, obj *localObject, createOnly bool) error {
	dir := path.Dir(obj.Key)
	if err := d.root.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := d.root.RemoveTemps(obj.Key); err != nil {
		return err
	}
	tmp, trel, err := d.root.CreateTemp(obj.Key)
	if err != nil {
		return err
	}
	defer d.root.Remove(trel) // a no-op once renamed
	err = copyFile(ctx, tmp, obj.Path)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", d.root.Join(obj.Key), err)
	}
	if createOnly {
		err = beneath.RenameNoReplace(d.root, trel, d.root, obj.Key)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s: %w", d.root.Join(obj.Key), errObjectExists)
		}
	} else {
		err = beneath.Rename(d.root, trel, d.root, obj.Key)
	}
	if err != nil {
		return err
	}
	return d.syncParents(dir)
}

// syncParents syncs dir and its parents up to the root: MkdirAll may
// have created any of them, and a name is durable only once its
// directory is synced.
func (d *DirDestination) syncParents(dir string) error {
	for {
		if err := d.root.SyncDir(dir); err != nil {
			return err
		}
		if dir == "." {
			return nil
		}
		dir = path.Dir(dir)
	}
}

func copyFile(ctx context.Context, w io.Writer, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, &ctxReader{ctx, f})
	return err
}

// Delete removes the file and syncs its directory.
func (d *DirDestination) Delete(ctx context.Context, key string) error {
	if err := d.root.Remove(key); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return d.root.SyncDir(path.Dir(key))
}

// Lock takes the directory's lock file with flock: the kernel frees it
// when its holder dies, so a publish cut off by kill -9 leaves no lock
// behind and force has nothing to do. A second publish is refused,
// naming the holder.
func (d *DirDestination) Lock(ctx context.Context, owner string, force bool) (func(), error) {
	l, err := lockfile.TryAcquire(d.root.Join(publishLockName), owner)
	if err != nil {
		return nil, err
	}
	return func() { l.Release() }, nil
}

// ctxReader stops a long copy once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
