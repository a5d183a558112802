package client

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/bundle"
	"github.com/hotfix-project/hotfix/sign"
)

// ErrNotBundle is the refusal of AllowExpired for a file that is not an
// export bundle: only a bundle carries an index that can expire.
var ErrNotBundle = errors.New("not an export bundle, and only a bundle's index can be accepted expired")

// isBundle reports whether the regular file at path starts with an
// export bundle's header entry. Only the first tar header is read.
func isBundle(path string) bool {
	fh, err := openRegular(path)
	if err != nil {
		return false
	}
	defer fh.Close()
	hdr, err := tar.NewReader(fh).Next()
	return err == nil && hdr.Name == bundle.HeaderName
}

// bundleSource installs the pending chain from an export bundle with the
// trust rules of the repository: the index must verify against
// trusted_keys, be of this product and base, not be older than a serial
// seen, and not be expired (unless AllowExpired, which the audit log
// records); each archive must have the index's size and sha256. The
// bundle is read once, to its end, under the transaction lock; only
// verified archives of pending fixes are kept, in the download cache.
type bundleSource struct {
	c     *Client
	path  string // absolute
	opts  *InstallOptions
	cache string
	carry map[string]bool // file names the bundle carried, verified, into the cache
	held  error           // what gate held back of the plan, reported after the install
	// custom is the configured customer's verified index, where the
	// bundle carries that channel; customs and replacing are its run.
	custom    *repo.CustomIndex
	customs   []repo.CustomIndexFix
	replacing map[string]string
}

func (s *bundleSource) command() string { return "hotfix install --from" }

func (s *bundleSource) plan(ctx context.Context, st *State) ([]repo.IndexFix, error) {
	c := s.c
	base, err := c.Base()
	if err != nil {
		return nil, err
	}
	r := &bundleRead{s: s, ctx: ctx, base: base, latest: base, lists: KeyListFiles{}, pending: map[string]bool{}}
	if st.Base.Equal(base) && st.Product == c.Cfg.Product {
		r.latest = st.Latest()
	}
	if r.kr, err = c.trusted(); err != nil {
		return nil, err
	}
	if r.seen, err = loadSeen(c.Cfg.StateDir); err != nil {
		return nil, err
	}
	r.limit = c.maxIndexSize()
	s.cache = c.channelCache(base)
	s.carry = map[string]bool{}
	fh, err := openRegular(s.path)
	if err != nil {
		return nil, fmt.Errorf("install --from: %w", err)
	}
	defer fh.Close()
	contents, err := bundle.Read(ctx, fh, bundle.Handler{MaxIndexSize: r.limit, Key: r.lists.Add, Index: r.index, Custom: r.custom, Archive: r.archive})
	if err != nil {
		return nil, fmt.Errorf("install --from %s: %w", s.path, err)
	}
	ix := contents.Index
	if err := s.accepted(ctx, ix); err != nil {
		return nil, err
	}
	todo := Pending(ix, r.latest)
	for _, f := range todo {
		if !s.carry[f.File] {
			return nil, fmt.Errorf("install --from %s: fix %s is pending here but the bundle carries only the fixes from %s on: export again with --from %s (or without --from)",
				s.path, f.Version, contents.Header.FromVersion(), f.Version)
		}
	}
	// A bundle takes an instance no further past its parent, nor a
	// cluster secondary past its primary, than the repository would.
	allowed, held, err := c.gate(todo, &InstallOptions{})
	if err != nil {
		return nil, err
	}
	if len(allowed) == 0 && held != nil {
		return nil, fmt.Errorf("install --from %s: %w", s.path, held)
	}
	s.held = held
	if s.custom != nil {
		if s.customs, s.replacing, err = planCustomRun(s.custom, st, allowed); err != nil {
			return nil, err
		}
	} else if c.Cfg.Customer != "" {
		c.Log.Info("the bundle carries no channel of this server's customer; export it with --customer to install customer fixes", "customer", c.Cfg.Customer, "bundle", s.path)
	}
	return allowed, nil
}

// bundleRead is one read of a bundle: what its handlers share.
type bundleRead struct {
	s            *bundleSource
	ctx          context.Context
	base, latest repo.Version
	kr           *sign.Keyring
	seen         *Seen
	limit        int64
	lists        KeyListFiles    // the bundle's key lists, read before its indexes
	pending      map[string]bool // archives of fixes pending here
}

// check is the trust check of a bundle's index: the bundle's keys/ stands
// for the repository's, its key lists walked from the trusted root keys
// as a check walks the repository's, and the index counts by them.
func (r *bundleRead) check(data []byte, seenKey string) (IndexCheck, error) {
	c := r.s.c
	keys, err := c.indexKeysFrom(r.ctx, ClaimedKeyList(data), r.lists.Read)
	return IndexCheck{Keyring: r.kr, Keys: keys, Product: c.Cfg.Product, Base: r.base, Now: c.Now(),
		LastSerial: r.seen.Serials[seenKey], MaxSize: r.limit, ConfigPath: c.Cfg.Path, TrustedKeys: c.trustedKeysName(), AllowExpired: r.s.opts.AllowExpired}, err
}

func (r *bundleRead) index(h *bundle.Header, data, sig []byte) (*repo.Index, error) {
	c := r.s.c
	if h.Product != c.Cfg.Product || !h.Base.Equal(r.base) {
		return nil, fmt.Errorf("install --from %s: the bundle holds %s %s, but this server runs %s %s: export the channel of base %s", r.s.path, h.Product, h.Base, c.Cfg.Product, r.base, r.base)
	}
	if err := h.CheckKeyListOrder(ClaimedKeyList(data)); err != nil {
		return nil, err
	}
	check, err := r.check(data, channelKey(c.Cfg.Product, r.base))
	if err != nil {
		return nil, err
	}
	ix, err := VerifyIndex(data, sig, check)
	if err != nil {
		return nil, err
	}
	for _, f := range Pending(ix, r.latest) {
		r.pending[f.File] = true
	}
	return ix, nil
}

// custom verifies every customer channel the bundle carries (the vendor
// signed them all) and keeps this server's customer's index.
func (r *bundleRead) custom(customer string, data, sig []byte) (*repo.CustomIndex, error) {
	c := r.s.c
	check, err := r.check(data, customKey(c.Cfg.Product, r.base, customer))
	if err != nil {
		return nil, err
	}
	ix, err := VerifyCustomIndex(data, sig, customer, check)
	if err == nil && customer == c.Cfg.Customer {
		r.s.custom = ix
	}
	return ix, err
}

// archive keeps the archives of pending fixes in the channel's cache and
// this server's customer fixes in the customer's, where a download puts
// them; the bundle reader verifies each before it is kept.
func (r *bundleRead) archive(name string) (bundle.Sink, error) {
	c, s := r.s.c, r.s
	if own, ok := strings.CutPrefix(name, repo.CustomDir+"/"+c.Cfg.Customer+"/"); ok && c.Cfg.Customer != "" {
		if err := os.MkdirAll(c.customCache(r.base), 0o755); err != nil {
			return nil, err
		}
		return atomicfile.Create(filepath.Join(c.customCache(r.base), own), 0o644)
	}
	if !r.pending[name] {
		return nil, nil
	}
	if err := os.MkdirAll(s.cache, 0o755); err != nil {
		return nil, err
	}
	s.carry[name] = true
	return atomicfile.Create(filepath.Join(s.cache, name), 0o644)
}

func (s *bundleSource) customRun() ([]repo.CustomIndexFix, map[string]string) {
	return s.customs, s.replacing
}

func (s *bundleSource) customIndex() *repo.CustomIndex { return s.custom }

// customArchive is the customer fix's archive as the bundle carried it
// into the cache, verified against the customer's signed index.
func (s *bundleSource) customArchive(_ context.Context, base repo.Version, f repo.CustomIndexFix) (string, error) {
	return filepath.Join(s.c.customCache(base), f.File), nil
}

// accepted records the verified index's serial, as a check does, so an
// older bundle or index cannot be replayed afterwards; and an expired
// index taken with AllowExpired in the audit log.
func (s *bundleSource) accepted(ctx context.Context, ix *repo.Index) error {
	c := s.c
	if err := updateSeen(ctx, c.Cfg.StateDir, c.Cfg.LockDir, func(seen *Seen) {
		key := channelKey(ix.Product, ix.Base)
		seen.Serials[key] = max(seen.Serials[key], ix.Serial)
		if s.custom != nil {
			key := customKey(ix.Product, ix.Base, s.custom.Customer)
			seen.Serials[key] = max(seen.Serials[key], s.custom.Serial)
		}
	}); err != nil {
		return fmt.Errorf("record the bundle's serial: %w", err)
	}
	if !c.Now().After(ix.Expires) {
		return nil
	}
	c.Log.Warn("installing from an expired index, as --allow-expired asked", "bundle", s.path, "expired", ix.Expires)
	return c.audit("allow-expired", nil, "ok", fmt.Sprintf("from %s; index of %s %s serial %d expired on %s, accepted with --allow-expired",
		s.path, ix.Product, ix.Base, ix.Serial, ix.Expires.UTC().Format("2006-01-02 15:04 UTC")))
}

func (s *bundleSource) fetch(_ context.Context, f repo.IndexFix) (archive, error) {
	a := archive{path: filepath.Join(s.cache, f.File), origin: "from " + s.path + "; "}
	if strings.HasSuffix(f.File, ".rpm") {
		a.kind = rpmPackage
	}
	return a, nil
}

func (s *bundleSource) rolledBack(vs []repo.Version) string {
	return fmt.Sprintf("the fixes of this run (%s) were rolled back", joinVersions(vs))
}

// KeyListFiles are the key list versions of a keys/ folder read whole
// (an export bundle's, which comes before its index from format 2 on),
// by file name.
type KeyListFiles map[string][]byte

// Add keeps a keys/ file if it is a key list version or its signature.
func (l KeyListFiles) Add(name string, data []byte) error {
	if _, ok := repo.KeyListVersion(strings.TrimSuffix(name, repo.SigSuffix)); ok {
		l[name] = data
	}
	return nil
}

// Read is a KeyListReader over the files: a version without its
// signature is refused as the repository's would be.
func (l KeyListFiles) Read(_ context.Context, v int64) (data, sig []byte, ok bool, err error) {
	name := path.Base(repo.KeyListPath(v))
	data, ok = l[name]
	if !ok {
		return nil, nil, false, nil
	}
	if sig, ok = l[name+repo.SigSuffix]; !ok {
		return nil, nil, false, &TrustError{What: "key list version " + fmt.Sprint(v), Err: fmt.Errorf("%w: keys/%s comes without its signature", repo.ErrKeyListSignature, name),
			Hint: "export the bundle again from the vendor's repository"}
	}
	return data, sig, true, nil
}
