package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hotfix-project/hotfix/repo"
)

// readFixDirManifest reads DIR/manifest.json, bounded.
func readFixDirManifest(dir string) (*repo.Manifest, error) {
	fh, err := openRegular(filepath.Join(dir, repo.ManifestName))
	if err != nil {
		return nil, fmt.Errorf("install --from %s: not an unpacked fix: %w", dir, err)
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, 16<<20+1))
	if err != nil {
		return nil, err
	}
	m, err := repo.ParseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, repo.ManifestName), err)
	}
	return m, nil
}

// stageFixDir copies an unpacked fix into dest, checking it exactly as an
// archive is checked: only regular files, every one listed in the
// manifest with its size and sha256, nothing missing. On any error dest
// is removed.
func stageFixDir(ctx context.Context, dir, dest string) (m *repo.Manifest, err error) {
	m, err = readFixDirManifest(dir)
	if err != nil {
		return nil, err
	}
	want := map[string]repo.FileEntry{}
	for _, f := range m.Files {
		want["files/"+f.Path] = f
	}
	for _, s := range m.Scripts {
		want["scripts/"+s.Path] = s
	}
	if err := os.Mkdir(dest, 0o700); err != nil {
		return nil, fmt.Errorf("stage: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dest)
		}
	}()
	seen := map[string]bool{}
	for _, kind := range []string{"files", "scripts"} {
		if err := os.Mkdir(filepath.Join(dest, kind), 0o700); err != nil {
			return nil, err
		}
		top := filepath.Join(dir, kind)
		werr := filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) && p == top {
				return nil
			}
			if err != nil {
				return err
			}
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			rel, _ := filepath.Rel(dir, p)
			rel = filepath.ToSlash(rel)
			switch {
			case d.IsDir():
				return nil
			case d.Type()&fs.ModeSymlink != 0:
				return fmt.Errorf("%s is a symbolic link: fixes carry only regular files", p)
			case !d.Type().IsRegular():
				return fmt.Errorf("%s is not a regular file (%s)", p, d.Type())
			}
			fe, ok := want[rel]
			if !ok {
				return fmt.Errorf("%s is not listed in %s", p, repo.ManifestName)
			}
			seen[rel] = true
			return copyVerifiedFile(p, filepath.Join(dest, filepath.FromSlash(rel)), fe)
		})
		if werr != nil {
			return nil, fmt.Errorf("install --from %s: %w", dir, werr)
		}
	}
	var missing []string
	for k := range want {
		if !seen[k] {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("install --from %s: %s listed in %s but missing", dir, strings.Join(missing, ", "), repo.ManifestName)
	}
	return m, nil
}

// copyVerifiedFile copies src to dst and insists on the manifest's size and
// sha256.
func copyVerifiedFile(src, dst string, fe repo.FileEntry) error {
	in, err := openRegular(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, os.FileMode(fe.Mode)|0o600)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), io.LimitReader(in, fe.Size+1))
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if n != fe.Size {
		return fmt.Errorf("%s is %d bytes, the manifest says %d", src, n, fe.Size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != fe.SHA256 {
		return fmt.Errorf("%s: sha256 %s does not match the manifest's %s", src, got, fe.SHA256)
	}
	return nil
}
