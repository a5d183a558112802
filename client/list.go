package client

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/fixarchive"
)

// ListedFix is one fix of the installed base as `hotfix list` shows it:
// installed here, available (in the last verified index and not
// installed), or both known from the index and installed.
type ListedFix struct {
	Version     repo.Version
	Summary     string
	Bugs        []repo.BugRef
	Size        int64      // of its archive, from the index; 0 when only the state knows it
	Installed   bool       // recorded as installed on this server
	InstalledAt *time.Time // when, for an installed fix
	Available   bool       // in the index and not installed: a later install takes it
}

// FixList is the fixes of the installed base this server knows of without
// the network: the installed ones from its state, the others from the
// channel index the last check verified.
type FixList struct {
	Product string
	Base    repo.Version
	Fixes   []ListedFix
	// Indexed reports whether a verified index of the base is cached:
	// without one (never checked) only the installed fixes are known.
	Indexed bool
}

// List reads the fixes of the installed base from the local state and the
// cached index: no network, no lock, so that completion and scripts can
// call it at any time. Call Check first for an up-to-date list.
func (c *Client) List() (*FixList, error) {
	base, err := c.Base()
	if err != nil {
		return nil, err
	}
	st, err := c.state(base)
	if err != nil {
		return nil, err
	}
	out := &FixList{Product: c.Cfg.Product, Base: base}
	installed := map[string]*InstalledFix{}
	if st.Product == c.Cfg.Product && st.Base.Equal(base) {
		for i := range st.Installed {
			installed[st.Installed[i].Version.String()] = &st.Installed[i]
		}
	}
	seen := map[string]bool{}
	if ix := c.cachedIndex(base); ix != nil {
		out.Indexed = true
		for _, f := range ix.Fixes {
			lf := ListedFix{Version: f.Version, Summary: f.Summary, Bugs: f.Bugs, Size: f.Size}
			if in := installed[f.Version.String()]; in != nil {
				lf.Installed, lf.InstalledAt = true, &in.InstalledAt
			} else {
				lf.Available = true
			}
			seen[f.Version.String()] = true
			out.Fixes = append(out.Fixes, lf)
		}
	}
	// A fix installed from a local file (install --from) or from an index
	// since replaced is known from the state alone.
	for _, in := range st.Installed {
		if installed[in.Version.String()] == nil || seen[in.Version.String()] {
			continue
		}
		at := in.InstalledAt
		out.Fixes = append(out.Fixes, ListedFix{Version: in.Version, Summary: in.Summary, Installed: true, InstalledAt: &at})
	}
	slices.SortFunc(out.Fixes, func(a, b ListedFix) int { return a.Version.Compare(b.Version) })
	return out, nil
}

// FindBug returns the fixes of the installed base whose bugs include id
// (compared without regard to case, as people type them), oldest first,
// from the cached index and the manifests of the fixes in the cache. The
// first of them is the one that fixed the bug.
func (c *Client) FindBug(id string) ([]ListedFix, error) {
	l, err := c.List()
	if err != nil {
		return nil, err
	}
	var out []ListedFix
	for _, f := range l.Fixes {
		if hasBug(f.Bugs, id) || c.manifestHasBug(l.Base, f.Version, id) {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		where := "the index of " + l.Product + " " + l.Base.String()
		if !l.Indexed {
			where += ` (not read yet: run "hotfix check" first)`
		}
		return nil, fmt.Errorf("no fix of %s %s names bug %s: searched %s and the installed fixes", l.Product, l.Base, id, where)
	}
	return out, nil
}

func hasBug(bugs []repo.BugRef, id string) bool {
	for _, b := range bugs {
		if strings.EqualFold(b.ID, id) {
			return true
		}
	}
	return false
}

// manifestHasBug looks into the cached archive of v, for a fix installed
// from a file whose bugs the state does not keep.
func (c *Client) manifestHasBug(base, v repo.Version, id string) bool {
	m, err := fixarchive.ReadManifestFile(filepath.Join(c.channelCache(base), c.Cfg.Product+"-"+v.String()+".fix"))
	if err != nil {
		return false
	}
	for _, b := range m.Bugs {
		if strings.EqualFold(b.ID, id) {
			return true
		}
	}
	return false
}
