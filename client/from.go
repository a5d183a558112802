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
	"github.com/hotfix-project/hotfix/repo/fixarchive"
	"github.com/hotfix-project/hotfix/repo/rpm"
)

// extractFunc unpacks and verifies a fix from archive into dest (which
// must not exist) as dest/files and dest/scripts, returning its manifest.
type extractFunc func(ctx context.Context, archive, dest string) (*repo.Manifest, error)

// extractor picks how installFix unpacks a fix: what InstallFrom chose, or
// by the file's extension (an RPM-only fix of the index names its .rpm).
func (c *Client) extractor(opts *InstallOptions) extractFunc {
	if opts.extract != nil {
		return opts.extract
	}
	return func(ctx context.Context, archive, dest string) (*repo.Manifest, error) {
		if strings.HasSuffix(archive, ".rpm") {
			return c.extractRPM(ctx, archive, dest)
		}
		return extractFile(ctx, archive, dest)
	}
}

// extractRPM unpacks an RPM fix package. The rule for its header
// signature: a package that carries one must verify against trusted_keys
// (a bad signature or an unknown key is refused); an unsigned package is
// accepted, because what vouches for it is either the signed index (its
// sha256, for a download) or the administrator who named the file (for
// install --from). The payload digest is always checked before anything
// is decompressed.
func (c *Client) extractRPM(ctx context.Context, path, dest string) (*repo.Manifest, error) {
	trust := rpm.Trust{Check: func(data, sig []byte) error {
		kr, err := c.trusted()
		if err != nil {
			return err
		}
		_, err = kr.Verify(data, sig, c.Now())
		return err
	}}
	return rpm.Extract(ctx, path, dest, trust)
}

// InstallFrom installs one fix from a local file or directory, as one
// transaction exactly like a downloaded fix (verify, test, journal, back
// up, apply, scripts, record; pre_install, post_install and health_check
// around it), without asking the repository anything. path is a .fix, a
// .rpm, or an unpacked fix directory holding manifest.json, files/ and
// scripts/ (what an RPM fix package delivers under
// /var/lib/hotfix/incoming/PRODUCT/VERSION, for its %post).
//
// Trust: a local file is the administrator's choice, so it needs no
// signed index; every file is still verified against the fix's manifest,
// and an RPM's header signature, when it has one, against trusted_keys.
func (c *Client) InstallFrom(ctx context.Context, path string, opts InstallOptions) (*InstallResult, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("install --from: %w", err)
	}
	var m *repo.Manifest
	switch {
	case info.IsDir():
		if m, err = readFixDirManifest(path); err != nil {
			return nil, err
		}
		opts.extract = func(ctx context.Context, dir, dest string) (*repo.Manifest, error) {
			return stageFixDir(ctx, dir, dest)
		}
	case strings.HasSuffix(path, ".rpm"):
		h, err := rpm.ReadHeader(path)
		if err != nil {
			return nil, fmt.Errorf("install --from: %w: get the package again from the vendor", err)
		}
		m = &repo.Manifest{Product: h.Product, Version: h.Fix, Summary: h.Pkg.Summary()}
		opts.extract = c.extractRPM
	case strings.HasSuffix(path, ".fix"):
		if m, err = fixarchive.ReadManifestFile(path); err != nil {
			return nil, fmt.Errorf("install --from: %w: get the archive again from the vendor", err)
		}
		opts.extract = extractFile
	default:
		return nil, fmt.Errorf("install --from %s: not a .fix, a .rpm or a fix directory", path)
	}
	if m.Product != c.Cfg.Product {
		return nil, fmt.Errorf("install --from %s: it holds a fix of %s, but this server's product is %s", path, m.Product, c.Cfg.Product)
	}
	lk, st, err := c.beginInstall(ctx, "hotfix install --from", &opts)
	if err != nil {
		return nil, err
	}
	defer lk.Release()
	f := repo.IndexFix{Version: m.Version, Requires: m.Version.Requires(), File: filepath.Base(path), Summary: m.Summary}
	if latest := st.Latest(); m.Version.Compare(latest) <= 0 {
		return nil, fmt.Errorf("install --from %s: fix %s is already installed (installed: %s)", path, m.Version, latest)
	}
	out := &InstallResult{DryRun: opts.DryRun}
	todo := []repo.IndexFix{f}
	action := "install"
	if opts.DryRun {
		action = "dry-run"
	} else if err := c.runHook(ctx, "pre_install", c.Cfg.Hooks.PreInstall, todo); err != nil {
		c.audit(action, versionsOf(todo), "failed", err.Error())
		return out, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	logPath, err := c.installFix(ctx, st, f, abs, &opts)
	if logPath != "" {
		out.Logs = append(out.Logs, logPath)
	}
	if err != nil {
		c.audit(action, versionsOf(todo), "failed", err.Error())
		return out, err
	}
	out.Installed = todo
	if opts.DryRun {
		return out, nil
	}
	c.audit(action, versionsOf(todo), "ok", "from "+abs+"; "+logPath)
	if err := c.runHook(ctx, "post_install", c.Cfg.Hooks.PostInstall, todo); err != nil {
		c.audit(action, versionsOf(todo), "failed", err.Error())
		return out, err
	}
	if err := c.runHook(ctx, "health_check", c.Cfg.Hooks.HealthCheck, todo); err != nil {
		err = fmt.Errorf("%w; fix %s was rolled back", err, f.Version)
		if rbErr := c.rollbackOne(st); rbErr != nil {
			err = fmt.Errorf("%w, but rolling back failed: %v", err, rbErr)
		}
		c.audit(action, versionsOf(todo), "rolled back", err.Error())
		out.Installed = nil
		return out, err
	}
	return out, nil
}

// readFixDirManifest reads DIR/manifest.json, bounded.
func readFixDirManifest(dir string) (*repo.Manifest, error) {
	fh, err := os.Open(filepath.Join(dir, repo.ManifestName))
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
	in, err := os.Open(src)
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
