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
// content still is, by its digest). It marks st migrated: the caller
// that holds the transaction lock saves it; read-only commands build it
// again each time until then.
func (c *Client) migrateFileDB(st *State) {
	db := NewFileDB()
	var r *beneath.Root
	if len(st.Installed) > 0 {
		if opened, err := beneath.Open(c.Cfg.Root); err == nil {
			r = opened
			defer r.Close()
		}
	}
	for i := range st.Installed {
		f := &st.Installed[i]
		entries := make([]repo.FileEntry, 0, len(f.Files))
		var m *repo.Manifest
		if st.Product == c.Cfg.Product {
			m = c.cachedManifest(f.Version)
		}
		known := map[string]repo.FileEntry{}
		if m != nil {
			for _, e := range m.Files {
				known[e.Path] = e
			}
		}
		for p, sum := range f.Files {
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
		f.Previous = db.Install(vendorOwner(f.Version), entries, f.Deleted, partOf(m))
	}
	st.DB, st.migrated = db, true
}
