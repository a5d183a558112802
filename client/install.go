package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
	"github.com/hotfix-project/hotfix/internal/lockfile"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/fixarchive"
)

// ErrLocalChanges means files a fix would replace were changed locally
// since an earlier fix installed them.
var ErrLocalChanges = errors.New("locally modified files")

// InstallOptions tune Install.
type InstallOptions struct {
	Target    *repo.Version // install up to and including this version; nil: all pending
	DryRun    bool          // run every test, change nothing
	Force     bool          // install over local modifications
	Reinstall *repo.Version // roll back and install again the newest installed fix
	LockWait  time.Duration // wait this long for the transaction lock
	// Stop, when closed, ends the install between fixes: the fix in
	// progress is finished (never left half done), post_install and
	// health_check still run for what was installed, and no further fix
	// starts. Scheduled runs close it on SIGTERM while ctx stays live.
	Stop <-chan struct{}
	// Progress, when set, hears each step ("download", "test", "backup",
	// "apply", "scripts", "commit") of each fix.
	Progress func(v repo.Version, step string)
	// extract, when set, unpacks the fix instead of the .fix/.rpm readers
	// (InstallFrom sets it).
	extract extractFunc
	// afterStep is a test hook for crash tests (see crash_test.go).
	afterStep func(v repo.Version, step string)
}

// InstallResult lists what Install did.
type InstallResult struct {
	Installed []repo.IndexFix
	Logs      []string
	DryRun    bool
}

func (o *InstallOptions) step(v repo.Version, s string) {
	if o.Progress != nil {
		o.Progress(v, s)
	}
	if o.afterStep != nil {
		o.afterStep(v, s)
	}
}

// TransactionLock is the name of the lock every change of the root takes.
const TransactionLock = "transaction.lock"

func (c *Client) lock(ctx context.Context, command string, wait time.Duration) (*lockfile.Lock, error) {
	return lockfile.Acquire(ctx, filepath.Join(c.Cfg.LockDir, TransactionLock), command, wait)
}

// beginInstall does what every install does first: take the transaction
// lock, refuse while paused, finish or undo an interrupted transaction,
// and load the state (saving a base change unless this is a dry run).
func (c *Client) beginInstall(ctx context.Context, command string, opts *InstallOptions) (*lockfile.Lock, *State, error) {
	lk, err := c.lock(ctx, command, opts.LockWait)
	if err != nil {
		return nil, nil, err
	}
	st, err := func() (*State, error) {
		if err := c.checkPaused(); err != nil {
			return nil, err
		}
		if err := c.recoverLocked(); err != nil {
			return nil, err
		}
		st, _, err := c.loadState(!opts.DryRun)
		return st, err
	}()
	if err != nil {
		lk.Release()
		return nil, nil, err
	}
	return lk, st, nil
}

// Install installs the pending fixes in chain order, each as one
// transaction: a failure at any step restores the root as it was before
// that fix.
func (c *Client) Install(ctx context.Context, opts InstallOptions) (*InstallResult, error) {
	lk, st, err := c.beginInstall(ctx, "hotfix install", &opts)
	if err != nil {
		return nil, err
	}
	defer lk.Release()
	// Check, not check: the serial this install trusts is remembered.
	res, err := c.Check(ctx)
	if err != nil {
		return nil, err
	}
	if opts.Reinstall != nil {
		if !st.Latest().Equal(*opts.Reinstall) || len(st.Installed) == 0 {
			return nil, fmt.Errorf("only the newest installed fix (%s) can be reinstalled: roll back to %s first", st.Latest(), opts.Reinstall.Requires())
		}
		if !opts.DryRun {
			if err := c.rollbackOne(st); err != nil {
				return nil, err
			}
		}
		f, ok := res.Index.Fix(*opts.Reinstall)
		if !ok {
			return nil, fmt.Errorf("fix %s is not in the repository's index any more", opts.Reinstall)
		}
		res.Pending = append([]repo.IndexFix{*f}, res.Pending...)
	}
	todo := res.Pending
	if opts.Target != nil {
		if _, ok := res.Index.Fix(*opts.Target); !ok {
			return nil, fmt.Errorf("fix %s is not in the index of %s %s (latest is %s)", opts.Target, res.Product, res.Base, latestOf(res.Index))
		}
		if opts.Target.Compare(st.Latest()) <= 0 && opts.Reinstall == nil {
			return nil, fmt.Errorf("fix %s is already installed (installed: %s); use --reinstall %s for the newest", opts.Target, st.Latest(), st.Latest())
		}
		var cut []repo.IndexFix
		for _, f := range todo {
			if f.Version.Compare(*opts.Target) <= 0 {
				cut = append(cut, f)
			}
		}
		todo = cut
	}
	out := &InstallResult{DryRun: opts.DryRun}
	if len(todo) == 0 {
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
	if !opts.DryRun {
		if err := c.runHook(ctx, "pre_install", c.Cfg.Hooks.PreInstall, todo); err != nil {
			c.audit(action, versionsOf(todo), "failed", err.Error())
			return out, err
		}
	}
	for _, f := range todo {
		if stopRequested(opts.Stop) {
			break
		}
		archive := filepath.Join(c.channelCache(res.Base), f.File)
		opts.step(f.Version, "download")
		if err := c.Fetcher.Download(ctx, res.Product+"/"+res.Base.String()+"/"+f.File, archive, f.Size, f.SHA256, nil); err != nil {
			err = &StepError{Version: f.Version, Step: "download", Err: err}
			c.audit(action, []repo.Version{f.Version}, "failed", err.Error())
			return out, err
		}
		logPath, err := c.installFix(ctx, st, f, archive, &opts)
		if logPath != "" {
			out.Logs = append(out.Logs, logPath)
		}
		if err != nil {
			c.audit(action, []repo.Version{f.Version}, "failed", err.Error())
			return out, err
		}
		out.Installed = append(out.Installed, f)
		if opts.DryRun {
			st.Installed = append(st.Installed, InstalledFix{Version: f.Version})
		} else {
			c.audit(action, []repo.Version{f.Version}, "ok", logPath)
		}
	}
	if opts.DryRun {
		return out, nil
	}
	if err := c.runHook(ctx, "post_install", c.Cfg.Hooks.PostInstall, todo); err != nil {
		c.audit("install", versionsOf(out.Installed), "failed", err.Error())
		return out, err
	}
	if err := c.runHook(ctx, "health_check", c.Cfg.Hooks.HealthCheck, todo); err != nil {
		// The server is unhealthy with these fixes: take them all back.
		var rbErr error
		for range out.Installed {
			if rbErr = c.rollbackOne(st); rbErr != nil {
				break
			}
		}
		err = fmt.Errorf("%w; the fixes of this run (%s) were rolled back", err, joinVersions(versionsOf(out.Installed)))
		if rbErr != nil {
			err = fmt.Errorf("%w, but rolling back failed: %v", err, rbErr)
		}
		c.audit("install", versionsOf(out.Installed), "rolled back", err.Error())
		out.Installed = nil
		return out, err
	}
	return out, nil
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

func latestOf(ix *repo.Index) string {
	if n := len(ix.Fixes); n > 0 {
		return ix.Fixes[n-1].Version.String()
	}
	return "none"
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

// installFix runs one fix's transaction. It returns the fix's log path.
func (c *Client) installFix(ctx context.Context, st *State, f repo.IndexFix, archive string, opts *InstallOptions) (logPath string, err error) {
	v := f.Version
	if err := os.MkdirAll(c.Cfg.LogDir, 0o755); err != nil {
		return "", err
	}
	kind := "install"
	if opts.DryRun {
		kind = "dry-run"
	}
	logPath = filepath.Join(c.Cfg.LogDir, fmt.Sprintf("%s-%s-%s-%s.log", kind, c.Cfg.Product, v, c.Now().UTC().Format("20060102T150405Z")))
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return "", err
	}
	defer logf.Close()
	logLine := func(format string, args ...any) {
		fmt.Fprintf(logf, "%s %s\n", time.Now().UTC().Format(time.RFC3339), fmt.Sprintf(format, args...))
	}
	fail := func(step string, err error) error {
		logLine("FAILED at %s: %v", step, err)
		return &StepError{Version: v, Step: step, Log: logPath, Err: err}
	}
	logLine("%s %s %s (root %s, role %s)", kind, c.Cfg.Product, v, c.Cfg.Root, c.Cfg.Role)

	// Verify: unpack into a staging directory, checking every entry.
	opts.step(v, "verify")
	staging := filepath.Join(c.Cfg.CacheDir, "staging", v.String())
	os.RemoveAll(staging)
	if err := os.MkdirAll(filepath.Dir(staging), 0o755); err != nil {
		return logPath, fail("verify", err)
	}
	defer os.RemoveAll(staging)
	m, err := c.extractor(opts)(ctx, archive, staging)
	if err != nil {
		return logPath, fail("verify", err)
	}
	if m.Product != c.Cfg.Product || !m.Version.Equal(v) {
		return logPath, fail("verify", fmt.Errorf("archive holds %s %s, the index promised %s %s", m.Product, m.Version, c.Cfg.Product, v))
	}

	// Test.
	opts.step(v, "test")
	j, err := c.testFix(st, m, staging, opts.Force)
	if err != nil {
		return logPath, fail("test", err)
	}
	logLine("tests passed: %d files to replace or add, %d to delete", len(m.Files), len(m.Delete))
	if opts.DryRun {
		logLine("dry run: nothing changed")
		return logPath, nil
	}

	// Journal, then back up.
	opts.step(v, "journal")
	txn := filepath.Join(c.Cfg.StateDir, txnDirName)
	if err := os.RemoveAll(txn); err != nil {
		return logPath, fail("journal", err)
	}
	if err := os.MkdirAll(filepath.Join(txn, backupSubdir), 0o700); err != nil {
		return logPath, fail("journal", err)
	}
	if err := j.save(txn); err != nil {
		return logPath, fail("journal", err)
	}
	if err := atomicfile.SyncDir(c.Cfg.StateDir); err != nil {
		return logPath, fail("journal", err)
	}
	opts.step(v, "backup")
	if err := backUp(c.Cfg.Root, j, filepath.Join(txn, backupSubdir)); err != nil {
		discardTxn(txn)
		return logPath, fail("backup", err)
	}
	// Only now, with every backup durable, may the root change.
	j.Phase = phaseApply
	if err := j.save(txn); err != nil {
		discardTxn(txn)
		return logPath, fail("backup", err)
	}

	// From here on the root changes; any failure restores it.
	undo := func(step string, cause error) error {
		if rerr := restore(c.Cfg.Root, j, filepath.Join(txn, backupSubdir)); rerr != nil {
			logLine("RESTORE FAILED: %v", rerr)
			return fail(step, fmt.Errorf("%w; restoring the root also failed (%v): the journal in %s stays for \"hotfix recover\"", cause, rerr, txn))
		}
		if err := discardTxn(txn); err != nil {
			logLine("warning: %v", err)
		}
		logLine("root restored to its state before %s", v)
		return fail(step, fmt.Errorf("%w (the root was restored to its state before %s)", cause, v))
	}
	opts.step(v, "apply")
	if err := c.applyFix(m, staging, j); err != nil {
		return logPath, undo("apply", err)
	}
	logLine("files in place")
	opts.step(v, "scripts")
	for _, s := range ScriptsForRole(m.Scripts, c.Cfg.Role) {
		logLine("running script %s", s.Path)
		err := runCommand(ctx, c.Cfg.Root, c.scriptEnv(v), logf, c.Cfg.ScriptTimeout.Duration, false, filepath.Join(staging, "scripts", s.Path))
		if err != nil {
			return logPath, undo("script "+s.Path, err)
		}
	}

	// Commit: the state names the fix installed.
	opts.step(v, "commit")
	rec := InstalledFix{Version: v, InstalledAt: c.Now().UTC(), By: currentUser(), Summary: m.Summary, Files: map[string]string{}, Deleted: m.Delete, Forced: opts.Force}
	for _, fe := range m.Files {
		rec.Files[fe.Path] = fe.SHA256
	}
	st.Installed = append(st.Installed, rec)
	if err := st.Save(c.Cfg.StateDir); err != nil {
		st.Installed = st.Installed[:len(st.Installed)-1]
		return logPath, undo("commit", err)
	}
	if err := c.finishCommitted(v); err != nil {
		logLine("warning: %v", err)
	}
	logLine("installed %s", v)
	opts.step(v, "done")
	return logPath, nil
}

// finishCommitted turns the transaction directory of a committed fix into
// its rollback record.
func (c *Client) finishCommitted(v repo.Version) error {
	txn := filepath.Join(c.Cfg.StateDir, txnDirName)
	dst := filepath.Join(c.Cfg.StateDir, backupsDirName, v.String())
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	os.RemoveAll(dst)
	if err := os.Rename(txn, dst); err != nil {
		return fmt.Errorf("keep backups of %s: %w", v, err)
	}
	return atomicfile.SyncDir(c.Cfg.StateDir)
}

// backUp copies every file the journal replaces or deletes into
// backupDir, durably: files, and the directories that name them.
func backUp(root string, j *journal, backupDir string) error {
	var ps []placement
	for _, e := range j.Entries {
		if e.Action == actAdd {
			continue
		}
		dst := filepath.Join(backupDir, filepath.FromSlash(e.Path))
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return err
		}
		ps = append(ps, placement{src: rootPath(root, e.Path), target: dst, mode: os.FileMode(e.Mode) | 0o600, uid: -1})
	}
	if err := placeFiles(ps); err != nil {
		return err
	}
	return syncTree(backupDir)
}

// extractFile verifies an archive file and unpacks it into the staging
// directory dest (which must not exist); on error dest is removed.
func extractFile(ctx context.Context, archive, dest string) (*repo.Manifest, error) {
	fh, err := os.Open(archive)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return fixarchive.Extract(ctx, fh, dest)
}

func (c *Client) scriptEnv(v repo.Version) []string {
	return []string{
		"HOTFIX_VERSION=" + v.String(),
		"HOTFIX_BASE=" + v.Base().String(),
		"HOTFIX_PRODUCT=" + c.Cfg.Product,
		"HOTFIX_ROOT=" + c.Cfg.Root,
		"HOTFIX_ROLE=" + c.Cfg.Role,
	}
}

// testFix runs every check before a fix may touch the root and returns
// the journal that installing it would need.
func (c *Client) testFix(st *State, m *repo.Manifest, staging string, force bool) (*journal, error) {
	root := c.Cfg.Root
	if !st.Base.Equal(m.Base) {
		return nil, fmt.Errorf("fix %s is for base %s, but %s is installed", m.Version, m.Base, st.Base)
	}
	if latest := st.Latest(); !latest.Equal(m.Requires) {
		return nil, fmt.Errorf("fix %s requires %s, but the newest installed is %s", m.Version, m.Requires, latest)
	}
	fi, err := os.Stat(root)
	if err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("install root %s is not a directory: check root in %s", root, c.Cfg.Path)
	}
	j := &journal{Op: opInstall, Version: m.Version, Phase: phasePrepare}
	created := map[string]bool{}
	var need int64
	var modified []string
	probeDirs := map[string]bool{}
	addEntry := func(rel string, deleting bool) error {
		target := rootPath(root, rel)
		info, err := os.Lstat(target)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if deleting {
				return nil
			}
			j.Entries = append(j.Entries, journalEntry{Path: rel, Action: actAdd})
			for _, d := range missingDirs(root, rel) {
				created[d] = true
			}
		case err != nil:
			return err
		case info.Mode()&fs.ModeSymlink != 0:
			return fmt.Errorf("%s is a symbolic link: hotfix replaces only regular files; replace the link by the file or ask the vendor", target)
		case !info.Mode().IsRegular():
			return fmt.Errorf("%s is not a regular file (%s)", target, info.Mode().Type())
		default:
			uid, gid := ownerOf(info)
			act := actReplace
			if deleting {
				act = actDelete
			}
			j.Entries = append(j.Entries, journalEntry{Path: rel, Action: act, Mode: uint32(info.Mode().Perm()), UID: uid, GID: gid})
			need += info.Size()
			if sum, ok := lastInstalledHash(st, rel); ok {
				if got, _, err := repo.HashFile(target); err != nil || got != sum {
					modified = append(modified, target)
				}
			}
		}
		probeDirs[nearestDir(root, rel)] = true
		return nil
	}
	for _, f := range m.Files {
		if err := addEntry(f.Path, false); err != nil {
			return nil, err
		}
		need += f.Size
	}
	for _, d := range m.Delete {
		if err := addEntry(d, true); err != nil {
			return nil, err
		}
	}
	// A file an earlier fix deleted that exists again is a local change too.
	for _, f := range m.Files {
		if deletedByEarlierFix(st, f.Path) {
			if _, err := os.Lstat(rootPath(root, f.Path)); err == nil {
				modified = append(modified, rootPath(root, f.Path))
			}
		}
	}
	if len(modified) > 0 && !force {
		sort.Strings(modified)
		return nil, fmt.Errorf("%w: %s changed since an earlier fix installed them; keep your changes and ask the vendor, or install anyway with --force (the changed files are backed up and come back on rollback)", ErrLocalChanges, strings.Join(modified, ", "))
	}
	for d := range created {
		j.CreatedDirs = append(j.CreatedDirs, d)
	}
	sort.Strings(j.CreatedDirs)
	for d := range probeDirs {
		if err := probeWritable(d); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(c.Cfg.StateDir, 0o755); err != nil {
		return nil, err
	}
	if err := probeWritable(c.Cfg.StateDir); err != nil {
		return nil, err
	}
	const margin = 16 << 20
	for _, d := range []string{root, c.Cfg.StateDir} {
		if free, ok := freeBytes(d); ok && free < uint64(need+margin) {
			return nil, fmt.Errorf("not enough disk space in %s: %d MiB free, about %d MiB needed for the fix and its backups", d, free>>20, (need+margin)>>20)
		}
	}
	return j, nil
}

func lastInstalledHash(st *State, rel string) (string, bool) {
	for i := len(st.Installed) - 1; i >= 0; i-- {
		if sum, ok := st.Installed[i].Files[rel]; ok {
			return sum, true
		}
		for _, d := range st.Installed[i].Deleted {
			if d == rel {
				return "", false
			}
		}
	}
	return "", false
}

func deletedByEarlierFix(st *State, rel string) bool {
	for i := len(st.Installed) - 1; i >= 0; i-- {
		if _, ok := st.Installed[i].Files[rel]; ok {
			return false
		}
		for _, d := range st.Installed[i].Deleted {
			if d == rel {
				return true
			}
		}
	}
	return false
}

// nearestDir is the deepest existing directory that would hold rel.
func nearestDir(root, rel string) string {
	for d := pathDir(rel); ; d = pathDir(d) {
		p := root
		if d != "." {
			p = rootPath(root, d)
		}
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			return p
		}
		if d == "." {
			return root
		}
	}
}

// probeWritable checks that files can be created in dir. It asks the
// kernel (access(2) with W_OK: permissions, ACLs, read-only mounts,
// immutable directories) instead of creating a probe file, because a
// crash between creating and removing a probe would leave a stray file
// in the root that no journal knows about.
func probeWritable(dir string) error {
	const wOK = 2
	if err := syscall.Access(dir, wOK); err != nil {
		return fmt.Errorf("cannot write in %s: %w (run as the product's owner or root)", dir, &fs.PathError{Op: "access", Path: dir, Err: err})
	}
	return nil
}

func freeBytes(dir string) (uint64, bool) {
	var s syscall.Statfs_t
	if err := syscall.Statfs(dir, &s); err != nil {
		return 0, false
	}
	return s.Bavail * uint64(s.Bsize), true
}

// applyFix changes the root as the journal says: new directories, each
// file put in place atomically, deletions.
func (c *Client) applyFix(m *repo.Manifest, staging string, j *journal) error {
	root := c.Cfg.Root
	for _, d := range j.CreatedDirs {
		if err := os.Mkdir(rootPath(root, d), 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	byPath := map[string]journalEntry{}
	for _, e := range j.Entries {
		byPath[e.Path] = e
	}
	ps := make([]placement, 0, len(m.Files))
	for _, f := range m.Files {
		e := byPath[f.Path]
		uid, gid := -1, -1
		if e.Action == actReplace {
			uid, gid = e.UID, e.GID
		}
		ps = append(ps, placement{src: filepath.Join(staging, "files", filepath.FromSlash(f.Path)), target: rootPath(root, f.Path), mode: os.FileMode(f.Mode), uid: uid, gid: gid, move: true})
	}
	if err := placeFiles(ps); err != nil {
		return fmt.Errorf("put files in place: %w", err)
	}
	for _, d := range m.Delete {
		if err := os.Remove(rootPath(root, d)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("delete %s: %w", d, err)
		}
	}
	// The state file, written next, commits the fix: everything above
	// must be durable first.
	return syncParents(root, j)
}

// runHook runs an administrator hook, if configured.
func (c *Client) runHook(ctx context.Context, name, command string, fixes []repo.IndexFix) error {
	if command == "" {
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
	fmt.Fprintf(f, "%s %s: %s\n", time.Now().UTC().Format(time.RFC3339), name, command)
	env := []string{
		"HOTFIX_PRODUCT=" + c.Cfg.Product, "HOTFIX_ROOT=" + c.Cfg.Root, "HOTFIX_ROLE=" + c.Cfg.Role,
		"HOTFIX_VERSIONS=" + joinVersions(versionsOf(fixes)),
	}
	if err := runCommand(ctx, c.Cfg.Root, env, f, c.Cfg.Hooks.Timeout.Duration, true, command); err != nil {
		fmt.Fprintf(f, "%s %s failed: %v\n", time.Now().UTC().Format(time.RFC3339), name, err)
		return fmt.Errorf("%s hook failed: %v (log: %s)", name, err, logPath)
	}
	return nil
}

var _ = io.Discard
