package server

import (
	"path"
	"strings"
)

// cleanPath turns a decoded URL path into a name relative to the repository
// root, suitable for os.Root ("." for the root itself). It refuses, rather
// than cleans away, anything a well-behaved client never sends: a relative
// path, NUL or backslash, and any segment starting with a dot. Refusing
// ".." before cleaning matters: path.Clean("/../etc") is "/etc", which
// would quietly serve something other than what was asked for.
func cleanPath(urlPath string) (string, bool) {
	if !strings.HasPrefix(urlPath, "/") || strings.ContainsAny(urlPath, "\x00\\") {
		return "", false
	}
	for seg := range strings.SplitSeq(urlPath, "/") {
		if strings.HasPrefix(seg, ".") {
			return "", false
		}
	}
	name := strings.TrimPrefix(path.Clean(urlPath), "/")
	if name == "" {
		name = "."
	}
	return name, true
}
