package txn

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
	"syscall"

	"github.com/hotfix-project/hotfix/internal/beneath"
	"github.com/hotfix-project/hotfix/repo"
	"golang.org/x/sys/unix"
)

// Plan inspects the root and returns the journal that installing m needs:
// every file m writes is a replace (it exists) or an add (with the
// directories to create), every deletion of an existing file a delete.
// It refuses links and other non-regular files where m writes or
// deletes, a link anywhere on the way to them, and a mode that would
// leave a file writable by every user or unreadable by its owner.
// Nothing is changed.
func Plan(root string, m *repo.Manifest) (*Journal, error) {
	r, err := beneath.Open(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	j := &Journal{Op: OpInstall, Version: m.Version, Phase: PhasePrepare}
	created := map[string]bool{}
	add := func(rel string, deleting bool) error {
		target := rootPath(root, rel)
		info, err := r.Lstat(rel)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if deleting {
				return nil
			}
			j.Entries = append(j.Entries, Entry{Path: rel, Action: ActAdd})
			for _, d := range missingDirs(r, rel) {
				created[d] = true
			}
		case err != nil:
			return linkRefusal(rel, err)
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
		if err := checkMode(m, f); err != nil {
			return nil, err
		}
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

// linkRefusal explains a path that leads through a link inside the root:
// following it would let whoever can create a link in the root make the
// fix write or delete anywhere.
func linkRefusal(rel string, err error) error {
	var le *beneath.LinkError
	if errors.As(err, &le) {
		return fmt.Errorf("cannot install %s: %w, and hotfix never writes through a link inside the root (it could lead anywhere); make it a real directory (or remove it) and run again, or ask the vendor", rel, le)
	}
	return err
}

// checkMode refuses a file mode no product should ship (repo.Mode.Unsafe
// says which): refused rather than silently changed, so the vendor learns
// of it. Manifest validation refuses the same modes; this stays for a
// manifest that reached Plan some other way.
func checkMode(m *repo.Manifest, f repo.FileEntry) error {
	if why := f.Mode.Unsafe(); why != "" {
		return fmt.Errorf("fix %s would install %s with mode %s, %s: refusing it; ask the vendor to rebuild the fix with a safe mode such as 0644 or 0755", m.Version, f.Path, f.Mode, why)
	}
	return nil
}

// Preflight checks that the transaction of j can run, by asking the
// kernel about each thing Apply will do: every directory it writes in
// grants writing and is neither immutable nor append-only; no file it
// replaces or deletes is immutable, append-only or a mount point (a
// bind-mounted file), which no rename or unlink can change even as root;
// and the root and the state directory (created when missing) have room
// for the fix's files and the backups. It asks instead of trying,
// because trying a rename or an unlink in the root is the change itself.
func (s Store) Preflight(j *Journal, m *repo.Manifest) error {
	r, err := beneath.Open(s.Root)
	if err != nil {
		return err
	}
	defer r.Close()
	var need int64
	for _, f := range m.Files {
		need += f.Size
	}
	dirs := map[string]bool{}
	for _, e := range j.Entries {
		if e.Action != ActAdd {
			fi, err := r.Lstat(e.Path)
			if err != nil {
				return linkRefusal(e.Path, err)
			}
			need += fi.Size()
			if err := replaceable(r, e.Path); err != nil {
				return err
			}
		}
		d, err := nearestDir(r, e.Path)
		if err != nil {
			return linkRefusal(e.Path, err)
		}
		dirs[d] = true
	}
	for d := range dirs {
		if err := writableDir(r, d); err != nil {
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

// replaceable refuses a file that neither a rename over it nor an unlink
// can change.
func replaceable(r *beneath.Root, rel string) error {
	a, err := r.Attrs(rel)
	if err != nil {
		return err
	}
	p := r.Join(rel)
	switch {
	case a.Immutable:
		return fmt.Errorf("%s is immutable (chattr +i), so the fix cannot replace or delete it; if it may, run \"chattr -i %s\" and install again, otherwise ask the vendor", p, p)
	case a.AppendOnly:
		return fmt.Errorf("%s is append-only (chattr +a), so the fix cannot replace or delete it; if it may, run \"chattr -a %s\" and install again, otherwise ask the vendor", p, p)
	case a.MountPoint:
		return fmt.Errorf("%s is a mount point (a bind-mounted file?), so the fix cannot replace or delete it; unmount it and install again, or ask the vendor", p)
	}
	return nil
}

// writableDir checks that names can be created, renamed and removed in
// the directory rel of the root. It asks the kernel (access(2) with W_OK:
// permissions, ACLs, read-only mounts, immutable directories; then the
// append-only flag, which access ignores) instead of creating a probe
// file, because a crash between creating and removing a probe would
// leave a stray file in the root that no journal knows about.
func writableDir(r *beneath.Root, rel string) error {
	p := r.Join(rel)
	if err := r.Access(rel, unix.W_OK); err != nil {
		return fmt.Errorf("cannot write in %s: %w (run as the product's owner or root)", p, err)
	}
	a, err := r.Attrs(rel)
	if err != nil {
		return err
	}
	if a.Immutable || a.AppendOnly {
		return fmt.Errorf("cannot write in %s: the directory is immutable or append-only (lsattr shows i or a); remove the flag with chattr and install again, or ask the vendor", p)
	}
	return nil
}

// nearestDir is the deepest existing directory that would hold rel,
// reached without links.
func nearestDir(r *beneath.Root, rel string) (string, error) {
	for d := pathDir(rel); d != "."; d = pathDir(d) {
		fi, err := r.Lstat(d)
		switch {
		case err == nil && fi.IsDir():
			return d, nil
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return "", err
		}
	}
	return ".", nil
}

// probeWritable checks that files can be created in dir, the state
// directory (see writableDir for why it asks rather than tries).
func probeWritable(dir string) error {
	if err := unix.Access(dir, unix.W_OK); err != nil {
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
func missingDirs(r *beneath.Root, rel string) []string {
	var out []string
	for d := pathDir(rel); d != "."; d = pathDir(d) {
		if _, err := r.Lstat(d); errors.Is(err, fs.ErrNotExist) {
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
