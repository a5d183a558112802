package mirror

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

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
		ix, err := r.m.verifyCustom(ctx, cp, name, data, sig)
		if err != nil {
			return fmt.Errorf("mirror: %w", err)
		}
		found[name] = true
		if err := r.fetch(ctx, cp, customArchives(ix)); err != nil {
			return err
		}
		cp.customs = append(cp.customs, customPlan{customer: name, index: data, sig: sig})
	}
	return nil
}

// verifyCustom applies the client's rules to a customer's index (the
// trust sequence of every index: signature under the key list, product,
// base and customer, key-list version, expiry), with a serial never
// lower than (nor equal with other bytes to) the mirror's.
func (m *mirror) verifyCustom(ctx context.Context, cp *channelPlan, customer string, data, sig []byte) (*repo.CustomIndex, error) {
	rel := repo.CustomIndexPath(cp.product, cp.base, customer) + "/" + repo.IndexName
	old, err := m.readLocal(rel, m.maxIndex())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var last int64
	if old != nil {
		prev, err := repo.ParseCustomIndex(old)
		if err != nil {
			return nil, fmt.Errorf("the mirror's %s: %w: remove it to mirror the channel afresh", rel, err)
		}
		last = prev.Serial
	}
	check, err := m.check(ctx, data)
	if err != nil {
		return nil, err
	}
	check.Product, check.Base, check.LastSerial = cp.product, cp.base, last
	ix, err := client.VerifyCustomIndex(data, sig, customer, check)
	if errors.Is(err, client.ErrReplayed) {
		return nil, fmt.Errorf("%w: %s: %w", ErrRollback, rel, err)
	}
	if err != nil {
		return nil, err
	}
	if old != nil && ix.Serial == last && string(old) != string(data) {
		return nil, fmt.Errorf("%w: %s: serial %d with other content than the mirror's: refusing a source that reuses a serial", ErrRollback, rel, ix.Serial)
	}
	return ix, nil
}
