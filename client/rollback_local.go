package client

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/hotfix-project/hotfix/internal/beneath"
	"github.com/hotfix-project/hotfix/repo"
)

// RollbackChangesError refuses a rollback (or the rollback a reinstall
// starts with) that would overwrite or remove files changed locally
// since the fixes being rolled back installed them, or files recreated
// where a fix had deleted one: the backups hold the files from before
// the fix, not the local changes, so those would be lost.
type RollbackChangesError struct {
	Versions []repo.Version // the fixes being rolled back, newest first
	Files    []string       // absolute paths, sorted
}

func (e *RollbackChangesError) Error() string {
	return fmt.Sprintf("%s: %s changed since %s installed them; rolling back would overwrite or remove them with nothing kept: copy your changes elsewhere first, or roll back anyway keeping each changed file beside the restored one",
		ErrLocalChanges, strings.Join(e.Files, ", "), describeVersions(e.Versions))
}

// Is makes errors.Is(err, ErrLocalChanges) hold.
func (e *RollbackChangesError) Is(target error) bool { return target == ErrLocalChanges }

// KeptFile is a locally changed file that a forced rollback kept: Path
// is restored to what it was before the fix, KeptAs holds the local
// content.
type KeptFile struct {
	Path   string `json:"path"`
	KeptAs string `json:"kept_as"`
}

// keptSuffix marks the kept copy: FILE.hotfix-kept-TIME, TIME in
// keptTime's layout (UTC).
const (
	keptSuffix = ".hotfix-kept-"
	keptTime   = "20060102T150405Z"
)

// rollbackChanges lists, sorted and relative to root, the files that rolling back
// st.Installed[from:] would overwrite or remove and that differ from
// what the newest of those fixes to touch them left: changed content, a
// link or other non-file in place of a file, or a file back where a fix
// deleted one. A file deleted locally loses nothing and is not listed.
// Fixes older than from are not rolled back, and what the rolled back
// ones left is all that matters: a file an install forced over local
// changes comes back from its backups as the administrator had it.
func rollbackChanges(root string, st *State, from int) ([]string, error) {
	type want struct {
		sum     string
		deleted bool
	}
	expect := map[string]want{}
	for i := len(st.Installed) - 1; i >= from; i-- {
		f := st.Installed[i]
		for p, sum := range f.Files {
			if _, ok := expect[p]; !ok {
				expect[p] = want{sum: sum}
			}
		}
		for _, p := range f.Deleted {
			if _, ok := expect[p]; !ok {
				expect[p] = want{deleted: true}
			}
		}
	}
	r, err := beneath.Open(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var changed []string
	for p, w := range expect {
		// Through internal/beneath: a link on the way is never followed;
		// it refuses the rollback as restore would, naming the link.
		fi, err := r.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case errors.Is(err, beneath.ErrLink):
			return nil, err
		case err != nil || w.deleted || !fi.Mode().IsRegular():
			changed = append(changed, p)
		default:
			if got, err := hashIn(r, p); err != nil || got != w.sum {
				changed = append(changed, p)
			}
		}
	}
	sort.Strings(changed)
	return changed, nil
}

// guardRollback applies the local-modification test to rolling back
// st.Installed[from:]: without force it refuses changed files; with
// force it keeps each beside itself (a hard link, so the restore's
// rename leaves the local content under the kept name) and returns
// where. dryRun only tests. Nothing of the root changes on refusal.
func (c *Client) guardRollback(st *State, from int, force, dryRun bool) ([]KeptFile, error) {
	changed, err := rollbackChanges(c.Cfg.Root, st, from)
	if err != nil || len(changed) == 0 {
		return nil, err
	}
	if !force {
		var vs []repo.Version
		for i := len(st.Installed) - 1; i >= from; i-- {
			vs = append(vs, st.Installed[i].Version)
		}
		abs := make([]string, 0, len(changed))
		for _, p := range changed {
			abs = append(abs, rootPath(c.Cfg.Root, p))
		}
		return nil, &RollbackChangesError{Versions: vs, Files: abs}
	}
	if dryRun {
		return nil, nil
	}
	r, err := beneath.Open(c.Cfg.Root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	stamp := c.Now().UTC().Format(keptTime)
	var kept []KeptFile
	for _, p := range changed {
		as, err := keepBeside(r, p, stamp)
		if err != nil {
			return kept, fmt.Errorf("keep the locally changed %s before rolling back: %w (nothing was rolled back)", r.Join(p), err)
		}
		kept = append(kept, KeptFile{Path: r.Join(p), KeptAs: r.Join(as)})
	}
	return kept, nil
}

// keepBeside makes rel's current content also available as
// rel.hotfix-kept-STAMP (or -STAMP-N when taken), never replacing
// anything, and durably; it returns the kept name, relative to r. It
// resolves both names through internal/beneath, never following a link
// on the way: a regular file is hard-linked (no copy; the restore's
// rename then leaves the local content under the kept name), copied
// where links are refused, and a link at rel is kept as the same link.
func keepBeside(r *beneath.Root, rel, stamp string) (string, error) {
	dir, base := path.Dir(rel), path.Base(rel)
	d, err := r.OpenDir(dir)
	if err != nil {
		return "", err
	}
	defer d.Close()
	dirfd := int(d.Fd())
	fi, err := r.Lstat(rel)
	if err != nil {
		return "", err
	}
	for n := 1; n < 100; n++ {
		name := base + keptSuffix + stamp
		if n > 1 {
			name += fmt.Sprintf("-%d", n)
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			buf := make([]byte, unix.PathMax)
			k, rerr := unix.Readlinkat(dirfd, base, buf)
			if rerr != nil {
				return "", rerr
			}
			err = unix.Symlinkat(string(buf[:k]), dirfd, name)
		case fi.Mode().IsRegular():
			err = linkOrCopy(r, rel, dirfd, name)
		default:
			return "", fmt.Errorf("it is a %s, not a file: move it aside by hand", fi.Mode().Type())
		}
		if errors.Is(err, unix.EEXIST) {
			continue
		}
		if err != nil {
			return "", err
		}
		return joinRel(dir, name), d.Sync()
	}
	return "", errors.New("too many kept copies of it already")
}

// linkOrCopy makes name in dirfd a hard link to the regular file rel,
// or a synced copy of it where links are refused; it never replaces a
// file (EEXIST).
func linkOrCopy(r *beneath.Root, rel string, dirfd int, name string) error {
	src, err := r.Open(rel)
	if err != nil {
		return err
	}
	defer src.Close()
	// Linking the open file by its /proc name links what was opened
	// without a link on the way, and needs no capability.
	err = unix.Linkat(unix.AT_FDCWD, fmt.Sprintf("/proc/self/fd/%d", src.Fd()), dirfd, name, unix.AT_SYMLINK_FOLLOW)
	if err == nil || errors.Is(err, unix.EEXIST) {
		return err
	}
	fi, err := src.Stat()
	if err != nil {
		return err
	}
	fd, err := unix.Openat(dirfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, uint32(fi.Mode().Perm()))
	if err != nil {
		return err
	}
	dst := os.NewFile(uintptr(fd), name)
	_, err = io.Copy(dst, src)
	if err == nil {
		err = dst.Sync()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		unix.Unlinkat(dirfd, name, 0)
	}
	return err
}

// joinRel is dir/name, or name when dir is the root.
func joinRel(dir, name string) string {
	if dir == "." {
		return name
	}
	return dir + "/" + name
}
