package yum

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// primary.xml.gz is read to the end of its gzip stream: a damaged CRC, a
// cut stream or anything after the document is refused.
func TestPrimaryReadToEnd(t *testing.T) {
	doc := `<?xml version="1.0"?><metadata><package><checksum>abc</checksum><location href="a.rpm"/></package></metadata>` + "\n"
	gz := func(parts ...string) []byte {
		var b bytes.Buffer
		for _, p := range parts {
			zw := gzip.NewWriter(&b)
			zw.Write([]byte(p))
			zw.Close()
		}
		return b.Bytes()
	}
	good := gz(doc)
	badCRC := bytes.Clone(good)
	badCRC[len(badCRC)-6] ^= 0xff
	tests := []struct {
		name string
		data []byte
		want string // "" means accepted
	}{
		{"plain", good, ""},
		{"trailing newlines in the document", gz(doc + "\n\n"), ""},
		{"second member after the document", gz(doc, "<metadata><package/></metadata>"), "bytes after the document"},
		{"garbage after the gzip stream", append(bytes.Clone(good), "garbage"...), "after the document"},
		{"cut gzip trailer", good[:len(good)-4], "after the document"},
		{"CRC mismatch", badCRC, "after the document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "primary.xml.gz")
			if err := os.WriteFile(p, tt.data, 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := primaryPackages(p)
			if tt.want == "" {
				if err != nil || got["a.rpm"] != "abc" {
					t.Fatalf("got %v, %v", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}
