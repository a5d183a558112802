package beneath

import (
	"crypto/rand"
	"encoding/hex"

	"golang.org/x/sys/unix"
)

// Attrs are the properties of a file or directory that make a rename
// over it, an unlink of it, or a creation in it fail even for root.
type Attrs struct {
	Immutable  bool // chattr +i: no rename over, unlink or new names in it
	AppendOnly bool // chattr +a: the same, for renames and unlinks
	MountPoint bool // a mount (a bind-mounted file): rename and unlink fail with EBUSY
}

// Attrs reports the attributes of rel itself ("." is the root), not
// following a link at its end.
func (r *Root) Attrs(rel string) (Attrs, error) {
	var sx, px unix.Statx_t
	const mask = unix.STATX_BASIC_STATS | unix.STATX_MNT_ID
	if rel == "." {
		if err := unix.Statx(r.fd(), "", unix.AT_EMPTY_PATH, mask, &sx); err != nil {
			return Attrs{}, r.wrap("statx", rel, err)
		}
		return attrsOf(&sx, nil), nil
	}
	dirfd, base, err := r.parent("statx", rel)
	if err != nil {
		return Attrs{}, err
	}
	defer unix.Close(dirfd)
	if err := unix.Statx(dirfd, base, unix.AT_SYMLINK_NOFOLLOW, mask, &sx); err != nil {
		return Attrs{}, r.wrap("statx", rel, err)
	}
	if err := unix.Statx(dirfd, "", unix.AT_EMPTY_PATH, mask, &px); err != nil {
		return Attrs{}, r.wrap("statx", pathDir(rel), err)
	}
	return attrsOf(&sx, &px), nil
}

// attrsOf reads the attribute bits the kernel says it filled in. A mount
// shows as STATX_ATTR_MOUNT_ROOT (Linux 5.8), or else as a mount id (5.8
// too) or a device that differs from its parent directory's.
func attrsOf(sx, parent *unix.Statx_t) Attrs {
	has := func(bit uint64) bool { return sx.Attributes_mask&bit != 0 && sx.Attributes&bit != 0 }
	a := Attrs{
		Immutable:  has(unix.STATX_ATTR_IMMUTABLE),
		AppendOnly: has(unix.STATX_ATTR_APPEND),
		MountPoint: has(unix.STATX_ATTR_MOUNT_ROOT),
	}
	if parent != nil && !a.MountPoint {
		if sx.Mask&parent.Mask&unix.STATX_MNT_ID != 0 {
			a.MountPoint = sx.Mnt_id != parent.Mnt_id
		} else {
			a.MountPoint = sx.Dev_major != parent.Dev_major || sx.Dev_minor != parent.Dev_minor
		}
	}
	return a
}

// Access checks, as access(2) does with the real user, that the
// directory rel ("." is the root) grants mode (unix.W_OK and the like):
// permissions, ACLs, a read-only mount, an immutable directory.
func (r *Root) Access(rel string, mode uint32) error {
	fd, err := r.openDir(rel)
	if err != nil {
		return r.wrap("access", rel, err)
	}
	defer unix.Close(fd)
	if err := unix.Faccessat(fd, ".", mode, 0); err != nil {
		return r.wrap("access", rel, err)
	}
	return nil
}

func randomSuffix() string {
	var b [6]byte
	rand.Read(b[:]) // never fails since Go 1.24
	return hex.EncodeToString(b[:])
}
