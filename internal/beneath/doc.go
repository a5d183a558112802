// Package beneath opens, creates, renames, removes and inspects paths
// under a root directory without following any symbolic link on the way,
// so that a link planted inside the root (root/app -> /etc) can never
// make a write, a delete or a read land outside it.
//
// Each operation resolves the parent directory of its path afresh, with
// openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS) where the kernel has it
// (Linux 5.6) and a component-by-component openat(O_NOFOLLOW|O_DIRECTORY)
// walk otherwise, and then acts on the last component relative to that
// directory's descriptor, never following it either. A link swapped in
// between two operations is therefore refused by the second.
//
// Paths are slash-separated and relative to the root; "", "." and ".."
// components and absolute paths are refused. Linux only, as hotfix is.
package beneath
