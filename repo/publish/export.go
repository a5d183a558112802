package publish

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/bundle"
)

// ExportOptions say what Export writes.
type ExportOptions struct {
	Product string
	Base    repo.Version
	From    *repo.Version // first fix whose archives are carried; nil: all
	Out     string        // the bundle file, replaced atomically
	ModTime time.Time     // of every entry (SOURCE_DATE_EPOCH), for identical bytes
	// Customers are the customer channels of the base to carry as well
	// (their signed indexes and every archive they name).
	Customers []string
}

// ExportResult says what a bundle holds.
type ExportResult struct {
	Index     *repo.Index
	Archives  int // archives of the channel and of its customers
	Keys      int
	Repodata  bool // the channel's yum repodata is carried
	Root      bool // repo.json is carried
	Customers int
	Bytes     int64
}

// Export writes one channel of the repository at root as a bundle (see
// repo/bundle): the keys/ folder (every key list version), repo.json,
// the published index and signature as they are, the archives of every
// fix from opts.From on, checked against the index while they are
// written, the channel's yum repodata, and the customer channels asked
// for. Signed files travel as published, none re-signed. The bundle
// appears at opts.Out only once complete and synced.
func Export(ctx context.Context, root string, opts ExportOptions) (*ExportResult, error) {
	dir := filepath.Join(root, opts.Product, opts.Base.String())
	indexPath := filepath.Join(dir, repo.IndexName)
	data, err := os.ReadFile(indexPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("export: %s %s has no index (%s): run \"hotfix repo build\" first", opts.Product, opts.Base, indexPath)
	}
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	sig, err := os.ReadFile(indexPath + repo.SigSuffix)
	if err != nil {
		return nil, fmt.Errorf("export: the index's signature: %w: run \"hotfix repo build\"", err)
	}
	ix, err := repo.ParseIndex(data)
	if err != nil {
		return nil, fmt.Errorf("export: %s: %w", indexPath, err)
	}
	if ix.Product != opts.Product || !ix.Base.Equal(opts.Base) {
		return nil, fmt.Errorf("export: %s describes %s %s", indexPath, ix.Product, ix.Base)
	}
	b := &bundle.Bundle{Header: bundle.Header{Format: bundle.Format, Product: opts.Product, Base: opts.Base, From: opts.From},
		Index: data, Sig: sig, ModTime: opts.ModTime}
	from := b.Header.FromVersion()
	if _, ok := ix.Fix(from); !from.IsZero() && !ok {
		return nil, fmt.Errorf("export: fix %s is not in the index of %s %s (latest is %s)", from, opts.Product, opts.Base, latestFix(ix))
	}
	res := &ExportResult{Index: ix}
	for _, f := range bundle.Carried(ix, from) {
		refs := []repo.Archive{{File: f.File, Size: f.Size, SHA256: f.SHA256}}
		if f.RPM != nil {
			refs = append(refs, repo.Archive{File: f.RPM.File, Size: f.RPM.Size, SHA256: f.RPM.SHA256})
		}
		for _, a := range refs {
			b.Archives = append(b.Archives, openChecked(a, filepath.Join(dir, a.File)))
			res.Archives++
		}
	}
	if b.Keys, err = keyFiles(filepath.Join(root, "keys")); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	res.Keys = len(b.Keys)
	if err := exportExtras(root, dir, b, opts, res); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if err := writeBundle(ctx, opts.Out, b); err != nil {
		return nil, err
	}
	if fi, err := os.Stat(opts.Out); err == nil {
		res.Bytes = fi.Size()
	}
	return res, nil
}

func writeBundle(ctx context.Context, out string, b *bundle.Bundle) error {
	f, err := atomicfile.Create(out, 0o644)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer f.Abort()
	if err := bundle.Write(ctx, f, b); err != nil {
		return fmt.Errorf("export to %s: %w", out, err)
	}
	return f.Commit()
}

func openFile(name, path string, size int64) bundle.File {
	return bundle.File{Name: name, Size: size, Open: func() (io.ReadCloser, error) { return os.Open(path) }}
}

// openChecked opens a listed archive for the bundle, checked against the
// index while it is copied: one read of each archive, not a hashing pass
// and then a copy pass, and no window between the check and the copy in
// which the file could change. A file that is not the one the index
// describes fails the export, which then leaves no bundle: it would be
// refused on the site, after travelling.
func openChecked(a repo.Archive, path string) bundle.File {
	return bundle.File{Name: a.File, Size: a.Size, Open: func() (io.ReadCloser, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("%s: listed in the index but unreadable: %w: run \"hotfix repo verify\"", path, err)
		}
		fi, err := f.Stat()
		switch {
		case err != nil:
		case !fi.Mode().IsRegular():
			err = fmt.Errorf("%s: not the archive the index describes (not a regular file): run \"hotfix repo verify\"", path)
		case fi.Size() != a.Size:
			err = fmt.Errorf("%s: not the archive the index describes (size %d, the index says %d): run \"hotfix repo verify\"", path, fi.Size(), a.Size)
		}
		if err != nil {
			f.Close()
			return nil, err
		}
		return &checkedReader{File: f, want: a, h: sha256.New()}, nil
	}}
}

// checkedReader hashes what is read and, once the index's size is
// reached, fails the read that reached it unless the digest is the
// index's.
type checkedReader struct {
	*os.File
	want repo.Archive
	h    hash.Hash
	n    int64
}

func (r *checkedReader) Read(p []byte) (int, error) {
	n, err := r.File.Read(p)
	r.h.Write(p[:n])
	r.n += int64(n)
	if n > 0 && r.n == r.want.Size {
		if got := hex.EncodeToString(r.h.Sum(nil)); got != r.want.SHA256 {
			return n, fmt.Errorf("%s: sha256 %s, the index says %s: run \"hotfix repo verify\"", r.Name(), got, r.want.SHA256)
		}
	}
	return n, err
}

// keyFiles lists the regular files of keys/ (public keys, key lists and
// their signatures), sorted; dot-files (temporaries) are left out.
func keyFiles(dir string) ([]bundle.File, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []bundle.File
	for _, e := range ents {
		if !e.Type().IsRegular() || !repo.IsPlainFileName(e.Name()) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			return nil, err
		}
		if fi.Size() > bundle.MaxKeySize {
			return nil, fmt.Errorf("%s is %d bytes, more than a bundle carries (%d)", filepath.Join(dir, e.Name()), fi.Size(), bundle.MaxKeySize)
		}
		out = append(out, openFile(e.Name(), filepath.Join(dir, e.Name()), fi.Size()))
	}
	if len(out) > bundle.MaxKeys {
		return nil, fmt.Errorf("%s holds %d files, more than a bundle carries (%d)", dir, len(out), bundle.MaxKeys)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func latestFix(ix *repo.Index) string {
	if n := len(ix.Fixes); n > 0 {
		return ix.Fixes[n-1].Version.String()
	}
	return "none"
}
