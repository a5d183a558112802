package repo

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"
)

// CustomIndexFix is one customer fix in a customer's index: the newest
// version of its id, and the paths it owns, so that a client finds every
// conflict before it writes a file.
type CustomIndexFix struct {
	ID         string   `json:"id"`
	Version    Version  `json:"version"`
	MinFix     *Version `json:"min_fix,omitempty"`
	Supersedes []string `json:"supersedes,omitempty"`
	File       string   `json:"file"`
	Size       int64    `json:"size"`
	SHA256     string   `json:"sha256"`
	Summary    string   `json:"summary"`
	Bugs       []BugRef `json:"bugs"`
	Paths      []string `json:"paths"` // shipped and deleted, sorted
}

// CustomIndex is a customer's index: PRODUCT/BASE/custom/CUSTOMER/index.json,
// signed like a channel index and verified the same way, but not part of
// the vendor's chain: its fixes are sorted by id, one version each.
type CustomIndex struct {
	Format    int              `json:"format"`
	Kind      string           `json:"kind"` // always KindCustom, so the two indexes are never taken for each other
	Product   string           `json:"product"`
	Base      Version          `json:"base"`
	Customer  string           `json:"customer"`
	Serial    int64            `json:"serial"`
	Generated time.Time        `json:"generated"`
	Expires   time.Time        `json:"expires"`
	Fixes     []CustomIndexFix `json:"fixes"`

	// KeyList is the key-list version the index was signed under, as in
	// Index.
	KeyList int64 `json:"key_list,omitempty"`

	// Critical is as in Index.
	Critical []string `json:"critical,omitempty"`
}

// CustomIndexPath is the repository-relative directory of a customer's
// channel: PRODUCT/BASE/custom/CUSTOMER.
func CustomIndexPath(product string, base Version, customer string) string {
	return product + "/" + base.String() + "/" + CustomDir + "/" + customer
}

// Marshal encodes the index deterministically.
func (ix *CustomIndex) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(ix, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ParseCustomIndex decodes and validates a customer's index. Like
// ParseIndex it checks structure only.
func ParseCustomIndex(data []byte) (*CustomIndex, error) {
	var ix CustomIndex
	if err := readIndexJSON(data, &ix); err != nil {
		return nil, fmt.Errorf("parse customer index: %w", err)
	}
	if err := checkCritical(ix.Critical, reflect.TypeFor[CustomIndex](), map[string]reflect.Type{"fixes": reflect.TypeFor[CustomIndexFix]()}); err != nil {
		return nil, fmt.Errorf("customer index: %w", err)
	}
	if err := ix.Validate(); err != nil {
		return nil, err
	}
	return &ix, nil
}

// CustomIndexFromFix is the index entry of a customer fix shipped as a.
func CustomIndexFromFix(m *Manifest, a *Archive) CustomIndexFix {
	f := CustomIndexFix{ID: m.ID, Version: m.Version, MinFix: m.MinFix, Supersedes: m.Supersedes,
		File: a.File, Size: a.Size, SHA256: a.SHA256, Summary: m.Summary, Bugs: []BugRef{}, Paths: m.Paths()}
	for _, b := range m.Bugs {
		f.Bugs = append(f.Bugs, BugRef{ID: b.ID, Summary: b.Summary})
	}
	return f
}

// Validate checks the index: its names, one entry per id in id order,
// every file and path well formed, and no two fixes owning one path
// unless one supersedes the other.
func (ix *CustomIndex) Validate() error {
	if ix.Format != IndexFormat {
		return fmt.Errorf("customer index format %d is not supported (this hotfix reads %d): upgrade hotfix", ix.Format, IndexFormat)
	}
	if ix.Kind != KindCustom {
		return fmt.Errorf("customer index: kind %q, want %q", ix.Kind, KindCustom)
	}
	if err := ValidProductName(ix.Product); err != nil {
		return fmt.Errorf("customer index: %w", err)
	}
	if err := ValidCustomerName(ix.Customer); err != nil {
		return fmt.Errorf("customer index: %w", err)
	}
	if ix.Base.IsZero() {
		return fmt.Errorf("customer index: no base")
	}
	if ix.Serial < 1 {
		return fmt.Errorf("customer index: serial %d must be 1 or more", ix.Serial)
	}
	if ix.Expires.IsZero() || ix.Generated.IsZero() || !ix.Expires.After(ix.Generated) {
		return fmt.Errorf("customer index: expires (%s) must come after generated (%s)", ix.Expires, ix.Generated)
	}
	for i, f := range ix.Fixes {
		if err := ValidCustomID(f.ID); err != nil {
			return fmt.Errorf("customer index: %w", err)
		}
		if i > 0 && ix.Fixes[i-1].ID >= f.ID {
			return fmt.Errorf("customer index: fixes are not sorted by id, one entry each (%s after %s)", f.ID, ix.Fixes[i-1].ID)
		}
		if f.Version.IsZero() {
			return fmt.Errorf("customer index: %s has no version", f.ID)
		}
		if f.MinFix != nil {
			if err := checkMinFix(*f.MinFix, ix.Base); err != nil {
				return fmt.Errorf("customer index: %s: min_fix: %w", f.ID, err)
			}
		}
		if err := checkSupersedes(f.ID, f.Supersedes); err != nil {
			return fmt.Errorf("customer index: %w", err)
		}
		if err := checkIndexFile(f.File, f.Size, f.SHA256); err != nil {
			return fmt.Errorf("customer index: %s: %w", f.ID, err)
		}
		if len(f.Paths) > maxEntries {
			return fmt.Errorf("customer index: %s owns more than %d paths", f.ID, maxEntries)
		}
		for j, p := range f.Paths {
			if _, err := CleanRelPath(p); err != nil {
				return fmt.Errorf("customer index: %s: %w", f.ID, err)
			}
			if j > 0 && f.Paths[j-1] >= p {
				return fmt.Errorf("customer index: %s: paths are not sorted and distinct", f.ID)
			}
		}
	}
	if cs := CustomConflicts(ix.Fixes); len(cs) > 0 {
		return fmt.Errorf("customer index: %w", cs[0])
	}
	return nil
}

// Fix returns the entry of id.
func (ix *CustomIndex) Fix(id string) (*CustomIndexFix, bool) {
	for i := range ix.Fixes {
		if ix.Fixes[i].ID == id {
			return &ix.Fixes[i], true
		}
	}
	return nil, false
}

// CustomConflict is two customer fixes owning the same paths, neither
// superseding the other.
type CustomConflict struct {
	A, B  string   // the two ids, A < B
	Paths []string // sorted
}

func (c *CustomConflict) Error() string {
	return fmt.Sprintf("customer fixes %s and %s both own %s: only one fix may own a file; ship one fix holding both changes that supersedes the other (supersedes = [%q])",
		c.A, c.B, strings.Join(c.Paths, ", "), c.A)
}

// CustomConflicts lists, by id pair, the paths two of fixes own, where
// neither fix supersedes the other.
func CustomConflicts(fixes []CustomIndexFix) []*CustomConflict {
	owners := map[string][]int{}
	for i, f := range fixes {
		for _, p := range f.Paths {
			owners[p] = append(owners[p], i)
		}
	}
	byPair := map[[2]int]*CustomConflict{}
	for p, list := range owners {
		for x := 0; x < len(list); x++ {
			for y := x + 1; y < len(list); y++ {
				a, b := fixes[list[x]], fixes[list[y]]
				if Supersede(a.Supersedes, b.ID) || Supersede(b.Supersedes, a.ID) {
					continue
				}
				key := [2]int{list[x], list[y]}
				c := byPair[key]
				if c == nil {
					c = &CustomConflict{A: a.ID, B: b.ID}
					if c.A > c.B {
						c.A, c.B = c.B, c.A
					}
					byPair[key] = c
				}
				c.Paths = append(c.Paths, p)
			}
		}
	}
	out := make([]*CustomConflict, 0, len(byPair))
	for _, c := range byPair {
		sort.Strings(c.Paths)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].A != out[j].A {
			return out[i].A < out[j].A
		}
		return out[i].B < out[j].B
	})
	return out
}
