package publish

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"time"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
	"github.com/hotfix-project/hotfix/repo"
)

// DefaultExpires is how long a built index stays valid.
const DefaultExpires = 30 * 24 * time.Hour

func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// AddOptions tune Add.
type AddOptions struct {
	Logger *slog.Logger
	// Testing puts the fixes new to their channel in the testing ring
	// (see SetRollout).
	Testing bool
}

// AddResult says what Add did with each archive.
type AddResult struct {
	Added     []string // repository-relative paths of new archives
	Unchanged []string // identical archives already present
}

// Add verifies archives and puts them into the repository under
// PRODUCT/BASE/. It refuses gaps (the archives added together may close
// one) and changed content for a version already present; an identical
// archive is left alone. Nothing is placed unless every archive passes
// (each is copied, while it is verified, into a hidden staging directory
// of the repository that goes away at the end), and archives are placed
// in chain order, each atomically, so even an interrupted add leaves a
// gap-free repository.
func Add(ctx context.Context, root string, archives []string, opts AddOptions) (*AddResult, error) {
	log := logger(opts.Logger)
	if err := CheckRepoRoot(root); err != nil {
		return nil, err
	}
	stage, err := atomicfile.NewStage(root, stagePrefix)
	if err != nil {
		return nil, fmt.Errorf("add: %w", cannotCreate("the staging directory", root, err))
	}
	defer stage.Remove()
	in := make([]incoming, len(archives))
	// Each staged copy's writes wait for the disk: more workers than
	// cores keep the cores busy meanwhile.
	known := &knownArchives{root: root, cats: map[string]*catalog{}}
	errs, err := forEachN(ctx, len(archives), 4*runtime.GOMAXPROCS(0), func(i int) error {
		var err error
		in[i], err = stageArchive(ctx, stage, known, i, archives[i], false)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// Group by channel and check each against what is there already.
	byChannel := map[string][]incoming{}
	var customs []incoming
	for _, a := range in {
		if a.m.IsCustom() {
			customs = append(customs, a) // placed by addCustoms (custom.go)
			continue
		}
		key := filepath.Join(a.m.Product, a.m.Base.String())
		byChannel[key] = append(byChannel[key], a)
	}
	keys := make([]string, 0, len(byChannel))
	for k := range byChannel {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	res := &AddResult{}
	var plans []*addPlan
	for _, key := range keys {
		p, err := planChannel(ctx, root, key, byChannel[key], res, log)
		if err != nil {
			return nil, err
		}
		plans = append(plans, p)
	}
	if err := restage(ctx, stage, plans, len(archives)); err != nil {
		return nil, err
	}
	if placesAny(plans, customs) {
		// One sync for every copy, before the first is placed.
		if err := stage.Sync(); err != nil {
			return nil, fmt.Errorf("add: %w", err)
		}
	}
	for _, p := range plans {
		if opts.Testing {
			if err := markTesting(ctx, p.dir, p.base, p.added); err != nil {
				return nil, err
			}
		}
		if err := p.place(ctx, root, res, log); err != nil {
			return nil, err
		}
	}
	if len(customs) > 0 {
		if err := addCustoms(ctx, root, customs, res, log); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// placesAny says whether Add places anything: an add of archives all
// present already writes nothing, not even a sync.
func placesAny(plans []*addPlan, customs []incoming) bool {
	for _, p := range plans {
		if len(p.todo) > 0 {
			return true
		}
	}
	return len(customs) > 0
}

// incoming is an archive given to Add, described and verified.
type incoming struct {
	path   string
	entry  *catalogEntry
	m      *repo.Manifest
	staged stagedCopy // its copy in Add's stage, written while it was verified
}

// stagePrefix names Add's staging directories in the repository root;
// the leading dot keeps them out of builds, verification and publishing.
const stagePrefix = ".add-staging-"

// addPlan is what Add puts into one channel, in chain order.
type addPlan struct {
	dir   string
	cat   *catalog
	todo  []incoming
	base  repo.Version
	added []repo.Version // versions new to the channel
}

// planChannel checks the archives list for the channel key against what
// it holds: a version already there must be the same archive (or its
// other format), and the chain must stay gap-free.
func planChannel(ctx context.Context, root, key string, list []incoming, res *AddResult, log *slog.Logger) (*addPlan, error) {
	m0 := list[0].m
	dir := filepath.Join(root, key)
	existing, cat, _, err := scanChannel(ctx, channel{Product: m0.Product, Base: m0.Base, Dir: dir}, log)
	if err != nil {
		return nil, err
	}
	var have []repo.Version
	for _, e := range existing {
		have = append(have, e.Version)
	}
	ce := &repo.ChainError{Product: m0.Product, Base: m0.Base}
	seen := map[string]*catalogEntry{}
	var todo []incoming
	var added []repo.Version
	for _, a := range list {
		v := a.m.Version.String()
		name := fixFileName(a.path, a.entry)
		if prev, ok := seen[name]; ok {
			if prev.SHA256 != a.entry.SHA256 {
				ce.Other = fmt.Sprintf("two different archives given for %s", v)
			}
			continue
		}
		seen[name] = a.entry
		if old, ok := existingByVersion(existing, a.m.Version); ok {
			if prevFile := old.fileNamed(name); prevFile == nil {
				todo = append(todo, a) // the RPM of a fix already published as .fix, or the other way round
			} else if prevFile.SHA256 != a.entry.SHA256 {
				ce.Changed = append(ce.Changed, v)
			} else {
				res.Unchanged = append(res.Unchanged, filepath.Join(key, name))
			}
			continue
		}
		have = append(have, a.m.Version)
		added = append(added, a.m.Version)
		todo = append(todo, a)
	}
	ce.Missing = repo.MissingFixes(m0.Base, have)
	if ce.Failed() {
		return nil, ce
	}
	sort.Slice(todo, func(i, j int) bool { return todo[i].m.Version.Compare(todo[j].m.Version) < 0 })
	return &addPlan{dir: dir, cat: cat, todo: todo, base: m0.Base, added: added}, nil
}

// place copies the plan's archives into the channel and records them in
// its catalog. The staged copies, synced already, go through one
// atomicfile.Batch: renamed in chain order and their directory synced
// once, so an interrupted add leaves a prefix of the chain (gap-free).
func (p *addPlan) place(ctx context.Context, root string, res *AddResult, log *slog.Logger) error {
	if len(p.todo) == 0 {
		// Nothing to place, but a killed add may have placed archives
		// without their records, or left a catalog rewrite's temporary:
		// the catalog is brought up to date, as a build would.
		return p.cat.save(p.dir)
	}
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return fmt.Errorf("add: %w", cannotCreate("channel", p.dir, err))
	}
	var b atomicfile.Batch
	defer b.Abort()
	for _, a := range p.todo {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := placeStaged(&b, a.path, a.staged, filepath.Join(p.dir, fixFileName(a.path, a.entry))); err != nil {
			return err
		}
	}
	if err := b.Commit(ctx); err != nil {
		return fmt.Errorf("add: %w", err)
	}
	for _, a := range p.todo {
		name := fixFileName(a.path, a.entry)
		info, err := os.Stat(filepath.Join(p.dir, name))
		if err != nil {
			return err
		}
		a.entry.Size, a.entry.MTimeNS = info.Size(), info.ModTime().UnixNano()
		p.cat.Archives[name] = a.entry
		rel, _ := filepath.Rel(root, filepath.Join(p.dir, name))
		res.Added = append(res.Added, rel)
		log.Info("added", "archive", rel)
	}
	return p.cat.save(p.dir)
}

func existingByVersion(list []*catalogEntry, v repo.Version) (*catalogEntry, bool) {
	for _, e := range list {
		if e.Version.Equal(v) {
			return e, true
		}
	}
	return nil, false
}

// placeStaged adds the staged copy of the archive at path to the batch as
// dst: a file of its own, never a hard link to the vendor's file, so that
// nothing done to that file later (cp over an existing file writes into
// it) reaches the repository.
func placeStaged(b *atomicfile.Batch, path string, staged stagedCopy, dst string) error {
	if staged.stage == nil { // restage copies every archive a plan places
		return fmt.Errorf("add %s: no copy of it was staged", path)
	}
	if err := staged.stage.Place(b, staged.name, dst); err != nil {
		return fmt.Errorf("add %s: %w", path, err)
	}
	return nil
}
