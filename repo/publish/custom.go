package publish

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
	"github.com/hotfix-project/hotfix/repo"
)

// A customer's channel, PRODUCT/BASE/custom/CUSTOMER/, holds its customer
// fixes (.fix only) and its own signed index.json. It is built and
// verified like a vendor channel but is no chain: each id is listed once,
// at its newest version (older versions may stay on disk, unlisted), and
// no two listed fixes may own one path unless one supersedes the other.
// Customer channels are few and small, so they are described afresh at
// every add and build (every entry verified) rather than catalogued.

// customChannel is one PRODUCT/BASE/custom/CUSTOMER directory.
type customChannel struct {
	Product  string
	Base     repo.Version
	Customer string
	Dir      string
}

func (cc customChannel) String() string {
	return repo.CustomIndexPath(cc.Product, cc.Base, cc.Customer)
}

// customFix is one customer fix archive of a channel, described.
type customFix struct {
	path     string
	entry    *catalogEntry
	m        *repo.Manifest
	incoming bool       // given to this add, not yet in the channel
	staged   stagedCopy // an incoming fix's copy in Add's stage
}

// CustomChannelResult summarises one built customer channel.
type CustomChannelResult struct {
	Product  string
	Base     repo.Version
	Customer string
	Serial   int64
	Fixes    int
}

// listCustomChannels finds every customer channel under the vendor
// channels, sorted.
func listCustomChannels(root string) ([]customChannel, error) {
	channels, err := listChannels(root)
	if err != nil {
		return nil, err
	}
	var out []customChannel
	for _, ch := range channels {
		dirents, err := os.ReadDir(filepath.Join(ch.Dir, repo.CustomDir))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, d := range dirents {
			if d.IsDir() && repo.ValidCustomerName(d.Name()) == nil {
				out = append(out, customChannel{ch.Product, ch.Base, d.Name(), filepath.Join(ch.Dir, repo.CustomDir, d.Name())})
			}
		}
	}
	return out, nil
}

// customChannelOf is the channel a customer fix belongs in.
func customChannelOf(root string, m *repo.Manifest) customChannel {
	return customChannel{m.Product, m.Base, m.Customer, filepath.Join(root, m.Product, m.Base.String(), repo.CustomDir, m.Customer)}
}

// scanCustom describes every customer fix archive of a channel, verifying
// each in full, and insists that each lies where it belongs.
func scanCustom(ctx context.Context, cc customChannel) ([]customFix, error) {
	dirents, err := os.ReadDir(cc.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, d := range dirents {
		n := d.Name()
		if strings.HasPrefix(n, ".") {
			continue
		}
		if strings.HasSuffix(n, ".fix") {
			paths = append(paths, filepath.Join(cc.Dir, n))
		} else if isRPMName(n) {
			return nil, fmt.Errorf("%s: customer fixes ship as .fix archives only: remove it", filepath.Join(cc.Dir, n))
		}
	}
	out := make([]customFix, len(paths))
	errs, err := forEach(ctx, len(paths), func(i int) error {
		e, m, err := describeArchive(ctx, paths[i], nil)
		if err != nil {
			return err
		}
		out[i] = customFix{path: paths[i], entry: e, m: m}
		if !m.IsCustom() || m.Product != cc.Product || !m.Base.Equal(cc.Base) || m.Customer != cc.Customer || filepath.Base(paths[i]) != m.ArchiveName() {
			where := "PRODUCT/BASE/ (a vendor fix)"
			if m.IsCustom() {
				where = repo.CustomIndexPath(m.Product, m.Base, m.Customer) + "/" + m.ArchiveName()
			}
			return fmt.Errorf("%s holds %s of %s %s: it belongs in %s", paths[i], m.Name(), m.Product, m.Base, where)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// newestByID keeps the newest version of each id, sorted by id.
func newestByID(fixes []customFix) []customFix {
	best := map[string]customFix{}
	for _, f := range fixes {
		if b, ok := best[f.m.ID]; !ok || f.m.Version.Compare(b.m.Version) > 0 {
			best[f.m.ID] = f
		}
	}
	out := make([]customFix, 0, len(best))
	for _, f := range best {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].m.ID < out[j].m.ID })
	return out
}

// customEntries is the index entries of the newest fix of each id.
func customEntries(fixes []customFix) []repo.CustomIndexFix {
	var out []repo.CustomIndexFix
	for _, f := range newestByID(fixes) {
		a := f.entry.Archive
		a.File = filepath.Base(f.path)
		out = append(out, repo.CustomIndexFromFix(f.m, &a))
	}
	return out
}

// customConflictError joins every conflict of a customer channel.
func customConflictError(cc customChannel, fixes []repo.CustomIndexFix) error {
	var errs []error
	for _, c := range repo.CustomConflicts(fixes) {
		errs = append(errs, fmt.Errorf("%s: %w", cc, c))
	}
	return errors.Join(errs...)
}

// addCustoms checks the customer fixes given to Add against their
// channels and places them: a version of an id already present must be
// the same archive, an older version than one present is refused, and
// the fixes listed after the add must not conflict. It checks every
// channel before placing anything.
func addCustoms(ctx context.Context, root string, list []incoming, res *AddResult, log *slog.Logger) error {
	byChannel := map[string][]incoming{}
	channels := map[string]customChannel{}
	for _, a := range list {
		if isRPMName(a.path) {
			return fmt.Errorf("%s: customer fixes ship as .fix archives only", a.path)
		}
		cc := customChannelOf(root, a.m)
		byChannel[cc.Dir] = append(byChannel[cc.Dir], a)
		channels[cc.Dir] = cc
	}
	dirs := make([]string, 0, len(byChannel))
	for d := range byChannel {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	var todo []customFix
	for _, d := range dirs {
		add, err := planCustom(ctx, channels[d], byChannel[d], res)
		if err != nil {
			return err
		}
		todo = append(todo, add...)
	}
	var b atomicfile.Batch
	defer b.Abort()
	for _, f := range todo {
		dir := filepath.Dir(f.entry.File)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("add: %w", err)
		}
		if err := placeStaged(&b, f.path, f.staged, f.entry.File); err != nil {
			return err
		}
	}
	if err := b.Commit(ctx); err != nil {
		return fmt.Errorf("add: %w", err)
	}
	for _, f := range todo {
		rel, _ := filepath.Rel(root, f.entry.File)
		res.Added = append(res.Added, rel)
		log.Info("added", "archive", rel)
	}
	return nil
}

// planCustom decides what adding list to channel cc places (its entry's
// File is the destination path), refusing what may not be added.
func planCustom(ctx context.Context, cc customChannel, list []incoming, res *AddResult) ([]customFix, error) {
	existing, err := scanCustom(ctx, cc)
	if err != nil {
		return nil, err
	}
	all := append([]customFix(nil), existing...)
	var todo []customFix
	var problems []error
	for _, a := range list {
		name := a.m.ArchiveName()
		dest := filepath.Join(cc.Dir, name)
		rel := cc.String() + "/" + name
		var same *customFix
		for i, e := range all {
			if e.m.ID != a.m.ID {
				continue
			}
			switch c := e.m.Version.Compare(a.m.Version); {
			case c == 0:
				same = &all[i]
			case c > 0 && !e.incoming:
				problems = append(problems, fmt.Errorf("%s: %s %s is older than version %s already published: a newer version replaces an older one, never the other way round", rel, a.m.ID, a.m.Version, e.m.Version))
			}
		}
		if same != nil {
			if same.entry.SHA256 != a.entry.SHA256 {
				problems = append(problems, fmt.Errorf("%s: %s %s is already there with different content: a published version never changes; give the change a new version", rel, a.m.ID, a.m.Version))
			} else if !same.incoming {
				res.Unchanged = append(res.Unchanged, rel)
			}
			continue
		}
		f := customFix{path: a.path, entry: &catalogEntry{}, m: a.m, incoming: true, staged: a.staged}
		*f.entry = *a.entry
		f.entry.File = dest
		all = append(all, customFix{path: dest, entry: a.entry, m: a.m, incoming: true})
		todo = append(todo, f)
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	if err := customConflictError(cc, customEntries(all)); err != nil {
		return nil, err
	}
	return todo, nil
}

// buildCustom writes a customer channel's index.json and its signature.
func buildCustom(ctx context.Context, cc customChannel, generated time.Time, expires time.Duration, opts BuildOptions, log *slog.Logger) (*CustomChannelResult, error) {
	fixes, err := scanCustom(ctx, cc)
	if err != nil {
		return nil, err
	}
	entries := customEntries(fixes)
	if err := customConflictError(cc, entries); err != nil {
		return nil, err
	}
	ix := &repo.CustomIndex{Format: repo.IndexFormat, Kind: repo.KindCustom, Product: cc.Product, Base: cc.Base, Customer: cc.Customer,
		Serial: 1, Generated: generated, Expires: generated.Add(expires), Fixes: entries, KeyList: opts.keyList}
	if ix.Fixes == nil {
		ix.Fixes = []repo.CustomIndexFix{}
	}
	indexPath := filepath.Join(cc.Dir, repo.IndexName)
	if old, err := os.ReadFile(indexPath); err == nil {
		prev, err := repo.ParseCustomIndex(old)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: the serial cannot continue; restore the published index or remove it to start again at serial 1", indexPath, err)
		}
		ix.Serial = prev.Serial + 1
		for _, p := range prev.Fixes {
			for _, f := range fixes {
				if filepath.Base(f.path) == p.File && f.entry.SHA256 != p.SHA256 {
					return nil, fmt.Errorf("%s: %s %s already published with different content: a published version never changes; give the change a new version", cc, p.ID, p.Version)
				}
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	data, err := ix.Marshal()
	if err != nil {
		return nil, err
	}
	if err := ix.Validate(); err != nil {
		return nil, fmt.Errorf("build %s: %w", indexPath, err)
	}
	if err := checkIndexSize(cc.Product, cc.Base, int64(len(data)), opts.MaxIndexSize); err != nil {
		return nil, fmt.Errorf("%s: %w", cc, err)
	}
	var batch fileBatch
	defer batch.Abort()
	if err := batch.addSigned(indexPath, data, opts.Signer); err != nil {
		return nil, err
	}
	if err := batch.Commit(ctx); err != nil {
		return nil, err
	}
	log.Info("built customer channel", "channel", cc.String(), "serial", ix.Serial, "fixes", len(ix.Fixes))
	return &CustomChannelResult{Product: cc.Product, Base: cc.Base, Customer: cc.Customer, Serial: ix.Serial, Fixes: len(ix.Fixes)}, nil
}

// verifyCustom checks a customer channel as a client would: its signed
// index (names, expiry, conflicts) and every archive it lists, which
// VerifyRepo reads in full with the rest. Older versions of a listed id
// may lie beside it; any other archive is not in the index.
func (v *verifier) verifyCustom(cc customChannel) {
	indexPath := filepath.Join(cc.Dir, repo.IndexName)
	data, ok := v.readSigned(indexPath)
	if !ok {
		return
	}
	ix, err := repo.ParseCustomIndex(data)
	if err != nil {
		v.add(indexPath, err)
		return
	}
	if ix.Product != cc.Product || !ix.Base.Equal(cc.Base) || ix.Customer != cc.Customer {
		v.add(indexPath, fmt.Errorf("describes customer %s of %s %s but lies in %s", ix.Customer, ix.Product, ix.Base, cc))
	}
	v.indexHeader(indexPath, len(data), ix.KeyList, ix.Product, ix.Base, ix.Expires)
	indexed := map[string]bool{}
	for _, f := range ix.Fixes {
		indexed[f.File] = true
		v.files = append(v.files, listedFile{filepath.Join(cc.Dir, f.File), f.Size, f.SHA256})
	}
	v.strays(cc.Dir, indexed, func(n string) bool { return olderOfListed(n, ix) })
}

// olderOfListed reports whether name is the archive of an older version
// of an id the index lists (a newer version replaced it).
func olderOfListed(name string, ix *repo.CustomIndex) bool {
	for _, f := range ix.Fixes {
		prefix := ix.Product + "-custom-" + f.ID + "-"
		if !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, ".fix") {
			continue
		}
		if old, err := repo.ParseVersion(strings.TrimSuffix(strings.TrimPrefix(name, prefix), ".fix")); err == nil && old.Compare(f.Version) < 0 {
			return true
		}
	}
	return false
}
