package repo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// ManifestFormat is the manifest.json format version this code writes and reads.
const ManifestFormat = 1

// ManifestName is the manifest's file name: the first entry of a .fix
// archive, and a file of an RPM fix package's payload.
const ManifestName = "manifest.json"

// MaxManifestSize bounds manifest.json: readers of both archive formats
// read it before anything is verified.
const MaxManifestSize = 16 << 20

// maxEntries bounds the number of files and scripts in one fix.
const maxEntries = 200_000

// Mode is a Unix permission mode that encodes as an octal string ("0755")
// in JSON, which is how people read modes.
type Mode uint32

// MarshalJSON writes the mode as a four-digit octal string.
func (m Mode) MarshalJSON() ([]byte, error) {
	return json.Marshal(fmt.Sprintf("%04o", uint32(m)))
}

// UnmarshalJSON reads an octal string.
func (m *Mode) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("mode must be an octal string such as \"0644\"")
	}
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || n&^0o777 != 0 {
		return fmt.Errorf("mode %q: want an octal permission such as \"0644\" (no setuid, setgid or sticky bits)", s)
	}
	*m = Mode(n)
	return nil
}

// Bug is one bug a fix resolves.
type Bug struct {
	ID          string   `json:"id"`
	Summary     string   `json:"summary"`
	Description string   `json:"description,omitempty"`
	Files       []string `json:"files,omitempty"`
}

// FileEntry describes one payload file of a fix.
type FileEntry struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	Mode   Mode   `json:"mode"`
	SHA256 string `json:"sha256"`
}

// Manifest is manifest.json, the first entry of every .fix archive: the
// fix.toml fields plus what the packer derived.
type Manifest struct {
	Format      int         `json:"format"`
	Product     string      `json:"product"`
	Version     Version     `json:"version"`
	Base        Version     `json:"base"`
	Requires    Version     `json:"requires"`
	Summary     string      `json:"summary"`
	Description string      `json:"description,omitempty"`
	Severity    string      `json:"severity,omitempty"` // see ValidSeverity
	Bugs        []Bug       `json:"bugs"`
	Delete      []string    `json:"delete,omitempty"`
	Files       []FileEntry `json:"files"`
	Scripts     []FileEntry `json:"scripts"`
	Parts       []Part      `json:"parts,omitempty"` // see Part; older readers refuse a fix with parts
	// A customer fix's own fields (kind "custom"); see custom.go.
	Kind       string   `json:"kind,omitempty"`
	Customer   string   `json:"customer,omitempty"`
	ID         string   `json:"id,omitempty"`
	MinFix     *Version `json:"min_fix,omitempty"`
	Supersedes []string `json:"supersedes,omitempty"`
}

// Marshal encodes the manifest deterministically (sorted, indented).
func (m *Manifest) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ParseManifest decodes and validates manifest.json. It is pure: the bytes
// may come from a hostile archive, so every field is checked.
func ParseManifest(data []byte) (*Manifest, error) {
	if len(data) > MaxManifestSize {
		return nil, fmt.Errorf("manifest is %d bytes, more than the limit of %d", len(data), MaxManifestSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("parse manifest: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("parse manifest: trailing data after the JSON object")
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Validate checks the manifest's internal consistency.
func (m *Manifest) Validate() error {
	if m.Format != ManifestFormat {
		return fmt.Errorf("manifest format %d is not supported (this hotfix reads format %d): upgrade hotfix", m.Format, ManifestFormat)
	}
	if err := ValidProductName(m.Product); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	if err := m.validateVersionFields(); err != nil {
		return err
	}
	if m.Summary == "" {
		return fmt.Errorf("manifest: empty summary")
	}
	if err := ValidSeverity(m.Severity); err != nil {
		return fmt.Errorf("manifest: severity: %w", err)
	}
	if len(m.Files)+len(m.Scripts)+len(m.Delete) > maxEntries {
		return fmt.Errorf("manifest: more than %d entries", maxEntries)
	}
	seen := map[string]bool{}
	check := func(kind string, list []FileEntry) error {
		if !sort.SliceIsSorted(list, func(i, j int) bool { return list[i].Path < list[j].Path }) {
			return fmt.Errorf("manifest: %s are not sorted by path", kind)
		}
		for _, f := range list {
			p, err := CleanRelPath(f.Path)
			if err != nil {
				return fmt.Errorf("manifest: %s: %w", kind, err)
			}
			if kind == "scripts" && strings.Contains(p, "/") {
				return fmt.Errorf("manifest: script %q must be a plain file name", p)
			}
			key := kind + "/" + p
			if seen[key] {
				return fmt.Errorf("manifest: %s lists %q twice", kind, p)
			}
			seen[key] = true
			if f.Size < 0 {
				return fmt.Errorf("manifest: %s %q has negative size", kind, p)
			}
			if !isHexSHA256(f.SHA256) {
				return fmt.Errorf("manifest: %s %q has no valid sha256", kind, p)
			}
			if why := f.Mode.Unsafe(); kind == "files" && why != "" {
				return fmt.Errorf("manifest: file %q has mode %s, %s, which every server refuses to install: rebuild the fix with a mode such as 0644 or 0755", p, f.Mode, why)
			}
		}
		return nil
	}
	if err := check("files", m.Files); err != nil {
		return err
	}
	if err := check("scripts", m.Scripts); err != nil {
		return err
	}
	for _, d := range m.Delete {
		p, err := CleanRelPath(d)
		if err != nil {
			return fmt.Errorf("manifest: delete: %w", err)
		}
		if seen["files/"+p] {
			return fmt.Errorf("manifest: %q is both shipped and deleted", p)
		}
	}
	if err := m.validateParts(); err != nil {
		return err
	}
	ids := map[string]bool{}
	for _, b := range m.Bugs {
		if b.ID == "" {
			return fmt.Errorf("manifest: bug without id")
		}
		if ids[b.ID] {
			return fmt.Errorf("manifest: bug %q listed twice", b.ID)
		}
		ids[b.ID] = true
	}
	return nil
}

func isHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// String shows the mode like ls does, for people.
func (m Mode) String() string { return fmt.Sprintf("%04o", uint32(m)) }

// Unsafe says why no server should install a file with this mode, or ""
// when it is fine: writable by every user (any local user could then
// change the product) or not even readable by its owner (0000: surely a
// packing mistake). pack, repo add and every server apply the same rule,
// so that a fix one server would refuse is never published to a fleet.
func (m Mode) Unsafe() string {
	switch {
	case m&0o002 != 0:
		return "writable by every user"
	case m&0o400 == 0:
		return "not readable by its owner"
	}
	return ""
}

// Severities a fix may declare, most urgent first. No severity is an
// ordinary fix; pages show the others as badges.
var Severities = []string{"security", "critical", "normal"}

// ValidSeverity accepts "" and the Severities.
func ValidSeverity(s string) error {
	if s == "" {
		return nil
	}
	for _, v := range Severities {
		if s == v {
			return nil
		}
	}
	return fmt.Errorf("%q is not a severity: use one of %s, or leave it out", s, strings.Join(Severities, ", "))
}
