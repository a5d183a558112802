package mirror

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/repo"
)

// customPlan is one customer's channel (PRODUCT/BASE/custom/CUSTOMER),
// verified; its archives are staged with the vendor channel's, under
// custom/CUSTOMER/.
type customPlan struct {
	customer   string
	index, sig []byte
}

// customers fetches the customer channels of cp the run mirrors: from a
// directory every one it holds, over HTTP (where nothing lists them) the
// ones Options.Customers names. found records which named ones exist.
func (r *remote) customers(ctx context.Context, cp *channelPlan, found map[string]bool) error {
	names := append([]string(nil), r.m.opts.Customers...)
	if r.dir != "" {
		ents, err := os.ReadDir(filepath.Join(r.dir, filepath.FromSlash(cp.rel()), repo.CustomDir))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		for _, e := range ents {
			if e.IsDir() && repo.ValidCustomerName(e.Name()) == nil {
				names = append(names, e.Name())
			}
		}
	}
	seen := map[string]bool{}
	for _, name := range names {
		if seen[name] {
			continue
		}
		seen[name] = true
		rel := repo.CustomIndexPath(cp.product, cp.base, name)
		data, sig, err := r.signed(ctx, rel+"/"+repo.IndexName, r.m.maxIndex())
		if err != nil && missing(err) {
			continue // this customer has no channel of this base
		}
		if err != nil {
			return err
		}
		ix, err := r.m.verifyCustom(cp, name, data, sig)
		if err != nil {
			return fmt.Errorf("mirror: %w", err)
		}
		found[name] = true
		for _, f := range ix.Fixes {
			ref := fileRef{name: repo.CustomDir + "/" + name + "/" + f.File, size: f.Size, sha256: f.SHA256}
			keep, err := r.m.have(cp, ref)
			if err != nil {
				return err
			}
			if keep {
				continue
			}
			frel := cp.rel() + "/" + ref.name
			if err := r.f.Download(ctx, frel, r.m.stagedPath(frel), f.Size, f.SHA256, nil); err != nil {
				return fmt.Errorf("mirror: %s: %w", frel, err)
			}
			cp.staged = append(cp.staged, ref.name)
		}
		cp.customs = append(cp.customs, customPlan{customer: name, index: data, sig: sig})
	}
	return nil
}

// verifyCustom applies the rules of a channel index to a customer's:
// signature, its own product, base and customer, expiry, and a serial
// never lower than (nor equal with other bytes to) the mirror's.
func (m *mirror) verifyCustom(cp *channelPlan, customer string, data, sig []byte) (*repo.CustomIndex, error) {
	rel := repo.CustomIndexPath(cp.product, cp.base, customer) + "/" + repo.IndexName
	now := m.opts.Now()
	if _, err := m.opts.Keyring.Verify(data, sig, now); err != nil {
		return nil, &client.TrustError{What: rel, Err: err}
	}
	ix, err := repo.ParseCustomIndex(data)
	if err != nil {
		return nil, &client.TrustError{What: rel, Err: err, Hint: "the vendor signed a malformed customer index"}
	}
	if ix.Product != cp.product || !ix.Base.Equal(cp.base) || ix.Customer != customer {
		return nil, &client.TrustError{What: rel, Err: fmt.Errorf("%w: the signed index is for %s %s customer %s", client.ErrMismatch, ix.Product, ix.Base, ix.Customer)}
	}
	if now.After(ix.Expires) {
		return nil, &client.TrustError{What: rel, Err: fmt.Errorf("%w: expired on %s", client.ErrExpired, ix.Expires.UTC().Format(time.RFC3339)),
			Hint: "the source is stale: the vendor must rebuild it"}
	}
	old, err := os.ReadFile(m.local(rel))
	if errors.Is(err, os.ErrNotExist) {
		return ix, nil
	}
	if err != nil {
		return nil, err
	}
	prev, err := repo.ParseCustomIndex(old)
	if err != nil {
		return nil, fmt.Errorf("the mirror's %s: %w: remove it to mirror the channel afresh", rel, err)
	}
	switch {
	case ix.Serial < prev.Serial:
		return nil, fmt.Errorf("%w: %s: serial %d is lower than the mirror's %d", ErrRollback, rel, ix.Serial, prev.Serial)
	case ix.Serial == prev.Serial && string(old) != string(data):
		return nil, fmt.Errorf("%w: %s: serial %d with other content than the mirror's: refusing a source that reuses a serial", ErrRollback, rel, ix.Serial)
	}
	return ix, nil
}
