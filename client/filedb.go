package client

import (
	"sort"

	"github.com/hotfix-project/hotfix/repo"
)

// FileRecord is what the file database holds of one file a fix put in
// place: the fix that owns it now (and the part it came in), and its
// size, mode and sha256 as that fix installed it.
type FileRecord struct {
	// Fix is the owner: a vendor fix's version ("2.4.1.3"), or a
	// customer fix's id (then Customer names the customer).
	Fix      string `json:"fix"`
	Customer string `json:"customer,omitempty"`
	// Version is a customer fix's own version (a vendor fix's is Fix).
	Version string    `json:"version,omitempty"`
	Part    string    `json:"part,omitempty"` // "" is the mandatory part
	Size    int64     `json:"size"`
	Mode    repo.Mode `json:"mode"`
	SHA256  string    `json:"sha256"`
}

// FileDB is the file database: for every file a fix installed and no
// later fix removed, its record, by path relative to the root. It lives
// in state.json (State.DB), so that it changes in the one atomic write
// that commits an install, a rollback or a recovery: it can never
// disagree with the installed fixes, whatever a crash interrupts.
type FileDB struct {
	Files map[string]FileRecord `json:"files"`
	// Customers says the customer fixes' files are recorded too; a
	// database written before they were lacks it, and
	// migrateCustomFiles adds them on first use.
	Customers bool `json:"customer_files,omitempty"`
}

// NewFileDB is an empty database.
func NewFileDB() *FileDB { return &FileDB{Files: map[string]FileRecord{}, Customers: true} }

// Owner is the record of rel (a path relative to the root, slash
// separated), if a fix owns it.
func (db *FileDB) Owner(rel string) (FileRecord, bool) {
	r, ok := db.Files[rel]
	return r, ok
}

// OwnedBy lists, sorted, the paths fix owns (a version, or a customer
// fix's id with its customer; "" for a vendor fix).
func (db *FileDB) OwnedBy(customer, fix string) []string {
	var out []string
	for p, r := range db.Files {
		if r.Fix == fix && r.Customer == customer {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// Transfer makes rec the record of rel and returns the record it
// replaced (ok false when no fix owned rel): the caller keeps it to undo
// the transfer with Revert. A nil database is not allowed.
func (db *FileDB) Transfer(rel string, rec FileRecord) (prev FileRecord, ok bool) {
	prev, ok = db.Files[rel]
	db.Files[rel] = rec
	return prev, ok
}

// Install records the files of one fix as owned by it (owner's Fix and
// Customer; part names each file's part) and drops the records of the
// paths it deletes. It returns the records it replaced or dropped, by
// path: what Revert needs to undo it.
func (db *FileDB) Install(owner FileRecord, files []repo.FileEntry, deleted []string, part func(rel string) string) map[string]FileRecord {
	prev := map[string]FileRecord{}
	for _, f := range files {
		rec := FileRecord{Fix: owner.Fix, Customer: owner.Customer, Version: owner.Version, Size: f.Size, Mode: f.Mode, SHA256: f.SHA256}
		if part != nil {
			rec.Part = part(f.Path)
		}
		if old, ok := db.Transfer(f.Path, rec); ok {
			prev[f.Path] = old
		}
	}
	for _, d := range deleted {
		if old, ok := db.Files[d]; ok {
			prev[d] = old
			delete(db.Files, d)
		}
	}
	if len(prev) == 0 {
		return nil
	}
	return prev
}

// Revert undoes Install (or Transfers) of the fix owner names over
// paths: each path it still owns gets back its previous record, or no
// record; a path it deleted gets back its previous record. A path
// another fix owns by now is left to that fix.
func (db *FileDB) Revert(owner FileRecord, paths []string, prev map[string]FileRecord) {
	for _, p := range paths {
		cur, ok := db.Files[p]
		if ok && (cur.Fix != owner.Fix || cur.Customer != owner.Customer) {
			continue
		}
		if old, had := prev[p]; had {
			db.Files[p] = old
		} else {
			delete(db.Files, p)
		}
	}
}

// fixPaths lists what f touched: the files it installed and the paths it
// deleted.
func fixPaths(f *InstalledFix) []string {
	out := make([]string, 0, len(f.Files)+len(f.Deleted))
	for p := range f.Files {
		out = append(out, p)
	}
	return append(out, f.Deleted...)
}

// vendorOwner is the owner of the files of vendor fix v.
func vendorOwner(v repo.Version) FileRecord { return FileRecord{Fix: v.String()} }

// files is the state's file database, made empty when there is none
// yet (a state that was never loaded through Client.state).
func (s *State) files() *FileDB {
	if s.DB == nil {
		s.DB = NewFileDB()
	}
	return s.DB
}
