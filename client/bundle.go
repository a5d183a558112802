package client

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/bundle"
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
}

func (s *bundleSource) command() string { return "hotfix install --from" }

func (s *bundleSource) plan(ctx context.Context, st *State) ([]repo.IndexFix, error) {
	c := s.c
	base, err := c.Base()
	if err != nil {
		return nil, err
	}
	latest := base
	if st.Base.Equal(base) && st.Product == c.Cfg.Product {
		latest = st.Latest()
	}
	kr, err := c.trusted()
	if err != nil {
		return nil, err
	}
	seen, err := loadSeen(c.Cfg.StateDir)
	if err != nil {
		return nil, err
	}
	limit := c.Cfg.Network.MaxIndexSize
	if limit <= 0 {
		limit = repo.MaxIndexSize
	}
	s.cache = c.channelCache(base)
	s.carry = map[string]bool{}
	pending := map[string]bool{}
	fh, err := openRegular(s.path)
	if err != nil {
		return nil, fmt.Errorf("install --from: %w", err)
	}
	defer fh.Close()
	contents, err := bundle.Read(ctx, fh, bundle.Handler{
		MaxIndexSize: limit,
		Index: func(h *bundle.Header, data, sig []byte) (*repo.Index, error) {
			if h.Product != c.Cfg.Product || !h.Base.Equal(base) {
				return nil, fmt.Errorf("install --from %s: the bundle holds %s %s, but this server runs %s %s: export the channel of base %s", s.path, h.Product, h.Base, c.Cfg.Product, base, base)
			}
			ix, err := VerifyIndex(data, sig, IndexCheck{Keyring: kr, Product: c.Cfg.Product, Base: base, Now: c.Now(),
				LastSerial: seen.Serials[channelKey(c.Cfg.Product, base)], MaxSize: limit, ConfigPath: c.Cfg.Path,
				AllowExpired: s.opts.AllowExpired})
			if err != nil {
				return nil, err
			}
			for _, f := range Pending(ix, latest) {
				pending[f.File] = true
			}
			return ix, nil
		},
		Archive: func(name string) (bundle.Sink, error) {
			if !pending[name] {
				return nil, nil
			}
			if err := os.MkdirAll(s.cache, 0o755); err != nil {
				return nil, err
			}
			s.carry[name] = true
			return atomicfile.Create(filepath.Join(s.cache, name), 0o644)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("install --from %s: %w", s.path, err)
	}
	ix := contents.Index
	if err := s.accepted(ctx, ix); err != nil {
		return nil, err
	}
	todo := Pending(ix, latest)
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
	return allowed, nil
}

// accepted records the verified index's serial, as a check does, so an
// older bundle or index cannot be replayed afterwards; and an expired
// index taken with AllowExpired in the audit log.
func (s *bundleSource) accepted(ctx context.Context, ix *repo.Index) error {
	c := s.c
	if err := updateSeen(ctx, c.Cfg.StateDir, c.Cfg.LockDir, func(seen *Seen) {
		key := channelKey(ix.Product, ix.Base)
		seen.Serials[key] = max(seen.Serials[key], ix.Serial)
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
