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
	"github.com/hotfix-project/hotfix/internal/beneath"
	"github.com/hotfix-project/hotfix/repo"
)

// Store is where one root's transactions live: StateDir/txn for the one
// in progress, StateDir/backups/VERSION for each committed fix. At most
// one transaction runs at a time; the caller holds the lock that ensures
// it.
type Store struct {
	Root     string // the product's install root
	StateDir string
	// Heir is the StateDir of the store whose fixes' records take over
	// the paths a rollback in this one hands over (HandOver); "" when
	// it hands nothing over.
	Heir string
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
	root, err := beneath.Open(t.store.Root)
	if err != nil {
		return err
	}
	defer root.Close()
	backupDir := filepath.Join(t.dir, backupSubdir)
	backups, err := beneath.Open(backupDir)
	if err != nil {
		return err
	}
	defer backups.Close()
	var ps []placement
	for _, e := range t.Journal.Entries {
		if e.Action == ActAdd {
			continue
		}
		if err := backups.MkdirAll(pathDir(e.Path), 0o700); err != nil {
			return err
		}
		ps = append(ps, placement{from: root, src: e.Path, to: backups, target: e.Path, mode: os.FileMode(e.Mode) | 0o600, uid: -1})
	}
	if err := placeFiles(ctx, ps); err != nil {
		return err
	}
	return syncTree(backupDir)
}

// Apply changes the root as the journal says: new directories, each file
// of m put in place atomically from staging (whose files/ it consumes),
// deletions; then makes it all durable, because the caller's record of
// the fix, written next, commits it. No link under the root or the
// staging directory is followed: a directory swapped for a link since
// Plan makes Apply fail (and the caller restore).
func (t *Txn) Apply(ctx context.Context, m *repo.Manifest, staging string) error {
	root, err := beneath.Open(t.store.Root)
	if err != nil {
		return err
	}
	defer root.Close()
	var stage *beneath.Root
	if len(m.Files) > 0 {
		if stage, err = beneath.Open(staging); err != nil {
			return err
		}
		defer stage.Close()
	}
	for _, d := range t.Journal.CreatedDirs {
		if err := root.Mkdir(d, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
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
		ps = append(ps, placement{from: stage, src: "files/" + f.Path, to: root, target: f.Path, mode: os.FileMode(f.Mode), uid: uid, gid: gid, move: true})
	}
	if err := placeFiles(ctx, ps); err != nil {
		return fmt.Errorf("put files in place: %w", err)
	}
	for _, d := range m.Delete {
		if err := root.Remove(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
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
// come back, added files and created (empty) directories go. A file that
// is still exactly its backup (content, mode, owner) is left alone: the
// failure may have come before it was touched, and it may be a file that
// cannot be replaced at all (immutable, a mount point). It is idempotent,
// so a crash while restoring is mended by restoring again, and it runs to
// its end even when ctx ends: half a restore is the one state worse than
// either side. No link under the root is followed. The transaction
// stays; Discard it after.
func (t *Txn) Restore(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx)
	j := t.Journal
	root, err := beneath.Open(t.store.Root)
	if err != nil {
		return err
	}
	defer root.Close()
	backups, err := beneath.Open(filepath.Join(t.dir, backupSubdir))
	if err != nil {
		return err
	}
	defer backups.Close()
	var errs []error
	var ps []placement
	for i := len(j.Entries) - 1; i >= 0; i-- {
		e := j.Entries[i]
		if err := root.RemoveTemps(e.Path); err != nil {
			errs = append(errs, err)
		}
		switch e.Action {
		case ActAdd:
			if err := root.Remove(e.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		case ActReplace, ActDelete:
			if unchanged(root, backups, e) {
				continue
			}
			if err := root.MkdirAll(pathDir(e.Path), 0o755); err != nil {
				errs = append(errs, err)
				continue
			}
			ps = append(ps, placement{from: backups, src: e.Path, to: root, target: e.Path, mode: os.FileMode(e.Mode), uid: e.UID, gid: e.GID})
		}
	}
	if err := placeFiles(ctx, ps); err != nil {
		errs = append(errs, fmt.Errorf("restore from backup: %w", err))
	}
	dirs := append([]string(nil), j.CreatedDirs...)
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, d := range dirs {
		// Only empty directories go: anything else in them is not ours.
		root.RemoveDir(d)
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
