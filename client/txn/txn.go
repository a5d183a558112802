package txn

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
	"github.com/hotfix-project/hotfix/repo"
)

// Store is where one root's transactions live: StateDir/txn for the one
// in progress, StateDir/backups/VERSION for each committed fix. At most
// one transaction runs at a time; the caller holds the lock that ensures
// it.
type Store struct {
	Root     string // the product's install root
	StateDir string
}

// Txn is one transaction in progress: its journal and its directory.
type Txn struct {
	store   Store
	dir     string
	Journal *Journal
}

func (s Store) txnDir() string { return filepath.Join(s.StateDir, txnDirName) }

func (s Store) backupsOf(v repo.Version) string {
	return filepath.Join(s.StateDir, backupsDirName, v.String())
}

// InProgress returns the directory of an unfinished transaction, or "".
func (s Store) InProgress() string {
	if _, err := os.Stat(s.txnDir()); err == nil {
		return s.txnDir()
	}
	return ""
}

// Begin starts the transaction of j: a fresh transaction directory, and
// the journal in it, durable, before anything is copied.
func (s Store) Begin(j *Journal) (*Txn, error) {
	t := &Txn{store: s, dir: s.txnDir(), Journal: j}
	if err := os.RemoveAll(t.dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(t.dir, backupSubdir), 0o700); err != nil {
		return nil, err
	}
	if err := j.save(t.dir); err != nil {
		return nil, err
	}
	if err := atomicfile.SyncDir(s.StateDir); err != nil {
		return nil, err
	}
	return t, nil
}

// BackUp copies every file the journal replaces or deletes into the
// transaction, durably (files, and the directories that name them), and
// only then moves the journal to the apply phase: from its return on, the
// root may change. On error the transaction is discarded (the root is
// untouched).
func (t *Txn) BackUp(ctx context.Context) error {
	err := t.backUp(ctx)
	if err == nil {
		t.Journal.Phase = PhaseApply
		err = t.Journal.save(t.dir)
	}
	if err != nil {
		return errors.Join(err, t.Discard())
	}
	return nil
}

func (t *Txn) backUp(ctx context.Context) error {
	backupDir := filepath.Join(t.dir, backupSubdir)
	var ps []placement
	for _, e := range t.Journal.Entries {
		if e.Action == ActAdd {
			continue
		}
		dst := filepath.Join(backupDir, filepath.FromSlash(e.Path))
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return err
		}
		ps = append(ps, placement{src: rootPath(t.store.Root, e.Path), target: dst, mode: os.FileMode(e.Mode) | 0o600, uid: -1})
	}
	if err := placeFiles(ctx, ps); err != nil {
		return err
	}
	return syncTree(backupDir)
}

// Apply changes the root as the journal says: new directories, each file
// of m put in place atomically from staging (whose files/ it consumes),
// deletions; then makes it all durable, because the caller's record of
// the fix, written next, commits it.
func (t *Txn) Apply(ctx context.Context, m *repo.Manifest, staging string) error {
	root := t.store.Root
	for _, d := range t.Journal.CreatedDirs {
		if err := os.Mkdir(rootPath(root, d), 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	byPath := map[string]Entry{}
	for _, e := range t.Journal.Entries {
		byPath[e.Path] = e
	}
	ps := make([]placement, 0, len(m.Files))
	for _, f := range m.Files {
		e := byPath[f.Path]
		uid, gid := -1, -1
		if e.Action == ActReplace {
			uid, gid = e.UID, e.GID
		}
		ps = append(ps, placement{src: filepath.Join(staging, "files", filepath.FromSlash(f.Path)), target: rootPath(root, f.Path), mode: os.FileMode(f.Mode), uid: uid, gid: gid, move: true})
	}
	if err := placeFiles(ctx, ps); err != nil {
		return fmt.Errorf("put files in place: %w", err)
	}
	for _, d := range m.Delete {
		if err := os.Remove(rootPath(root, d)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("delete %s: %w", d, err)
		}
	}
	return syncParents(root, t.Journal)
}

// Commit keeps the transaction as the fix's rollback record
// (backups/VERSION). Call it after the caller recorded the fix: that
// record is the commit point, and an error here loses only the ability
// to roll back by backups.
func (t *Txn) Commit() error {
	v := t.Journal.Version
	dst := t.store.backupsOf(v)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	if err := os.RemoveAll(dst); err != nil {
		return fmt.Errorf("keep backups of %s: %w", v, err)
	}
	if err := os.Rename(t.dir, dst); err != nil {
		return fmt.Errorf("keep backups of %s: %w", v, err)
	}
	return atomicfile.SyncDir(t.store.StateDir)
}

// Restore undoes the journal from the backups: replaced and deleted files
// come back, added files and created (empty) directories go. It is
// idempotent, so a crash while restoring is mended by restoring again,
// and it runs to its end even when ctx ends: half a restore is the one
// state worse than either side. The transaction stays; Discard it after.
func (t *Txn) Restore(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx)
	root, j := t.store.Root, t.Journal
	backupDir := filepath.Join(t.dir, backupSubdir)
	var errs []error
	var ps []placement
	for i := len(j.Entries) - 1; i >= 0; i-- {
		e := j.Entries[i]
		target := rootPath(root, e.Path)
		removeTemps(target)
		switch e.Action {
		case ActAdd:
			if err := os.Remove(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("remove %s: %w", target, err))
			}
		case ActReplace, ActDelete:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				errs = append(errs, err)
				continue
			}
			ps = append(ps, placement{src: filepath.Join(backupDir, filepath.FromSlash(e.Path)), target: target, mode: os.FileMode(e.Mode), uid: e.UID, gid: e.GID})
		}
	}
	if err := placeFiles(ctx, ps); err != nil {
		errs = append(errs, fmt.Errorf("restore from backup: %w", err))
	}
	dirs := append([]string(nil), j.CreatedDirs...)
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, d := range dirs {
		// Only empty directories go: anything else in them is not ours.
		os.Remove(rootPath(root, d))
	}
	if err := syncParents(root, j); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Discard deletes the transaction directory. The journal goes first,
// durably: removing the tree is not atomic, and a crash halfway must not
// leave a journal whose backups are partly gone (recover would then try
// to restore from missing files and fail for good). A transaction
// directory without a journal is only litter.
func (t *Txn) Discard() error {
	if err := os.Remove(filepath.Join(t.dir, journalName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("discard transaction %s: %w", t.dir, err)
	}
	if err := atomicfile.SyncDir(t.dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("discard transaction %s: %w", t.dir, err)
	}
	if err := os.RemoveAll(t.dir); err != nil {
		return fmt.Errorf("discard transaction %s: %w", t.dir, err)
	}
	return nil
}

// Dir is the transaction's directory, for messages.
func (t *Txn) Dir() string { return t.dir }
