package client

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hotfix-project/hotfix/client/txn"
	"github.com/hotfix-project/hotfix/internal/lockfile"
	"github.com/hotfix-project/hotfix/repo"
)

// ErrAlreadyInstalled means the fix asked for is installed already; see
// AlreadyInstalledError.
var ErrAlreadyInstalled = errors.New("already installed")

// AlreadyInstalledError refuses a fix that is not newer than the newest
// installed one.
type AlreadyInstalledError struct {
	Version   repo.Version // asked for
	Installed repo.Version // the newest installed
}

func (e *AlreadyInstalledError) Error() string {
	return fmt.Sprintf("fix %s is already installed (installed: %s)", e.Version, e.Installed)
}

// Is makes errors.Is(err, ErrAlreadyInstalled) hold.
func (e *AlreadyInstalledError) Is(target error) bool { return target == ErrAlreadyInstalled }

// InstallOptions tune Install.
type InstallOptions struct {
	Target    *repo.Version // install up to and including this version; nil: all pending
	DryRun    bool          // run every test, change nothing
	Force     bool          // install over local modifications
	Reinstall *repo.Version // roll back and install again the newest installed fix
	// With and Without name optional parts to install or to leave out,
	// over the configuration's parts and the choice recorded in the
	// state (see choosePart).
	With, Without []string
	LockWait      time.Duration // wait this long for the transaction lock
	// AllowExpired accepts the expired index of an export bundle
	// (InstallFrom only); the audit log records it.
	AllowExpired bool
	// Stop, when closed, ends the install between fixes: the fix in
	// progress is finished (never left half done), post_install and
	// health_check still run for what was installed, and no further fix
	// starts. Scheduled runs close it on SIGTERM while ctx stays live.
	Stop <-chan struct{}
	// Progress, when set, hears each step ("download", "test", "backup",
	// "apply", "scripts", "commit") of each fix.
	Progress func(v repo.Version, step string)

	// hooks, set by a tree run, runs the host's pre_install once for
	// the tree; post_install and health_check are then the tree's.
	hooks *treeHooks
	// parentLevel, set by a tree run, is the level the parent instance
	// reached in this run (in a dry run, would reach) and replaces its
	// recorded level in gate.
	parentLevel *repo.Version
	// replacing maps each installed customer fix that a customer fix of
	// this run replaces to that fix's id (set by the plan).
	replacing map[string]string
}

// InstallResult lists what Install did.
type InstallResult struct {
	Installed []repo.IndexFix
	Custom    []repo.CustomIndexFix // customer fixes installed, after the vendor's
	Logs      []string
	DryRun    bool
	Kept      []KeptFile // locally changed files a forced --reinstall kept beside the restored ones
}

func (o *InstallOptions) step(v repo.Version, s string) {
	if o.Progress != nil {
		o.Progress(v, s)
	}
}

// TransactionLock is the name of the lock every change of the root takes.
const TransactionLock = "transaction.lock"

func (c *Client) lock(ctx context.Context, command string, wait time.Duration) (*lockfile.Lock, error) {
	return lockfile.Acquire(ctx, filepath.Join(c.Cfg.LockDir, TransactionLock), command, wait)
}

// store is where the transactions of this client's root live.
func (c *Client) store() txn.Store { return txn.Store{Root: c.Cfg.Root, StateDir: c.Cfg.StateDir} }

// fixSource is where the fixes of one install run come from: the
// repository (Install) or one local file (InstallFrom). runFixes does
// everything else.
type fixSource interface {
	// command names the run in the transaction lock's record.
	command() string
	// plan lists the fixes to install, in chain order. It runs under
	// the transaction lock, with the state as loaded there.
	plan(ctx context.Context, st *State) ([]repo.IndexFix, error)
	// fetch makes fix f available on this host, verified as far as the
	// source can (a download checks size and sha256 against the index).
	fetch(ctx context.Context, f repo.IndexFix) (archive, error)
	// rolledBack says, for the error of a failed health_check, which
	// fixes of this run were taken back.
	rolledBack(vs []repo.Version) string
}

// runFixes is the outer shell every install shares: take the
// transaction lock, refuse while paused, finish an interrupted
// transaction, run pre_install, then per fix fetch it and run its
// transaction (verify, test, journal, back up, apply, scripts, record),
// then post_install and health_check (which takes the run's fixes back
// when it fails); every outcome goes to the audit log, and a record the
// audit log refused is returned with the result (an *AuditError).
func (c *Client) runFixes(ctx context.Context, src fixSource, opts InstallOptions) (*InstallResult, error) {
	lk, st, err := c.beginInstall(ctx, src.command(), &opts)
	if err != nil {
		return nil, err
	}
	defer lk.Release()
	todo, err := src.plan(ctx, st)
	if err != nil {
		return nil, err
	}
	if err := checkPartNames(todo, &opts); err != nil {
		return nil, err
	}
	out := &InstallResult{DryRun: opts.DryRun}
	customs, replacing := customsOf(src)
	opts.replacing = replacing
	if len(todo) == 0 && len(customs) == 0 {
		return out, nil
	}
	action := "install"
	if opts.DryRun {
		// Test against a copy, in which each fix that passes counts as
		// installed (without file records) so that the next one's chain
		// test sees it.
		cp := *st
		cp.Installed = append([]InstalledFix(nil), st.Installed...)
		st, action = &cp, "dry-run"
	}
	if stopRequested(opts.Stop) {
		return out, nil
	}
	var auditErr error
	before := slices.Clone(st.Custom) // what an unhealthy host gets back
	failed := func(vs []repo.Version, err error) (*InstallResult, error) {
		return out, joinErrs(err, auditErr, c.audit(action, vs, "failed", err.Error()))
	}
	if !opts.DryRun {
		pre := c.runHook
		if opts.hooks != nil {
			// A tree run: the host's pre_install, once for the tree.
			pre = func(ctx context.Context, _, _ string, todo []repo.IndexFix) error { return opts.hooks.pre(ctx, todo) }
		}
		if err := pre(ctx, "pre_install", c.Cfg.Hooks.PreInstall, todo); err != nil {
			return failed(versionsOf(todo), err)
		}
	}
	for _, f := range todo {
		if stopRequested(opts.Stop) {
			break
		}
		a, err := src.fetch(ctx, f)
		if err != nil {
			return failed([]repo.Version{f.Version}, err)
		}
		logPath, err := c.installFix(ctx, st, f, a, &opts)
		if logPath != "" {
			out.Logs = append(out.Logs, logPath)
		}
		if err != nil {
			return failed([]repo.Version{f.Version}, err)
		}
		out.Installed = append(out.Installed, f)
		if opts.DryRun {
			st.Installed = append(st.Installed, InstalledFix{Version: f.Version})
		} else if aerr := c.audit(action, []repo.Version{f.Version}, "ok", a.origin+logPath); aerr != nil && auditErr == nil {
			auditErr = aerr
		}
	}
	if err := c.installCustoms(ctx, st, src, customs, &opts, out, &auditErr); err != nil {
		return out, joinErrs(err, auditErr)
	}
	if opts.DryRun || opts.hooks != nil {
		// A tree run runs post_install and health_check once after
		// the whole tree (Tree.afterHooks).
		return out, auditErr
	}
	return out, joinErrs(c.afterInstall(ctx, src, st, todo, out, before, &opts), auditErr)
}

// afterInstall runs post_install and health_check for the fixes of a
// run (todo, as pre_install heard them). health_check runs even when
// post_install failed: whether the server is healthy with the fixes is
// what decides whether they stay. Unhealthy, the run's fixes are taken
// back; healthy, they stay, and a failed post_install is reported as
// such, saying that they stay.
// before are the customer fixes installed before the run.
func (c *Client) afterInstall(ctx context.Context, src fixSource, st *State, todo []repo.IndexFix, out *InstallResult, before []InstalledCustom, opts *InstallOptions) error {
	vs := versionsOf(out.Installed)
	postErr := c.runHook(ctx, "post_install", c.Cfg.Hooks.PostInstall, todo)
	err := c.runHook(ctx, "health_check", c.Cfg.Hooks.HealthCheck, todo)
	if err == nil {
		if postErr == nil {
			return nil
		}
		health := "health_check passed"
		if c.Cfg.Hooks.HealthCheck == "" {
			health = "no health_check is configured"
		}
		postErr = fmt.Errorf("%w; %s, so the fixes of this run (%s) stay installed and recorded: do by hand what post_install should have done", postErr, health, describeVersions(vs))
		return joinErrs(postErr, c.audit("post_install", vs, "failed", postErr.Error()))
	}
	// The run's customer fixes stand on its vendor fixes: they go first
	// (takeBackCustoms), and those it replaced come back last.
	gone, rbErr := c.takeBackCustoms(ctx, st, out.Custom)
	for range out.Installed {
		if rbErr != nil {
			break
		}
		if rbErr = c.rollbackOne(ctx, st); rbErr != nil {
			break
		}
	}
	var back string
	if rbErr == nil {
		cs, _ := src.(customSource)
		back, rbErr = c.reinstallReplaced(ctx, st, cs, before, opts)
	}
	var did []string
	if len(vs) > 0 {
		did = append(did, src.rolledBack(vs))
	}
	did = slices.DeleteFunc(append(did, gone, back), func(s string) bool { return s == "" })
	err = fmt.Errorf("%w; %s", err, strings.Join(did, "; "))
	if rbErr != nil {
		err = fmt.Errorf("%w, but rolling back failed: %w", err, rbErr)
	}
	if postErr != nil {
		err = fmt.Errorf("%w; before it, %w", err, postErr)
	}
	out.Installed, out.Custom = nil, nil
	return joinErrs(err, c.audit("install", vs, "rolled back", err.Error()))
}

// beginInstall does what every install does first: take the transaction
// lock, refuse while paused, finish or undo an interrupted transaction
// (a dry run refuses instead: it changes nothing), and load the state
// (saving a base change unless this is a dry run).
func (c *Client) beginInstall(ctx context.Context, command string, opts *InstallOptions) (*lockfile.Lock, *State, error) {
	lk, err := c.lock(ctx, command, opts.LockWait)
	if err != nil {
		return nil, nil, err
	}
	st, err := func() (*State, error) {
		if err := c.checkPaused(); err != nil {
			return nil, err
		}
		if err := probeAudit(c.Cfg.LogDir); err != nil {
			return nil, err
		}
		if opts.DryRun {
			// A dry run changes nothing, recovery included: it
			// reports the interrupted transaction instead.
			st, _, err := c.loadState(false)
			if err != nil {
				return nil, err
			}
			return st, c.refuseInterrupted(st)
		}
		if err := c.recoverLocked(ctx); err != nil {
			return nil, err
		}
		st, _, err := c.loadState(true)
		return st, err
	}()
	if err != nil {
		lk.Release()
		return nil, nil, err
	}
	return lk, st, nil
}

// stopRequested reports whether stop is closed (a nil stop never is).
func stopRequested(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

func versionsOf(fs []repo.IndexFix) []repo.Version {
	var out []repo.Version
	for _, f := range fs {
		out = append(out, f.Version)
	}
	return out
}

func joinVersions(vs []repo.Version) string {
	var s []string
	for _, v := range vs {
		s = append(s, v.String())
	}
	return strings.Join(s, ", ")
}

// runHook runs an administrator hook, if configured.
func (c *Client) runHook(ctx context.Context, name, line string, fixes []repo.IndexFix) error {
	if line == "" {
		return nil
	}
	if err := os.MkdirAll(c.Cfg.LogDir, 0o755); err != nil {
		return err
	}
	logPath := filepath.Join(c.Cfg.LogDir, "hooks.log")
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(f, "%s %s: %s\n", c.Now().UTC().Format(time.RFC3339), name, line)
	env := []string{
		"HOTFIX_PRODUCT=" + c.Cfg.Product, "HOTFIX_ROOT=" + c.Cfg.Root, "HOTFIX_ROLE=" + c.Cfg.Role,
		"HOTFIX_VERSIONS=" + joinVersions(versionsOf(fixes)),
	}
	dir := c.Cfg.Root
	if c.hookInstances != "" {
		// The host's hooks around a tree run: no one root.
		env = append(env, "HOTFIX_INSTANCES="+c.hookInstances)
		dir = "/"
	}
	err = runCommand(ctx, command{
		name: name + " hook", dir: dir, env: env, log: f,
		timeout: c.Cfg.Hooks.Timeout.Duration, argv: shellCommand(line), record: c.recordHook,
	})
	if err != nil {
		fmt.Fprintf(f, "%s %s failed: %v\n", c.Now().UTC().Format(time.RFC3339), name, err)
		return fmt.Errorf("%s hook failed: %w (log: %s)", name, err, logPath)
	}
	return nil
}
