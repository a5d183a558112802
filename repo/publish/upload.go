package publish

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"sort"
	"time"

	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/yum"
	"golang.org/x/sync/errgroup"
)

// Destination is where Publish copies a repository: object storage or a
// mounted directory. Keys are slash-separated paths relative to the
// destination's root (its bucket prefix or directory).
type Destination interface {
	// String names the destination in messages (s3://bucket/prefix, a path).
	String() string
	// List returns every object under the destination by key.
	List(ctx context.Context) (map[string]Remote, error)
	// Stat returns the object's description with its recorded sha256,
	// or nil when there is none.
	Stat(ctx context.Context, key string) (*Remote, error)
	// Put stores the object. With createOnly, it never replaces an
	// existing object: it returns an error wrapping errObjectExists.
	Put(ctx context.Context, obj *localObject, createOnly bool) error
	// Delete removes the object; a missing one is no error.
	Delete(ctx context.Context, key string) error
	// Lock keeps a second publish to the same destination out until
	// release; one that holds it makes Lock fail with an error wrapping
	// lockfile.ErrLocked and naming the holder. force first removes a
	// lock left behind by a publish that no longer runs.
	Lock(ctx context.Context, owner string, force bool) (release func(), err error)
}

// Remote describes a published object as far as the destination knows
// it: ETag is the MD5 of a single-part upload on S3 (and empty where
// there is none); SHA256 is what Put recorded, or for a directory the
// file's digest.
type Remote struct {
	Size   int64
	ETag   string
	SHA256 string
}

// errObjectExists is a createOnly Put's refusal to replace an object.
var errObjectExists = errors.New("object exists")

// ErrArchiveDiffers is Publish's refusal to replace a published archive
// with other bytes: clients may already have verified and cached it.
var ErrArchiveDiffers = errors.New("already published with other content")

// DefaultRequestTimeout bounds each request to the destination.
const DefaultRequestTimeout = 5 * time.Minute

// PublishOptions tune Publish.
type PublishOptions struct {
	DryRun bool // report what would change, change nothing (and take no lock)
	Prune  bool // after the new indexes, delete archives no index names
	// BreakLock removes a lock left by a publish that no longer runs.
	BreakLock bool
	// Owner names this publish in the lock (who and what).
	Owner string
	// Workers uploads that many archives at once (0: 8). Indexes and
	// signatures always go one at a time, in order.
	Workers int
	// AfterObject, when set, is called after each object is stored or
	// deleted (from one goroutine at a time when Workers is 1).
	AfterObject func(key string)
	Logger      *slog.Logger
}

// Action is one thing Publish did or, with DryRun, would do.
type Action struct {
	Op  string // "upload", "delete"
	Key string
}

// PublishResult tells what Publish changed.
type PublishResult struct {
	Actions   []Action
	Unchanged int // objects already there with the same content
}

// Publish copies the repository at root to dest in the safe order:
// archives (each created only if absent), key lists, then each index
// directly followed by its signature, then pages, repo.json and its
// signature; unchanged objects are skipped by content hash, never by size
// or time. Nothing is deleted before every index is in place; with Prune,
// the archives and repodata no local index names are deleted last. A
// publish cut off at any point leaves a destination clients accept (at
// worst, for one upload's time, an index ahead of its signature) and a
// rerun finishes it.
func Publish(ctx context.Context, root string, dest Destination, opts PublishOptions) (*PublishResult, error) {
	log := logger(opts.Logger)
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("publish %s: not a repository directory", root)
	}
	if _, err := os.Stat(filepath.Join(root, repo.RootIndexName+repo.SigSuffix)); err != nil {
		return nil, fmt.Errorf("publish %s: no signed repo.json: build the repository first: %w", root, err)
	}
	local, err := scanLocal(ctx, root)
	if err != nil {
		return nil, err
	}
	if !opts.DryRun {
		owner := opts.Owner
		if owner == "" {
			owner = "hotfix publish"
		}
		release, err := dest.Lock(ctx, owner, opts.BreakLock)
		if err != nil {
			return nil, fmt.Errorf("publish to %s: %w", dest, err)
		}
		defer release()
	}
	remote, err := dest.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("publish to %s: list: %w", dest, err)
	}
	p := &publisher{dest: dest, opts: opts, log: log, remote: remote, res: &PublishResult{Actions: []Action{}}}
	if err := p.run(ctx, local); err != nil {
		return p.res, fmt.Errorf("publish to %s: %w", dest, err)
	}
	if opts.Prune {
		if err := p.prune(ctx, local); err != nil {
			return p.res, fmt.Errorf("publish to %s: prune: %w", dest, err)
		}
	}
	return p.res, nil
}

type publisher struct {
	dest   Destination
	opts   PublishOptions
	log    *slog.Logger
	remote map[string]Remote
	res    *PublishResult
}

// run compares everything first, so that an archive published with
// other bytes stops the publish before it changed anything, then uploads
// what differs phase by phase: the archives of the first phase in
// parallel, since nothing names them before the indexes come.
func (p *publisher) run(ctx context.Context, all []*localObject) error {
	local, err := p.changed(ctx, all)
	if err != nil {
		return err
	}
	p.res.Unchanged = len(all) - len(local)
	for start := 0; start < len(local); {
		end := start
		for end < len(local) && local[end].Phase == local[start].Phase {
			end++
		}
		workers := 1
		if local[start].Phase == phaseArchives {
			workers = p.opts.Workers
			if workers <= 0 {
				workers = 8
			}
		}
		if err := p.phase(ctx, local[start:end], workers); err != nil {
			return err
		}
		start = end
	}
	return nil
}

func (p *publisher) phase(ctx context.Context, objs []*localObject, workers int) error {
	actions := make([]*Action, len(objs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for i, o := range objs {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			a, err := p.one(gctx, o)
			actions[i] = a
			return err
		})
	}
	err := g.Wait()
	for _, a := range actions {
		if a != nil {
			p.res.Actions = append(p.res.Actions, *a)
		}
	}
	if err == nil {
		err = ctx.Err()
	}
	return err
}

// changed returns the objects the destination does not hold with the
// same bytes, in order; every archive published with other bytes is an
// error, all of them named.
func (p *publisher) changed(ctx context.Context, objs []*localObject) ([]*localObject, error) {
	same := make([]bool, len(objs))
	errs, err := forEach(ctx, len(objs), func(i int) error {
		var err error
		same[i], err = p.unchanged(ctx, objs[i])
		return err
	})
	if err := errors.Join(append(errs, err)...); err != nil {
		return nil, err
	}
	var out []*localObject
	for i, o := range objs {
		if !same[i] {
			out = append(out, o)
		}
	}
	return out, nil
}

// one publishes one object the destination does not hold; it returns
// the action taken, nil when someone else stored the same bytes meanwhile.
func (p *publisher) one(ctx context.Context, o *localObject) (*Action, error) {
	a := &Action{Op: "upload", Key: o.Key}
	if p.opts.DryRun {
		return a, nil
	}
	err := p.dest.Put(ctx, o, o.Immutable())
	if errors.Is(err, errObjectExists) {
		// Created by someone else since we listed: the same bytes are
		// fine, other bytes are refused.
		if same, err := p.sameAsStat(ctx, o); err != nil || same {
			return nil, err
		}
		return nil, differs(o)
	}
	if err != nil {
		return nil, fmt.Errorf("upload %s: %w", o.Key, err)
	}
	p.log.Debug("uploaded", "key", o.Key, "size", o.Size)
	if p.opts.AfterObject != nil {
		p.opts.AfterObject(o.Key)
	}
	return a, nil
}

// unchanged reports whether the destination holds o's bytes: by the
// ETag where it is the MD5 of a single-part upload, else by the sha256
// Put recorded. A published archive with other bytes is an error.
func (p *publisher) unchanged(ctx context.Context, o *localObject) (bool, error) {
	r, ok := p.remote[o.Key]
	if !ok {
		return false, nil
	}
	if r.ETag != "" && r.ETag == o.MD5 && r.Size == o.Size {
		return true, nil
	}
	same, err := p.sameAsStat(ctx, o)
	if err != nil || same {
		return same, err
	}
	if o.Immutable() {
		return false, differs(o)
	}
	return false, nil
}

func (p *publisher) sameAsStat(ctx context.Context, o *localObject) (bool, error) {
	r, err := p.dest.Stat(ctx, o.Key)
	if err != nil {
		return false, fmt.Errorf("stat %s: %w", o.Key, err)
	}
	return r != nil && r.SHA256 == o.SHA256 && r.Size == o.Size, nil
}

func differs(o *localObject) error {
	return fmt.Errorf("archive %s is %w (sha256 here %s): a published archive never changes, since clients may hold it; publish the change as a new version", o.Key, ErrArchiveDiffers, o.SHA256)
}

// prune deletes, after every index is in place, the archives and
// repodata of the published channels that no local index names any
// more. Only objects of the kinds a channel holds are candidates, and
// only in directories whose index this publish wrote: whatever else
// lives beside the repository stays.
func (p *publisher) prune(ctx context.Context, local []*localObject) error {
	have := map[string]bool{}
	channelDirs := map[string]bool{}
	for _, o := range local {
		have[o.Key] = true
		if path.Base(o.Key) == repo.IndexName {
			channelDirs[path.Dir(o.Key)] = true
		}
	}
	var gone []string
	for key := range p.remote {
		if have[key] || phaseOf(key) != phaseArchives {
			continue
		}
		dir := path.Dir(key)
		if path.Base(dir) == yum.Dir {
			dir = path.Dir(dir)
		}
		if channelDirs[dir] {
			gone = append(gone, key)
		}
	}
	sort.Strings(gone)
	for _, key := range gone {
		p.res.Actions = append(p.res.Actions, Action{Op: "delete", Key: key})
		if p.opts.DryRun {
			continue
		}
		if err := p.dest.Delete(ctx, key); err != nil {
			return fmt.Errorf("delete %s: %w", key, err)
		}
		if p.opts.AfterObject != nil {
			p.opts.AfterObject(key)
		}
	}
	return nil
}
