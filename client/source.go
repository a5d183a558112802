package client

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/fixarchive"
	"github.com/hotfix-project/hotfix/repo/rpm"
)

// archiveKind is the form a fix arrives in.
type archiveKind int

const (
	fixArchive archiveKind = iota // PRODUCT-VERSION.fix
	rpmPackage                    // an RPM fix package
	fixDir                        // an unpacked fix: manifest.json, files/, scripts/
)

// archive is one fix on this host, not yet trusted beyond what its
// source checked: unpack verifies every entry against its manifest.
type archive struct {
	path   string
	kind   archiveKind
	origin string // prefixes the audit record: "from PATH; " for a local file
}

// unpack verifies a and unpacks it into dest (which must not exist) as
// dest/files and dest/scripts, returning its manifest; on error dest is
// removed.
func (c *Client) unpack(ctx context.Context, a archive, dest string) (*repo.Manifest, error) {
	switch a.kind {
	case rpmPackage:
		return c.extractRPM(ctx, a.path, dest)
	case fixDir:
		return stageFixDir(ctx, a.path, dest)
	default:
		fh, err := os.Open(a.path)
		if err != nil {
			return nil, err
		}
		defer fh.Close()
		return fixarchive.Extract(ctx, fh, dest)
	}
}

// extractRPM unpacks an RPM fix package. The rule for its header
// signature: a package that carries one must verify against trusted_keys
// (a bad signature or an unknown key is refused); an unsigned package is
// accepted, because what vouches for it is either the signed index (its
// sha256, for a download) or the administrator who named the file (for
// install --from). The payload digest is always checked before anything
// is decompressed.
func (c *Client) extractRPM(ctx context.Context, path, dest string) (*repo.Manifest, error) {
	trust := rpm.Trust{Check: func(data, sig []byte) error {
		kr, err := c.packageKeys()
		if err != nil {
			return err
		}
		_, err = kr.Verify(data, sig, c.Now())
		return err
	}}
	return rpm.Extract(ctx, path, dest, trust)
}

// Install installs the pending fixes in chain order, each as one
// transaction: a failure at any step restores the root as it was before
// that fix.
//
// An instance is never taken past its parent, nor a cluster secondary
// past its primary (gate.go): what they hold back is returned as a
// *BlockedError or *WaitingError after the fixes allowed are installed.
func (c *Client) Install(ctx context.Context, opts InstallOptions) (*InstallResult, error) {
	opts.Progress = c.clusterProgress(opts.Progress, opts.DryRun)
	src := &repoSource{c: c, opts: &opts}
	res, err := c.runFixes(ctx, src, opts)
	if len(src.kept) > 0 {
		if res == nil {
			res = &InstallResult{DryRun: opts.DryRun}
		}
		res.Kept = src.kept
	}
	if err == nil {
		err = src.held
	}
	if !opts.DryRun {
		c.syncCluster(err)
	}
	return res, err
}

// repoSource installs from the repository: the verified index says what
// is pending, and each archive is downloaded into the cache and checked
// against it.
type repoSource struct {
	c    *Client
	opts *InstallOptions
	res  *CheckResult
	kept []KeptFile // locally changed files a forced reinstall kept
	held error      // what gate held back of the plan, reported after the install
	// customs are the customer fixes to install after the vendor chain.
	customs   []repo.CustomIndexFix
	replacing map[string]string // see InstallOptions.replacing
}

func (s *repoSource) command() string { return "hotfix install" }

func (s *repoSource) plan(ctx context.Context, st *State) ([]repo.IndexFix, error) {
	c, opts := s.c, s.opts
	// Check, not check: the serial this install trusts is remembered.
	res, err := c.Check(ctx)
	if err != nil {
		return nil, err
	}
	s.res = res
	if opts.Reinstall != nil {
		if !st.Latest().Equal(*opts.Reinstall) || len(st.Installed) == 0 {
			return nil, fmt.Errorf("only the newest installed fix (%s) can be reinstalled: roll back to %s first", st.Latest(), opts.Reinstall.Requires())
		}
		if err := customBlocksRollback(st, len(st.Installed)-1); err != nil {
			return nil, err
		}
		// The rollback that starts a reinstall would discard local
		// changes like any other: the same test, the same --force.
		kept, err := c.guardRollback(st, len(st.Installed)-1, opts.Force, opts.DryRun)
		s.kept = kept
		if err != nil {
			return nil, err
		}
		if !opts.DryRun {
			if err := c.rollbackOne(ctx, st); err != nil {
				return nil, err
			}
		}
		f, ok := res.Index.Fix(*opts.Reinstall)
		if !ok {
			return nil, fmt.Errorf("fix %s is not in the repository's index any more", opts.Reinstall)
		}
		res.Pending = append([]repo.IndexFix{*f}, res.Pending...)
	}
	if opts.Target == nil {
		return s.gatedWithCustoms(st, res.Pending)
	}
	if _, ok := res.Index.Fix(*opts.Target); !ok {
		return nil, fmt.Errorf("fix %s is not in the index of %s %s (latest is %s)", opts.Target, res.Product, res.Base, latestOf(res.Index))
	}
	if opts.Target.Compare(st.Latest()) <= 0 && opts.Reinstall == nil {
		return nil, &AlreadyInstalledError{Version: *opts.Target, Installed: st.Latest()}
	}
	// Named by version, a fix the rollout holds back is taken anyway,
	// with those before it; fetch notes it for the audit log. The
	// instance gate and the customer fixes apply as to any plan.
	return s.gatedWithCustoms(st, res.Through(*opts.Target))
}

// gatedWithCustoms is gated, and the customer fixes to install after
// what it allows.
func (s *repoSource) gatedWithCustoms(st *State, fs []repo.IndexFix) ([]repo.IndexFix, error) {
	allowed, err := s.gated(fs)
	if err != nil {
		return nil, err
	}
	return allowed, s.planCustoms(st, allowed)
}

func (s *repoSource) fetch(ctx context.Context, f repo.IndexFix) (archive, error) {
	res := s.res
	a := archive{path: filepath.Join(s.c.channelCache(res.Base), f.File)}
	if reason := res.heldReason(f.Version); reason != "" {
		a.origin = "held back by the rollout (" + reason + "), installed by hand; "
	}
	if strings.HasSuffix(f.File, ".rpm") {
		a.kind = rpmPackage // an RPM-only fix of the index names its .rpm
	}
	s.opts.step(f.Version, "download")
	if err := s.c.Fetcher.Download(ctx, res.Product+"/"+res.Base.String()+"/"+f.File, a.path, f.Size, f.SHA256, nil); err != nil {
		return a, &StepError{Version: f.Version, Step: "download", Err: err}
	}
	return a, nil
}

func (s *repoSource) rolledBack(vs []repo.Version) string {
	return fmt.Sprintf("the fixes of this run (%s) were rolled back", joinVersions(vs))
}

func latestOf(ix *repo.Index) string {
	if n := len(ix.Fixes); n > 0 {
		return ix.Fixes[n-1].Version.String()
	}
	return "none"
}

// InstallFrom installs one fix from a local file or directory, as one
// transaction exactly like a downloaded fix (verify, test, journal, back
// up, apply, scripts, record; pre_install, post_install and health_check
// around it), without asking the repository anything. path is a .fix, a
// .rpm, or an unpacked fix directory holding manifest.json, files/ and
// scripts/ (what an RPM fix package delivers under
// /var/lib/hotfix/incoming/PRODUCT/VERSION, for its %post).
//
// Trust: a local file is the administrator's choice, so it needs no
// signed index; every file is still verified against the fix's manifest,
// and an RPM's header signature, when it has one, against trusted_keys.
//
// Its errors name "install --from", the command that calls it: they are
// the messages users see, and moving the prefix to cmd would change those
// that arrive inside a step error.
func (c *Client) InstallFrom(ctx context.Context, path string, opts InstallOptions) (*InstallResult, error) {
	if isBundle(path) {
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, err
		}
		src := &bundleSource{c: c, path: abs, opts: &opts}
		res, err := c.runFixes(ctx, src, opts)
		if err == nil {
			err = src.held
		}
		return res, err
	}
	if opts.AllowExpired {
		return nil, fmt.Errorf("install --from %s: %w", path, ErrNotBundle)
	}
	src, err := c.localSource(path)
	if err != nil {
		return nil, err
	}
	return c.runFixes(ctx, src, opts)
}

// localSource is one fix in a local file or directory, its manifest
// read (not yet verified) to know what it is.
type localSource struct {
	c    *Client
	path string // as given, for messages
	a    archive
	fix  repo.IndexFix
}

func (c *Client) localSource(path string) (*localSource, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("install --from: %w", err)
	}
	// Refused before any open: reading a FIFO would wait for a writer.
	if !info.IsDir() {
		if err := regularFile(path, info); err != nil {
			return nil, fmt.Errorf("install --from: %w", err)
		}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	a := archive{path: abs, origin: "from " + abs + "; "}
	var m *repo.Manifest
	switch {
	case info.IsDir():
		if m, err = readFixDirManifest(path); err != nil {
			return nil, err
		}
		a.kind = fixDir
	case strings.HasSuffix(path, ".rpm"):
		h, err := rpm.ReadHeader(path)
		if err != nil {
			return nil, fmt.Errorf("install --from: %w: get the package again from the vendor", err)
		}
		m = &repo.Manifest{Product: h.Product, Version: h.Fix, Summary: h.Pkg.Summary()}
		a.kind = rpmPackage
	case strings.HasSuffix(path, ".fix"):
		if m, err = fixarchive.ReadManifestFile(path); err != nil {
			return nil, fmt.Errorf("install --from: %w: get the archive again from the vendor", err)
		}
		a.kind = fixArchive
	default:
		return nil, fmt.Errorf("install --from %s: not a .fix, a .rpm or a fix directory", path)
	}
	if m.IsCustom() {
		return nil, fmt.Errorf("install --from %s: it holds %s, which installs from the repository on servers configured with customer = %q", path, m.Name(), m.Customer)
	}
	if m.Product != c.Cfg.Product {
		return nil, fmt.Errorf("install --from %s: it holds a fix of %s, but this server's product is %s", path, m.Product, c.Cfg.Product)
	}
	f := repo.IndexFix{Version: m.Version, Requires: m.Version.Requires(), File: filepath.Base(path), Summary: m.Summary, Parts: m.PartRefs()}
	return &localSource{c: c, path: path, a: a, fix: f}, nil
}

func (s *localSource) command() string { return "hotfix install --from" }

func (s *localSource) plan(_ context.Context, st *State) ([]repo.IndexFix, error) {
	if latest := st.Latest(); s.fix.Version.Compare(latest) <= 0 {
		return nil, fmt.Errorf("install --from %s: %w", s.path, &AlreadyInstalledError{Version: s.fix.Version, Installed: latest})
	}
	// A local file takes an instance no further past its parent, nor a
	// cluster secondary past its primary, than the repository would.
	allowed, held, err := s.c.gate([]repo.IndexFix{s.fix}, &InstallOptions{})
	if err != nil {
		return nil, err
	}
	if len(allowed) == 0 {
		return nil, fmt.Errorf("install --from %s: %w", s.path, held)
	}
	return allowed, nil
}

func (s *localSource) fetch(context.Context, repo.IndexFix) (archive, error) { return s.a, nil }

func (s *localSource) rolledBack(vs []repo.Version) string {
	return fmt.Sprintf("fix %s was rolled back", joinVersions(vs))
}
