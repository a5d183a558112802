package repo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
)

// BuildOptions tune Build.
type BuildOptions struct {
	Signer  Signer
	Expires time.Duration    // validity of the indexes; 0 means DefaultExpires
	Now     func() time.Time // nil means time.Now
	Logger  *slog.Logger
}

// ChannelResult summarises one built channel.
type ChannelResult struct {
	Product string
	Base    Version
	Serial  int64
	Fixes   int
	Latest  *Version
}

// BuildResult lists what Build wrote.
type BuildResult struct {
	Channels []ChannelResult
	Hashed   int // archives read because the catalog did not know them
}

// Build writes, for every channel, index.json, its signature and
// index.html, then repo.json, its signature, keys/ and the top index.html.
// Every file is replaced atomically and each index before its signature.
// Archives already in the catalog are not read again.
func Build(ctx context.Context, root string, opts BuildOptions) (*BuildResult, error) {
	if opts.Signer == nil {
		return nil, errors.New("build: a signing key is required (--key)")
	}
	log := logger(opts.Logger)
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	expires := opts.Expires
	if expires == 0 {
		expires = DefaultExpires
	}
	if expires < 0 {
		return nil, fmt.Errorf("build: negative expiry %s", expires)
	}
	channels, err := listChannels(root)
	if err != nil {
		return nil, err
	}
	generated := now().UTC().Truncate(time.Second)
	res := &BuildResult{}
	ri := &RepoIndex{Format: IndexFormat, Generated: generated, Expires: generated.Add(expires)}
	products := map[string]*RepoProduct{}
	var order []string
	for _, ch := range channels {
		cr, hashed, err := buildChannel(ctx, ch, generated, expires, opts.Signer, log)
		if err != nil {
			return nil, err
		}
		res.Hashed += hashed
		res.Channels = append(res.Channels, *cr)
		p, ok := products[ch.Product]
		if !ok {
			p = &RepoProduct{Name: ch.Product}
			products[ch.Product] = p
			order = append(order, ch.Product)
		}
		p.Channels = append(p.Channels, RepoChannel{Base: ch.Base, Serial: cr.Serial, Latest: cr.Latest, Fixes: cr.Fixes})
	}
	for _, name := range order {
		ri.Products = append(ri.Products, *products[name])
	}
	if ri.Products == nil {
		ri.Products = []RepoProduct{}
	}
	data, err := ri.Marshal()
	if err != nil {
		return nil, err
	}
	if err := writeSigned(filepath.Join(root, RepoIndexName), data, opts.Signer); err != nil {
		return nil, err
	}
	if err := writeKeys(root, opts.Signer); err != nil {
		return nil, err
	}
	page, err := renderRepoPage(ri, opts.Signer.Fingerprint())
	if err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(filepath.Join(root, "index.html"), page, 0o644); err != nil {
		return nil, err
	}
	return res, nil
}

func buildChannel(ctx context.Context, ch channel, generated time.Time, expires time.Duration, signer Signer, log *slog.Logger) (*ChannelResult, int, error) {
	entries, cat, hashed, err := scanChannel(ctx, ch, log)
	if err != nil {
		return nil, 0, err
	}
	present := map[string]bool{}
	highest := 0
	for _, e := range entries {
		present[e.Version.String()] = true
		highest = max(highest, e.Version.Seq())
	}
	ce := &ChainError{Product: ch.Product, Base: ch.Base, Missing: missingVersions(ch.Base, present, highest)}
	ix := &Index{Format: IndexFormat, Product: ch.Product, Base: ch.Base, Serial: 1,
		Generated: generated, Expires: generated.Add(expires), Fixes: []IndexFix{}}
	indexPath := filepath.Join(ch.Dir, IndexName)
	if old, err := os.ReadFile(indexPath); err == nil {
		prev, err := ParseIndex(old)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w: the serial cannot continue; restore the published index or remove it to start again at serial 1", indexPath, err)
		}
		ix.Serial = prev.Serial + 1
		byVersion := make(map[string]*catalogEntry, len(entries))
		for _, e := range entries {
			byVersion[e.Version.String()] = e
		}
		for _, pf := range prev.Fixes {
			if e := byVersion[pf.Version.String()]; e != nil && changedSince(pf, e) {
				ce.Changed = append(ce.Changed, pf.Version.String())
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, 0, err
	}
	if len(ce.Missing) > 0 || len(ce.Changed) > 0 {
		return nil, 0, ce
	}
	for _, e := range entries {
		f := IndexFix{Version: e.Version, Requires: e.Version.Requires(), File: e.File,
			Size: e.Size, SHA256: e.SHA256, Summary: e.Summary, Bugs: []BugRef{}, RPM: e.rpmRef()}
		for _, b := range e.Bugs {
			f.Bugs = append(f.Bugs, BugRef{ID: b.ID, Summary: b.Summary})
		}
		ix.Fixes = append(ix.Fixes, f)
	}
	data, err := ix.Marshal()
	if err != nil {
		return nil, 0, err
	}
	if err := ix.Validate(); err != nil {
		return nil, 0, fmt.Errorf("build %s: %w", indexPath, err)
	}
	if err := writeSigned(indexPath, data, signer); err != nil {
		return nil, 0, err
	}
	if err := writeChannelRepodata(ctx, ch.Dir, entries, generated, signer, log); err != nil {
		return nil, 0, fmt.Errorf("repodata of %s: %w", ch.Dir, err)
	}
	page, err := renderChannelPage(ix, entries)
	if err != nil {
		return nil, 0, err
	}
	if err := atomicfile.WriteFile(filepath.Join(ch.Dir, "index.html"), page, 0o644); err != nil {
		return nil, 0, err
	}
	if err := cat.save(ch.Dir); err != nil {
		return nil, 0, err
	}
	cr := &ChannelResult{Product: ch.Product, Base: ch.Base, Serial: ix.Serial, Fixes: len(ix.Fixes)}
	if n := len(ix.Fixes); n > 0 {
		v := ix.Fixes[n-1].Version
		cr.Latest = &v
	}
	log.Info("built channel", "product", ch.Product, "base", ch.Base, "serial", ix.Serial, "fixes", cr.Fixes)
	return cr, hashed, nil
}

// writeSigned writes data and then its detached signature, each atomically,
// so a reader that sees the new signature also sees the new data.
func writeSigned(path string, data []byte, signer Signer) error {
	sig, err := signer.SignDetached(data)
	if err != nil {
		return fmt.Errorf("sign %s: %w", path, err)
	}
	if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
		return err
	}
	return atomicfile.WriteFile(path+SigSuffix, sig, 0o644)
}

func writeKeys(root string, signer Signer) error {
	pub, err := signer.ArmoredPublic()
	if err != nil {
		return err
	}
	dir := filepath.Join(root, "keys")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, signer.Fingerprint()+".asc"), pub, 0o644)
}
