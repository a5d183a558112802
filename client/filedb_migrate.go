package client

import (
	"github.com/hotfix-project/hotfix/internal/beneath"
	"github.com/hotfix-project/hotfix/repo"
)

// migrateFileDB builds the file database of a state written before it
// existed, from the installed fixes in chain order: each file a fix
// installed belongs to the newest fix that installed it and did not
// delete it since, with the sha256 the state recorded. Size, mode and
// part come from the fix's manifest when its archive is still in the
// download cache (checked against a signed index when it was cached);
// otherwise size and mode are the file's as it is now (a mode changed by
// hand before the migration is not found by verify then; a changed
// content still is, by its digest). The customer fixes' files go on top
// (migrateCustomFiles). It marks st migrated: the caller that holds the
// transaction lock saves it; read-only commands build it again each time
// until then.
func (c *Client) migrateFileDB(st *State) {
	db := NewFileDB()
	r := c.openRootForMigration(len(st.Installed) + len(st.Custom))
	if r != nil {
		defer r.Close()
	}
	for i := range st.Installed {
		f := &st.Installed[i]
		var m *repo.Manifest
		if st.Product == c.Cfg.Product {
			m = c.cachedManifest(f.Version)
		}
		entries := recordedEntries(r, f.Files, m, nil)
		f.Previous = db.Install(vendorOwner(f.Version), entries, f.Deleted, partOf(m))
	}
	db.Customers = false
	st.DB, st.migrated = db, true
	c.migrateCustomFiles(st, r)
}

// ensureFileDB gives st its file database, built from the installed
// fixes when the state predates it (migrateFileDB), or completed with the
// customer fixes' files when it predates those (migrateCustomFiles).
func (c *Client) ensureFileDB(st *State) {
	switch {
	case st.DB == nil:
		c.migrateFileDB(st)
	case !st.DB.Customers:
		r := c.openRootForMigration(len(st.Custom))
		if r != nil {
			defer r.Close()
		}
		c.migrateCustomFiles(st, r)
	}
}

// openRootForMigration opens the root when there are fixes to migrate,
// or returns nil (sizes and modes then stay unknown, -1 and 0).
func (c *Client) openRootForMigration(fixes int) *beneath.Root {
	if fixes == 0 {
		return nil
	}
	r, err := beneath.Open(c.Cfg.Root)
	if err != nil {
		return nil
	}
	return r
}

// recordedEntries makes the file entries of the files a fix recorded
// (path → sha256), less those skip names: size and mode from the
// manifest m when it lists the file with the same digest, else from the
// file in the root r as it is now, else unknown (size -1).
func recordedEntries(r *beneath.Root, files map[string]string, m *repo.Manifest, skip func(string) bool) []repo.FileEntry {
	known := map[string]repo.FileEntry{}
	if m != nil {
		for _, e := range m.Files {
			known[e.Path] = e
		}
	}
	entries := make([]repo.FileEntry, 0, len(files))
	for p, sum := range files {
		if skip != nil && skip(p) {
			continue
		}
		e := repo.FileEntry{Path: p, SHA256: sum, Size: -1}
		if k, ok := known[p]; ok && k.SHA256 == sum {
			e.Size, e.Mode = k.Size, k.Mode
		} else if r != nil {
			if fi, err := r.Lstat(p); err == nil {
				e.Size, e.Mode = fi.Size(), repo.Mode(fi.Mode().Perm())
			}
		}
		entries = append(entries, e)
	}
	return entries
}
