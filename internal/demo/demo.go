package demo

import (
	"embed"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

//go:embed all:sample
var sample embed.FS

// Product and Base name the sample product.
const (
	Product = "acme"
	Base    = "2.4.1"
)

// FixVersions are the sample fixes in chain order.
var FixVersions = []string{"2.4.1.1", "2.4.1.2", "2.4.1.3"}

// WriteSample writes the sample into dir: dir/root (the installed product)
// and dir/fixes/VERSION (fix sources). Scripts get mode 0755, as embed
// keeps no modes.
func WriteSample(dir string) error {
	return fs.WalkDir(sample, "sample", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, "sample"), "/")
		target := filepath.Join(dir, filepath.FromSlash(rel))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := sample.ReadFile(p)
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if path.Base(path.Dir(p)) == "scripts" {
			mode = 0o755
		}
		return os.WriteFile(target, data, mode)
	})
}
