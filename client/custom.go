package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/hotfix-project/hotfix/repo"
)

// Customer fixes on a server: with customer = "shop-a" the client also
// reads PRODUCT/BASE/custom/shop-a/index.json (signed and verified like a
// channel index, its serial remembered in seen.json), and installs the
// customer's fixes after the vendor chain. Their files take precedence
// over the vendor's; see custom_install.go for the rules.

// InstalledCustom is one customer fix recorded as installed.
type InstalledCustom struct {
	ID          string            `json:"id"`
	Customer    string            `json:"customer"`
	Version     repo.Version      `json:"version"`
	MinFix      *repo.Version     `json:"min_fix,omitempty"`
	Supersedes  []string          `json:"supersedes,omitempty"`
	InstalledAt time.Time         `json:"installed_at"`
	By          string            `json:"by"`
	Summary     string            `json:"summary,omitempty"`
	Files       map[string]string `json:"files,omitempty"`   // path → sha256 as installed
	Deleted     []string          `json:"deleted,omitempty"` // paths the fix removed
	// Overridden names, by path, the vendor fix whose file won over this
	// fix's (install --force, or a superseding customer fix on its way):
	// uninstall leaves those paths to the vendor.
	Overridden map[string]string `json:"overridden,omitempty"`
	// Previous holds the file database records this fix replaced or
	// dropped, by path: its uninstall puts them back (undoCustomFiles).
	Previous map[string]FileRecord `json:"previous_owners,omitempty"`
}

// owned lists the paths the fix owns now: what it shipped or deleted,
// less what a vendor fix overrode.
func (f *InstalledCustom) owned() []string {
	var out []string
	for p := range f.Files {
		if _, ok := f.Overridden[p]; !ok {
			out = append(out, p)
		}
	}
	for _, p := range f.Deleted {
		if _, ok := f.Overridden[p]; !ok {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// customFix returns the installed customer fix id, or nil.
func (s *State) customFix(id string) *InstalledCustom {
	for i := range s.Custom {
		if s.Custom[i].ID == id {
			return &s.Custom[i]
		}
	}
	return nil
}

// customKey names a customer's channel in seen.json.
func customKey(product string, base repo.Version, customer string) string {
	return repo.CustomIndexPath(product, base, customer)
}

// customCache is the cache directory of the customer's channel.
func (c *Client) customCache(base repo.Version) string {
	return filepath.Join(c.channelCache(base), repo.CustomDir, c.Cfg.Customer)
}

// CustomCheck is what Check found of the customer's fixes.
type CustomCheck struct {
	Customer string
	Index    *repo.CustomIndex
	// Pending are the fixes to install after the vendor chain, by id:
	// not installed (or installed at an older version), not superseded,
	// and with min_fix within the chain.
	Pending []repo.CustomIndexFix
	// Waiting are fixes whose min_fix is beyond the vendor chain's
	// newest fix; they are not pending.
	Waiting []repo.CustomIndexFix
}

// checkCustom fetches the customer's index and decides what is pending,
// given the vendor level the pending chain reaches.
func (c *Client) checkCustom(ctx context.Context, st *State, base, vendorEnd repo.Version) (*CustomCheck, error) {
	ix, err := c.fetchCustomIndex(ctx, base)
	if err != nil {
		return nil, err
	}
	cc := &CustomCheck{Customer: c.Cfg.Customer, Index: ix}
	cc.Pending, cc.Waiting = customPending(ix, st, vendorEnd)
	return cc, nil
}

// customPending splits the index's fixes into those to install and
// those waiting for a vendor fix.
func customPending(ix *repo.CustomIndex, st *State, vendorEnd repo.Version) (pending, waiting []repo.CustomIndexFix) {
	superseded := map[string]bool{}
	for _, f := range ix.Fixes {
		for _, id := range f.Supersedes {
			superseded[id] = true
		}
	}
	for _, f := range st.Custom {
		for _, id := range f.Supersedes {
			superseded[id] = true
		}
	}
	for _, f := range ix.Fixes {
		if in := st.customFix(f.ID); in != nil && in.Version.Compare(f.Version) >= 0 {
			continue
		}
		if superseded[f.ID] {
			continue
		}
		if f.MinFix != nil && f.MinFix.Compare(vendorEnd) > 0 {
			waiting = append(waiting, f)
			continue
		}
		pending = append(pending, f)
	}
	return pending, waiting
}

// fetchCustomIndex returns the verified index of the customer's channel,
// fetched as the channel index is (fetchSigned: conditional requests, a
// copy the server says is unchanged verified again) and cached beside
// the customer's archives.
func (c *Client) fetchCustomIndex(ctx context.Context, base repo.Version) (*repo.CustomIndex, error) {
	kr, err := c.trusted()
	if err != nil {
		return nil, err
	}
	seen, err := loadSeen(c.Cfg.StateDir)
	if err != nil {
		return nil, err
	}
	rel := repo.CustomIndexPath(c.Cfg.Product, base, c.Cfg.Customer) + "/" + repo.IndexName
	limit := c.maxIndexSize()
	what := fmt.Sprintf("customer index of %s for %s %s", c.Cfg.Customer, c.Cfg.Product, base)
	got, err := c.fetchSigned(ctx, c.customCache(base), rel, limit)
	var sigErr *sigFetchError
	if errors.As(err, &sigErr) {
		return nil, fmt.Errorf("fetch the signature of the %s: %w", what, sigErr.err)
	}
	if err != nil {
		var he *HTTPError
		if errors.As(err, &he) && he.Status == 404 {
			return nil, fmt.Errorf("fetch %s: %w: the vendor has published no customer fixes for %q; check customer = %q in %s", what, err, c.Cfg.Customer, c.Cfg.Customer, c.Cfg.Path)
		}
		hint := reachHint(err, c.Cfg)
		if errors.Is(err, ErrTooLarge) {
			hint = ": " + indexSizeHint(limit, c.Cfg.Path)
		}
		return nil, fmt.Errorf("fetch %s: %w%s", what, err, hint)
	}
	data, sig := got.Data, got.Sig
	// The customer index counts by the same key list as the vendor's:
	// a revoked signing key signs neither.
	keys, err := c.indexKeys(ctx, ClaimedKeyList(data))
	if err != nil {
		return nil, err
	}
	ix, err := VerifyCustomIndex(data, sig, c.Cfg.Customer, IndexCheck{
		Keyring: kr, Keys: keys, Product: c.Cfg.Product, Base: base, Now: c.Now(),
		LastSerial: seen.Serials[customKey(c.Cfg.Product, base, c.Cfg.Customer)], MaxSize: limit, ConfigPath: c.Cfg.Path,
		TrustedKeys: c.trustedKeysName(),
	})
	if err != nil {
		return nil, err
	}
	c.keep(got)
	return ix, nil
}

// VerifyCustomIndex is VerifyIndex for a customer's index: the same
// trust sequence (verifySigned: size, signature under the key list,
// key-list version, expiry, serial), and the product, base and customer
// asked for. It is pure.
func VerifyCustomIndex(data, sig []byte, customer string, c IndexCheck) (*repo.CustomIndex, error) {
	what := fmt.Sprintf("customer index of %s for %s %s", customer, c.Product, c.Base)
	var ix *repo.CustomIndex
	err := verifySigned(what, data, sig, c, "customer index", func() (signedHead, error) {
		var err error
		if ix, err = repo.ParseCustomIndex(data); err != nil {
			return signedHead{}, err
		}
		if ix.Product != c.Product || !ix.Base.Equal(c.Base) || ix.Customer != customer {
			return signedHead{}, fmt.Errorf("%w: the signed index is customer %s's of %s %s", ErrMismatch, ix.Customer, ix.Product, ix.Base)
		}
		return signedHead{ix.KeyList, ix.Expires, ix.Serial}, nil
	})
	if err != nil {
		return nil, err
	}
	return ix, nil
}

// PendingCount counts the vendor and customer fixes pending.
func (r *CheckResult) PendingCount() int {
	n := len(r.Pending)
	if r.Custom != nil {
		n += len(r.Custom.Pending)
	}
	return n
}

// chainEnd is the vendor level once the pending chain is installed.
func (r *CheckResult) chainEnd() repo.Version {
	if n := len(r.Pending); n > 0 {
		return r.Pending[n-1].Version
	}
	return r.Installed
}

// downloadCustom fetches the archive of customer fix f into the cache,
// checked against the customer's signed index, and returns its path.
func (c *Client) downloadCustom(ctx context.Context, base repo.Version, f repo.CustomIndexFix, w io.Writer) (string, error) {
	dest := filepath.Join(c.customCache(base), f.File)
	rel := repo.CustomIndexPath(c.Cfg.Product, base, c.Cfg.Customer) + "/" + f.File
	if err := c.Fetcher.Download(ctx, rel, dest, f.Size, f.SHA256, w); err != nil {
		return dest, fmt.Errorf("download customer fix %s %s: %w", f.ID, f.Version, err)
	}
	return dest, nil
}

// StatusCustom is an installed customer fix in status --json.
type StatusCustom struct {
	ID          string    `json:"id"`
	Customer    string    `json:"customer"`
	Version     string    `json:"version"`
	InstalledAt time.Time `json:"installed_at"`
	By          string    `json:"by"`
	// Overridden maps each path a vendor fix overrode to that fix's
	// version (install --force): the customer fix no longer owns it.
	Overridden map[string]string `json:"overridden,omitempty"`
}

func statusCustom(st *State) []StatusCustom {
	var out []StatusCustom
	for _, cf := range st.Custom {
		out = append(out, StatusCustom{ID: cf.ID, Customer: cf.Customer, Version: cf.Version.String(), InstalledAt: cf.InstalledAt, By: cf.By, Overridden: cf.Overridden})
	}
	return out
}

// cachedCustomIndex is the customer's last verified index of base,
// parsed but not verified again: good enough to find a cached archive,
// never to install.
func (c *Client) cachedCustomIndex(base repo.Version) *repo.CustomIndex {
	data, err := os.ReadFile(filepath.Join(c.customCache(base), repo.IndexName))
	if err != nil {
		return nil
	}
	ix, err := repo.ParseCustomIndex(data)
	if err != nil {
		return nil
	}
	return ix
}
