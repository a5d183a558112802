package client

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hotfix-project/hotfix/internal/beneath"
	"github.com/hotfix-project/hotfix/repo"
)

// customBackup is a customer fix whose rollback record (state_dir/
// custom/ID/backups/VERSION) exists: installed, whatever state.json says.
type customBackup struct {
	ID      string
	Version repo.Version
	dir     string // the backups directory, for messages
}

func (b customBackup) String() string { return "customer fix " + b.ID + " " + b.Version.String() }

// customBackups lists the customer fixes whose rollback records exist,
// by id. An unreadable directory lists nothing: its own error comes at
// uninstall.
func (c *Client) customBackups() []customBackup {
	dirents, err := os.ReadDir(filepath.Join(c.Cfg.StateDir, customStoreDir))
	if err != nil {
		return nil
	}
	var out []customBackup
	for _, d := range dirents {
		if !d.IsDir() {
			continue
		}
		store := c.customStore(d.Name())
		vs, err := store.Committed()
		if err != nil {
			c.Log.Warn("list customer fix backups", "id", d.Name(), "err", err)
		}
		for _, v := range vs {
			out = append(out, customBackup{ID: d.Name(), Version: v, dir: store.BackupsDir(v)})
		}
	}
	return out
}

// unlistedCustoms lists the customer fixes whose rollback records exist
// but which st does not list. A record older than the installed base (the
// newest base change st knows of, or the version file's last write)
// belongs to a customer fix the full patch dropped with its base, not to
// a lost state: customer fix records name no base.
func (c *Client) unlistedCustoms(st *State) []customBackup {
	var changed time.Time
	for _, s := range st.Superseded {
		if s.SupersededAt.After(changed) {
			changed = s.SupersededAt
		}
	}
	if c.Cfg.Version == "" && c.Cfg.VersionFile != "" {
		if fi, err := os.Stat(c.Cfg.VersionFile); err == nil && fi.ModTime().After(changed) {
			changed = fi.ModTime()
		}
	}
	var out []customBackup
	for _, b := range c.customBackups() {
		if cf := st.customFix(b.ID); cf != nil && cf.Version.Equal(b.Version) {
			continue
		}
		if fi, err := os.Stat(b.dir); err == nil && !changed.IsZero() && fi.ModTime().Before(changed) {
			continue
		}
		out = append(out, b)
	}
	return out
}

// rebuildCustoms gives st the records of the customer fixes whose
// rollback records exist and st does not list: who and when from the
// audit log; files, min_fix and supersedes from the archive in the
// download cache (checked against the signed customer index when it was
// cached), or else the files from the rollback record's journal and the
// root as it is now. A customer file that a vendor fix's file replaced
// since (install --force) is recorded as overridden by it when the
// archive tells the customer's digest. It returns what it restored, the
// notes on what it could not know, and the customer fixes it could not
// restore at all (their rollback record unreadable), Reason saying why.
func (c *Client) rebuildCustoms(st *State, audit []AuditRecord) (restored []CustomFixRef, notes []string, lost []CustomFixRef) {
	for _, b := range c.unlistedCustoms(st) {
		ref := CustomFixRef{ID: b.ID, Version: b.Version.String()}
		if cf := st.customFix(b.ID); cf != nil {
			// Two versions of one id: the state's stays, the other
			// record cannot be trusted to be the installed one.
			ref.Reason = fmt.Sprintf("the state lists version %s; its rollback record %s is left over", cf.Version, b.dir)
			lost = append(lost, ref)
			continue
		}
		rec, note, err := c.rebuiltCustom(st, b, audit)
		if err != nil {
			ref.Reason = err.Error()
			lost = append(lost, ref)
			continue
		}
		st.Custom = append(st.Custom, rec)
		restored = append(restored, ref)
		if note != "" {
			notes = append(notes, note)
		}
	}
	return restored, notes, lost
}

// CustomFixRef names a customer fix that recover restored or lost (for
// recover --json), and for a lost one why.
type CustomFixRef struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Reason  string `json:"reason,omitempty"`
}

func (r CustomFixRef) String() string {
	s := "customer fix " + r.ID + " " + r.Version
	if r.Reason != "" {
		s += " (" + r.Reason + ")"
	}
	return s
}

// rebuiltCustom makes the record of the customer fix b.
func (c *Client) rebuiltCustom(st *State, b customBackup, audit []AuditRecord) (InstalledCustom, string, error) {
	store := c.customStore(b.ID)
	j, err := store.CommittedJournal(b.Version)
	if err != nil {
		return InstalledCustom{}, "", fmt.Errorf("its rollback record in %s is unreadable: %w", b.dir, err)
	}
	rec := InstalledCustom{ID: b.ID, Customer: c.Cfg.Customer, Version: b.Version, By: "unknown", Files: map[string]string{}}
	if at, by, customer, ok := lastCustomInstall(audit, b); ok {
		rec.InstalledAt, rec.By = at, by
		if customer != "" {
			rec.Customer = customer
		}
	} else if fi, err := os.Stat(b.dir); err == nil {
		rec.InstalledAt = fi.ModTime().UTC()
	}
	r, err := beneath.Open(c.Cfg.Root)
	if err != nil {
		return rec, "", fmt.Errorf("open the root: %w", err)
	}
	defer r.Close()
	if m := c.cachedCustomManifest(st, &rec); m != nil {
		rec.Summary, rec.MinFix, rec.Supersedes, rec.Deleted = m.Summary, m.MinFix, m.Supersedes, m.Delete
		for _, f := range m.Files {
			rec.Files[f.Path] = f.SHA256
			if sum, err := hashIn(r, f.Path); err == nil && sum != f.SHA256 {
				if by := overriddenBy(st, f.Path, sum); by != "" {
					if rec.Overridden == nil {
						rec.Overridden = map[string]string{}
					}
					rec.Overridden[f.Path] = by
				}
			}
		}
		return rec, "", nil
	}
	rec.Deleted = filesFromJournal(r, j, rec.Files)
	sort.Strings(rec.Deleted)
	return rec, fmt.Sprintf("the archive of %s is not in the download cache, so its files are recorded as they are in the root now (a local change, or a vendor fix's file installed over it with --force, made before now is taken for its own; min_fix and supersedes are unknown)", b), nil
}

// vendorFilesUnderCustoms mends the records of vendor fixes rebuilt
// from the root (fromRoot, by version): where a customer fix's file is
// in the root now, the vendor's file is the customer fix's backup of
// it, so the vendor fix's digest is the backup's. A path a vendor fix
// overrode is the vendor's in the root already.
func (c *Client) vendorFilesUnderCustoms(st *State, fromRoot map[string]bool) {
	if len(fromRoot) == 0 {
		return
	}
	for _, cf := range st.Custom {
		for _, p := range cf.owned() {
			vf := newestWith(st, p)
			if vf == nil || !fromRoot[vf.Version.String()] {
				continue
			}
			path, _, ok := c.customStore(cf.ID).BackupFile(cf.Version, p)
			if !ok {
				continue
			}
			if sum, _, err := repo.HashFile(path); err == nil {
				vf.Files[p] = sum
			}
		}
	}
}

// newestWith is the newest installed vendor fix that installed rel, or
// nil.
func newestWith(st *State, rel string) *InstalledFix {
	for i := len(st.Installed) - 1; i >= 0; i-- {
		if _, ok := st.Installed[i].Files[rel]; ok {
			return &st.Installed[i]
		}
	}
	return nil
}

// overriddenBy is the newest installed vendor fix that installed rel
// with digest sum, or "".
func overriddenBy(st *State, rel, sum string) string {
	for i := len(st.Installed) - 1; i >= 0; i-- {
		if st.Installed[i].Files[rel] == sum {
			return st.Installed[i].Version.String()
		}
	}
	return ""
}

// lastCustomInstall finds when, by whom and for which customer b was
// last installed, from the audit log (detail "customer fix ID VERSION
// (customer NAME)...").
func lastCustomInstall(audit []AuditRecord, b customBackup) (time.Time, string, string, bool) {
	prefix := strings.TrimSuffix(customAuditDetail(b.ID, b.Version, ""), ")")
	for i := len(audit) - 1; i >= 0; i-- {
		r := audit[i]
		if r.Outcome != "ok" || r.Action != "install" || !strings.HasPrefix(r.Detail, prefix) {
			continue
		}
		customer, _, _ := strings.Cut(strings.TrimPrefix(r.Detail, prefix), ")")
		return r.Time, r.User, customer, true
	}
	return time.Time{}, "", "", false
}

// customAuditDetail opens the audit detail of a customer fix's install
// or uninstall; lastCustomInstall reads it back, so both take it from
// here.
func customAuditDetail(id string, v repo.Version, customer string) string {
	return fmt.Sprintf("customer fix %s %s (customer %s)", id, v, customer)
}

// CustomLostError is a rebuild that could not restore some customer
// fixes: their files stay in the root as they are, unrecorded.
type CustomLostError struct {
	Lost []CustomFixRef // with the reason of each
	Dir  string         // state_dir/custom
}

func (e *CustomLostError) Error() string {
	var fixes []string
	for _, f := range e.Lost {
		fixes = append(fixes, f.String())
	}
	return fmt.Sprintf("%s: could not restore %s from their rollback records in %s; their files stay in the root as they are, recorded by no fix, and no uninstall can undo them", ErrStateLost, strings.Join(fixes, "; "), e.Dir)
}

// Is makes errors.Is(err, ErrStateLost) hold: the state stays short of
// what the root holds until the administrator acts.
func (e *CustomLostError) Is(target error) bool { return target == ErrStateLost }
