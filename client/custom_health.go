package client

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/fixarchive"
)

// What an unhealthy host does to the customer fixes of the run it takes
// back (afterInstall): the customer fixes the run installed go first,
// newest first, since they stand on the run's vendor fixes; then the
// vendor fixes are rolled back; last, the customer fixes the run had
// replaced (an older version of an id, or those a fix of the run
// supersedes) are installed again, from the same verified index, so
// that the host is as it was before the run. The customer fixes
// installed before the run and not replaced by it are never touched.

// takeBackCustoms uninstalls the run's customer fixes (installed, in
// install order), newest first, each recorded in the audit log. It
// returns what it did, for the error ("" for nothing).
func (c *Client) takeBackCustoms(ctx context.Context, st *State, installed []repo.CustomIndexFix) (string, error) {
	var gone []string
	for i := len(installed) - 1; i >= 0; i-- {
		f := installed[i]
		detail := customAuditDetail(f.ID, f.Version, c.Cfg.Customer) + ": taken back, the health_check failed"
		if err := c.uninstallCustom(ctx, st, f.ID); err != nil {
			return describeCustoms(gone, "uninstalled"), joinErrs(fmt.Errorf("uninstall customer fix %s %s: %w", f.ID, f.Version, err),
				c.audit("uninstall", nil, "failed", detail+": "+err.Error()))
		}
		gone = append(gone, f.ID+" "+f.Version.String())
		if err := c.audit("uninstall", nil, "ok", detail); err != nil {
			return describeCustoms(gone, "uninstalled"), err
		}
	}
	return describeCustoms(gone, "uninstalled"), nil
}

// reinstallReplaced installs again, in their order, the customer fixes
// of before (those installed before the run) that are no longer
// installed: the run replaced them. Each must still be in the source's
// verified customer index. It returns what it did, for the error.
func (c *Client) reinstallReplaced(ctx context.Context, st *State, src customSource, before []InstalledCustom, opts *InstallOptions) (string, error) {
	var back []string
	done := func() string { return describeCustoms(back, "installed again") }
	for _, cf := range replacedCustoms(st, before) {
		detail := customAuditDetail(cf.ID, cf.Version, c.Cfg.Customer) + ": installed again, the health_check failed after the run that replaced it"
		f, path, err := c.replacedArchive(ctx, src, st, &cf)
		if err == nil {
			var logPath string
			logPath, err = c.installCustom(ctx, st, f, archive{path: path}, opts)
			detail += "; " + logPath
		}
		if err != nil {
			err = fmt.Errorf("install customer fix %s %s again: %w", cf.ID, cf.Version, err)
			return done(), joinErrs(err, c.audit("install", nil, "failed", detail+": "+err.Error()))
		}
		back = append(back, f.ID+" "+f.Version.String())
		if err := c.audit("install", nil, "ok", detail); err != nil {
			return done(), err
		}
	}
	return done(), nil
}

// replacedCustoms are the customer fixes of before that st no longer
// lists at their version, in their order.
func replacedCustoms(st *State, before []InstalledCustom) []InstalledCustom {
	var out []InstalledCustom
	for _, cf := range before {
		if in := st.customFix(cf.ID); in == nil || !in.Version.Equal(cf.Version) {
			out = append(out, cf)
		}
	}
	return out
}

// replacedArchive is the archive of customer fix cf, which the run
// replaced, and its index entry: from the source's verified customer
// index where it still lists cf (a fix the run's superseded), else the
// copy in the download cache (an older version of an id, which the
// index lists no more), taken only when its manifest is exactly what
// the state recorded as installed (every path and digest): the cache
// holds only archives once checked against a signed index, and the
// install verifies every file against the manifest.
func (c *Client) replacedArchive(ctx context.Context, src customSource, st *State, cf *InstalledCustom) (repo.CustomIndexFix, string, error) {
	if f, ok := customIndexFix(src, cf.ID, cf.Version); ok {
		path, err := src.customArchive(ctx, st.Base, f)
		return f, path, err
	}
	path := filepath.Join(c.customCache(st.Base), repo.CustomArchiveName(c.Cfg.Product, cf.ID, cf.Version))
	m, err := fixarchive.ReadManifestFile(path)
	if err != nil {
		return repo.CustomIndexFix{}, "", fmt.Errorf("the customer's index lists it no more and its archive in the download cache is unreadable: %w", err)
	}
	if !sameAsInstalled(m, cf) {
		return repo.CustomIndexFix{}, "", fmt.Errorf("the customer's index lists it no more and its archive in the download cache %s is not what was installed", path)
	}
	return repo.CustomIndexFix{ID: m.ID, Version: m.Version, MinFix: m.MinFix, Supersedes: m.Supersedes, File: filepath.Base(path), Summary: m.Summary, Paths: m.Paths()}, path, nil
}

// sameAsInstalled reports whether manifest m is customer fix cf as the
// state recorded it: id, customer, version, each file's digest and the
// deletions.
func sameAsInstalled(m *repo.Manifest, cf *InstalledCustom) bool {
	if !m.IsCustom() || m.ID != cf.ID || m.Customer != cf.Customer || !m.Version.Equal(cf.Version) || len(m.Files) != len(cf.Files) || !slices.Equal(m.Delete, cf.Deleted) {
		return false
	}
	for _, f := range m.Files {
		if cf.Files[f.Path] != f.SHA256 {
			return false
		}
	}
	return true
}

// customIndexFix finds customer fix id at version v in the verified
// customer index of src (none when src is nil).
func customIndexFix(src customSource, id string, v repo.Version) (repo.CustomIndexFix, bool) {
	if src == nil {
		return repo.CustomIndexFix{}, false
	}
	ix := src.customIndex()
	if ix == nil {
		return repo.CustomIndexFix{}, false
	}
	for _, f := range ix.Fixes {
		if f.ID == id && f.Version.Equal(v) {
			return f, true
		}
	}
	return repo.CustomIndexFix{}, false
}

// describeCustoms says what happened to customer fixes ("IS-1 1"):
// "customer fix IS-1 1 was uninstalled", "customer fixes ... were
// installed again, which the run had replaced"; "" for none.
func describeCustoms(ids []string, what string) string {
	switch len(ids) {
	case 0:
		return ""
	case 1:
		if what == "installed again" {
			return "customer fix " + ids[0] + ", which the run had replaced, was " + what
		}
		return "customer fix " + ids[0] + " was " + what
	}
	if what == "installed again" {
		return "customer fixes " + strings.Join(ids, ", ") + ", which the run had replaced, were " + what
	}
	return "customer fixes " + strings.Join(ids, ", ") + " were " + what
}

// takeBackInstance is what an unhealthy host does to one instance of a
// tree run (Tree.takeBack), in the same order as afterInstall: the
// run's customer fixes (custom) go, newest first; then its vendor fixes
// (vendor), by a rollback to level before, with a rollback's checks;
// then the customer fixes the run replaced (of beforeCustom) come back,
// from the customer's index fetched again, or the download cache. It
// returns what it did, for the instance's error.
func (c *Client) takeBackInstance(ctx context.Context, before repo.Version, vendor bool, custom []repo.CustomIndexFix, beforeCustom []InstalledCustom) (string, error) {
	var did []string
	done := func() string {
		return strings.Join(slices.DeleteFunc(did, func(s string) bool { return s == "" }), "; ")
	}
	if len(custom) > 0 {
		gone, err := c.underLock(ctx, func(st *State) (string, error) { return c.takeBackCustoms(ctx, st, custom) })
		if did = append(did, gone); err != nil {
			return done(), err
		}
	}
	if vendor {
		if _, err := c.Rollback(ctx, RollbackOptions{To: &before}); err != nil {
			return done(), err
		}
	}
	back, err := c.underLock(ctx, func(st *State) (string, error) {
		if len(replacedCustoms(st, beforeCustom)) == 0 {
			return "", nil // nothing to fetch an index for
		}
		var src customSource
		if ix, err := c.fetchCustomIndex(ctx, st.Base); err == nil {
			src = &indexCustoms{c: c, ix: ix}
		} else if c.Cfg.Customer != "" {
			c.Log.Warn("customer index unreachable: the customer fixes to install again come from the download cache", "err", err)
		}
		return c.reinstallReplaced(ctx, st, src, beforeCustom, &InstallOptions{})
	})
	did = append(did, back)
	return done(), err
}

// underLock runs do on the state under the transaction lock, after
// finishing an interrupted transaction.
func (c *Client) underLock(ctx context.Context, do func(st *State) (string, error)) (string, error) {
	lk, err := c.lock(ctx, "hotfix install (health_check failed)", 0)
	if err != nil {
		return "", err
	}
	defer lk.Release()
	if err := c.recoverLocked(ctx); err != nil {
		return "", err
	}
	st, _, err := c.loadState(true)
	if err != nil {
		return "", err
	}
	return do(st)
}

// indexCustoms is a customer's verified index as a customSource, for
// installing again what a tree run replaced.
type indexCustoms struct {
	c  *Client
	ix *repo.CustomIndex
}

func (s *indexCustoms) customRun() ([]repo.CustomIndexFix, map[string]string) { return nil, nil }

func (s *indexCustoms) customIndex() *repo.CustomIndex { return s.ix }

func (s *indexCustoms) customArchive(ctx context.Context, base repo.Version, f repo.CustomIndexFix) (string, error) {
	return s.c.downloadCustom(ctx, base, f, nil)
}

// installedCustoms is the customer fixes recorded on cl's root now (nil
// when its state cannot be read).
func installedCustoms(cl *Client) []InstalledCustom {
	base, err := cl.Base()
	if err != nil {
		return nil
	}
	st, err := cl.state(base)
	if err != nil {
		return nil
	}
	return slices.Clone(st.Custom)
}
