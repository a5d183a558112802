package txn

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/hotfix-project/hotfix/repo"
)

// Interrupted is a transaction a crash left in the state directory, as
// read without changing anything: for status, for a dry run, and for
// saying what Recover would do.
type Interrupted struct {
	Version repo.Version // zero when the crash came before the journal
	Op      string       // OpInstall or OpRollback; "" without a journal
	Phase   string       // PhasePrepare or PhaseApply
	Since   time.Time    // when the journal was last written (its phase began)
	Dir     string
}

// Step names where the transaction stopped, for people and monitoring:
// "begin" (no journal yet), "backup" (an install making its backups, the
// root untouched), "apply" (an install changing the root) or "rollback".
func (i *Interrupted) Step() string {
	switch {
	case i.Op == "":
		return "begin"
	case i.Op == OpRollback:
		return "rollback"
	case i.Phase == PhasePrepare:
		return "backup"
	default:
		return "apply"
	}
}

// Did says what Recover did with this transaction, for people and the
// audit log; committed is whether the caller's record lists the version
// as installed.
func (i *Interrupted) Did(committed bool) string {
	v := i.Version
	switch {
	case i.Op == "":
		return "removed an empty transaction"
	case i.Op == OpInstall && committed:
		return fmt.Sprintf("install of %s had committed; kept it", v)
	case i.Op == OpInstall && i.Phase == PhasePrepare:
		return fmt.Sprintf("install of %s had not started changing the root; discarded it", v)
	case i.Op == OpInstall:
		return fmt.Sprintf("install of %s was interrupted; restored the root from its backups", v)
	default:
		return fmt.Sprintf("rollback of %s was interrupted; finished it", v)
	}
}

// WouldDo says, before the fact, what Recover will do with this
// transaction (see Did).
func (i *Interrupted) WouldDo(committed bool) string {
	v := i.Version
	switch {
	case i.Op == "":
		return "remove an empty transaction (the root was not touched)"
	case i.Op == OpInstall && committed:
		return fmt.Sprintf("keep the install of %s, which had committed", v)
	case i.Op == OpInstall && i.Phase == PhasePrepare:
		return fmt.Sprintf("discard the install of %s, which had not started changing the root", v)
	case i.Op == OpInstall:
		return fmt.Sprintf("undo the half install of %s, restoring the root from its backups", v)
	default:
		return fmt.Sprintf("finish the rollback of %s, restoring the root from its backups", v)
	}
}

// Inspect returns the interrupted transaction, or nil when there is
// none. It changes nothing.
func (s Store) Inspect() (*Interrupted, error) {
	dir := s.txnDir()
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := &Interrupted{Dir: dir, Since: fi.ModTime().UTC()}
	j, err := loadJournal(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	if ji, err := os.Stat(filepath.Join(dir, journalName)); err == nil {
		out.Since = ji.ModTime().UTC()
	}
	if j.Op != OpInstall && j.Op != OpRollback {
		return nil, fmt.Errorf("unknown journal operation %q in %s", j.Op, dir)
	}
	out.Version, out.Op, out.Phase = j.Version, j.Op, j.Phase
	return out, nil
}

// Committed lists, in version order, the fixes whose rollback record
// (backups/VERSION) exists: the fixes this root had installed, whatever
// the caller's record says. It changes nothing.
func (s Store) Committed() ([]repo.Version, error) {
	ents, err := os.ReadDir(filepath.Join(s.StateDir, backupsDirName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []repo.Version
	for _, e := range ents {
		v, err := repo.ParseVersion(e.Name())
		if err != nil || !e.IsDir() {
			continue // not ours: backups/ holds only version directories
		}
		out = append(out, v)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Compare(out[b]) < 0 })
	return out, nil
}

// CommittedJournal is the journal kept with the backups of v: the paths
// its install replaced, added and deleted.
func (s Store) CommittedJournal(v repo.Version) (*Journal, error) {
	return loadJournal(s.backupsOf(v))
}

// BackupsDir is where the backups of v are kept, for messages.
func (s Store) BackupsDir(v repo.Version) string { return s.backupsOf(v) }

// BackupFile is where the rollback record of v keeps its backup of rel
// (the file as it was before v), and the journal entry that restores
// it; ok is false when the record does not back rel up.
func (s Store) BackupFile(v repo.Version, rel string) (path string, e Entry, ok bool) {
	j, err := loadJournal(s.backupsOf(v))
	if err != nil {
		return "", Entry{}, false
	}
	i := entryIndex(j, rel)
	if i < 0 || j.Entries[i].Action == ActAdd {
		return "", Entry{}, false
	}
	return filepath.Join(s.backupsOf(v), backupSubdir, filepath.FromSlash(rel)), j.Entries[i], true
}
