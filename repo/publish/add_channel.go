package publish

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/hotfix-project/hotfix/repo"
)

// AddChannel declares the channel of a new base with no fix yet: the
// directory PRODUCT/BASE, which the next Build publishes as a signed,
// empty index and lists in repo.json. Clients on that base then hear "no
// fixes published yet" instead of a 404 every night. It reports whether
// the channel is new; declaring an existing channel again does nothing.
func AddChannel(root, product string, base repo.Version) (bool, error) {
	if err := CheckRepoRoot(root); err != nil {
		return false, err
	}
	if err := repo.ValidProductName(product); err != nil {
		return false, err
	}
	if base.IsZero() {
		return false, errors.New("no base version given")
	}
	dir := filepath.Join(root, product, base.String())
	fi, err := os.Lstat(dir)
	switch {
	case err == nil && fi.IsDir():
		return false, nil
	case err == nil && fi.Mode()&fs.ModeSymlink != 0:
		return false, fmt.Errorf("channel %s is a symbolic link: a channel is a directory of the repository itself; replace the link by the directory it points to", dir)
	case err == nil:
		return false, fmt.Errorf("channel %s exists and is not a directory: remove it first", dir)
	case !errors.Is(err, fs.ErrNotExist):
		return false, unreachable("channel", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, cannotCreate("channel "+product+" "+base.String(), dir, err)
	}
	return true, nil
}

// CheckRepoRoot refuses a repository root that is not a directory,
// saying why and what to do (hotfix serve checks its root with it too): Add
// and AddChannel create channels in it but never the repository itself.
// Each reason has its own message and fix: a root that is missing, a
// file, behind a directory the user may not search, or behind a link
// that loops.
func CheckRepoRoot(root string) error {
	fi, err := os.Stat(root)
	switch {
	case err == nil && fi.IsDir():
		return nil
	case err == nil:
		return fmt.Errorf("repository %s is a file, not a directory: give the repository's directory", root)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("repository %s does not exist: create it with mkdir first", root)
	}
	return unreachable("repository", root, err)
}

// unreachable explains why the path of what (a repository, a channel)
// could not be examined, naming the component at fault and the fix; err
// stays wrapped.
func unreachable(what, path string, err error) error {
	culprit := pathCulprit(path)
	switch {
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return fmt.Errorf("%s %s cannot be reached: permission denied on %s: run as a user allowed into it, or grant search permission (chmod +x) on it: %w", what, path, culprit, err)
	case errors.Is(err, syscall.ELOOP):
		return fmt.Errorf("%s %s cannot be reached: %s is a symbolic link that loops: fix or remove the link: %w", what, path, culprit, err)
	case errors.Is(err, syscall.ENOTDIR):
		return fmt.Errorf("%s %s cannot be reached: %s is a file, not a directory: move it out of the way or give another path: %w", what, path, culprit, err)
	case errors.Is(err, syscall.ENAMETOOLONG):
		return fmt.Errorf("%s %s cannot be reached: the path is too long: give a shorter one: %w", what, path, err)
	}
	return fmt.Errorf("%s %s cannot be reached: %w", what, path, err)
}

// cannotCreate explains why the directory path of what could not be
// created: the directory that refused the new entry, and the fix.
func cannotCreate(what, path string, err error) error {
	switch {
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		parent := deepestExisting(path)
		return fmt.Errorf("create %s: permission denied in %s: run as a user who may write there (the repository's owner), or grant write permission on it: %w", what, parent, err)
	case errors.Is(err, syscall.EROFS):
		return fmt.Errorf("create %s: %s is on a read-only file system: remount it read-write or use a repository elsewhere: %w", what, path, err)
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("create %s: no space left for %s: free some space: %w", what, path, err)
	case errors.Is(err, fs.ErrExist), errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.ELOOP):
		return unreachable(what, path, err)
	}
	return fmt.Errorf("create %s at %s: %w", what, path, err)
}

// pathCulprit is the first component of path that stops a walk down it:
// a file where a directory should be, a link that loops, or (for a
// denied search) the directory that may not be searched. It is path
// itself when no earlier component is at fault.
func pathCulprit(path string) string {
	clean := filepath.Clean(path)
	prev := ""
	for _, p := range prefixes(clean) {
		fi, err := os.Stat(p)
		switch {
		case err != nil && (errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM)) && prev != "":
			return prev
		case err != nil:
			return p
		case !fi.IsDir() && p != clean:
			return p
		}
		prev = p
	}
	return clean
}

// deepestExisting is the deepest existing directory on the way to path:
// where a MkdirAll creates its first directory.
func deepestExisting(path string) string {
	ps := prefixes(filepath.Clean(path))
	for i := len(ps) - 1; i >= 0; i-- {
		if fi, err := os.Stat(ps[i]); err == nil && fi.IsDir() {
			return ps[i]
		}
	}
	return "."
}

// prefixes lists path's leading components, shortest first: /a/b gives
// /a and /a/b; a/b gives a and a/b.
func prefixes(path string) []string {
	var out []string
	for p := path; ; {
		out = append(out, p)
		parent := filepath.Dir(p)
		if parent == p || parent == "." {
			break
		}
		p = parent
	}
	if len(out) > 1 && out[len(out)-1] == string(filepath.Separator) {
		out = out[:len(out)-1]
	}
	slices.Reverse(out)
	return out
}
