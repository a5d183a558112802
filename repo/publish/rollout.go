package publish

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hotfix-project/hotfix/internal/statefile"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/rpm"
)

// rolloutName is the vendor's record of each fix's rollout in a channel:
// what the next build signs into index.json. Unlike the catalog it is no
// cache (losing it would send every staged fix to everyone), so it is
// written synced and a damaged one stops the build. It is a dot-file:
// never served, never published.
const rolloutName = ".rollout.json"

// rolloutLockName serialises the read-modify-write of rolloutName.
const rolloutLockName = ".rollout.lock"

// rolloutLockWait is how long a rollout change waits for another.
const rolloutLockWait = 30 * time.Second

// rolloutFormat is the format version of rolloutName.
const rolloutFormat = 1

// rolloutRecord is the file: version → rollout. A fix it does not name
// goes to everyone.
type rolloutRecord struct {
	Format int                      `json:"format"`
	Fixes  map[string]*repo.Rollout `json:"fixes"`
}

// rolloutFile is a channel's rollout record as a state file: decoded
// strictly, written synced, changed under its lock.
func rolloutFile(dir string) statefile.File[rolloutRecord] {
	return statefile.File[rolloutRecord]{
		Path:    filepath.Join(dir, rolloutName),
		Lock:    filepath.Join(dir, rolloutLockName),
		Wait:    rolloutLockWait,
		Command: "hotfix repo rollout",
	}
}

// loadRollouts reads a channel's rollout record; none means no rollouts.
func loadRollouts(dir string, base repo.Version) (map[string]*repo.Rollout, error) {
	rec, found, err := rolloutFile(dir).Load()
	if err != nil {
		return nil, rolloutErr(dir, err)
	}
	if !found {
		return map[string]*repo.Rollout{}, nil
	}
	if err := checkRollouts(dir, base, rec); err != nil {
		return nil, err
	}
	return rec.Fixes, nil
}

// rolloutErr says what to do about a rollout record that cannot be read.
func rolloutErr(dir string, err error) error {
	if errors.Is(err, statefile.ErrDamaged) {
		return fmt.Errorf("%s: %w: restore it from a backup, or set each fix's stage again with hotfix repo rollout after removing it", filepath.Join(dir, rolloutName), err)
	}
	return fmt.Errorf("read rollouts: %w", err)
}

// checkRollouts checks what strict decoding cannot: the format, and that
// every entry is a valid rollout of a fix of this channel.
func checkRollouts(dir string, base repo.Version, rec *rolloutRecord) error {
	path := filepath.Join(dir, rolloutName)
	if rec.Format != rolloutFormat {
		return fmt.Errorf("%s: format %d is not supported (this hotfix writes %d): upgrade hotfix", path, rec.Format, rolloutFormat)
	}
	if rec.Fixes == nil {
		rec.Fixes = map[string]*repo.Rollout{}
	}
	for v, r := range rec.Fixes {
		ver, err := repo.ParseVersion(v)
		if err != nil || !ver.Base().Equal(base) || ver.Seq() < 1 {
			return fmt.Errorf("%s: %q is not a fix of %s", path, v, base)
		}
		if r == nil {
			return fmt.Errorf("%s: fix %s: empty rollout", path, v)
		}
		if err := r.Validate(); err != nil {
			return fmt.Errorf("%s: fix %s: %w", path, v, err)
		}
	}
	return nil
}

// updateRollouts runs change on a channel's rollout record under its
// lock and saves the result, synced: it is the vendor's decision, not a
// cache.
func updateRollouts(ctx context.Context, dir string, base repo.Version, change func(map[string]*repo.Rollout) error) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("record rollout: %w", err)
	}
	refused := false // the record's or the change's own error, already worded for the user
	err := rolloutFile(dir).Update(ctx, func(rec *rolloutRecord) error {
		if rec.Format == 0 && rec.Fixes == nil {
			rec.Format = rolloutFormat // no record yet
		}
		err := checkRollouts(dir, base, rec)
		if err == nil {
			err = change(rec.Fixes)
		}
		refused = err != nil
		return err
	})
	switch {
	case err == nil || refused:
		return err
	case errors.Is(err, statefile.ErrDamaged):
		return rolloutErr(dir, err)
	}
	return fmt.Errorf("record rollout: %w", err)
}

// applyRollouts gives each fix of the channel's next index its recorded
// rollout, so that the build signs it. A record of a version the channel
// does not hold (an add interrupted after recording --testing) is kept
// for when the fix arrives, and logged.
func applyRollouts(ch channel, ix *repo.Index, log *slog.Logger) error {
	fixes, err := loadRollouts(ch.Dir, ch.Base)
	if err != nil {
		return err
	}
	for i := range ix.Fixes {
		v := ix.Fixes[i].Version.String()
		if r, ok := fixes[v]; ok {
			ix.Fixes[i].Rollout = r
			delete(fixes, v)
		}
	}
	for v := range fixes {
		log.Warn("rollout recorded for a fix the channel does not hold; it applies when the fix is added", "channel", ch.Dir, "version", v)
	}
	return nil
}

// markTesting records the testing ring for versions about to be added to
// a channel (repo add --testing). It runs before the archives are placed:
// an add cut off in between leaves a record waiting for its fix, never a
// fix without its record.
func markTesting(ctx context.Context, dir string, base repo.Version, versions []repo.Version) error {
	if len(versions) == 0 {
		return nil
	}
	return updateRollouts(ctx, dir, base, func(fixes map[string]*repo.Rollout) error {
		for _, v := range versions {
			fixes[v.String()] = &repo.Rollout{Ring: repo.RingTesting}
		}
		return nil
	})
}

// RolloutChange is a new stage for one fix: exactly one of Testing,
// Full, Halt or Percent (with Ramp, optionally).
type RolloutChange struct {
	Product string       // "" means the only product with a channel of Version's base
	Version repo.Version // the fix
	Testing bool         // the testing ring only
	Full    bool         // every server
	Halt    bool         // no server, testing ones included
	Percent *int         // this share of stable servers (and every testing one), from now
	Ramp    *repo.Ramp   // growing by this step per interval from now; needs Percent
}

// RolloutOptions tune SetRollout.
type RolloutOptions struct {
	Now    func() time.Time // nil means time.Now; the start of a percentage
	Logger *slog.Logger
}

// RolloutResult says what SetRollout recorded.
type RolloutResult struct {
	Product string
	Version repo.Version
	Before  *repo.Rollout // nil: everyone
	After   *repo.Rollout // nil: everyone
}

// AmbiguousProductError means several products have a channel of the
// fix's base: the caller must name one.
type AmbiguousProductError struct {
	Base     repo.Version
	Products []string
}

func (e *AmbiguousProductError) Error() string {
	return fmt.Sprintf("products %s all have a channel %s: say which product the fix belongs to", strings.Join(e.Products, ", "), e.Base)
}

// SetRollout records a fix's new rollout stage in its channel; the next
// Build signs it into the channel index. The fix must be in the
// repository already. A percentage starts now (opts.Now): a ramp grows
// from this moment on every client, without further builds.
func SetRollout(ctx context.Context, root string, ch RolloutChange, opts RolloutOptions) (*RolloutResult, error) {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	stages := 0
	for _, set := range []bool{ch.Testing, ch.Full, ch.Halt, ch.Percent != nil} {
		if set {
			stages++
		}
	}
	switch {
	case stages != 1:
		return nil, errors.New("rollout: name exactly one stage (testing, a percentage, full or halt)")
	case ch.Ramp != nil && ch.Percent == nil:
		return nil, errors.New("rollout: a ramp grows a percentage: give the starting percentage too")
	}
	start := now().UTC().Truncate(time.Second)
	var staged *repo.Rollout // the new stage when it does not depend on the old
	if ch.Percent != nil {
		p := *ch.Percent
		staged = &repo.Rollout{Ring: repo.RingStable, Percent: &p, Start: &start, Ramp: ch.Ramp}
		if err := staged.Validate(); err != nil {
			return nil, fmt.Errorf("rollout of %s: %w", ch.Version, err)
		}
	}
	product, err := rolloutProduct(root, ch)
	if err != nil {
		return nil, err
	}
	base := ch.Version.Base()
	dir := filepath.Join(root, product, base.String())
	if !holdsFix(dir, product, ch.Version) {
		return nil, fmt.Errorf("rollout: %s %s is not in the repository (%s): add it first with hotfix repo add", product, ch.Version, dir)
	}
	res := &RolloutResult{Product: product, Version: ch.Version}
	err = updateRollouts(ctx, dir, base, func(fixes map[string]*repo.Rollout) error {
		v := ch.Version.String()
		res.Before = fixes[v]
		var next *repo.Rollout
		switch {
		case ch.Testing:
			next = &repo.Rollout{Ring: repo.RingTesting}
		case ch.Halt:
			next = &repo.Rollout{Ring: repo.RingStable}
			if res.Before != nil {
				cp := *res.Before
				next = &cp
			}
			next.Halted = true
		case ch.Percent != nil && *ch.Percent == 100 && ch.Ramp == nil:
			// 100 % is everyone: no record, as for --full.
		case ch.Percent != nil:
			next = staged
		}
		if next == nil {
			delete(fixes, v)
		} else {
			if err := next.Validate(); err != nil {
				return fmt.Errorf("rollout of %s: %w", v, err)
			}
			fixes[v] = next
		}
		res.After = next
		return nil
	})
	if err != nil {
		return nil, err
	}
	logger(opts.Logger).Info("rollout recorded", "product", product, "version", ch.Version, "stage", res.After.Stage())
	return res, nil
}

// rolloutProduct is the product a rollout change names, or the only one
// with a channel of the fix's base.
func rolloutProduct(root string, ch RolloutChange) (string, error) {
	if ch.Product != "" {
		if err := repo.ValidProductName(ch.Product); err != nil {
			return "", fmt.Errorf("rollout: %w", err)
		}
		return ch.Product, nil
	}
	channels, err := listChannels(root)
	if err != nil {
		return "", err
	}
	var products []string
	for _, c := range channels {
		if c.Base.Equal(ch.Version.Base()) {
			products = append(products, c.Product)
		}
	}
	switch len(products) {
	case 0:
		return "", fmt.Errorf("rollout: no product in %s has a channel %s: add the fix first with hotfix repo add", root, ch.Version.Base())
	case 1:
		return products[0], nil
	}
	sort.Strings(products)
	return "", &AmbiguousProductError{Base: ch.Version.Base(), Products: products}
}

// holdsFix reports whether the channel directory holds the fix, as a
// .fix or an RPM.
func holdsFix(dir, product string, v repo.Version) bool {
	for _, name := range []string{repo.ArchiveName(product, v), rpm.FileName(product, v)} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err == nil && fi.Mode().IsRegular() {
			return true
		}
	}
	return false
}
