package client

import (
	"os"
	"path/filepath"

	"github.com/hotfix-project/hotfix/internal/beneath"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/fixarchive"
)

// The customer fixes in the file database. A customer fix's install
// records its files as its own, on top of the vendor's records (which
// it keeps in InstalledCustom.Previous); its uninstall gives them back.
// A vendor fix that overrides a customer file (install --force, or a
// superseding customer fix on its way) takes the record like any later
// fix, keeping the customer's record in its Previous: its rollback gives
// the file back to the customer fix, as the root's rollback does.

// customOwner is the owner of the files of customer fix cf.
func customOwner(cf *InstalledCustom) FileRecord {
	return FileRecord{Fix: cf.ID, Customer: cf.Customer, Version: cf.Version.String()}
}

// recordCustomFiles records the files of customer fix cf, installed
// from manifest m, as its own. It is part of the state write that
// commits the install; undoCustomFiles undoes it in memory.
func recordCustomFiles(st *State, cf *InstalledCustom, m *repo.Manifest) {
	cf.Previous = st.files().Install(customOwner(cf), m.Files, m.Delete, nil)
}

// undoCustomFiles gives the paths customer fix cf owns back to the
// records they had before it (or to none), and hands the record of a
// path a vendor fix overrode over to that fix's Previous, as the
// uninstall hands over its backup (txn.HandOver): the vendor fix's
// rollback then restores the record from before the customer fix. It is
// part of the state write that commits the uninstall.
func undoCustomFiles(st *State, cf *InstalledCustom) {
	st.files().Revert(customOwner(cf), cf.owned(), cf.Previous)
	for p, by := range cf.Overridden {
		if vf := st.installedFix(by); vf != nil {
			before, had := cf.Previous[p]
			setPrevious(&vf.Previous, p, before, had)
		}
	}
}

// setPrevious makes *prev, a fix's Previous, hold rec for path p when
// has, and no record for p otherwise (the path was nobody's before that
// fix): what handing a path's record from one fix to another comes to.
func setPrevious(prev *map[string]FileRecord, p string, rec FileRecord, has bool) {
	if !has {
		delete(*prev, p)
		return
	}
	if *prev == nil {
		*prev = map[string]FileRecord{}
	}
	(*prev)[p] = rec
}

// installedFix is the installed vendor fix of version v ("2.4.1.3"), or
// nil.
func (s *State) installedFix(v string) *InstalledFix {
	for i := range s.Installed {
		if s.Installed[i].Version.String() == v {
			return &s.Installed[i]
		}
	}
	return nil
}

// migrateCustomFiles records the installed customer fixes' files in a
// file database written before they were recorded, in install order on
// top of the vendor fixes' records; size and mode as migrateFileDB
// finds them (from the customer fix's cached archive, or the root r
// when it is not nil). A path a vendor fix overrode stays that fix's,
// with the customer's record in its Previous and the record from before
// the customer fix in the customer fix's: as if the records had been
// kept all along. It marks st migrated when it changed anything.
func (c *Client) migrateCustomFiles(st *State, r *beneath.Root) {
	st.DB.Customers = true
	for i := range st.Custom {
		cf := &st.Custom[i]
		m := c.cachedCustomManifest(st, cf)
		over := func(p string) bool { _, ok := cf.Overridden[p]; return ok }
		var deleted []string
		for _, p := range cf.Deleted {
			if !over(p) {
				deleted = append(deleted, p)
			}
		}
		owner := customOwner(cf)
		c.recordsUnder(st.DB, cf)
		cf.Previous = st.DB.Install(owner, recordedEntries(r, cf.Files, m, over), deleted, nil)
		for p, by := range cf.Overridden {
			vf := st.installedFix(by)
			if vf == nil {
				continue
			}
			before, had := vf.Previous[p]
			sum, shipped := cf.Files[p]
			var rec FileRecord
			if shipped {
				rec = c.overriddenRecord(owner, vf.Version, p, sum, m)
			}
			setPrevious(&vf.Previous, p, rec, shipped)
			if had {
				setPrevious(&cf.Previous, p, before, true)
			}
		}
		st.migrated = true
	}
}

// recordsUnder mends the size and mode of the records under customer fix
// cf's files, which the migration may have read from the root (where the
// customer's file is): the customer fix's backup of a path is the file
// it replaced, so where its digest is the record's, its size and mode
// are too.
func (c *Client) recordsUnder(db *FileDB, cf *InstalledCustom) {
	for _, p := range cf.owned() {
		rec, ok := db.Files[p]
		if !ok {
			continue
		}
		path, je, ok := c.customStore(cf.ID).BackupFile(cf.Version, p)
		if !ok {
			continue
		}
		fi, err := os.Lstat(path)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if sum, _, err := repo.HashFile(path); err == nil && sum == rec.SHA256 {
			rec.Size, rec.Mode = fi.Size(), repo.Mode(os.FileMode(je.Mode).Perm())
			db.Files[p] = rec
		}
	}
}

// overriddenRecord is the record of the customer's file at p (sha256
// sum) that vendor fix v overrode: size and mode from the customer
// fix's manifest m, else from v's backup of it.
func (c *Client) overriddenRecord(owner FileRecord, v repo.Version, p, sum string, m *repo.Manifest) FileRecord {
	e := recordedEntries(nil, map[string]string{p: sum}, m, nil)[0]
	if e.Size < 0 {
		if path, je, ok := c.store().BackupFile(v, p); ok {
			if fi, err := os.Lstat(path); err == nil && fi.Mode().IsRegular() {
				e.Size, e.Mode = fi.Size(), repo.Mode(os.FileMode(je.Mode).Perm())
			}
		}
	}
	owner.Size, owner.Mode, owner.SHA256 = e.Size, e.Mode, sum
	return owner
}

// cachedCustomManifest is the manifest of customer fix cf's archive in
// the download cache, found through the customer's cached index, or nil.
// The cache holds only archives checked against a signed index.
func (c *Client) cachedCustomManifest(st *State, cf *InstalledCustom) *repo.Manifest {
	if st.Product != c.Cfg.Product || cf.Customer != c.Cfg.Customer {
		return nil
	}
	ix := c.cachedCustomIndex(st.Base)
	if ix == nil {
		return nil
	}
	for _, f := range ix.Fixes {
		if f.ID != cf.ID || !f.Version.Equal(cf.Version) {
			continue
		}
		m, err := fixarchive.ReadManifestFile(filepath.Join(c.customCache(st.Base), f.File))
		if err != nil || m.ID != cf.ID || !m.Version.Equal(cf.Version) || m.Customer != cf.Customer {
			return nil
		}
		return m
	}
	return nil
}
