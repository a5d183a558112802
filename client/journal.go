package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// placement is one file to write: the content of src at target, with
// mode, and with owner uid:gid when running as root (uid -1: leave it).
// With move set, src is scratch that may be consumed: on the same
// filesystem it is renamed into place instead of copied.
type placement struct {
	src, target string
	mode        os.FileMode
	uid, gid    int
	move        bool
}

// placeFiles puts every file in place through one atomicfile.Batch: each
// target changes atomically (readers see the old file or the new, never a
// mix), the fsyncs of all files are in flight at once, and every directory
// touched is synced once. A scratch source on the target's file system is
// renamed instead of copied. The parents of the targets must exist. On
// error no temporary is left; a crash leaves at worst temporaries, which
// restore removes (removeTemps).
func placeFiles(ps []placement) error {
	var b atomicfile.Batch
	defer b.Abort()
	moving := sameDevice(ps)
	for i, p := range ps {
		var err error
		if moving[i] {
			err = b.Adopt(p.src, p.target, p.mode, p.uid, p.gid)
		} else {
			err = addCopy(&b, p)
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", p.target, err)
		}
	}
	return b.Commit(context.Background())
}

func addCopy(b *atomicfile.Batch, p placement) error {
	in, err := os.Open(p.src)
	if err != nil {
		return err
	}
	defer in.Close()
	return b.Write(p.target, in, p.mode, p.uid, p.gid)
}

// sameDevice reports, per placement, whether it may be renamed from src
// (move set, and src on the filesystem of target's directory).
func sameDevice(ps []placement) []bool {
	out := make([]bool, len(ps))
	devs := map[string]uint64{}
	dev := func(dir string) (uint64, bool) {
		if d, ok := devs[dir]; ok {
			return d, true
		}
		fi, err := os.Stat(dir)
		if err != nil {
			return 0, false
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return 0, false
		}
		devs[dir] = uint64(st.Dev)
		return uint64(st.Dev), true
	}
	for i, p := range ps {
		if !p.move {
			continue
		}
		a, okA := dev(filepath.Dir(p.src))
		b, okB := dev(filepath.Dir(p.target))
		out[i] = okA && okB && a == b
	}
	return out
}

// syncTree fsyncs dir and every directory below it.
func syncTree(dir string) error {
	dirs := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			dirs[p] = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	return atomicfile.SyncDirs(dirs)
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
	var ps []placement
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
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				errs = append(errs, err)
				continue
			}
			ps = append(ps, placement{src: filepath.Join(backupDir, filepath.FromSlash(e.Path)), target: target, mode: os.FileMode(e.Mode), uid: e.UID, gid: e.GID})
		}
	}
	if err := placeFiles(ps); err != nil {
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

// removeTemps deletes atomic-write temporaries a crash left beside target.
func removeTemps(target string) {
	matches, _ := filepath.Glob(atomicfile.TempGlob(target))
	for _, m := range matches {
		os.Remove(m)
	}
}

// syncParents makes creations, renames and removals in every directory
// the journal touched durable: the directories of its entries, the
// parents of the directories it created, and the root.
func syncParents(root string, j *journal) error {
	dirs := map[string]bool{root: true}
	for _, e := range j.Entries {
		dirs[filepath.Dir(rootPath(root, e.Path))] = true
	}
	for _, d := range j.CreatedDirs {
		dirs[filepath.Dir(rootPath(root, d))] = true
	}
	for d := range dirs {
		// A directory restore removed again has nothing left to sync.
		if _, err := os.Stat(d); errors.Is(err, fs.ErrNotExist) {
			delete(dirs, d)
		}
	}
	return atomicfile.SyncDirs(dirs)
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
