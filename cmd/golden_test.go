package cmd

import (
	"regexp"
	"strings"
	"testing"
)

// volatile is what legitimately differs between two runs of the same
// command: times, the user running the tests, process ids, ports, key
// fingerprints of freshly generated keys. normalize replaces each with a
// fixed placeholder, so that golden files pin everything else byte for
// byte, layout and field order included.
var volatile = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})`), `TIME`},
	{regexp.MustCompile(`"(by|user)": "[^"]*"`), `"$1": "USER"`},
	{regexp.MustCompile(`"pid": [0-9]+`), `"pid": 0`},
	{regexp.MustCompile(`127\.0\.0\.1:[0-9]+`), `127.0.0.1:PORT`},
	{regexp.MustCompile(`\b[0-9A-F]{40}\b`), `FINGERPRINT`},
	{regexp.MustCompile(`[0-9]{8}T[0-9]{6}Z`), `YYYYMMDDTHHMMSSZ`},
	{regexp.MustCompile(` at [0-9]{2}:[0-9]{2}:[0-9]{2} by \S+`), ` at HH:MM:SS by USER`},
}

// normalize makes out comparable across runs: dirs (temporary
// directories) become $DIR, then every volatile value its placeholder.
func normalize(t *testing.T, out string, dirs ...string) []byte {
	t.Helper()
	for _, d := range dirs {
		out = strings.ReplaceAll(out, d, "$DIR")
	}
	for _, v := range volatile {
		out = v.re.ReplaceAllString(out, v.with)
	}
	return []byte(out)
}
