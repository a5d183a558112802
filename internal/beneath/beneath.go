package beneath

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// ErrLink means a component of a path under the root is a symbolic link
// (or the path leaves the root): the operation was refused. Callers branch
// on it to tell the user which link to remove; see LinkError.
var ErrLink = errors.New("symbolic link in the path")

// LinkError names the link that stopped an operation.
type LinkError struct {
	Root string // the root directory
	Path string // relative path of the component that is a link
}

func (e *LinkError) Error() string {
	return fmt.Sprintf("%s is a symbolic link", filepath.Join(e.Root, filepath.FromSlash(e.Path)))
}

// Is makes errors.Is(err, ErrLink) hold.
func (e *LinkError) Is(target error) bool { return target == ErrLink }

// noOpenat2 is set once the kernel answered ENOSYS: from then on every
// resolution walks. forceWalk makes the tests run the walk on a kernel
// that has openat2.
var (
	noOpenat2 atomic.Bool
	forceWalk atomic.Bool
)

// Root is an open directory under which paths are resolved. Close it
// when done. The root's own path may contain links (it is configuration);
// nothing below it may.
type Root struct {
	dir  *os.File
	name string
}

// Open opens the directory path as a Root.
func Open(path string) (*Root, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return &Root{dir: os.NewFile(uintptr(fd), path), name: path}, nil
}

// Close releases the root's descriptor.
func (r *Root) Close() error { return r.dir.Close() }

// Name is the root's path as given to Open.
func (r *Root) Name() string { return r.name }

// Join is the path of rel under the root, for messages.
func (r *Root) Join(rel string) string { return filepath.Join(r.name, filepath.FromSlash(rel)) }

func (r *Root) fd() int { return int(r.dir.Fd()) }

// split checks rel and returns its parent ("." for the root) and its last
// component.
func split(rel string) (string, string, error) {
	if err := check(rel); err != nil {
		return "", "", err
	}
	if rel == "." {
		return "", "", errors.New("the root itself has no parent")
	}
	i := strings.LastIndexByte(rel, '/')
	if i < 0 {
		return ".", rel, nil
	}
	return rel[:i], rel[i+1:], nil
}

// check refuses paths that are not plain relative paths below the root.
func check(rel string) error {
	if rel == "." {
		return nil
	}
	if rel == "" || strings.HasPrefix(rel, "/") {
		return fmt.Errorf("path %q is not relative to the root", rel)
	}
	for _, c := range strings.Split(rel, "/") {
		if c == "" || c == "." || c == ".." {
			return fmt.Errorf("path %q has an empty, \".\" or \"..\" component", rel)
		}
	}
	return nil
}

// openDir opens the directory rel ("." is the root) without following
// any link. The caller closes the descriptor.
func (r *Root) openDir(rel string) (int, error) {
	if err := check(rel); err != nil {
		return -1, err
	}
	if rel == "." {
		return unix.Openat(r.fd(), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	}
	if !forceWalk.Load() && !noOpenat2.Load() {
		fd, err := unix.Openat2(r.fd(), rel, &unix.OpenHow{
			Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
		})
		switch {
		case err == nil:
			return fd, nil
		case errors.Is(err, unix.ENOSYS):
			noOpenat2.Store(true)
		case errors.Is(err, unix.ELOOP), errors.Is(err, unix.EXDEV), errors.Is(err, unix.EPERM), errors.Is(err, unix.ENOTDIR):
			// The walk finds which component is the link (or meets
			// the same error), for the message; a seccomp filter
			// answering EPERM also lands here.
		default:
			return -1, err
		}
	}
	return r.walk(rel)
}

// walk is openDir one component at a time, each opened with O_NOFOLLOW
// relative to the one before.
func (r *Root) walk(rel string) (int, error) {
	fd, err := unix.Openat(r.fd(), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	comps := strings.Split(rel, "/")
	for i, c := range comps {
		next, err := unix.Openat(fd, c, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil && (errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR)) && isLink(fd, c) {
			err = &LinkError{Root: r.name, Path: strings.Join(comps[:i+1], "/")}
		}
		unix.Close(fd)
		if err != nil {
			return -1, err
		}
		fd = next
	}
	return fd, nil
}

func isLink(dirfd int, name string) bool {
	var st unix.Stat_t
	return unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK
}

// parent opens the directory holding rel and returns it with rel's last
// component.
func (r *Root) parent(op, rel string) (int, string, error) {
	dir, base, err := split(rel)
	if err != nil {
		return -1, "", &fs.PathError{Op: op, Path: r.Join(rel), Err: err}
	}
	fd, err := r.openDir(dir)
	if err != nil {
		return -1, "", r.wrap(op, rel, err)
	}
	return fd, base, nil
}

// wrap gives err the full path, keeping a LinkError as it is (it names
// the link, which is what the user must act on).
func (r *Root) wrap(op, rel string, err error) error {
	var le *LinkError
	if errors.As(err, &le) {
		return fmt.Errorf("%s %s: %w", op, r.Join(rel), err)
	}
	return &fs.PathError{Op: op, Path: r.Join(rel), Err: err}
}

// lastErr is the error of an operation on the last component: ELOOP
// there means that component is a link.
func (r *Root) lastErr(op, rel string, dirfd int, base string, err error) error {
	if errors.Is(err, unix.ELOOP) && isLink(dirfd, base) {
		return r.wrap(op, rel, &LinkError{Root: r.name, Path: rel})
	}
	return r.wrap(op, rel, err)
}

// Lstat describes rel itself: a link at its end is reported as a link,
// a link before it is an error wrapping ErrLink.
func (r *Root) Lstat(rel string) (fs.FileInfo, error) {
	dirfd, base, err := r.parent("lstat", rel)
	if err != nil {
		return nil, err
	}
	defer unix.Close(dirfd)
	fd, err := unix.Openat(dirfd, base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, r.wrap("lstat", rel, err)
	}
	f := os.NewFile(uintptr(fd), r.Join(rel))
	defer f.Close()
	return f.Stat()
}

// Open opens the regular file rel for reading. A link or anything but a
// regular file is refused (a FIFO would block the reader forever).
func (r *Root) Open(rel string) (*os.File, error) {
	dirfd, base, err := r.parent("open", rel)
	if err != nil {
		return nil, err
	}
	defer unix.Close(dirfd)
	fd, err := unix.Openat(dirfd, base, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, r.lastErr("open", rel, dirfd, base, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, r.wrap("open", rel, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, r.wrap("open", rel, errors.New("not a regular file"))
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, r.wrap("open", rel, err)
	}
	return os.NewFile(uintptr(fd), r.Join(rel)), nil
}

// OpenDir opens the directory rel ("." is the root), for reading its
// names or syncing it.
func (r *Root) OpenDir(rel string) (*os.File, error) {
	fd, err := r.openDir(rel)
	if err != nil {
		return nil, r.wrap("open", rel, err)
	}
	return os.NewFile(uintptr(fd), r.Join(rel)), nil
}

// SyncDir fsyncs the directory rel, making the names created, renamed
// and removed in it durable.
func (r *Root) SyncDir(rel string) error {
	d, err := r.OpenDir(rel)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir %s: %w", r.Join(rel), err)
	}
	return nil
}

// Mkdir creates the directory rel; its parent must exist.
func (r *Root) Mkdir(rel string, perm os.FileMode) error {
	dirfd, base, err := r.parent("mkdir", rel)
	if err != nil {
		return err
	}
	defer unix.Close(dirfd)
	if err := unix.Mkdirat(dirfd, base, uint32(perm.Perm())); err != nil {
		return r.wrap("mkdir", rel, err)
	}
	return nil
}

// MkdirAll creates rel and every missing parent; an existing link on the
// way is refused, not followed.
func (r *Root) MkdirAll(rel string, perm os.FileMode) error {
	if rel == "." {
		return nil
	}
	if err := check(rel); err != nil {
		return &fs.PathError{Op: "mkdir", Path: r.Join(rel), Err: err}
	}
	comps := strings.Split(rel, "/")
	for i := range comps {
		p := strings.Join(comps[:i+1], "/")
		if err := r.Mkdir(p, perm); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	// The last Mkdir may have met a file or a link: make sure it is a
	// directory reached without links.
	d, err := r.OpenDir(rel)
	if err != nil {
		return err
	}
	return d.Close()
}

// Remove removes the file (or link) rel itself.
func (r *Root) Remove(rel string) error { return r.unlink("remove", rel, 0) }

// RemoveDir removes the directory rel if it is empty.
func (r *Root) RemoveDir(rel string) error { return r.unlink("rmdir", rel, unix.AT_REMOVEDIR) }

func (r *Root) unlink(op, rel string, flags int) error {
	dirfd, base, err := r.parent(op, rel)
	if err != nil {
		return err
	}
	defer unix.Close(dirfd)
	if err := unix.Unlinkat(dirfd, base, flags); err != nil {
		return r.wrap(op, rel, err)
	}
	return nil
}

// Rename renames oldrel under from to newrel under to (which may be the
// same Root), replacing what newrel names, link or file, without
// following either. Across file systems it fails with an error wrapping
// unix.EXDEV.
func Rename(from *Root, oldrel string, to *Root, newrel string) error {
	ofd, obase, err := from.parent("rename", oldrel)
	if err != nil {
		return err
	}
	defer unix.Close(ofd)
	nfd, nbase, err := to.parent("rename", newrel)
	if err != nil {
		return err
	}
	defer unix.Close(nfd)
	if err := unix.Renameat(ofd, obase, nfd, nbase); err != nil {
		return &os.LinkError{Op: "rename", Old: from.Join(oldrel), New: to.Join(newrel), Err: err}
	}
	return nil
}

// tempPrefix is how temporaries beside rel begin: the same names as
// internal/atomicfile's, so that what a crash of either leaves is found
// by RemoveTemps.
func tempPrefix(base string) string { return "." + base + ".tmp-" }

// CreateTemp creates a new empty file, mode 0600, beside rel, named
// ".BASE.tmp-*", and returns it open for writing with its relative path.
func (r *Root) CreateTemp(rel string) (*os.File, string, error) {
	dirfd, base, err := r.parent("create", rel)
	if err != nil {
		return nil, "", err
	}
	defer unix.Close(dirfd)
	dir := pathDir(rel)
	for range 100 {
		name := tempPrefix(base) + randomSuffix()
		fd, err := unix.Openat(dirfd, name, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if errors.Is(err, unix.EEXIST) {
			continue
		}
		if err != nil {
			return nil, "", r.wrap("create", rel, err)
		}
		trel := joinRel(dir, name)
		return os.NewFile(uintptr(fd), r.Join(trel)), trel, nil
	}
	return nil, "", r.wrap("create", rel, errors.New("no free temporary name"))
}

// RemoveTemps deletes the temporaries that interrupted atomic writes of
// rel left beside it. A missing directory has none.
func (r *Root) RemoveTemps(rel string) error {
	dir, base, err := split(rel)
	if err != nil {
		return &fs.PathError{Op: "remove", Path: r.Join(rel), Err: err}
	}
	d, err := r.OpenDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("list %s: %w", d.Name(), err)
	}
	var errs []error
	for _, n := range names {
		if strings.HasPrefix(n, tempPrefix(base)) {
			if err := unix.Unlinkat(int(d.Fd()), n, 0); err != nil && !errors.Is(err, unix.ENOENT) {
				errs = append(errs, r.wrap("remove", joinRel(dir, n), err))
			}
		}
	}
	return errors.Join(errs...)
}

func pathDir(rel string) string {
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		return rel[:i]
	}
	return "."
}

func joinRel(dir, name string) string {
	if dir == "." {
		return name
	}
	return dir + "/" + name
}

// RenameNoReplace is Rename that never replaces: when newrel exists it
// fails with an error wrapping fs.ErrExist. On a file system without
// renameat2's RENAME_NOREPLACE (NFS, some FUSE) it checks and renames,
// which only a writer outside the caller's own lock can race.
func RenameNoReplace(from *Root, oldrel string, to *Root, newrel string) error {
	ofd, obase, err := from.parent("rename", oldrel)
	if err != nil {
		return err
	}
	defer unix.Close(ofd)
	nfd, nbase, err := to.parent("rename", newrel)
	if err != nil {
		return err
	}
	defer unix.Close(nfd)
	err = unix.Renameat2(ofd, obase, nfd, nbase, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		var st unix.Stat_t
		if err = unix.Fstatat(nfd, nbase, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil {
			err = unix.EEXIST
		} else if errors.Is(err, unix.ENOENT) {
			err = unix.Renameat(ofd, obase, nfd, nbase)
		}
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: from.Join(oldrel), New: to.Join(newrel), Err: err}
	}
	return nil
}
