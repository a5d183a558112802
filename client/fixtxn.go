package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hotfix-project/hotfix/client/txn"
	"github.com/hotfix-project/hotfix/internal/beneath"
	"github.com/hotfix-project/hotfix/internal/procgroup"
	"github.com/hotfix-project/hotfix/repo"
)

// ErrLocalChanges means files a fix would replace were changed locally
// since an earlier fix installed them; see LocalChangesError.
var ErrLocalChanges = errors.New("locally modified files")

// LocalChangesError refuses a fix over files changed locally since an
// earlier fix installed them (or deleted by an earlier fix and back).
type LocalChangesError struct {
	Files []string // absolute paths, sorted
}

// The advice names --force: moving it to cmd would move it after the
// step error's "(log: ...)", and users and scripts read this message.
func (e *LocalChangesError) Error() string {
	return fmt.Sprintf("%s: %s changed since an earlier fix installed them; keep your changes and ask the vendor, or install anyway with --force (the changed files are backed up and come back on rollback)", ErrLocalChanges, strings.Join(e.Files, ", "))
}

// Is makes errors.Is(err, ErrLocalChanges) hold.
func (e *LocalChangesError) Is(target error) bool { return target == ErrLocalChanges }

// fixLog is the log of one fix's install, one timestamped line each.
type fixLog struct {
	w   io.Writer
	now func() time.Time
}

func (l fixLog) printf(format string, args ...any) {
	fmt.Fprintf(l.w, "%s %s\n", l.now().UTC().Format(time.RFC3339), fmt.Sprintf(format, args...))
}

// installFix runs one fix's transaction. It returns the fix's log path.
func (c *Client) installFix(ctx context.Context, st *State, f repo.IndexFix, a archive, opts *InstallOptions) (logPath string, err error) {
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
	log := fixLog{w: logf, now: c.Now}
	fail := func(step string, err error) error {
		log.printf("FAILED at %s: %v", step, err)
		return &StepError{Version: v, Step: step, Log: logPath, Err: err}
	}
	log.printf("%s %s %s (root %s, role %s)", kind, c.Cfg.Product, v, c.Cfg.Root, c.Cfg.Role)

	// Verify: unpack into a staging directory, checking every entry.
	opts.step(v, "verify")
	staging := filepath.Join(c.Cfg.CacheDir, "staging", v.String())
	os.RemoveAll(staging)
	if err := os.MkdirAll(filepath.Dir(staging), 0o755); err != nil {
		return logPath, fail("verify", err)
	}
	defer os.RemoveAll(staging)
	m, err := c.unpack(ctx, a, staging)
	if err != nil {
		return logPath, fail("verify", err)
	}
	if m.Product != c.Cfg.Product || !m.Version.Equal(v) || m.IsCustom() {
		return logPath, fail("verify", fmt.Errorf("archive holds %s %s, the index promised %s %s", m.Product, m.Name(), c.Cfg.Product, v))
	}

	// Parts: what this server leaves out is as if the fix lacked it.
	parts, skipped := c.chooseParts(st, m, opts)
	if len(m.Parts) > 0 {
		log.printf("parts installed: %s; left out: %s", listOrNone(parts), listOrNone(skipped))
	}
	m = m.Without(skipped)

	opts.step(v, "test")
	j, err := c.testFix(st, m, opts.Force)
	if err != nil {
		return logPath, fail("test", err)
	}
	// Customer fixes owning files of this fix stop it here, before
	// anything is written, unless their override is allowed.
	over, err := customOverrides(st, m, opts)
	if err != nil {
		return logPath, fail("test", err)
	}
	log.printf("tests passed: %d files to replace or add, %d to delete", len(m.Files), len(m.Delete))
	if opts.DryRun {
		log.printf("dry run: nothing changed")
		return logPath, nil
	}
	return logPath, c.transact(ctx, c.store(), m, staging, j, opts, log, fail, func() error {
		return c.recordFix(st, m, opts, over, parts, skipped)
	})
}

// recordFix records vendor fix m as installed, and the customer files it
// overrode, in one write of the state: the commit point of its install.
func (c *Client) recordFix(st *State, m *repo.Manifest, opts *InstallOptions, over map[string][]string, parts, skipped []string) error {
	v := m.Version
	rec := InstalledFix{Version: v, InstalledAt: c.Now().UTC(), By: currentUser(), Summary: m.Summary, Files: map[string]string{}, Deleted: m.Delete, Forced: opts.Force, Parts: parts, SkippedParts: skipped}
	for _, fe := range m.Files {
		rec.Files[fe.Path] = fe.SHA256
	}
	// The file database changes in the same write as the record: the
	// commit point.
	rec.Previous = st.files().Install(vendorOwner(v), m.Files, m.Delete, partOf(m))
	st.Installed = append(st.Installed, rec)
	unmark := markOverridden(st, v, over)
	if err := st.Save(c.Cfg.StateDir); err != nil {
		st.Installed = st.Installed[:len(st.Installed)-1]
		st.files().Revert(vendorOwner(v), fixPaths(&rec), rec.Previous)
		unmark()
		return err
	}
	return nil
}

// listOrNone is "a, b", or "none".
func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// transact changes the root for one tested fix, in the transactions of
// store: journal, back up, apply, scripts, and record (the commit point,
// which must leave the caller's record as it was when it fails); any
// failure once the root changes restores it.
func (c *Client) transact(ctx context.Context, store txn.Store, m *repo.Manifest, staging string, j *txn.Journal, opts *InstallOptions, log fixLog, fail func(string, error) error, record func() error) error {
	v := m.Version
	opts.step(v, "journal")
	t, err := store.Begin(j)
	if err != nil {
		return fail("journal", err)
	}
	opts.step(v, "backup")
	if err := t.BackUp(ctx); err != nil {
		return fail("backup", err)
	}

	// From here on the root changes; any failure restores it.
	undo := func(step string, cause error) error {
		if rerr := t.Restore(ctx); rerr != nil {
			log.printf("RESTORE FAILED: %v", rerr)
			return fail(step, fmt.Errorf("%w; restoring the root also failed (%w): the journal in %s stays for \"hotfix recover\"", cause, rerr, t.Dir()))
		}
		if err := t.Discard(); err != nil {
			log.printf("warning: %v", err)
		}
		log.printf("root restored to its state before %s", v)
		return fail(step, fmt.Errorf("%w (the root was restored to its state before %s)", cause, v))
	}
	opts.step(v, "apply")
	if err := t.Apply(ctx, m, staging); err != nil {
		return undo("apply", err)
	}
	log.printf("files in place")
	opts.step(v, "scripts")
	for _, s := range ScriptsForRole(m.Scripts, c.Cfg.Role) {
		log.printf("running script %s", s.Path)
		err := runCommand(ctx, command{
			name: "script " + s.Path, dir: c.Cfg.Root, env: c.scriptEnv(v), log: log.w,
			timeout: c.Cfg.ScriptTimeout.Duration, argv: []string{filepath.Join(staging, "scripts", s.Path)},
			record: t.RecordScript,
		})
		if errors.Is(err, procgroup.ErrStillRunning) {
			// Restoring under a process that may still write would be a
			// lie; recover stops it first (the journal names it).
			log.printf("FAILED at script %s: %v", s.Path, err)
			return fail("script "+s.Path, fmt.Errorf("%w: the root was not restored; the journal in %s stays for \"hotfix recover\"", err, t.Dir()))
		}
		if err != nil {
			return undo("script "+s.Path, err)
		}
	}

	// Commit: the state names the fix installed.
	opts.step(v, "commit")
	if err := record(); err != nil {
		return undo("commit", err)
	}
	if err := t.Commit(); err != nil {
		log.printf("warning: %v", err)
	}
	log.printf("installed %s", m.Name())
	opts.step(v, "done")
	return nil
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
func (c *Client) testFix(st *State, m *repo.Manifest, force bool) (*txn.Journal, error) {
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
	j, err := txn.Plan(root, m)
	if err != nil {
		return nil, err
	}
	modified, err := localChanges(root, st, m, j)
	if err != nil {
		return nil, err
	}
	if len(modified) > 0 && !force {
		return nil, &LocalChangesError{Files: modified}
	}
	if err := c.store().Preflight(j, m); err != nil {
		return nil, err
	}
	return j, nil
}

// localChanges lists, sorted, the files j would replace or delete that
// differ from what the file database says their owner wrote, and the files an
// earlier fix deleted that exist again. It reads the root through
// internal/beneath: a link on the way is never followed (and counts as a
// change).
func localChanges(root string, st *State, m *repo.Manifest, j *txn.Journal) ([]string, error) {
	r, err := beneath.Open(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var modified []string
	for _, e := range j.Entries {
		if e.Action == txn.ActAdd {
			continue
		}
		if sum, ok := ownerHash(st, e.Path); ok {
			if got, err := hashIn(r, e.Path); err != nil || got != sum {
				modified = append(modified, rootPath(root, e.Path))
			}
		}
	}
	for _, f := range m.Files {
		if deletedByEarlierFix(st, f.Path) {
			if _, err := r.Lstat(f.Path); err == nil {
				modified = append(modified, rootPath(root, f.Path))
			}
		}
	}
	sort.Strings(modified)
	return modified, nil
}

// hashIn is the hex sha256 of the regular file rel under r.
func hashIn(r *beneath.Root, rel string) (string, error) {
	f, err := r.Open(rel)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", f.Name(), err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// rootPath maps a manifest path into the root.
func rootPath(root, rel string) string { return filepath.Join(root, filepath.FromSlash(rel)) }

// deletedByEarlierFix reports whether the fix that had rel last deleted
// it: an installed customer fix that owns the deletion, or the newest
// vendor fix that shipped or deleted it.
func deletedByEarlierFix(st *State, rel string) bool {
	for _, cf := range st.Custom {
		if _, shipped := cf.Files[rel]; !shipped && slices.Contains(cf.owned(), rel) {
			return true
		}
	}
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
