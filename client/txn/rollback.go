package txn

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
	"github.com/hotfix-project/hotfix/internal/procgroup"
	"github.com/hotfix-project/hotfix/repo"
)

// loadJournal reads dir/journal.json; a missing one is fs.ErrNotExist.
func loadJournal(dir string) (*Journal, error) {
	j, found, err := journalFile(dir).Load()
	if err != nil {
		return nil, fmt.Errorf("journal %s is damaged: %w", dir, err)
	}
	if !found {
		return nil, &os.PathError{Op: "open", Path: filepath.Join(dir, journalName), Err: os.ErrNotExist}
	}
	return j, nil
}

// CheckBackups makes sure the rollback record of v is complete, so that
// a rollback refused for a missing backup changes nothing.
func (s Store) CheckBackups(v repo.Version) error {
	dir := s.backupsOf(v)
	j, err := loadJournal(dir)
	if err != nil {
		return fmt.Errorf("cannot roll back %s: its backup record %s is missing or damaged (%w); restore the files by hand or reinstall the base", v, dir, err)
	}
	for _, e := range j.Entries {
		if e.Action == ActAdd {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, backupSubdir, filepath.FromSlash(e.Path))); err != nil {
			return fmt.Errorf("cannot roll back %s: the backup of %s is missing from %s", v, e.Path, dir)
		}
	}
	return nil
}

// BeginRollback turns the rollback record of v back into the transaction
// in progress, its journal marked as a rollback, durably: from here on a
// crash is finished by Recover, not undone. The paths hand names are
// handed over to later fixes' records (s.Heir's) instead of restored:
// the journal lists them in the same write, so that the handover is part
// of the transaction.
func (s Store) BeginRollback(v repo.Version, hand ...HandOver) (*Txn, error) {
	if err := s.CheckBackups(v); err != nil {
		return nil, err
	}
	t := &Txn{store: s, dir: s.txnDir()}
	if err := os.RemoveAll(t.dir); err != nil {
		return nil, err
	}
	if err := os.Rename(s.backupsOf(v), t.dir); err != nil {
		return nil, fmt.Errorf("roll back %s: %w", v, err)
	}
	j, err := loadJournal(t.dir)
	if err != nil {
		return nil, err
	}
	j.Op, j.HandOver = OpRollback, hand
	if err := j.save(t.dir); err != nil {
		return nil, err
	}
	if err := atomicfile.SyncDir(s.StateDir); err != nil {
		return nil, fmt.Errorf("roll back %s: %w", v, err)
	}
	t.Journal = j
	return t, nil
}

// Finish completes a rollback: it hands the journal's HandOver paths
// over, restores the root, lets forget drop the fix from the caller's
// record, and discards the transaction. It is safe to repeat after a
// crash.
func (t *Txn) Finish(ctx context.Context, forget func(v repo.Version) error) error {
	if err := t.handOver(); err != nil {
		return fmt.Errorf("roll back %s: %w: run \"hotfix recover\" after fixing the cause", t.Journal.Version, err)
	}
	if err := t.Restore(ctx); err != nil {
		return fmt.Errorf("roll back %s: %w: run \"hotfix recover\" after fixing the cause", t.Journal.Version, err)
	}
	if err := forget(t.Journal.Version); err != nil {
		return err
	}
	return t.Discard()
}

// Recovery is what Recover found and did.
type Recovery struct {
	Version repo.Version // of the interrupted transaction; zero when it had no journal yet
	Did     string       // for people and the audit log
}

// Recover finishes or undoes a transaction that a crash interrupted, so
// that the root matches the caller's record again. recorded reports
// whether the record lists v as installed (the commit point; it is asked
// once, and its error ends Recover); forget drops v from it, to finish
// an interrupted rollback. It returns nil when
// there was nothing to do. When it fails, the Recovery says what it was
// doing.
func (s Store) Recover(ctx context.Context, recorded func(v repo.Version) (bool, error), forget func(v repo.Version) error) (*Recovery, error) {
	dir := s.txnDir()
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	j, err := loadJournal(dir)
	if errors.Is(err, os.ErrNotExist) {
		// The crash came before the journal existed: the root is untouched.
		return &Recovery{Did: (&Interrupted{}).Did(false)}, os.RemoveAll(dir)
	}
	if err != nil {
		return nil, err
	}
	committed, err := recorded(j.Version)
	if err != nil {
		return nil, err
	}
	t := &Txn{store: s, dir: dir, Journal: j}
	rec := &Recovery{Version: j.Version}
	stopped, err := stopScript(ctx, j)
	if err != nil {
		rec.Did = fmt.Sprintf("%s of %s was interrupted while a script ran", j.Op, j.Version)
		return rec, err
	}
	defer func() { rec.Did = stopped + rec.Did }()
	rec.Did = (&Interrupted{Version: j.Version, Op: j.Op, Phase: j.Phase}).Did(committed)
	switch {
	case j.Op == OpInstall && committed:
		err = t.Commit()
	case j.Op == OpInstall && j.Phase == PhasePrepare:
		err = os.RemoveAll(dir)
	case j.Op == OpInstall:
		if err = t.Restore(ctx); err == nil {
			err = t.Discard()
		}
	case j.Op == OpRollback:
		err = t.Finish(ctx, forget)
	default:
		return nil, fmt.Errorf("unknown journal operation %q in %s", j.Op, dir)
	}
	return rec, err
}

// stopScript stops what the script the journal names left running (a
// crash kills the script itself, not its children), before anything
// touches the root. It says what it stopped, for the Recovery.
func stopScript(ctx context.Context, j *Journal) (string, error) {
	if j.Script == nil {
		return "", nil
	}
	n, err := procgroup.Stop(ctx, *j.Script)
	if err != nil {
		return "", fmt.Errorf("%w; the root was left as it is: run \"hotfix recover\" again once they are gone", err)
	}
	if n == 0 {
		return "", nil
	}
	return fmt.Sprintf("stopped %d process(es) that %s left running; ", n, j.Script.Name), nil
}
