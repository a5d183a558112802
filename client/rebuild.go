package client

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hotfix-project/hotfix/client/txn"
	"github.com/hotfix-project/hotfix/internal/beneath"
	"github.com/hotfix-project/hotfix/internal/statefile"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/fixarchive"
)

// rebuildState is what recover does about a *StateLostError: it writes
// a state.json listing the fixes of base that the state still lists and
// those whose backups prove them installed, which must form one chain
// from base. When and by whom each came from the audit log, its files
// from its archive in the download cache or, failing that, from its
// backup journal and the root as it is now. A damaged state.json is
// kept beside, never deleted. It returns what it did, "" when the state
// was sound, with the customer fixes it restored and lost in res. The
// caller holds the transaction lock.
func (c *Client) rebuildState(base repo.Version, res *RecoverResult) (string, error) {
	_, err := c.state(base)
	if !errors.Is(err, ErrStateLost) {
		return "", err
	}
	now := c.Now().UTC()
	path := filepath.Join(c.Cfg.StateDir, stateName)
	st, _, err := stateFile(c.Cfg.StateDir).Load()
	var kept string
	if errors.Is(err, statefile.ErrDamaged) {
		aside := path + ".damaged-" + now.Format("20060102T150405Z")
		if err := os.Rename(path, aside); err != nil {
			return "", fmt.Errorf("keep the damaged %s aside: %w", path, err)
		}
		kept, st = "kept the damaged state as "+aside, &State{}
	} else if err != nil {
		return "", fmt.Errorf("read state: %w", err)
	}
	st.syncBase(c.Cfg.Product, base, now)
	chain, err := c.provenChain(st, base)
	if err != nil {
		return kept, err
	}
	audit, err := ReadAudit(c.Cfg.LogDir)
	if err != nil {
		c.Log.Warn("read audit log for the rebuild", "err", err)
	}
	var added []repo.Version
	var notes []string
	fromRoot := map[string]bool{} // the versions whose files were read from the root
	installed := make([]InstalledFix, 0, len(chain))
	for _, v := range chain {
		if rec, ok := recordOf(st, v); ok {
			installed = append(installed, rec)
			continue
		}
		rec, note, err := c.rebuiltRecord(v, audit)
		if err != nil {
			return kept, err
		}
		installed, added = append(installed, rec), append(added, v)
		if note != "" {
			notes, fromRoot[v.String()] = append(notes, note), true
		}
	}
	st.Installed = installed
	customs, cnotes, lost := c.rebuildCustoms(st, audit)
	c.vendorFilesUnderCustoms(st, fromRoot)
	// The file database is built again from the rebuilt records.
	c.migrateFileDB(st)
	if err := st.Save(c.Cfg.StateDir); err != nil {
		return kept, err
	}
	restored := ""
	if len(customs) > 0 {
		var names []string
		for _, f := range customs {
			names = append(names, f.String())
		}
		restored = "restored " + strings.Join(names, ", ")
	}
	res.RestoredCustom, res.LostCustom = customs, lost
	did := sentence(kept, fmt.Sprintf("rebuilt %s from the backups and the audit log: installed on %s %s: %s (added %s)",
		path, c.Cfg.Product, base, describeVersions(versionsOfInstalled(installed)), describeVersions(added)), restored, sentence(notes...), sentence(cnotes...))
	var lostErr error
	if len(lost) > 0 {
		lostErr = &CustomLostError{Lost: lost, Dir: filepath.Join(c.Cfg.StateDir, customStoreDir)}
	}
	outcome := "ok"
	if lostErr != nil {
		outcome = "failed"
	}
	if aerr := c.audit("recover", added, outcome, sentence(did, errString(lostErr))); aerr != nil {
		return did, joinErrs(lostErr, aerr)
	}
	return did, lostErr
}

// errString is err's text, "" for nil.
func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// provenChain is the versions of base that st lists or whose backups
// exist, in order; they must form the chain base.1, base.2, ... or the
// rebuild would record something that cannot be installed.
func (c *Client) provenChain(st *State, base repo.Version) ([]repo.Version, error) {
	committed, err := c.store().Committed()
	if err != nil {
		return nil, fmt.Errorf("cannot rebuild the state: list the backups: %w", err)
	}
	seen := map[string]bool{}
	var chain []repo.Version
	for _, f := range st.Installed {
		seen[f.Version.String()] = true
		chain = append(chain, f.Version)
	}
	for _, v := range committed {
		if v.Base().Equal(base) && !seen[v.String()] && !st.lists(v, base) {
			chain = append(chain, v)
		}
	}
	sort.Slice(chain, func(a, b int) bool { return chain[a].Compare(chain[b]) < 0 })
	prev := base
	for _, v := range chain {
		if !v.Requires().Equal(prev) {
			return nil, fmt.Errorf("cannot rebuild the state: %s requires %s, but neither the state nor the backups in %s show %s installed (found: %s); restore %s from a backup",
				v, v.Requires(), c.backupsRoot(), v.Requires(), describeVersions(chain), stateName)
		}
		prev = v
	}
	return chain, nil
}

func recordOf(st *State, v repo.Version) (InstalledFix, bool) {
	for _, f := range st.Installed {
		if f.Version.Equal(v) {
			return f, true
		}
	}
	return InstalledFix{}, false
}

func versionsOfInstalled(fs []InstalledFix) []repo.Version {
	out := make([]repo.Version, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.Version)
	}
	return out
}

// rebuiltRecord makes the record of v, which its backups prove
// installed. The note says what could not be known for sure.
func (c *Client) rebuiltRecord(v repo.Version, audit []AuditRecord) (InstalledFix, string, error) {
	rec := InstalledFix{Version: v, By: "unknown", Files: map[string]string{}}
	if at, by, ok := lastInstall(audit, v); ok {
		rec.InstalledAt, rec.By = at, by
	} else if fi, err := os.Stat(c.store().BackupsDir(v)); err == nil {
		rec.InstalledAt = fi.ModTime().UTC()
	}
	if m := c.cachedManifest(v); m != nil {
		rec.Summary, rec.Deleted = m.Summary, m.Delete
		for _, f := range m.Files {
			rec.Files[f.Path] = f.SHA256
		}
		return rec, "", nil
	}
	j, err := c.store().CommittedJournal(v)
	if err != nil {
		return rec, "", fmt.Errorf("cannot rebuild the record of %s: %w", v, err)
	}
	r, err := beneath.Open(c.Cfg.Root)
	if err != nil {
		return rec, "", fmt.Errorf("cannot rebuild the record of %s: %w", v, err)
	}
	defer r.Close()
	rec.Deleted = filesFromJournal(r, j, rec.Files)
	return rec, fmt.Sprintf("the archive of %s is not in the download cache, so its files are recorded as they are in the root now (a local change made before now will not be detected)", v), nil
}

// filesFromJournal records in files the digest, as in the root r now, of
// each file the journal j replaced or added, and returns the paths it
// deleted.
func filesFromJournal(r *beneath.Root, j *txn.Journal, files map[string]string) (deleted []string) {
	for _, e := range j.Entries {
		if e.Action == txn.ActDelete {
			deleted = append(deleted, e.Path)
			continue
		}
		// A file reached through a link gets no record, so it counts
		// as changed: the link is never followed.
		if sum, err := hashIn(r, e.Path); err == nil {
			files[e.Path] = sum
		}
	}
	return deleted
}

// lastInstall finds when and by whom v was last installed (or its
// install kept by recover), from the audit log.
func lastInstall(audit []AuditRecord, v repo.Version) (time.Time, string, bool) {
	for i := len(audit) - 1; i >= 0; i-- {
		r := audit[i]
		if r.Outcome != "ok" || (r.Action != "install" && r.Action != "recover") {
			continue
		}
		for _, s := range r.Versions {
			if s == v.String() {
				return r.Time, r.User, true
			}
		}
	}
	return time.Time{}, "", false
}

// cachedManifest is the manifest of v's archive in the download cache,
// or nil. The cache holds only archives checked against a signed index.
func (c *Client) cachedManifest(v repo.Version) *repo.Manifest {
	ix := c.cachedIndex(v.Base())
	if ix == nil {
		return nil
	}
	f, ok := ix.Fix(v)
	if !ok {
		return nil
	}
	m, err := fixarchive.ReadManifestFile(filepath.Join(c.channelCache(v.Base()), f.File))
	if err != nil || !m.Version.Equal(v) || m.Product != c.Cfg.Product {
		return nil
	}
	return m
}
