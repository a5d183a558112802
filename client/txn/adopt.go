package txn

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
	"github.com/hotfix-project/hotfix/repo"
)

// Adopt hands the undoing of path rel from one fix's rollback record to
// another's: the record of fromV in from stops restoring rel, and the
// record of v in s (when to is true) restores it as from's would have
// (its backup, mode and owner; or, when from had added rel, its removal).
//
// It serves a customer fix whose file a later vendor fix overrode: when
// the customer fix goes, the file stays the vendor's, and the vendor
// fix's own rollback must then bring back what was there before the
// customer fix, not the customer's file it had backed up. Each step is
// durable and the whole is safe to repeat after a crash: once from's
// record no longer names rel, there is nothing left to hand over.
func (s Store) Adopt(v repo.Version, to bool, from Store, fromV repo.Version, rel string) error {
	fromDir := from.backupsOf(fromV)
	fj, err := loadJournal(fromDir)
	if err != nil {
		return fmt.Errorf("hand %s over from %s: %w", rel, fromDir, err)
	}
	i := entryIndex(fj, rel)
	if i < 0 {
		return nil // handed over already
	}
	e := fj.Entries[i]
	if to {
		if err := s.takeOver(v, e, filepath.Join(fromDir, backupSubdir, filepath.FromSlash(rel))); err != nil {
			return err
		}
	}
	fj.Entries = append(fj.Entries[:i:i], fj.Entries[i+1:]...)
	return fj.save(fromDir)
}

// takeOver makes the record of v undo e, with backup holding the file
// e restores.
func (s Store) takeOver(v repo.Version, e Entry, backup string) error {
	dir := s.backupsOf(v)
	j, err := loadJournal(dir)
	if err != nil {
		return fmt.Errorf("hand %s over to %s: %w", e.Path, v, err)
	}
	k := entryIndex(j, e.Path)
	if k < 0 {
		return fmt.Errorf("hand %s over to %s: its rollback record %s does not name it", e.Path, v, dir)
	}
	if e.Action != ActAdd {
		data, err := os.ReadFile(backup)
		if err != nil {
			return fmt.Errorf("hand %s over to %s: %w", e.Path, v, err)
		}
		dst := filepath.Join(dir, backupSubdir, filepath.FromSlash(e.Path))
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return err
		}
		if err := atomicfile.WriteFile(dst, data, os.FileMode(e.Mode)|0o600); err != nil {
			return err
		}
	} else if err := os.Remove(filepath.Join(dir, backupSubdir, filepath.FromSlash(e.Path))); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	j.Entries[k] = e
	return j.save(dir)
}

func entryIndex(j *Journal, rel string) int {
	for i, e := range j.Entries {
		if e.Path == rel {
			return i
		}
	}
	return -1
}
