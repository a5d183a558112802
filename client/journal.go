package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
	"github.com/hotfix-project/hotfix/repo"
)

// The journal makes every change to the root undoable. Before the first
// byte of the root changes, txn/journal.json lists every path the fix
// touches and how to undo it, and txn/backup/ holds a copy of everything
// replaced or deleted. The commit point is the state file: a fix listed
// there is installed, any other journal is undone. After commit the
// transaction directory becomes backups/VERSION, which rollback uses.

const (
	txnDirName     = "txn"
	backupsDirName = "backups"
	journalName    = "journal.json"
	backupSubdir   = "backup"
)

// Journal phases.
const (
	phasePrepare = "prepare" // backups being made; the root is untouched
	phaseApply   = "apply"   // the root may be changing; undo from backups
)

// Journal operations.
const (
	opInstall  = "install"
	opRollback = "rollback"
)

// Entry actions.
const (
	actReplace = "replace" // existed before: restore the backup
	actAdd     = "add"     // did not exist: remove it
	actDelete  = "delete"  // removed by the fix: restore the backup
)

type journalEntry struct {
	Path   string `json:"path"`
	Action string `json:"action"`
	Mode   uint32 `json:"mode,omitempty"` // of the original, for replace/delete
	UID    int    `json:"uid,omitempty"`
	GID    int    `json:"gid,omitempty"`
}

type journal struct {
	Op          string         `json:"op"`
	Version     repo.Version   `json:"version"`
	Phase       string         `json:"phase"`
	Entries     []journalEntry `json:"entries"`
	CreatedDirs []string       `json:"created_dirs,omitempty"` // shallowest first
}

func (j *journal) save(dir string) error {
	data, err := json.MarshalIndent(j, "", " ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, journalName), data, 0o600)
}

func loadJournal(dir string) (*journal, error) {
	data, err := os.ReadFile(filepath.Join(dir, journalName))
	if err != nil {
		return nil, err
	}
	var j journal
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("journal %s is damaged: %w", dir, err)
	}
	return &j, nil
}

// discardTxn deletes a finished transaction directory. The journal goes
// first, durably: removing the directory tree is not atomic, and a crash
// halfway through must not leave a journal whose backups are partly gone
// (recover would then try to restore from missing files and fail for
// good). A transaction directory without a journal is only litter.
func discardTxn(txn string) error {
	if err := os.Remove(filepath.Join(txn, journalName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("discard transaction %s: %w", txn, err)
	}
	if err := atomicfile.SyncDir(txn); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("discard transaction %s: %w", txn, err)
	}
	if err := os.RemoveAll(txn); err != nil {
		return fmt.Errorf("discard transaction %s: %w", txn, err)
	}
	return nil
}

// rootPath maps a manifest path into the root.
func rootPath(root, rel string) string { return filepath.Join(root, filepath.FromSlash(rel)) }

// copyFileSynced copies src to dst (creating parents) with mode, syncing
// the data; dst must not be read by anyone until the journal says so.
func copyFileSynced(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// placeFile puts the content of src at target atomically with mode and
// owner: readers of target see the old file or the new, never a mix.
func placeFile(src, target string, mode os.FileMode, uid, gid int) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	f, err := atomicfile.Create(target, mode)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := io.Copy(f, in); err != nil {
		return err
	}
	if uid >= 0 && os.Geteuid() == 0 {
		if err := f.Chown(uid, gid); err != nil {
			return err
		}
	}
	return f.Commit()
}

// ownerOf returns the uid and gid of path, or -1 when unknown.
func ownerOf(fi fs.FileInfo) (int, int) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid), int(st.Gid)
	}
	return -1, -1
}

// restore undoes a journal using the backups in backupDir. It is
// idempotent, so a crash while restoring is mended by restoring again.
func restore(root string, j *journal, backupDir string) error {
	var errs []error
	for i := len(j.Entries) - 1; i >= 0; i-- {
		e := j.Entries[i]
		target := rootPath(root, e.Path)
		removeTemps(target)
		switch e.Action {
		case actAdd:
			if err := os.Remove(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("remove %s: %w", target, err))
			}
		case actReplace, actDelete:
			src := filepath.Join(backupDir, filepath.FromSlash(e.Path))
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				errs = append(errs, err)
				continue
			}
			if err := placeFile(src, target, os.FileMode(e.Mode), e.UID, e.GID); err != nil {
				errs = append(errs, fmt.Errorf("restore %s from backup: %w", target, err))
			}
		}
	}
	dirs := append([]string(nil), j.CreatedDirs...)
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, d := range dirs {
		// Only empty directories go: anything else in them is not ours.
		os.Remove(rootPath(root, d))
	}
	syncParents(root, j)
	return errors.Join(errs...)
}

// removeTemps deletes atomic-write temporaries a crash left beside target.
func removeTemps(target string) {
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(target), "."+filepath.Base(target)+".tmp-*"))
	for _, m := range matches {
		os.Remove(m)
	}
}

// syncParents makes renames and removals in every touched directory durable.
func syncParents(root string, j *journal) {
	seen := map[string]bool{}
	for _, e := range j.Entries {
		d := filepath.Dir(rootPath(root, e.Path))
		if !seen[d] {
			seen[d] = true
			atomicfile.SyncDir(d)
		}
	}
	atomicfile.SyncDir(root)
}

// missingDirs lists the parents of rel (relative to root) that do not
// exist yet, shallowest first.
func missingDirs(root, rel string) []string {
	var out []string
	for d := pathDir(rel); d != "."; d = pathDir(d) {
		if _, err := os.Lstat(rootPath(root, d)); errors.Is(err, fs.ErrNotExist) {
			out = append([]string{d}, out...)
		} else {
			break
		}
	}
	return out
}

func pathDir(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "."
	}
	return p[:i]
}
