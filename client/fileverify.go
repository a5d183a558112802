package client

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hotfix-project/hotfix/internal/beneath"
	"github.com/hotfix-project/hotfix/repo"
)

// What VerifyFiles finds changed in a file, as `verify` names it.
const (
	ChangeSize   = "size"
	ChangeMode   = "mode"
	ChangeDigest = "digest"
	ChangeType   = "type" // no longer a regular file (a link, a directory, ...)
)

// FileProblem is one owned file that is not as its fix put it there.
type FileProblem struct {
	Path     string   `json:"path"` // absolute
	Fix      string   `json:"fix"`
	Customer string   `json:"customer,omitempty"`
	Version  string   `json:"version,omitempty"` // a customer fix's version
	Part     string   `json:"part,omitempty"`
	Missing  bool     `json:"missing,omitempty"`
	Changed  []string `json:"changed,omitempty"` // of ChangeSize, ChangeMode, ChangeDigest, ChangeType
	Error    string   `json:"error,omitempty"`   // the file could not be read
}

// VerifyReport is what `hotfix verify` reports (its --json form).
type VerifyReport struct {
	Product  string        `json:"product"`
	Base     string        `json:"base"`
	Root     string        `json:"root"`
	Checked  int           `json:"checked"`
	Problems []FileProblem `json:"problems"`
}

// VerifyFiles compares every file the file database records with the
// root, like rpm -V: a file missing, or whose size, permission bits or
// sha256 differ from what its fix installed, is a problem. It changes
// nothing and takes no lock (an install running meanwhile may show its
// files as changed). Paths are read through internal/beneath: a link on
// the way is never followed and counts as a change of type.
func (c *Client) VerifyFiles(ctx context.Context) (*VerifyReport, error) {
	st, base, err := c.loadState(false)
	if err != nil {
		return nil, err
	}
	out := &VerifyReport{Product: c.Cfg.Product, Base: base.String(), Root: c.Cfg.Root, Problems: []FileProblem{}}
	db := st.files()
	paths := make([]string, 0, len(db.Files))
	for p := range db.Files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	r, err := beneath.Open(c.Cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("verify: open the install root: %w (check root in %s)", err, c.Cfg.Path)
	}
	defer r.Close()
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rec := db.Files[p]
		out.Checked++
		if prob, bad := verifyFile(r, p, rec); bad {
			prob.Path, prob.Fix, prob.Customer, prob.Version, prob.Part = rootPath(c.Cfg.Root, p), rec.Fix, rec.Customer, rec.Version, rec.Part
			out.Problems = append(out.Problems, prob)
		}
	}
	return out, nil
}

// verifyFile compares one file with its record.
func verifyFile(r *beneath.Root, rel string, rec FileRecord) (FileProblem, bool) {
	var prob FileProblem
	fi, err := r.Lstat(rel)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		prob.Missing = true
		return prob, true
	case errors.Is(err, beneath.ErrLink):
		prob.Changed = []string{ChangeType}
		return prob, true
	case err != nil:
		prob.Error = err.Error()
		return prob, true
	case !fi.Mode().IsRegular():
		prob.Changed = []string{ChangeType}
		return prob, true
	}
	sizeDiffers := rec.Size >= 0 && fi.Size() != rec.Size
	if sizeDiffers {
		prob.Changed = append(prob.Changed, ChangeSize)
	}
	if repo.Mode(fi.Mode().Perm()) != rec.Mode {
		prob.Changed = append(prob.Changed, ChangeMode)
	}
	// A different size is a different digest: no need to read it.
	if sizeDiffers {
		prob.Changed = append(prob.Changed, ChangeDigest)
	} else if sum, err := hashIn(r, rel); err != nil {
		prob.Error = err.Error()
	} else if sum != rec.SHA256 {
		prob.Changed = append(prob.Changed, ChangeDigest)
	}
	return prob, len(prob.Changed) > 0 || prob.Error != ""
}

// Ownership is what `hotfix owns PATH` reports (its --json form).
type Ownership struct {
	Path  string      `json:"path"` // absolute
	Owner *FileRecord `json:"owner"`
}

// ErrNotUnderRoot means a path asked about is outside the install root.
var ErrNotUnderRoot = errors.New("not under the install root")

// Owns names the fix (and part) whose install put the file at path
// there, from the file database; Owner is nil when no installed fix did.
// path is absolute (the caller resolves a relative one) and must lie
// under the install root.
func (c *Client) Owns(path string) (*Ownership, error) {
	rel, err := c.relToRoot(path)
	if err != nil {
		return nil, err
	}
	st, _, err := c.loadState(false)
	if err != nil {
		return nil, err
	}
	out := &Ownership{Path: rootPath(c.Cfg.Root, rel)}
	if rec, ok := st.files().Owner(rel); ok {
		out.Owner = &rec
	}
	return out, nil
}

// relToRoot maps an absolute path to the slash-separated path under the
// root that the file database uses. The root may be named through a
// link (it is configuration), so the resolved root is tried too.
func (c *Client) relToRoot(path string) (string, error) {
	path = filepath.Clean(path)
	roots := []string{filepath.Clean(c.Cfg.Root)}
	if real, err := filepath.EvalSymlinks(c.Cfg.Root); err == nil && real != roots[0] {
		roots = append(roots, real)
	}
	for _, root := range roots {
		rel, err := filepath.Rel(root, path)
		if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
			continue
		}
		return filepath.ToSlash(rel), nil
	}
	return "", fmt.Errorf("%s is %w %s", path, ErrNotUnderRoot, c.Cfg.Root)
}
