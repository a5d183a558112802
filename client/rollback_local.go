package client

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
	"github.com/hotfix-project/hotfix/repo"
)

// RollbackChangesError refuses a rollback (or the rollback a reinstall
// starts with) that would overwrite or remove files changed locally
// since the fixes being rolled back installed them, or files recreated
// where a fix had deleted one: the backups hold the files from before
// the fix, not the local changes, so those would be lost.
type RollbackChangesError struct {
	Versions []repo.Version // the fixes being rolled back, newest first
	Files    []string       // absolute paths, sorted
}

func (e *RollbackChangesError) Error() string {
	return fmt.Sprintf("%s: %s changed since %s installed them; rolling back would overwrite or remove them with nothing kept: copy your changes elsewhere first, or roll back anyway keeping each changed file beside the restored one",
		ErrLocalChanges, strings.Join(e.Files, ", "), describeVersions(e.Versions))
}

// Is makes errors.Is(err, ErrLocalChanges) hold.
func (e *RollbackChangesError) Is(target error) bool { return target == ErrLocalChanges }

// KeptFile is a locally changed file that a forced rollback kept: Path
// is restored to what it was before the fix, KeptAs holds the local
// content.
type KeptFile struct {
	Path   string `json:"path"`
	KeptAs string `json:"kept_as"`
}

// keptSuffix marks the kept copy: FILE.hotfix-kept-TIME, TIME in
// keptTime's layout (UTC).
const (
	keptSuffix = ".hotfix-kept-"
	keptTime   = "20060102T150405Z"
)

// rollbackChanges lists, sorted, the files that rolling back
// st.Installed[from:] would overwrite or remove and that differ from
// what the newest of those fixes to touch them left: changed content, a
// link or other non-file in place of a file, or a file back where a fix
// deleted one. A file deleted locally loses nothing and is not listed.
// Fixes older than from are not rolled back, and what the rolled back
// ones left is all that matters: a file an install forced over local
// changes comes back from its backups as the administrator had it.
func rollbackChanges(root string, st *State, from int) []string {
	type want struct {
		sum     string
		deleted bool
	}
	expect := map[string]want{}
	for i := len(st.Installed) - 1; i >= from; i-- {
		f := st.Installed[i]
		for p, sum := range f.Files {
			if _, ok := expect[p]; !ok {
				expect[p] = want{sum: sum}
			}
		}
		for _, p := range f.Deleted {
			if _, ok := expect[p]; !ok {
				expect[p] = want{deleted: true}
			}
		}
	}
	var changed []string
	for p, w := range expect {
		target := rootPath(root, p)
		fi, err := os.Lstat(target)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil || w.deleted || !fi.Mode().IsRegular():
			changed = append(changed, target)
		default:
			if got, _, err := repo.HashFile(target); err != nil || got != w.sum {
				changed = append(changed, target)
			}
		}
	}
	sort.Strings(changed)
	return changed
}

// guardRollback applies the local-modification test to rolling back
// st.Installed[from:]: without force it refuses changed files; with
// force it keeps each beside itself (a hard link, so the restore's
// rename leaves the local content under the kept name) and returns
// where. dryRun only tests. Nothing of the root changes on refusal.
func (c *Client) guardRollback(st *State, from int, force, dryRun bool) ([]KeptFile, error) {
	changed := rollbackChanges(c.Cfg.Root, st, from)
	if len(changed) == 0 {
		return nil, nil
	}
	if !force {
		var vs []repo.Version
		for i := len(st.Installed) - 1; i >= from; i-- {
			vs = append(vs, st.Installed[i].Version)
		}
		return nil, &RollbackChangesError{Versions: vs, Files: changed}
	}
	if dryRun {
		return nil, nil
	}
	stamp := c.Now().UTC().Format(keptTime)
	var kept []KeptFile
	for _, p := range changed {
		as, err := keepBeside(p, stamp)
		if err != nil {
			return kept, fmt.Errorf("keep the locally changed %s before rolling back: %w (nothing was rolled back)", p, err)
		}
		kept = append(kept, KeptFile{Path: p, KeptAs: as})
	}
	return kept, nil
}

// keepBeside makes path's current content also available as
// path.hotfix-kept-STAMP (or -STAMP-N when taken), never replacing a
// file, and durably. A hard link costs no copy; where links are refused
// the content is copied.
func keepBeside(path, stamp string) (string, error) {
	for n := 1; n < 100; n++ {
		as := path + keptSuffix + stamp
		if n > 1 {
			as += fmt.Sprintf("-%d", n)
		}
		err := os.Link(path, as)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			err = copyNew(path, as)
			if errors.Is(err, fs.ErrExist) {
				continue
			}
			if err != nil {
				return "", err
			}
		}
		return as, atomicfile.SyncDir(filepath.Dir(path))
	}
	return "", fmt.Errorf("too many kept copies of %s already", path)
}

func copyNew(src, dst string) error {
	fi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is a %s, not a file: move it aside by hand", src, fi.Mode().Type())
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return atomicfile.CreateNew(dst, data, fi.Mode().Perm())
}
