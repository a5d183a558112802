package txn

import (
	"path/filepath"

	"github.com/hotfix-project/hotfix/internal/procgroup"
	"github.com/hotfix-project/hotfix/internal/statefile"
	"github.com/hotfix-project/hotfix/repo"
)

// On disk, under the state directory: txn/journal.json and txn/backup/
// for the transaction in progress, backups/VERSION/ (the same two) for
// each committed fix, which rollback uses. Existing servers hold these
// names: keep them.
const (
	txnDirName     = "txn"
	backupsDirName = "backups"
	journalName    = "journal.json"
	backupSubdir   = "backup"
)

// Journal operations.
const (
	OpInstall  = "install"
	OpRollback = "rollback"
)

// Journal phases.
const (
	PhasePrepare = "prepare" // backups being made; the root is untouched
	PhaseApply   = "apply"   // the root may be changing; undo from backups
)

// Entry actions.
const (
	ActReplace = "replace" // existed before: restore the backup
	ActAdd     = "add"     // did not exist: remove it
	ActDelete  = "delete"  // removed by the fix: restore the backup
)

// Entry is one path of the root a transaction touches, and how to undo it.
type Entry struct {
	Path   string `json:"path"`
	Action string `json:"action"`
	Mode   uint32 `json:"mode,omitempty"` // of the original, for replace/delete
	UID    int    `json:"uid,omitempty"`
	GID    int    `json:"gid,omitempty"`
}

// Journal lists everything one transaction touches, so that it can be
// undone from its backups at any instant.
type Journal struct {
	Op          string       `json:"op"`
	Version     repo.Version `json:"version"`
	Phase       string       `json:"phase"`
	Entries     []Entry      `json:"entries"`
	CreatedDirs []string     `json:"created_dirs,omitempty"` // shallowest first
	// HandOver lists the paths a rollback gives to a later fix's record
	// instead of undoing them (Finish does it first, Recover again).
	HandOver []HandOver `json:"hand_over,omitempty"`
	// Script is the install script running, if one is: Recover stops
	// what it left running before it touches the root.
	Script *procgroup.Group `json:"script,omitempty"`
}

// journalFile is DIR/journal.json. Every writer holds the client's
// transaction lock, so it takes no lock of its own.
func journalFile(dir string) statefile.File[Journal] {
	return statefile.File[Journal]{Path: filepath.Join(dir, journalName), Perm: 0o600}
}

func (j *Journal) save(dir string) error { return journalFile(dir).Save(j) }

// RecordScript notes in the journal, durably, the processes of the
// script that is running (nil once they are gone), so that Recover can
// stop them before it restores the root.
func (t *Txn) RecordScript(g *procgroup.Group) error {
	t.Journal.Script = g
	return t.Journal.save(t.dir)
}
