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

	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/site"
	"github.com/hotfix-project/hotfix/repo/yum"
)

// ErrNoSigner is Build's refusal to run without a signer: a repository is
// published signed or not at all.
var ErrNoSigner = errors.New("build: a signing key is required")

// BuildOptions tune Build.
type BuildOptions struct {
	Signer  repo.Signer
	Expires time.Duration // validity of the indexes; 0 means DefaultExpires, at least MinExpires
	// MaxIndexSize bounds each channel's index.json; 0 means
	// repo.MaxIndexSize, what clients read by default. Raise it only
	// when every client has raised its [network] max_index_size.
	MaxIndexSize int64
	Now          func() time.Time // nil means time.Now
	Logger       *slog.Logger
	// BugURL, when not nil, sets the template that links bug ids on the
	// pages ("{id}" is replaced by the id; "" stops linking) and is kept
	// in the repository for later builds; nil uses the kept one.
	BugURL *string
	site   site.Options // resolved by Build

	keyList int64 // the key-list version the indexes are signed under
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
	// Customers lists the customer channels built
	// (PRODUCT/BASE/custom/CUSTOMER).
	Customers []CustomChannelResult
	// KeyList is the key list the indexes were signed under; nil in a
	// repository without one.
	KeyList *repo.KeyList
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
	if err := checkExpires(expires); err != nil {
		return nil, err
	}
	kl, err := buildKeyList(root, opts.Signer.Fingerprint(), now(), log)
	if err != nil {
		return nil, err
	}
	channels, err := listChannels(root)
	if err != nil {
		return nil, err
	}
	generated := now().UTC().Truncate(time.Second)
	siteOpts, keepSite, err := siteOptions(root, opts.BugURL, opts.Signer.Fingerprint())
	if err != nil {
		return nil, err
	}
	opts.site = siteOpts
	res := &BuildResult{KeyList: kl}
	ri := &repo.RootIndex{Format: repo.IndexFormat, Generated: generated, Expires: generated.Add(expires)}
	if kl != nil {
		opts.keyList, ri.KeyList = kl.Version, kl.Version
	}
	products := map[string]*repo.Product{}
	var order []string
	for _, ch := range channels {
		cr, hashed, err := buildChannel(ctx, ch, generated, expires, opts, log)
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
	customs, err := listCustomChannels(root)
	if err != nil {
		return nil, err
	}
	for _, cc := range customs {
		cr, err := buildCustom(ctx, cc, generated, expires, opts, log)
		if err != nil {
			return nil, err
		}
		res.Customers = append(res.Customers, *cr)
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
	page, err := site.RootPage(ri, opts.Signer.Fingerprint())
	if err != nil {
		return nil, err
	}
	if err := batch.add(filepath.Join(root, "index.html"), page); err != nil {
		return nil, err
	}
	if err := batch.Commit(ctx); err != nil {
		return nil, err
	}
	if err := keepSite(); err != nil {
		return nil, fmt.Errorf("the repository is built; keeping the bug link template for later builds: %w", err)
	}
	return res, nil
}

// buildChannel publishes one channel: index.json and its signature,
// index.html and, with RPMs, repodata, all in one batch.
func buildChannel(ctx context.Context, ch channel, generated time.Time, expires time.Duration, opts BuildOptions, log *slog.Logger) (*ChannelResult, int, error) {
	caches := preloadRepodataCache(ch.Dir)
	entries, cat, hashed, err := scanChannel(ctx, ch, log)
	if err != nil {
		return nil, 0, err
	}
	ix, published, err := channelIndex(ch, entries, cat, generated, expires)
	if err != nil {
		return nil, 0, err
	}
	ix.KeyList = opts.keyList
	if err := applyRollouts(ch, ix, log); err != nil {
		return nil, 0, err
	}
	st, err := stageChannel(ctx, ch, ix, entries, cat, generated, opts.Signer, opts.site, log, caches)
	defer st.abort()
	if err != nil {
		return nil, 0, err
	}
	// Checked on the staged bytes, before the batch commits: an index
	// the clients refuse is not published at all.
	if err := checkIndexSize(ch.Product, ch.Base, int64(len(st.index)), opts.MaxIndexSize); err != nil {
		return nil, 0, err
	}
	sum := sha256.Sum256(st.index)
	published.SHA256, published.Serial = hex.EncodeToString(sum[:]), ix.Serial
	// The caches need no sync and describe the archives, not the
	// published files (the catalog's record of index.json is checked
	// against its hash before use): they are saved while the batch waits
	// for the disk.
	var cerr, aerr error
	var wg sync.WaitGroup
	wg.Go(func() {
		cat.Published = published
		cerr = cat.save(ch.Dir)
	})
	err = st.batch.Commit(ctx)
	if err == nil && st.afterRepodata != nil {
		aerr = st.afterRepodata(true)
		st.afterRepodata = nil
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

// channelIndex makes a channel's next index from its entries, refusing a
// gap in the chain or a published file whose content changed, and the
// record of what it publishes for the catalog.
func channelIndex(ch channel, entries []*catalogEntry, cat *catalog, generated time.Time, expires time.Duration) (*repo.Index, *publishedIndex, error) {
	have := make([]repo.Version, len(entries))
	for i, e := range entries {
		have[i] = e.Version
	}
	ce := &repo.ChainError{Product: ch.Product, Base: ch.Base, Missing: repo.MissingFixes(ch.Base, have)}
	ix := &repo.Index{Format: repo.IndexFormat, Product: ch.Product, Base: ch.Base, Serial: 1,
		Generated: generated, Expires: generated.Add(expires), Fixes: []repo.IndexFix{}}
	prev, err := previousIndex(filepath.Join(ch.Dir, repo.IndexName), cat.Published)
	if err != nil {
		return nil, nil, err
	}
	if prev != nil {
		ix.Serial = prev.Serial + 1
		// A file the previous index published must still have its
		// content; files added beside it are no change.
		for _, e := range entries {
			for _, f := range []*catalogEntry{e, e.RPMEntry} {
				if f == nil {
					continue
				}
				if sum, ok := prev.Files[f.File]; ok && sum != f.SHA256 {
					ce.Changed = append(ce.Changed, e.Version.String())
					break
				}
			}
		}
	}
	if ce.Failed() {
		return nil, nil, ce
	}
	published := &publishedIndex{Files: make(map[string]string, len(entries))}
	for _, e := range entries {
		var rpm *repo.Archive
		if e.RPMEntry != nil {
			rpm = &e.RPMEntry.Archive
			published.Files[rpm.File] = rpm.SHA256
		}
		f := e.IndexFix(rpm)
		f.Published = publishedTime(e, prev, generated)
		ix.Fixes = append(ix.Fixes, f)
		published.Files[e.File] = e.SHA256
	}
	return ix, published, nil
}

// publishedTime is when e's fix first appeared in the channel's index:
// what the previous index signed, else what the catalog kept from the
// build that wrote it, else now for a new fix. A fix an older index
// listed without a time (written before indexes carried one) gets its
// archive's modification time, the closest record of its release. The
// entry keeps the time for the next build.
func publishedTime(e *catalogEntry, prev *publishedIndex, generated time.Time) time.Time {
	t := e.Published
	if prev != nil {
		if pt, ok := prev.Times[e.Version.String()]; ok {
			t = pt
		}
	}
	if t.IsZero() {
		t = generated
		if prev.lists(e.File) {
			if m := time.Unix(0, e.MTimeNS).UTC().Truncate(time.Second); m.Before(generated) {
				t = m
			}
		}
	}
	if !t.Equal(e.Published) {
		e.Published, e.logged = t, false
	}
	return t
}

// lists says whether the previous index listed the file.
func (p *publishedIndex) lists(name string) bool {
	if p == nil {
		return false
	}
	_, ok := p.Files[name]
	return ok
}

// stagedChannel is a channel's files, written beside their targets and
// waiting in one batch: repodata, then index.json and its signature, then
// the page.
type stagedChannel struct {
	batch         fileBatch
	index         []byte
	afterRepodata func(committed bool) error // nil once called
}

// abort removes what was not committed and waits for the repodata caches.
func (st *stagedChannel) abort() {
	st.batch.Abort()
	if st.afterRepodata != nil {
		st.afterRepodata(false)
	}
}

// stageChannel writes a channel's new files beside their targets. The
// repodata, the index and the page are independent: made at the same
// time, they keep both cores busy where one after the other would leave
// one idle for most of an incremental build.
func stageChannel(ctx context.Context, ch channel, ix *repo.Index, entries []*catalogEntry, cat *catalog, generated time.Time, signer repo.Signer, siteOpts site.Options, log *slog.Logger, caches func() *yum.Cache) (*stagedChannel, error) {
	st := &stagedChannel{}
	var (
		page       []byte
		rerr, perr error
		wg         sync.WaitGroup
	)
	wg.Go(func() {
		st.afterRepodata, rerr = stageRepodata(ctx, ch.Dir, entries, generated, signer, &st.batch, log, caches)
	})
	// The page and the feed share the archives' details, made once.
	details := make(map[string]*repo.Archive, len(entries))
	for _, e := range entries {
		details[e.Version.String()] = &e.Archive
	}
	var feed []byte
	wg.Go(func() {
		if page, perr = channelPage(ctx, ix, entries, details, cat, siteOpts); perr == nil {
			feed, perr = site.ChannelFeed(ix, details)
		}
	})
	indexPath := filepath.Join(ch.Dir, repo.IndexName)
	data, sig, err := marshalSigned(ix, indexPath, signer)
	wg.Wait()
	if rerr != nil {
		return st, fmt.Errorf("repodata of %s: %w", ch.Dir, rerr)
	}
	if err != nil {
		return st, err
	}
	if perr != nil {
		return st, perr
	}
	st.index = data
	if err := st.batch.add(indexPath, data); err != nil {
		return st, err
	}
	if err := st.batch.add(indexPath+repo.SigSuffix, sig); err != nil {
		return st, err
	}
	if err := st.batch.add(filepath.Join(ch.Dir, "index.html"), page); err != nil {
		return st, err
	}
	return st, st.batch.add(filepath.Join(ch.Dir, site.FeedName), feed)
}

// channelPage renders the channel's page with the fix sections the
// catalog keeps, and keeps those rendered now.
func channelPage(ctx context.Context, ix *repo.Index, entries []*catalogEntry, details map[string]*repo.Archive, cat *catalog, opts site.Options) ([]byte, error) {
	if id := site.SectionID(opts); cat.PageTemplate != id {
		for _, e := range cat.Archives {
			e.Page = nil
		}
		cat.PageTemplate = id
	}
	sections := make(map[string][]byte, len(entries))
	bySum := make(map[string]*catalogEntry, len(entries))
	for _, e := range entries {
		bySum[e.SHA256] = e
		if e.Page != nil {
			sections[e.SHA256] = e.Page
		}
	}
	page, err := site.ChannelPage(ctx, ix, details, sections, opts)
	if err != nil {
		return nil, err
	}
	for sum, section := range sections {
		if e := bySum[sum]; e != nil && e.Page == nil {
			e.Page = section
		}
	}
	return page, nil
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
// catalog says a build wrote last, the catalog's record of it is
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
	p := &publishedIndex{Serial: prev.Serial, Files: map[string]string{}, Times: map[string]time.Time{}}
	for _, f := range prev.Fixes {
		p.Files[f.File] = f.SHA256
		if !f.Published.IsZero() {
			p.Times[f.Version.String()] = f.Published
		}
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
