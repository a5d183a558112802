package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
	"github.com/hotfix-project/hotfix/repo"
)

// ErrNoSigner is Build's refusal to run without a signer: a repository is
// published signed or not at all.
var ErrNoSigner = errors.New("build: a signing key is required")

// BuildOptions tune Build.
type BuildOptions struct {
	Signer  repo.Signer
	Expires time.Duration    // validity of the indexes; 0 means DefaultExpires
	Now     func() time.Time // nil means time.Now
	Logger  *slog.Logger
}

// ChannelResult summarises one built channel.
type ChannelResult struct {
	Product string
	Base    repo.Version
	Serial  int64
	Fixes   int
	Latest  *repo.Version
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
		return nil, ErrNoSigner
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
	ri := &repo.RootIndex{Format: repo.IndexFormat, Generated: generated, Expires: generated.Add(expires)}
	products := map[string]*repo.Product{}
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
			p = &repo.Product{Name: ch.Product}
			products[ch.Product] = p
			order = append(order, ch.Product)
		}
		p.Channels = append(p.Channels, repo.ChannelSummary{Base: ch.Base, Serial: cr.Serial, Latest: cr.Latest, Fixes: cr.Fixes})
	}
	for _, name := range order {
		ri.Products = append(ri.Products, *products[name])
	}
	if ri.Products == nil {
		ri.Products = []repo.Product{}
	}
	data, err := ri.Marshal()
	if err != nil {
		return nil, err
	}
	var batch fileBatch
	defer batch.Abort()
	if err := batch.addSigned(filepath.Join(root, repo.RootIndexName), data, opts.Signer); err != nil {
		return nil, err
	}
	if err := writeKeys(root, opts.Signer, &batch); err != nil {
		return nil, err
	}
	page, err := renderRepoPage(ri, opts.Signer.Fingerprint())
	if err != nil {
		return nil, err
	}
	if err := batch.add(filepath.Join(root, "index.html"), page); err != nil {
		return nil, err
	}
	if err := batch.Commit(ctx); err != nil {
		return nil, err
	}
	return res, nil
}

func buildChannel(ctx context.Context, ch channel, generated time.Time, expires time.Duration, signer repo.Signer, log *slog.Logger) (*ChannelResult, int, error) {
	caches := preloadRepodataCaches(ch.Dir)
	entries, cat, hashed, err := scanChannel(ctx, ch, log)
	if err != nil {
		return nil, 0, err
	}
	have := make([]repo.Version, len(entries))
	for i, e := range entries {
		have[i] = e.Version
	}
	ce := &repo.ChainError{Product: ch.Product, Base: ch.Base, Missing: repo.MissingFixes(ch.Base, have)}
	ix := &repo.Index{Format: repo.IndexFormat, Product: ch.Product, Base: ch.Base, Serial: 1,
		Generated: generated, Expires: generated.Add(expires), Fixes: []repo.IndexFix{}}
	indexPath := filepath.Join(ch.Dir, repo.IndexName)
	prev, err := previousIndex(indexPath, cat.Published)
	if err != nil {
		return nil, 0, err
	}
	if prev != nil {
		ix.Serial = prev.Serial + 1
		// A file the previous index published must still have its
		// content; files added beside it are no change.
		changed := map[string]bool{}
		for _, e := range entries {
			for _, f := range []*catalogEntry{e, e.RPMEntry} {
				if f == nil {
					continue
				}
				if sum, ok := prev.Files[f.File]; ok && sum != f.SHA256 {
					changed[e.Version.String()] = true
				}
			}
		}
		for _, e := range entries {
			if changed[e.Version.String()] {
				ce.Changed = append(ce.Changed, e.Version.String())
			}
		}
	}
	if ce.Failed() {
		return nil, 0, ce
	}
	published := &publishedIndex{Files: make(map[string]string, len(entries))}
	for _, e := range entries {
		f := repo.IndexFix{Version: e.Version, Requires: e.Version.Requires(), File: e.File,
			Size: e.Size, SHA256: e.SHA256, Summary: e.Summary, Bugs: []repo.BugRef{}, RPM: e.rpmRef()}
		for _, b := range e.Bugs {
			f.Bugs = append(f.Bugs, repo.BugRef{ID: b.ID, Summary: b.Summary})
		}
		ix.Fixes = append(ix.Fixes, f)
		published.Files[e.File] = e.SHA256
		if e.RPMEntry != nil {
			published.Files[e.RPMEntry.File] = e.RPMEntry.SHA256
		}
	}
	if cat.PageTemplate != fixSectionID {
		for _, e := range cat.Archives {
			e.Page = nil
		}
		cat.PageTemplate = fixSectionID
	}
	// The repodata, the index and the page are independent: made at the
	// same time, they keep both cores busy where one after the other would
	// leave one idle for most of an incremental build.
	var (
		rbatch        fileBatch
		afterRepodata func(committed bool) error
		page          []byte
		rerr, perr    error
		wg            sync.WaitGroup
	)
	defer rbatch.Abort()
	wg.Add(2)
	go func() {
		defer wg.Done()
		afterRepodata, rerr = writeChannelRepodata(ctx, ch.Dir, entries, generated, signer, &rbatch, log, caches)
	}()
	go func() {
		defer wg.Done()
		page, perr = renderChannelPage(ctx, ix, entries)
	}()
	data, sig, err := marshalSigned(ix, indexPath, signer)
	wg.Wait()
	defer func() {
		if afterRepodata != nil { // not committed: wait for the caches only
			afterRepodata(false)
		}
	}()
	if rerr != nil {
		return nil, 0, fmt.Errorf("repodata of %s: %w", ch.Dir, rerr)
	}
	if err != nil {
		return nil, 0, err
	}
	if perr != nil {
		return nil, 0, perr
	}
	sum := sha256.Sum256(data)
	published.SHA256, published.Serial = hex.EncodeToString(sum[:]), ix.Serial

	// Everything the channel publishes is replaced in one batch: repodata,
	// then index.json and its signature, then the page.
	batch := &rbatch
	if err := batch.add(indexPath, data); err != nil {
		return nil, 0, err
	}
	if err := batch.add(indexPath+repo.SigSuffix, sig); err != nil {
		return nil, 0, err
	}
	if err := batch.add(filepath.Join(ch.Dir, "index.html"), page); err != nil {
		return nil, 0, err
	}
	// The caches need no sync and describe the archives, not the
	// published files (the catalog's record of index.json is checked
	// against its hash before use): they are saved while the batch waits
	// for the disk.
	var cerr, aerr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		cat.Published = published
		cerr = cat.save(ch.Dir)
	}()
	err = batch.Commit(ctx)
	if err == nil && afterRepodata != nil {
		aerr = afterRepodata(true)
		afterRepodata = nil
	}
	wg.Wait()
	if err != nil {
		return nil, 0, err
	}
	// The channel is published: a cache that could not be saved, or an
	// old repodata file not removed, costs the next build time, not this
	// one its result.
	if aerr != nil {
		log.Warn("repodata cache or cleanup failed; the next build reads the headers again", "channel", ch.Dir, "err", aerr)
	}
	if cerr != nil {
		log.Warn("catalog not saved; the next build hashes the archives again", "channel", ch.Dir, "err", cerr)
	}
	cr := &ChannelResult{Product: ch.Product, Base: ch.Base, Serial: ix.Serial, Fixes: len(ix.Fixes)}
	if n := len(ix.Fixes); n > 0 {
		v := ix.Fixes[n-1].Version
		cr.Latest = &v
	}
	log.Info("built channel", "product", ch.Product, "base", ch.Base, "serial", ix.Serial, "fixes", cr.Fixes)
	return cr, hashed, nil
}

// marshalSigned encodes and validates a channel index and signs it.
func marshalSigned(ix *repo.Index, path string, signer repo.Signer) (data, sig []byte, err error) {
	data, err = ix.Marshal()
	if err != nil {
		return nil, nil, err
	}
	if err := ix.Validate(); err != nil {
		return nil, nil, fmt.Errorf("build %s: %w", path, err)
	}
	sig, err = signer.SignDetached(data)
	if err != nil {
		return nil, nil, fmt.Errorf("sign %s: %w", path, err)
	}
	return data, sig, nil
}

// previousIndex returns the serial and published files of the channel's
// current index.json, nil if there is none. When the file is the one the
// catalog says this generator wrote last, the catalog's record of it is
// used instead of parsing it.
func previousIndex(path string, known *publishedIndex) (*publishedIndex, error) {
	old, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(old)
	if known != nil && known.Files != nil && known.SHA256 == hex.EncodeToString(sum[:]) {
		return known, nil
	}
	prev, err := repo.ParseIndex(old)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: the serial cannot continue; restore the published index or remove it to start again at serial 1", path, err)
	}
	p := &publishedIndex{Serial: prev.Serial, Files: map[string]string{}}
	for _, f := range prev.Fixes {
		p.Files[f.File] = f.SHA256
		if f.RPM != nil {
			p.Files[f.RPM.File] = f.RPM.SHA256
		}
	}
	return p, nil
}

// writeKeys adds the public key to batch unless keys/ has it already.
func writeKeys(root string, signer repo.Signer, batch *fileBatch) error {
	pub, err := signer.ArmoredPublic()
	if err != nil {
		return err
	}
	dir := filepath.Join(root, "keys")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(dir, signer.Fingerprint()+".asc")
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, pub) {
		return nil
	}
	return batch.add(path, pub)
}

// fileBatch is the build's atomicfile.Batch: every published file of a
// build is replaced atomically with one parallel round of fsyncs instead
// of two per file (with a dozen files per build, sequential fsyncs cost
// more than the rest of an incremental build), renamed in the order added
// so the publishing order (data, then index, then signature) holds.
type fileBatch struct {
	atomicfile.Batch
}

// add writes data to a temporary file beside path.
func (b *fileBatch) add(path string, data []byte) error {
	return b.WriteBytes(path, data, 0o644)
}

// addSigned adds data and then its detached signature.
func (b *fileBatch) addSigned(path string, data []byte, signer repo.Signer) error {
	sig, err := signer.SignDetached(data)
	if err != nil {
		return fmt.Errorf("sign %s: %w", path, err)
	}
	if err := b.add(path, data); err != nil {
		return err
	}
	return b.add(path+repo.SigSuffix, sig)
}
