package txn

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
	"syscall"

	"github.com/hotfix-project/hotfix/repo"
)

// Plan inspects the root and returns the journal that installing m needs:
// every file m writes is a replace (it exists) or an add (with the
// directories to create), every deletion of an existing file a delete.
// It refuses links and other non-regular files where m writes or
// deletes. Nothing is changed.
func Plan(root string, m *repo.Manifest) (*Journal, error) {
	j := &Journal{Op: OpInstall, Version: m.Version, Phase: PhasePrepare}
	created := map[string]bool{}
	add := func(rel string, deleting bool) error {
		target := rootPath(root, rel)
		info, err := os.Lstat(target)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if deleting {
				return nil
			}
			j.Entries = append(j.Entries, Entry{Path: rel, Action: ActAdd})
			for _, d := range missingDirs(root, rel) {
				created[d] = true
			}
		case err != nil:
			return err
		case info.Mode()&fs.ModeSymlink != 0:
			return fmt.Errorf("%s is a symbolic link: hotfix replaces only regular files; replace the link by the file or ask the vendor", target)
		case !info.Mode().IsRegular():
			return fmt.Errorf("%s is not a regular file (%s)", target, info.Mode().Type())
		default:
			uid, gid := ownerOf(info)
			act := ActReplace
			if deleting {
				act = ActDelete
			}
			j.Entries = append(j.Entries, Entry{Path: rel, Action: act, Mode: uint32(info.Mode().Perm()), UID: uid, GID: gid})
		}
		return nil
	}
	for _, f := range m.Files {
		if err := add(f.Path, false); err != nil {
			return nil, err
		}
	}
	for _, d := range m.Delete {
		if err := add(d, true); err != nil {
			return nil, err
		}
	}
	for d := range created {
		j.CreatedDirs = append(j.CreatedDirs, d)
	}
	sort.Strings(j.CreatedDirs)
	return j, nil
}

// Preflight checks that the transaction of j can run: every directory it
// writes in is writable, and the root and the state directory (created
// when missing) have room for the fix's files and the backups.
func (s Store) Preflight(j *Journal, m *repo.Manifest) error {
	var need int64
	for _, f := range m.Files {
		need += f.Size
	}
	dirs := map[string]bool{}
	for _, e := range j.Entries {
		if e.Action != ActAdd {
			if fi, err := os.Lstat(rootPath(s.Root, e.Path)); err == nil {
				need += fi.Size()
			}
		}
		dirs[nearestDir(s.Root, e.Path)] = true
	}
	for d := range dirs {
		if err := probeWritable(d); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(s.StateDir, 0o755); err != nil {
		return err
	}
	if err := probeWritable(s.StateDir); err != nil {
		return err
	}
	const margin = 16 << 20
	for _, d := range []string{s.Root, s.StateDir} {
		if free, ok := freeBytes(d); ok && free < uint64(need+margin) {
			return fmt.Errorf("not enough disk space in %s: %d MiB free, about %d MiB needed for the fix and its backups", d, free>>20, (need+margin)>>20)
		}
	}
	return nil
}

// nearestDir is the deepest existing directory that would hold rel.
func nearestDir(root, rel string) string {
	for d := pathDir(rel); ; d = pathDir(d) {
		p := root
		if d != "." {
			p = rootPath(root, d)
		}
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			return p
		}
		if d == "." {
			return root
		}
	}
}

// probeWritable checks that files can be created in dir. It asks the
// kernel (access(2) with W_OK: permissions, ACLs, read-only mounts,
// immutable directories) instead of creating a probe file, because a
// crash between creating and removing a probe would leave a stray file
// in the root that no journal knows about.
func probeWritable(dir string) error {
	const wOK = 2
	if err := syscall.Access(dir, wOK); err != nil {
		return fmt.Errorf("cannot write in %s: %w (run as the product's owner or root)", dir, &fs.PathError{Op: "access", Path: dir, Err: err})
	}
	return nil
}

func freeBytes(dir string) (uint64, bool) {
	var s syscall.Statfs_t
	if err := syscall.Statfs(dir, &s); err != nil {
		return 0, false
	}
	return s.Bavail * uint64(s.Bsize), true
}

// missingDirs lists the parents of rel (relative to root) that do not
// exist yet, shallowest first.
func missingDirs(root, rel string) []string {
	var out []string
	for d := pathDir(rel); d != "."; d = pathDir(d) {
		if _, err := os.Lstat(rootPath(root, d)); errors.Is(err, fs.ErrNotExist) {
			out = append([]string{d}, out...)
		} else {
			break
		}
	}
	return out
}

func pathDir(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "."
	}
	return p[:i]
}
