package repo

import (
	"fmt"
	"path"
	"strings"
	"unicode/utf8"
)

// ValidProductName checks a product name: lowercase letters, digits, and
// '.', '-', '_' after the first character. Product names become directory
// and file names on every host, so they are kept portable.
func ValidProductName(s string) error { return plainName("product", s) }

// plainName checks a name of kind ("product", "part"): 1 to 64
// lowercase letters, digits, '.', '-' and '_', starting with a letter or
// digit.
func plainName(kind, s string) error {
	if s == "" {
		return fmt.Errorf("empty %s name", kind)
	}
	if len(s) > 64 {
		return fmt.Errorf("%s name %q is longer than 64 characters", kind, s)
	}
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '-' || c == '_'):
		default:
			return fmt.Errorf("%s name %q: use lowercase letters, digits, '.', '-' and '_' (starting with a letter or digit)", kind, s)
		}
	}
	return nil
}

// ArchiveName is the file name of a fix archive: PRODUCT-VERSION.fix.
func ArchiveName(product string, v Version) string {
	return product + "-" + v.String() + ".fix"
}

// CleanRelPath checks a path relative to the product's install root (or
// inside an archive) and returns its canonical slash form. It refuses what
// could reach outside the root or mean two things on different systems.
func CleanRelPath(p string) (string, error) {
	switch {
	case p == "":
		return "", fmt.Errorf("empty path")
	case strings.HasPrefix(p, "/"):
		return "", fmt.Errorf("absolute path %q: paths are relative to the product's install root", p)
	case strings.ContainsAny(p, "\\\x00"):
		return "", fmt.Errorf("path %q contains a backslash or NUL byte", p)
	case len(p) > 4096:
		return "", fmt.Errorf("path longer than 4096 bytes")
	case !utf8.ValidString(p):
		// manifest.json is JSON, whose strings are UTF-8: encoding/json
		// would write U+FFFD for the bad bytes, and the manifest would
		// name another file than the archive holds.
		return "", fmt.Errorf("path %q is not valid UTF-8, so manifest.json cannot name it exactly: rename it (convmv -f latin1 -t utf-8 converts a tree)", p)
	case strings.ContainsFunc(p, isControl):
		return "", fmt.Errorf("path %q contains a control character: rename it", p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return "", fmt.Errorf("path %q climbs out with '..'", p)
		}
	}
	c := path.Clean(p)
	if c == "." || c != p {
		return "", fmt.Errorf("path %q is not in canonical form (want %q)", p, c)
	}
	return c, nil
}

// IsPlainFileName reports whether name can be a file of a channel
// directory as an index names it: one path element, not hidden, no
// backslash or NUL.
func IsPlainFileName(name string) bool {
	return name != "" && name[0] != '.' && !strings.ContainsAny(name, "/\\\x00")
}

// isControl reports the characters a path may not hold: C0 controls, DEL
// and C1 controls, which no file of a product needs and which a terminal,
// a log line or a page would show as something else.
func isControl(r rune) bool { return r < 0x20 || (r >= 0x7f && r < 0xa0) }
