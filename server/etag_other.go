//go:build !unix

package server

import "io/fs"

// inode is not available here; size and modification time remain.
func inode(fs.FileInfo) uint64 { return 0 }
