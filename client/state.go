package client

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
	"github.com/hotfix-project/hotfix/internal/statefile"
	"github.com/hotfix-project/hotfix/repo"
)

// stateName is the installed state inside state_dir.
const stateName = "state.json"

// InstalledFix is one fix recorded as installed.
type InstalledFix struct {
	Version     repo.Version      `json:"version"`
	InstalledAt time.Time         `json:"installed_at"`
	By          string            `json:"by"`
	Summary     string            `json:"summary,omitempty"`
	Files       map[string]string `json:"files,omitempty"`   // path → sha256 as installed
	Deleted     []string          `json:"deleted,omitempty"` // paths the fix removed
	Forced      bool              `json:"forced,omitempty"`  // installed over local modifications
	// Parts names the parts of the fix installed (mandatory ones
	// included); SkippedParts the optional ones left out.
	Parts        []string `json:"parts,omitempty"`
	SkippedParts []string `json:"skipped_parts,omitempty"`
	// Previous holds the file database records this fix replaced or
	// dropped, by path: rollback puts them back (see FileDB.Revert).
	Previous map[string]FileRecord `json:"previous_owners,omitempty"`
}

// SupersededFix is a fix of an earlier base, made obsolete by a full patch.
type SupersededFix struct {
	Base         repo.Version `json:"base"`
	Version      repo.Version `json:"version"`
	InstalledAt  time.Time    `json:"installed_at"`
	SupersededAt time.Time    `json:"superseded_at"`
}

// CheckRecord is the outcome of the last check.
type CheckRecord struct {
	At      time.Time `json:"at"`
	Outcome string    `json:"outcome"`
	Serial  int64     `json:"serial,omitempty"`
	Pending int       `json:"pending"`
	Failed  bool      `json:"failed,omitempty"`
	// PendingSince is when checks first found fixes pending without a
	// check finding none in between; a failed check keeps it.
	PendingSince *time.Time `json:"pending_since,omitempty"`
}

// State is what is installed on this server: the base and the installed
// fixes in chain order. Only install, rollback and recover write it, under
// the transaction lock; what checks learn lives in Seen.
type State struct {
	Product    string          `json:"product"`
	Base       repo.Version    `json:"base"`
	Installed  []InstalledFix  `json:"installed"`
	Superseded []SupersededFix `json:"superseded,omitempty"`
	// Custom are the installed customer fixes (custom.go), by id.
	Custom []InstalledCustom `json:"custom,omitempty"`
	// DB is the file database; nil in a state written before it existed,
	// which migrateFileDB builds it for on first use.
	DB *FileDB `json:"file_db,omitempty"`
	// migrated says DB was built on load and is not yet saved.
	migrated bool
}

// channelKey names a channel in State.Serials.
func channelKey(product string, base repo.Version) string { return product + "/" + base.String() }

// Latest is the newest installed version, or the base when none.
func (s *State) Latest() repo.Version {
	if n := len(s.Installed); n > 0 {
		return s.Installed[n-1].Version
	}
	return s.Base
}

// IsInstalled reports whether v is recorded as installed.
func (s *State) IsInstalled(v repo.Version) bool {
	for _, f := range s.Installed {
		if f.Version.Equal(v) {
			return true
		}
	}
	return false
}

// stateFile is state_dir/state.json. Its writers (install, rollback,
// recover) hold the transaction lock, so it takes no lock of its own.
func stateFile(dir string) statefile.File[State] {
	return statefile.File[State]{Path: filepath.Join(dir, stateName)}
}

// LoadState reads state_dir/state.json; a missing file is an empty state.
func LoadState(dir string) (*State, error) {
	s, _, err := stateFile(dir).Load()
	if errors.Is(err, statefile.ErrDamaged) {
		return nil, fmt.Errorf("read state %s: %w: restore it from backup; hotfix will not guess what is installed", filepath.Join(dir, stateName), err)
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	return s, nil
}

// Save writes the state atomically. It is the commit point of every
// install and rollback.
func (s *State) Save(dir string) error {
	if err := stateFile(dir).Save(s); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

// syncBase aligns the state with the installed base. When a full patch
// moved the product to a new base, the old fixes are recorded as
// superseded and the new channel starts empty. It reports whether it
// changed anything.
func (s *State) syncBase(product string, base repo.Version, now time.Time) bool {
	if s.Product == product && s.Base.Equal(base) {
		return false
	}
	for _, f := range s.Installed {
		s.Superseded = append(s.Superseded, SupersededFix{Base: s.Base, Version: f.Version, InstalledAt: f.InstalledAt, SupersededAt: now})
	}
	// The full patch replaced the files the old fixes owned.
	s.Product, s.Base, s.Installed, s.DB = product, base, nil, NewFileDB()
	s.Custom = nil // customer fixes target a base: the full patch replaced their files too
	return true
}

// currentUser names who runs hotfix, for the audit log and the state.
func currentUser() string {
	if u := os.Getenv("SUDO_USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return strconv.Itoa(os.Getuid())
}

func writeFileAtomic(path string, data []byte) error {
	return atomicfile.WriteFile(path, data, 0o644)
}
