package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/hotfix-project/hotfix/internal/lockfile"
	"github.com/hotfix-project/hotfix/repo"
)

// Outcomes of one instance in a TreeResult.
const (
	OutcomeInstalled = "installed"
	OutcomeUpToDate  = "up to date"
	OutcomeDryRun    = "dry run passed"
	OutcomeFailed    = "failed"
	OutcomeBlocked   = "blocked"
	OutcomeWaiting   = "waiting"
	OutcomeStopped   = "not started"
)

// ErrBlocked means an instance was not taken further because its parent
// is not that far (or failed); see BlockedError.
var ErrBlocked = errors.New("blocked")

// BlockedError says why an instance was not taken to its pending fixes:
// a child is never taken past its parent's fix level.
type BlockedError struct {
	Instance    string
	Parent      string
	ParentLevel repo.Version // zero when the parent failed or could not be read
	Next        repo.Version // the fix the instance would have installed next; zero when unknown
	Failed      bool         // the parent failed in this run
	// Cause is what held the parent back in this run, when something
	// did: a child behind a parent that waits for its cluster primary
	// (or is paused, or found a lock) waits for the same thing, so
	// errors.Is sees the parent's reason through the child's.
	Cause error
}

func (e *BlockedError) Error() string {
	if e.Failed {
		return fmt.Sprintf("blocked: parent %s failed, so its subtree waits for the next run", e.Parent)
	}
	s := fmt.Sprintf("blocked: parent %s is at %s", e.Parent, e.ParentLevel)
	if !e.Next.IsZero() {
		s += fmt.Sprintf(", and %s would take %s past it: install %s on %s first", e.Instance, e.Next, e.Next, e.Parent)
	}
	if errors.Is(e.Cause, ErrWaitingForPrimary) {
		s += fmt.Sprintf(" (%s waits for the cluster's primary; the next run goes on)", e.Parent)
	}
	return s
}

// Is makes errors.Is(err, ErrBlocked) hold.
func (e *BlockedError) Is(target error) bool { return target == ErrBlocked }

// Unwrap is the parent's reason, so that a child held back by a waiting
// parent counts as waiting too.
func (e *BlockedError) Unwrap() error { return e.Cause }

// InstanceError is what went wrong in one instance of a tree run.
type InstanceError struct {
	Instance string
	Err      error
}

func (e *InstanceError) Error() string {
	if e.Instance == "" {
		return e.Err.Error()
	}
	return "instance " + e.Instance + ": " + e.Err.Error()
}

func (e *InstanceError) Unwrap() error { return e.Err }

// TreeError joins the InstanceErrors of a tree run.
type TreeError struct{ Errs []*InstanceError }

func (e *TreeError) Error() string {
	var s []string
	for _, ie := range e.Errs {
		s = append(s, ie.Error())
	}
	return strings.Join(s, "\n")
}

// Unwrap gives each instance's error, for errors.Is and errors.As.
func (e *TreeError) Unwrap() []error {
	out := make([]error, len(e.Errs))
	for i, ie := range e.Errs {
		out[i] = ie
	}
	return out
}

// InstanceResult is one instance's part of a tree run.
type InstanceResult struct {
	Name      string
	Parent    string
	Outcome   string          // one of the Outcome constants
	Level     repo.Version    // newest installed (or, in a dry run, would be) after the run
	Installed []repo.IndexFix // in a dry run: would be installed
	Logs      []string
	Kept      []KeptFile
	Err       error // nil unless Outcome is failed, blocked or waiting

	before repo.Version // its level before the run, where an unhealthy host takes it back to
	// custom are the customer fixes the run installed, beforeCustom
	// those installed before it: what an unhealthy host takes back and
	// gives back (takeBackInstance).
	custom       []repo.CustomIndexFix
	beforeCustom []InstalledCustom
}

// TreeResult is what a tree run did, instance by instance in tree order
// (parents first).
type TreeResult struct {
	Instances []InstanceResult
	DryRun    bool
	// Hooks is a post_install that failed on a healthy host, after the
	// whole tree (the fixes stay); an unhealthy host fails the instances
	// whose fixes it took back instead.
	Hooks error
}

// Err joins the errors of the instances that did not finish, and of the
// run's hooks, or nil.
func (r *TreeResult) Err() error {
	var errs []*InstanceError
	for _, ir := range r.Instances {
		if ir.Err != nil {
			errs = append(errs, &InstanceError{Instance: ir.Name, Err: ir.Err})
		}
	}
	if r.Hooks != nil {
		errs = append(errs, &InstanceError{Err: r.Hooks})
	}
	if len(errs) == 0 {
		return nil
	}
	return &TreeError{Errs: errs}
}

// Tree runs the installations of a configuration with [[instance]]
// tables (or its one unnamed installation) level by level: parents
// first, the instances of one level in parallel, a child never past its
// parent, and a failure stopping only the failed instance's subtree.
// Each instance is an ordinary Client on its own root and state
// (Config.ForInstance), so everything one root does holds per instance.
type Tree struct {
	Cfg *Config
	Log *slog.Logger
	Now func() time.Time
	// Only limits the run to these instances (--instance); empty: all.
	Only []string
	// Progress, when set, hears each step of each fix of each instance.
	Progress func(instance string, v repo.Version, step string)
	// PollEvery is how often a secondary waiting for its primary
	// (install --wait) looks at shared_dir again; 0: every 2 seconds.
	PollEvery time.Duration

	deadline time.Time // of install --wait, for a secondary waiting for its primary
}

// NewTree prepares a tree run over cfg, refusing an --instance name the
// configuration does not have.
func NewTree(cfg *Config, log *slog.Logger, only []string) (*Tree, error) {
	if len(only) > 0 && len(cfg.Instances) == 0 {
		return nil, fmt.Errorf("%s has no [[instance]] tables, so there is no instance %q: its one installation is root = %s", cfg.Path, only[0], cfg.Root)
	}
	for _, name := range only {
		if _, err := cfg.ForInstance(name); err != nil {
			return nil, err
		}
	}
	return &Tree{Cfg: cfg, Log: logOrDiscard(log), Now: time.Now, Only: only}, nil
}

// nodes is the instances of the tree, an unnamed one when there are no
// [[instance]] tables.
func (t *Tree) nodes() []InstanceConfig {
	if len(t.Cfg.Instances) == 0 {
		return []InstanceConfig{{Name: "", Root: t.Cfg.Root, Role: t.Cfg.Role}}
	}
	return t.Cfg.Instances
}

func (t *Tree) selected(name string) bool {
	if len(t.Only) == 0 {
		return true
	}
	for _, n := range t.Only {
		if n == name {
			return true
		}
	}
	return false
}

// Client is the Client of one instance ("" for the one installation of
// a configuration without [[instance]] tables): its own root, state and
// locks (Config.ForInstance), logging with its name, on the tree's
// clock. Every instance's client is made here: the tree's own runs,
// status and metrics, and cron's scheduled run over the tree.
func (t *Tree) Client(name string) (*Client, error) {
	cfg, err := t.Cfg.ForInstance(name)
	if err != nil {
		return nil, err
	}
	log := t.Log
	if name != "" {
		log = log.With("instance", name)
	}
	cl, err := New(cfg, log)
	if err != nil {
		return nil, err
	}
	cl.Now = t.Now
	return cl, nil
}

// levelsOf groups instances by depth, parents first, each level in file
// order. It refuses a parent that is missing or a cycle (which the
// configuration's validation already refuses).
func levelsOf(ins []InstanceConfig) ([][]InstanceConfig, error) {
	depth := map[string]int{}
	byName := map[string]InstanceConfig{}
	for _, in := range ins {
		byName[in.Name] = in
	}
	var depthOf func(name string, seen int) (int, error)
	depthOf = func(name string, seen int) (int, error) {
		if d, ok := depth[name]; ok {
			return d, nil
		}
		in, ok := byName[name]
		if !ok {
			return 0, fmt.Errorf("no instance %q", name)
		}
		if seen > len(ins) {
			return 0, fmt.Errorf("instance %q is its own ancestor", name)
		}
		d := 0
		if in.Parent != "" {
			pd, err := depthOf(in.Parent, seen+1)
			if err != nil {
				return 0, err
			}
			d = pd + 1
		}
		depth[name] = d
		return d, nil
	}
	var levels [][]InstanceConfig
	for _, in := range ins {
		d, err := depthOf(in.Name, 0)
		if err != nil {
			return nil, err
		}
		for len(levels) <= d {
			levels = append(levels, nil)
		}
		levels[d] = append(levels[d], in)
	}
	return levels, nil
}

// lockTree takes the host's transaction lock (lock_dir/transaction.lock)
// for the whole run, so that "hotfix pause --wait" waits for the tree and
// two tree runs never overlap; each instance takes its own lock too.
func (t *Tree) lockTree(ctx context.Context, command string, wait time.Duration) (*lockfile.Lock, error) {
	if len(t.Cfg.Instances) == 0 {
		return nil, nil // the one instance's own lock is this lock
	}
	return lockfile.Acquire(ctx, filepath.Join(t.Cfg.LockDir, TransactionLock), command, wait)
}

// checkHostPause refuses while the host is paused (state_dir/paused.json,
// what "hotfix pause" without --instance writes).
func (t *Tree) checkHostPause() error {
	if len(t.Cfg.Instances) == 0 {
		return nil // the one instance checks it itself
	}
	c := &Client{Cfg: t.Cfg, Log: t.Log, Now: t.Now}
	return c.checkPaused()
}

// walk runs fn over the selected instances level by level, parents
// first, at most Workers() of one level at once; results are in tree
// order. fn sees the results of earlier levels through parentOf.
func (t *Tree) walk(ctx context.Context, reverse bool, fn func(ctx context.Context, in InstanceConfig, parentOf func(string) *InstanceResult) InstanceResult) ([]InstanceResult, error) {
	levels, err := levelsOf(t.nodes())
	if err != nil {
		return nil, err
	}
	if reverse {
		for i, j := 0, len(levels)-1; i < j; i, j = i+1, j-1 {
			levels[i], levels[j] = levels[j], levels[i]
		}
	}
	var mu sync.Mutex
	done := map[string]*InstanceResult{}
	parentOf := func(name string) *InstanceResult {
		mu.Lock()
		defer mu.Unlock()
		return done[name]
	}
	var order []string
	for _, level := range levels {
		g := new(errgroup.Group)
		g.SetLimit(t.Cfg.Workers())
		for _, in := range level {
			if !t.selected(in.Name) {
				continue
			}
			order = append(order, in.Name)
			g.Go(func() error {
				r := fn(ctx, in, parentOf)
				r.Name, r.Parent = in.Name, in.Parent
				mu.Lock()
				done[in.Name] = &r
				mu.Unlock()
				return nil
			})
		}
		g.Wait()
	}
	out := make([]InstanceResult, 0, len(order))
	for _, name := range order {
		out = append(out, *done[name])
	}
	return out, nil
}

// recordedLevel is the newest fix recorded installed in an instance (its
// base when none), read without any lock: what a child not run with its
// parent is held to.
func recordedLevel(cl *Client) (repo.Version, error) {
	base, err := cl.Base()
	if err != nil {
		return repo.Version{}, err
	}
	st, err := cl.state(base)
	if err != nil {
		return repo.Version{}, err
	}
	if st.Product == cl.Cfg.Product && st.Base.Equal(base) {
		return st.Latest(), nil
	}
	return base, nil
}

// Order lists the selected instances parents first (level by level,
// each level in file order): the order scheduled runs take them in.
func (t *Tree) Order() ([]string, error) {
	levels, err := levelsOf(t.nodes())
	if err != nil {
		return nil, err
	}
	var out []string
	for _, level := range levels {
		for _, in := range level {
			if t.selected(in.Name) {
				out = append(out, in.Name)
			}
		}
	}
	return out, nil
}
