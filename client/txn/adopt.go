package txn

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
	"github.com/hotfix-project/hotfix/repo"
)

// HandOver names a path whose undoing a rollback gives to a later fix's
// rollback record instead of doing it: the later fix's record then
// restores the path as this one's would have (its backup, mode and
// owner; or, where this fix had added it, its removal).
//
// It serves a customer fix whose file a later vendor fix overrode: when
// the customer fix goes, the file stays the vendor's, and the vendor
// fix's own rollback must then bring back what was there before the
// customer fix, not the customer's file it had backed up.
type HandOver struct {
	Path string       `json:"path"`
	To   repo.Version `json:"to"` // the later fix, in the store's Heir
	// Drop: To is not installed (any more); the path is only left alone.
	Drop bool `json:"drop,omitempty"`
}

// handOver gives the undoing of the journal's HandOver paths to the
// records of the heir store, then drops them from the journal, so that
// Restore leaves them alone. It runs inside the rollback transaction,
// whose journal lists the handovers from BeginRollback on: a crash
// anywhere in it is finished by Recover doing it all again, which gives
// the same result (each step writes what the journal says, not what it
// finds), so the heir's record and the caller's are never left half
// way, whatever order the caller then goes in.
func (t *Txn) handOver() error {
	j := t.Journal
	if len(j.HandOver) == 0 {
		return nil
	}
	if t.store.Heir == "" {
		return fmt.Errorf("journal %s hands paths over to fix %s, but its store names no heir", t.dir, j.HandOver[0].To)
	}
	heir := Store{Root: t.store.Root, StateDir: t.store.Heir}
	byFix := map[string][]HandOver{}
	var order []repo.Version
	for _, h := range j.HandOver {
		if h.Drop {
			continue
		}
		k := h.To.String()
		if _, ok := byFix[k]; !ok {
			order = append(order, h.To)
		}
		byFix[k] = append(byFix[k], h)
	}
	for _, v := range order {
		if err := heir.takeOver(v, t, byFix[v.String()]); err != nil {
			return err
		}
	}
	for _, h := range j.HandOver {
		if i := entryIndex(j, h.Path); i >= 0 {
			j.Entries = slices.Delete(j.Entries, i, i+1)
		}
	}
	j.HandOver = nil
	return j.save(t.dir)
}

// takeOver makes the record of v undo the paths hs of transaction from
// as from's journal says, copying from's backups, in one durable write
// of v's journal.
func (s Store) takeOver(v repo.Version, from *Txn, hs []HandOver) error {
	dir := s.backupsOf(v)
	j, err := loadJournal(dir)
	if err != nil {
		return fmt.Errorf("hand %s over to %s: %w", hs[0].Path, v, err)
	}
	for _, h := range hs {
		i := entryIndex(from.Journal, h.Path)
		if i < 0 {
			continue // handed over before a crash
		}
		e := from.Journal.Entries[i]
		dst := filepath.Join(dir, backupSubdir, filepath.FromSlash(e.Path))
		if e.Action == ActAdd {
			if err := os.Remove(dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("hand %s over to %s: %w", e.Path, v, err)
			}
		} else if err := copyBackup(filepath.Join(from.dir, backupSubdir, filepath.FromSlash(e.Path)), dst, os.FileMode(e.Mode)); err != nil {
			return fmt.Errorf("hand %s over to %s: %w", e.Path, v, err)
		}
		// A vendor fix that deleted a file the customer fix had already
		// deleted changed nothing there and has no entry: it gets one.
		if k := entryIndex(j, e.Path); k >= 0 {
			j.Entries[k] = e
		} else {
			j.Entries = append(j.Entries, e)
		}
		// The directories the customer fix created for the path are the
		// later fix's to remove now.
		for _, d := range from.Journal.CreatedDirs {
			if strings.HasPrefix(e.Path, d+"/") && !slices.Contains(j.CreatedDirs, d) {
				j.CreatedDirs = append(j.CreatedDirs, d)
			}
		}
	}
	slices.Sort(j.CreatedDirs) // as Plan writes them: a parent before its children
	if err := syncTree(filepath.Join(dir, backupSubdir)); err != nil {
		return err
	}
	return j.save(dir)
}

// copyBackup copies the backup src to dst, durably (the journal that
// names it is written after).
func copyBackup(src, dst string, mode os.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	return atomicfile.WriteFile(dst, data, mode|0o600)
}

func entryIndex(j *Journal, rel string) int {
	for i, e := range j.Entries {
		if e.Path == rel {
			return i
		}
	}
	return -1
}
