package repo

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"time"
)

// IndexFormat is the channel index format version.
const IndexFormat = 1

// Names of the signed metadata files.
const (
	IndexName     = "index.json"
	RootIndexName = "repo.json"
	SigSuffix     = ".asc"
)

// MaxIndexSize is the default bound on an index a client will read.
const MaxIndexSize = 8 << 20

// BugRef is the part of a bug the index carries.
type BugRef struct {
	ID      string `json:"id"`
	Summary string `json:"summary"`
}

// IndexFix is one fix in a channel index.
type IndexFix struct {
	Version  Version  `json:"version"`
	Requires Version  `json:"requires"`
	File     string   `json:"file"`
	Size     int64    `json:"size"`
	SHA256   string   `json:"sha256"`
	Summary  string   `json:"summary"`
	Bugs     []BugRef `json:"bugs"`
	// Published is when the fix first appeared in this channel's index;
	// builds keep it. Severity is the fix's own (see ValidSeverity).
	Published time.Time `json:"published,omitzero"`
	Severity  string    `json:"severity,omitempty"`
	RPM       *RPMRef   `json:"rpm,omitempty"`
	Parts     []PartRef `json:"parts,omitempty"` // the fix's parts (parts.go)
	// Rollout stages the fix (see rollout.go); nil: every server takes it.
	Rollout *Rollout `json:"rollout,omitempty"`
}

// RPMRef points at the RPM package of a fix, when the vendor ships one.
type RPMRef struct {
	File   string `json:"file"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Index is a channel index: PRODUCT/BASE/index.json.
type Index struct {
	Format    int        `json:"format"`
	Product   string     `json:"product"`
	Base      Version    `json:"base"`
	Serial    int64      `json:"serial"`
	Generated time.Time  `json:"generated"`
	Expires   time.Time  `json:"expires"`
	Fixes     []IndexFix `json:"fixes"`

	// KeyList is the version of the key list (keys/N.root.json) whose
	// signing keys signed this index; 0 (absent) in a repository without
	// one. Clients refuse an index naming an older version than one seen.
	KeyList int64 `json:"key_list,omitempty"`

	// Critical names the fields a client must understand to use this
	// index (compat.go); unknown fields not named here are ignored.
	Critical []string `json:"critical,omitempty"`
}

// Marshal encodes the index deterministically.
func (ix *Index) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(ix, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ParseIndex decodes and validates a channel index. It is pure and checks
// structure only: signatures, expiry and serials are the caller's trust
// decisions.
func ParseIndex(data []byte) (*Index, error) {
	var ix Index
	if err := readIndexJSON(data, &ix); err != nil {
		return nil, fmt.Errorf("parse index: %w", err)
	}
	if err := checkCritical(ix.Critical, reflect.TypeFor[Index](), map[string]reflect.Type{"fixes": reflect.TypeFor[IndexFix]()}); err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	if err := ix.Validate(); err != nil {
		return nil, err
	}
	return &ix, nil
}

// Validate checks that the index describes one gap-free chain.
func (ix *Index) Validate() error {
	if ix.Format != IndexFormat {
		return fmt.Errorf("index format %d is not supported (this hotfix reads %d): upgrade hotfix", ix.Format, IndexFormat)
	}
	if err := ValidProductName(ix.Product); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	if ix.Base.IsZero() {
		return fmt.Errorf("index: no base")
	}
	if ix.KeyList < 0 {
		return fmt.Errorf("index: key_list %d must not be negative", ix.KeyList)
	}
	if ix.Serial < 1 {
		return fmt.Errorf("index: serial %d must be 1 or more", ix.Serial)
	}
	if ix.Expires.IsZero() || ix.Generated.IsZero() || !ix.Expires.After(ix.Generated) {
		return fmt.Errorf("index: expires (%s) must come after generated (%s)", ix.Expires, ix.Generated)
	}
	for i, f := range ix.Fixes {
		want := ix.Base.Fix(i + 1)
		if !f.Version.Equal(want) {
			return fmt.Errorf("index of %s %s: fix %d is %s, expected %s (chains have no gaps)", ix.Product, ix.Base, i+1, f.Version, want)
		}
		if !f.Requires.Equal(f.Version.Requires()) {
			return fmt.Errorf("index: fix %s requires %s, expected %s", f.Version, f.Requires, f.Version.Requires())
		}
		if err := checkIndexFile(f.File, f.Size, f.SHA256); err != nil {
			return fmt.Errorf("index: fix %s: %w", f.Version, err)
		}
		if err := ValidSeverity(f.Severity); err != nil {
			return fmt.Errorf("index: fix %s: severity: %w", f.Version, err)
		}
		if f.RPM != nil {
			if err := checkIndexFile(f.RPM.File, f.RPM.Size, f.RPM.SHA256); err != nil {
				return fmt.Errorf("index: fix %s rpm: %w", f.Version, err)
			}
		}
		if f.Rollout != nil {
			if err := f.Rollout.Validate(); err != nil {
				return fmt.Errorf("index: fix %s: %w", f.Version, err)
			}
		}
	}
	return nil
}

func checkIndexFile(name string, size int64, sum string) error {
	if !IsPlainFileName(name) {
		return fmt.Errorf("file name %q must be a plain file name", name)
	}
	if size < 0 {
		return fmt.Errorf("negative size")
	}
	if !isHexSHA256(sum) {
		return fmt.Errorf("invalid sha256 %q", sum)
	}
	return nil
}

// Fix returns the entry for version v.
func (ix *Index) Fix(v Version) (*IndexFix, bool) {
	for i := range ix.Fixes {
		if ix.Fixes[i].Version.Equal(v) {
			return &ix.Fixes[i], true
		}
	}
	return nil, false
}

// RootIndex is repo.json, the index at the root of a repository: its
// products and their channels.
type RootIndex struct {
	Format    int       `json:"format"`
	Generated time.Time `json:"generated"`
	Expires   time.Time `json:"expires"`
	Products  []Product `json:"products"`

	// KeyList is the key-list version repo.json was signed under, as in
	// Index.
	KeyList int64 `json:"key_list,omitempty"`

	// Critical is as in Index.
	Critical []string `json:"critical,omitempty"`
}

// Product lists one product's channels in repo.json.
type Product struct {
	Name     string           `json:"name"`
	Channels []ChannelSummary `json:"channels"`
}

// ChannelSummary summarises one channel in repo.json.
type ChannelSummary struct {
	Base   Version  `json:"base"`
	Serial int64    `json:"serial"`
	Latest *Version `json:"latest"`
	Fixes  int      `json:"fixes"`
}

// ParseRootIndex decodes repo.json.
func ParseRootIndex(data []byte) (*RootIndex, error) {
	var ri RootIndex
	if err := readIndexJSON(data, &ri); err != nil {
		return nil, fmt.Errorf("parse repo.json: %w", err)
	}
	if err := checkCritical(ri.Critical, reflect.TypeFor[RootIndex](), map[string]reflect.Type{"products": reflect.TypeFor[Product]()}); err != nil {
		return nil, fmt.Errorf("repo.json: %w", err)
	}
	if ri.Format != IndexFormat {
		return nil, fmt.Errorf("repo.json format %d is not supported", ri.Format)
	}
	return &ri, nil
}

// Marshal encodes repo.json deterministically.
func (ri *RootIndex) Marshal() ([]byte, error) {
	sort.Slice(ri.Products, func(i, j int) bool { return ri.Products[i].Name < ri.Products[j].Name })
	b, err := json.MarshalIndent(ri, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
