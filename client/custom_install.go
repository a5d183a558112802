package client

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/hotfix-project/hotfix/client/txn"
	"github.com/hotfix-project/hotfix/repo"
)

// customStoreDir holds, under state_dir, one transaction store per
// customer fix id: custom/ID/txn while one is in progress,
// custom/ID/backups/VERSION for the installed version.
const customStoreDir = "custom"

// customStore is where the transactions of customer fix id live.
func (c *Client) customStore(id string) txn.Store {
	// Its heir is the vendor fixes' store: the paths a vendor fix
	// overrode go to that fix's record when the customer fix goes.
	return txn.Store{Root: c.Cfg.Root, StateDir: filepath.Join(c.Cfg.StateDir, customStoreDir, id), Heir: c.Cfg.StateDir}
}

// planCustoms decides which customer fixes this run installs after the
// vendor fixes todo, and refuses the run, before anything is written,
// when they would conflict with each other or with the customer fixes
// that stay.
func (s *repoSource) planCustoms(st *State, todo []repo.IndexFix) error {
	cc := s.res.Custom
	if cc == nil {
		return nil
	}
	var err error
	s.customs, s.replacing, err = planCustomRun(cc.Index, st, todo)
	return err
}

// planCustomRun is what a run installs of a customer's verified index
// after the vendor fixes todo, and the installed customer fixes they
// replace; refused when they would conflict with each other or with the
// customer fixes that stay.
func planCustomRun(ix *repo.CustomIndex, st *State, todo []repo.IndexFix) ([]repo.CustomIndexFix, map[string]string, error) {
	end := st.Latest()
	if n := len(todo); n > 0 {
		end = todo[n-1].Version
	}
	customs, _ := customPending(ix, st, end)
	if err := customRunConflicts(st, customs); err != nil {
		return nil, nil, err
	}
	return customs, replacedBy(st, customs), nil
}

// customSource is a source that installs customer fixes after its
// vendor fixes: the repository, or an export bundle that carries the
// customer's channel.
type customSource interface {
	// customRun is what the run installs after its vendor fixes, and
	// the installed customer fixes they replace (InstallOptions.replacing).
	customRun() ([]repo.CustomIndexFix, map[string]string)
	// customArchive makes customer fix f's archive available on this
	// host, verified against the customer's signed index.
	customArchive(ctx context.Context, base repo.Version, f repo.CustomIndexFix) (string, error)
	// customIndex is the customer's verified index the run went by, or
	// nil (reinstallReplaced finds there what the run had replaced).
	customIndex() *repo.CustomIndex
}

func (s *repoSource) customRun() ([]repo.CustomIndexFix, map[string]string) {
	return s.customs, s.replacing
}

func (s *repoSource) customIndex() *repo.CustomIndex {
	if s.res == nil || s.res.Custom == nil {
		return nil
	}
	return s.res.Custom.Index
}

func (s *repoSource) customArchive(ctx context.Context, base repo.Version, f repo.CustomIndexFix) (string, error) {
	return s.c.downloadCustom(ctx, base, f, nil)
}

// customsOf is what a source installs after its vendor fixes, and the
// installed customer fixes they replace (InstallOptions.replacing).
func customsOf(src fixSource) ([]repo.CustomIndexFix, map[string]string) {
	if cs, ok := src.(customSource); ok {
		return cs.customRun()
	}
	return nil, nil
}

// installCustoms installs the run's customer fixes, each as one
// transaction, after its vendor fixes: download, verify, test, replace
// what it replaces (uninstalled first), journal, back up, apply,
// scripts, record. A failure stops the run there.
func (c *Client) installCustoms(ctx context.Context, st *State, src fixSource, customs []repo.CustomIndexFix, opts *InstallOptions, out *InstallResult, auditErr *error) error {
	cs, ok := src.(customSource)
	if !ok {
		return nil // customsOf gave no customer fixes
	}
	action := "install"
	if opts.DryRun {
		action = "dry-run"
	}
	for _, f := range customs {
		if stopRequested(opts.Stop) {
			break
		}
		detail := customAuditDetail(f.ID, f.Version, c.Cfg.Customer)
		opts.step(f.Version, "download "+f.ID)
		path, err := cs.customArchive(ctx, st.Base, f)
		if err == nil {
			var logPath string
			logPath, err = c.installCustom(ctx, st, f, archive{path: path}, opts)
			if logPath != "" {
				out.Logs = append(out.Logs, logPath)
			}
			detail += "; " + logPath
		}
		if err != nil {
			return joinErrs(err, c.audit(action, nil, "failed", fmt.Sprintf("customer fix %s %s: %v", f.ID, f.Version, err)))
		}
		out.Custom = append(out.Custom, f)
		if !opts.DryRun {
			if aerr := c.audit(action, nil, "ok", detail); aerr != nil && *auditErr == nil {
				*auditErr = aerr
			}
		}
	}
	return nil
}

// installCustom runs one customer fix's transaction. It returns its log.
func (c *Client) installCustom(ctx context.Context, st *State, f repo.CustomIndexFix, a archive, opts *InstallOptions) (logPath string, err error) {
	v := f.Version
	kind := "install"
	if opts.DryRun {
		kind = "dry-run"
	}
	if err := os.MkdirAll(c.Cfg.LogDir, 0o755); err != nil {
		return "", err
	}
	logPath = filepath.Join(c.Cfg.LogDir, fmt.Sprintf("%s-%s-custom-%s-%s-%s.log", kind, c.Cfg.Product, f.ID, v, c.Now().UTC().Format("20060102T150405Z")))
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return "", err
	}
	defer logf.Close()
	log := fixLog{w: logf, now: c.Now}
	fail := func(step string, err error) error {
		log.printf("FAILED at %s: %v", step, err)
		return &StepError{Version: v, Step: step + " of customer fix " + f.ID, Log: logPath, Err: err}
	}
	log.printf("%s customer fix %s %s of %s for %s (root %s, role %s)", kind, f.ID, v, c.Cfg.Product, c.Cfg.Customer, c.Cfg.Root, c.Cfg.Role)

	opts.step(v, "verify")
	staging := filepath.Join(c.Cfg.CacheDir, "staging", "custom-"+f.ID)
	os.RemoveAll(staging)
	if err := os.MkdirAll(filepath.Dir(staging), 0o755); err != nil {
		return logPath, fail("verify", err)
	}
	defer os.RemoveAll(staging)
	m, err := c.unpack(ctx, a, staging)
	if err != nil {
		return logPath, fail("verify", err)
	}
	if err := matchesIndex(m, f, c.Cfg.Product, st.Base, c.Cfg.Customer); err != nil {
		return logPath, fail("verify", err)
	}

	opts.step(v, "test")
	if f.MinFix != nil && st.Latest().Compare(*f.MinFix) < 0 {
		return logPath, fail("test", fmt.Errorf("customer fix %s needs vendor fix %s, but the newest installed is %s", f.ID, f.MinFix, st.Latest()))
	}
	// Local changes are judged against the owners of now, before the
	// fixes this one replaces give their files back.
	if _, err := c.testFix(st, customAsTested(m, st), opts.Force); err != nil {
		return logPath, fail("test", err)
	}
	if opts.DryRun {
		log.printf("dry run: nothing changed")
		return logPath, nil
	}
	for _, id := range replacedIDs(st, m) {
		log.printf("uninstalling customer fix %s, which %s replaces", id, f.ID)
		if err := c.uninstallCustom(ctx, st, id); err != nil {
			return logPath, fail("uninstall "+id, err)
		}
	}
	j, err := txn.Plan(c.Cfg.Root, m)
	if err == nil {
		err = c.customStore(f.ID).Preflight(j, m)
	}
	if err != nil {
		return logPath, fail("test", err)
	}
	log.printf("tests passed: %d files to replace or add, %d to delete", len(m.Files), len(m.Delete))
	return logPath, c.transact(ctx, c.customStore(f.ID), m, staging, j, opts, log, fail, func() error {
		rec := InstalledCustom{ID: m.ID, Customer: m.Customer, Version: v, MinFix: m.MinFix, Supersedes: m.Supersedes,
			InstalledAt: c.Now().UTC(), By: currentUser(), Summary: m.Summary, Files: map[string]string{}, Deleted: m.Delete}
		for _, fe := range m.Files {
			rec.Files[fe.Path] = fe.SHA256
		}
		// The file database changes in the same write: the commit point.
		recordCustomFiles(st, &rec, m)
		st.Custom = append(st.Custom, rec)
		if err := st.Save(c.Cfg.StateDir); err != nil {
			st.Custom = st.Custom[:len(st.Custom)-1]
			st.files().Revert(customOwner(&rec), rec.owned(), rec.Previous)
			return err
		}
		return nil
	})
}

// customAsTested is m as testFix checks it: at the vendor level
// installed (the chain rules are not a customer fix's; min_fix is
// checked apart).
func customAsTested(m *repo.Manifest, st *State) *repo.Manifest {
	t := *m
	t.Base, t.Requires = st.Base, st.Latest()
	return &t
}

// replacedIDs lists the installed customer fixes m replaces: an older
// version of its id, and those it supersedes.
func replacedIDs(st *State, m *repo.Manifest) []string {
	var out []string
	for _, cf := range st.Custom {
		if cf.ID == m.ID || slices.Contains(m.Supersedes, cf.ID) {
			out = append(out, cf.ID)
		}
	}
	return out
}

// matchesIndex insists that the archive holds the customer fix the
// signed index promised, owning the paths it listed (which the conflict
// checks went by).
func matchesIndex(m *repo.Manifest, f repo.CustomIndexFix, product string, base repo.Version, customer string) error {
	switch {
	case !m.IsCustom() || m.Product != product || !m.Base.Equal(base) || m.Customer != customer || m.ID != f.ID || !m.Version.Equal(f.Version):
		return fmt.Errorf("archive holds %s of %s %s, the customer index promised customer fix %s %s (customer %s) of %s %s", m.Name(), m.Product, m.Base, f.ID, f.Version, customer, product, base)
	case !slices.Equal(m.Paths(), f.Paths) || !slices.Equal(m.Supersedes, f.Supersedes) || (m.MinFix == nil) != (f.MinFix == nil) || (m.MinFix != nil && !m.MinFix.Equal(*f.MinFix)):
		return fmt.Errorf("customer fix %s %s: the archive's paths, supersedes or min_fix differ from the signed customer index: tell the vendor", f.ID, f.Version)
	}
	return nil
}

// forgetCustom drops customer fix id at version v from st, and its
// files from the file database, and saves it: the commit point of its
// uninstall. Repeating it is harmless.
func (c *Client) forgetCustom(st *State, id string) func(v repo.Version) error {
	return func(v repo.Version) error {
		for i, cf := range st.Custom {
			if cf.ID == id && cf.Version.Equal(v) {
				undoCustomFiles(st, &st.Custom[i])
				st.Custom = slices.Delete(st.Custom, i, i+1)
				return st.Save(c.Cfg.StateDir)
			}
		}
		return nil
	}
}

// interruptedCustom is the customer fix transaction a crash left (at
// most one: every transaction holds the lock), as status shows it, or
// nil.
func (c *Client) interruptedCustom(st *State) (*StatusInterrupted, error) {
	dirents, err := os.ReadDir(filepath.Join(c.Cfg.StateDir, customStoreDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for _, d := range dirents {
		store := c.customStore(d.Name())
		if !d.IsDir() || store.InProgress() == "" {
			continue
		}
		in, err := store.Inspect()
		if err != nil || in == nil {
			return nil, err
		}
		cf := st.customFix(d.Name())
		return statusInterrupted(in, cf != nil && cf.Version.Equal(in.Version), store.InProgress(), d.Name()), nil
	}
	return nil, nil
}

// recoverCustoms finishes or undoes the customer fix transactions a
// crash interrupted (at most one: every transaction holds the lock).
func (c *Client) recoverCustoms(ctx context.Context) (string, error) {
	dirents, err := os.ReadDir(filepath.Join(c.Cfg.StateDir, customStoreDir))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var did []string
	for _, d := range dirents {
		id := d.Name()
		store := c.customStore(id)
		if !d.IsDir() || store.InProgress() == "" {
			continue
		}
		st := &State{}
		recorded := func(v repo.Version) (bool, error) {
			loaded, err := LoadState(c.Cfg.StateDir)
			if err != nil {
				return false, err
			}
			c.ensureFileDB(loaded)
			*st = *loaded
			cf := st.customFix(id)
			return cf != nil && cf.Version.Equal(v), nil
		}
		rec, err := store.Recover(ctx, recorded, c.forgetCustom(st, id))
		if rec != nil {
			did = append(did, "customer fix "+id+": "+rec.Did)
			if !rec.Version.IsZero() {
				outcome := "ok"
				if err != nil {
					outcome = "failed"
				}
				err = joinErrs(err, c.audit("recover", nil, outcome, "customer fix "+id+": "+rec.Did))
			}
		}
		if err != nil {
			return sentence(did...), fmt.Errorf("recover customer fix %s: %w", id, err)
		}
	}
	return sentence(did...), nil
}
