package client

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hotfix-project/hotfix/repo"
)

// The precedence rules between vendor and customer fixes, all decided
// before a fix writes anything:
//   - a customer fix's files win over the vendor's: customer fixes
//     install after the vendor chain, on top of it;
//   - a vendor fix that changes a file an installed customer fix owns
//     stops before it (CustomOverrideError), unless a customer fix of the
//     same run replaces that customer fix (a newer version of its id, or
//     one that supersedes it), or the install is forced: the vendor's
//     file then wins and the customer fix is marked overridden on it;
//   - two customer fixes owning one file conflict (CustomConflictError)
//     unless one supersedes the other;
//   - rolling back a vendor fix under a customer fix that owns one of its
//     files, or needs it as min_fix, is refused (CustomBlocksError).

// CustomOverrideError stops a vendor fix that changes files installed
// customer fixes own.
type CustomOverrideError struct {
	Vendor repo.Version
	Fixes  []CustomPaths // by id
}

// CustomPaths is a customer fix and some of the paths it owns.
type CustomPaths struct {
	ID, Customer string
	Paths        []string // sorted
}

func (e *CustomOverrideError) Error() string {
	var parts []string
	for _, f := range e.Fixes {
		parts = append(parts, fmt.Sprintf("customer fix %s (customer %s) owns %s", f.ID, f.Customer, strings.Join(f.Paths, ", ")))
	}
	return fmt.Sprintf("vendor fix %s changes files a customer fix owns: %s; the install stopped before %s: the vendor must ship a customer fix that supersedes it (or a new version of it)",
		e.Vendor, strings.Join(parts, "; "), e.Vendor)
}

// CustomConflictError refuses customer fixes that would own one file.
type CustomConflictError struct {
	Conflicts []*repo.CustomConflict
}

func (e *CustomConflictError) Error() string {
	var parts []string
	for _, c := range e.Conflicts {
		parts = append(parts, c.Error())
	}
	return "customer fixes conflict, nothing was installed: " + strings.Join(parts, "; ")
}

// CustomBlocksError refuses to roll back a vendor fix a customer fix
// stands on.
type CustomBlocksError struct {
	Vendor repo.Version
	ID     string
	Why    string
}

func (e *CustomBlocksError) Error() string {
	return fmt.Sprintf("cannot roll back %s: customer fix %s %s; uninstall it first (hotfix uninstall %s), roll back, and install again to get it back", e.Vendor, e.ID, e.Why, e.ID)
}

// customOverrides returns, by customer fix id, the paths vendor fix m
// takes from installed customer fixes, or the error that stops m. A
// customer fix that a fix of this run replaces, or --force, lets m take
// them.
func customOverrides(st *State, m *repo.Manifest, opts *InstallOptions) (map[string][]string, error) {
	if len(st.Custom) == 0 || m.IsCustom() {
		return nil, nil
	}
	touched := map[string]bool{}
	for _, p := range m.Paths() {
		touched[p] = true
	}
	over := map[string][]string{}
	stop := &CustomOverrideError{Vendor: m.Version}
	for _, cf := range st.Custom {
		var hit []string
		for _, p := range cf.owned() {
			if touched[p] {
				hit = append(hit, p)
			}
		}
		switch {
		case len(hit) == 0:
		case opts.replacing[cf.ID] != "" || opts.Force:
			over[cf.ID] = hit
		default:
			stop.Fixes = append(stop.Fixes, CustomPaths{ID: cf.ID, Customer: cf.Customer, Paths: hit})
		}
	}
	if len(stop.Fixes) > 0 {
		return nil, stop
	}
	return over, nil
}

// markOverridden records that vendor fix v took the paths over names
// from their customer fixes, and returns what undoes it in memory.
func markOverridden(st *State, v repo.Version, over map[string][]string) (undo func()) {
	var marked [][2]string
	for id, paths := range over {
		cf := st.customFix(id)
		if cf == nil {
			continue
		}
		if cf.Overridden == nil {
			cf.Overridden = map[string]string{}
		}
		for _, p := range paths {
			cf.Overridden[p] = v.String()
			marked = append(marked, [2]string{id, p})
		}
	}
	return func() {
		for _, mk := range marked {
			if cf := st.customFix(mk[0]); cf != nil {
				delete(cf.Overridden, mk[1])
			}
		}
	}
}

// unmarkOverridden gives back to their customer fixes the paths vendor
// fix v had overridden: its rollback restores their files.
func unmarkOverridden(st *State, v repo.Version) {
	for i := range st.Custom {
		for p, by := range st.Custom[i].Overridden {
			if by == v.String() {
				delete(st.Custom[i].Overridden, p)
			}
		}
		if len(st.Custom[i].Overridden) == 0 {
			st.Custom[i].Overridden = nil
		}
	}
}

// ownerHash is the sha256 the fix that owns rel now wrote there, as the
// file database records it: a customer fix's (unless a vendor fix
// overrode it) or a vendor fix's.
func ownerHash(st *State, rel string) (string, bool) {
	rec, ok := st.files().Owner(rel)
	return rec.SHA256, ok
}

// customRunConflicts refuses a run whose customer fixes, with those that
// stay installed, would own one file twice.
func customRunConflicts(st *State, pending []repo.CustomIndexFix) error {
	replaced := replacedBy(st, pending)
	var after []repo.CustomIndexFix
	for _, cf := range st.Custom {
		if replaced[cf.ID] == "" {
			after = append(after, repo.CustomIndexFix{ID: cf.ID, Supersedes: cf.Supersedes, Paths: cf.owned()})
		}
	}
	after = append(after, pending...)
	if cs := repo.CustomConflicts(after); len(cs) > 0 {
		return &CustomConflictError{Conflicts: cs}
	}
	return nil
}

// replacedBy maps each installed customer fix that a fix of pending
// replaces (a newer version of its id, or a fix that supersedes it) to
// the id of that fix.
func replacedBy(st *State, pending []repo.CustomIndexFix) map[string]string {
	out := map[string]string{}
	for _, f := range pending {
		if st.customFix(f.ID) != nil {
			out[f.ID] = f.ID
		}
		for _, id := range f.Supersedes {
			if st.customFix(id) != nil {
				out[id] = f.ID
			}
		}
	}
	return out
}

// customBlocksRollback refuses to roll back the vendor fixes from index
// from on where an installed customer fix owns one of their files (it
// was installed on top of them: the rollback would put the vendor's
// older file under it) or needs one as its min_fix.
func customBlocksRollback(st *State, from int) error {
	for i := len(st.Installed) - 1; i >= from; i-- {
		vf := st.Installed[i]
		for _, cf := range st.Custom {
			if cf.MinFix != nil && cf.MinFix.Compare(vf.Version) >= 0 {
				return &CustomBlocksError{Vendor: vf.Version, ID: cf.ID, Why: fmt.Sprintf("needs vendor fix %s (min_fix)", cf.MinFix)}
			}
			var hit []string
			for _, p := range cf.owned() {
				if _, ok := vf.Files[p]; ok || containsString(vf.Deleted, p) {
					hit = append(hit, p)
				}
			}
			if len(hit) > 0 {
				sort.Strings(hit)
				return &CustomBlocksError{Vendor: vf.Version, ID: cf.ID, Why: "owns " + strings.Join(hit, ", ") + ", which the rollback would restore under it"}
			}
		}
	}
	return nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
