package client

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/hotfix-project/hotfix/internal/words"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/sign"
)

// Client checks, downloads and installs the fixes of one configured
// product on this server.
type Client struct {
	Cfg     *Config
	Log     *slog.Logger
	Now     func() time.Time
	Fetcher *Fetcher
	keyring *sign.Keyring

	keys *IndexKeys // the newest key list trusted this run (nil: none yet)
	// hookInstances, on the host's client of a tree run, is the
	// instances its hooks run around (HOTFIX_INSTANCES).
	hookInstances string
}

// New prepares a client. The trusted keys are loaded at their first use
// (verifying an index or an RPM signature), before that verification's
// network traffic, so that commands which verify nothing (status, pause,
// resume, rollback) work on a server whose key directory is missing.
func New(cfg *Config, log *slog.Logger) (*Client, error) {
	log = logOrDiscard(log)
	f, err := NewFetcher(cfg, log)
	if err != nil {
		return nil, err
	}
	return &Client{Cfg: cfg, Log: log, Now: time.Now, Fetcher: f}, nil
}

func (c *Client) trusted() (*sign.Keyring, error) {
	if c.keyring != nil {
		return c.keyring, nil
	}
	kr, err := sign.LoadKeyring(c.Cfg.TrustedKeys)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: put the vendor's public key (from the repository's keys/ folder, checked out of band) into %s", err, c.Cfg.TrustedKeys)
	}
	if err != nil {
		return nil, err // sign says what is wrong with the keys and what to do
	}
	for _, f := range kr.SecretKeyFiles() {
		c.Log.Warn("a SECRET key is in trusted_keys: only its public part is used, but anyone who can read the file can sign fixes this server installs; "+
			"replace it with the public key (gpg --armor --export FINGERPRINT) and, if the file left the vendor, have the vendor revoke the key",
			"file", f, "trusted_keys", c.Cfg.TrustedKeys)
	}
	c.keyring = kr
	return kr, nil
}

// Base reads the installed base from version_file (or version).
func (c *Client) Base() (repo.Version, error) {
	s, err := c.Cfg.ReadBase()
	if err != nil {
		return repo.Version{}, err
	}
	v, err := repo.ParseVersion(s)
	if err != nil {
		return repo.Version{}, fmt.Errorf("installed base in %s: %w", c.Cfg.VersionFile, err)
	}
	return v, nil
}

// loadState reads the state and aligns it with the installed base,
// recording superseded fixes after a full patch. Callers that hold the
// transaction lock pass save=true to persist the change.
func (c *Client) loadState(save bool) (*State, repo.Version, error) {
	base, err := c.Base()
	if err != nil {
		return nil, base, err
	}
	st, err := c.state(base)
	if err != nil {
		return nil, base, err
	}
	old := st.Base
	hadFixes := len(st.Installed)
	if st.syncBase(c.Cfg.Product, base, c.Now().UTC()) && save {
		st.migrated = false
		if err := st.Save(c.Cfg.StateDir); err != nil {
			return nil, base, err
		}
		if !old.IsZero() {
			if err := c.audit("superseded", nil, "ok", fmt.Sprintf("base changed from %s to %s; %s of %s superseded", old, base, words.Count(hadFixes, "fix", "fixes"), old)); err != nil {
				return nil, base, err
			}
		}
	}
	if st.migrated && save {
		if err := st.Save(c.Cfg.StateDir); err != nil {
			return nil, base, fmt.Errorf("save the file database built from the installed fixes: %w", err)
		}
		st.migrated = false
		c.Log.Info("file database built from the installed fixes", "files", len(st.DB.Files), "state", filepath.Join(c.Cfg.StateDir, stateName))
	}
	return st, base, nil
}

// audit appends a record of a change already made to the audit log. Its
// error, an *AuditError, is for the caller to return with its result:
// the change stands, but must not pass unrecorded in silence.
func (c *Client) audit(action string, versions []repo.Version, outcome, detail string) error {
	var vs []string
	for _, v := range versions {
		vs = append(vs, v.String())
	}
	if err := Audit(c.Cfg.LogDir, AuditRecord{Time: c.Now().UTC(), Action: action, Versions: vs, Outcome: outcome, Detail: detail}); err != nil {
		c.Log.Error("audit log", "err", err)
		return &AuditError{Path: filepath.Join(c.Cfg.LogDir, AuditName), After: true, Err: err}
	}
	return nil
}

// CheckResult is what Check found.
type CheckResult struct {
	Product   string
	Base      repo.Version
	Installed repo.Version // newest installed version (the base when none)
	Index     *repo.Index
	Pending   []repo.IndexFix // what this server takes now, in chain order
	Held      []HeldFix       // after Pending: what the rollout holds back (not pending)
	Custom    *CustomCheck    // with customer set: the customer's fixes
}

// channelCache is the cache directory of a channel: its last verified
// index with signature and etags, and the archives downloaded for it.
func (c *Client) channelCache(base repo.Version) string {
	return filepath.Join(c.Cfg.CacheDir, c.Cfg.Product, base.String())
}

// Check fetches and verifies the channel index of the installed base and
// lists the pending chain. An unchanged index costs two conditional
// requests and no body.
func (c *Client) Check(ctx context.Context) (*CheckResult, error) {
	res, err := c.check(ctx)
	rec := CheckRecord{At: c.Now().UTC()}
	switch {
	case err != nil:
		rec.Outcome, rec.Failed = "error: "+err.Error(), true
	case res.PendingCount() == 0:
		rec.Outcome, rec.Serial = "up to date", res.Index.Serial
	default:
		rec.Outcome, rec.Serial, rec.Pending = fmt.Sprintf("%d pending", res.PendingCount()), res.Index.Serial, res.PendingCount()
	}
	uerr := updateSeen(ctx, c.Cfg.StateDir, c.Cfg.LockDir, func(s *Seen) {
		rec.PendingSince = pendingSince(s.LastCheck, &rec, err != nil)
		s.LastCheck = &rec
		if err == nil {
			key := channelKey(res.Product, res.Base)
			s.Serials[key] = max(s.Serials[key], res.Index.Serial)
			if res.Custom != nil {
				key := customKey(res.Product, res.Base, res.Custom.Customer)
				s.Serials[key] = max(s.Serials[key], res.Custom.Index.Serial)
			}
		}
	})
	if uerr == nil {
		if merr := c.WriteMetrics(); merr != nil {
			logOrDiscard(c.Log).Warn("metrics file not written", "err", merr)
		}
	}
	if err != nil {
		return nil, err
	}
	if uerr != nil {
		return nil, fmt.Errorf("record check: %w", uerr)
	}
	return res, nil
}

// pendingSince carries the start of a pending stretch from the previous
// check to this one: kept while fixes stay pending or a check fails (a
// failure says nothing about what is pending), started now when fixes
// appear, ended when a check finds none.
func pendingSince(prev, rec *CheckRecord, failed bool) *time.Time {
	var since *time.Time
	if prev != nil && (prev.Pending > 0 || prev.Failed) {
		since = prev.PendingSince
	}
	switch {
	case failed:
		rec.Pending = 0
		if prev != nil {
			rec.Pending = prev.Pending
		}
		return since
	case rec.Pending == 0:
		return nil
	case since == nil:
		at := rec.At
		return &at
	}
	return since
}

func (c *Client) check(ctx context.Context) (*CheckResult, error) {
	st, base, err := c.loadState(false)
	if err != nil {
		return nil, err
	}
	ix, err := c.fetchIndex(ctx, base)
	if err != nil {
		return nil, err
	}
	latest := base
	if st.Base.Equal(base) && st.Product == c.Cfg.Product {
		latest = st.Latest()
	}
	pending, held := c.split(ix, latest)
	res := &CheckResult{Product: c.Cfg.Product, Base: base, Installed: latest, Index: ix, Pending: pending, Held: held}
	if c.Cfg.Customer != "" {
		// chainEnd is the end of Pending: a customer fix whose min_fix is
		// held back by the rollout waits, as it would for any fix not yet
		// installed.
		if res.Custom, err = c.checkCustom(ctx, st, base, res.chainEnd()); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// fetchIndex returns the verified index of base, from the network with
// conditional requests, falling back on nothing: a cached copy is used
// only when the server says it is unchanged, and is verified again.
func (c *Client) fetchIndex(ctx context.Context, base repo.Version) (*repo.Index, error) {
	kr, err := c.trusted()
	if err != nil {
		return nil, err
	}
	seen, err := loadSeen(c.Cfg.StateDir)
	if err != nil {
		return nil, err
	}
	rel := c.Cfg.Product + "/" + base.String() + "/" + repo.IndexName
	limit := c.maxIndexSize()
	got, err := c.fetchSigned(ctx, c.channelCache(base), rel, limit)
	var sigErr *sigFetchError
	if errors.As(err, &sigErr) {
		return nil, fmt.Errorf("fetch index signature for %s %s: %w", c.Cfg.Product, base, sigErr.err)
	}
	if isMissing(err) {
		if nc := c.explainMissingIndex(ctx, base, err); nc != nil {
			return nil, nc
		}
	}
	if err != nil {
		hint := reachHint(err, c.Cfg)
		if errors.Is(err, ErrTooLarge) {
			hint = ": " + indexSizeHint(limit, c.Cfg.Path)
		}
		return nil, fmt.Errorf("fetch index for %s %s: %w%s", c.Cfg.Product, base, err, hint)
	}
	data, sig := got.Data, got.Sig
	keys, err := c.indexKeys(ctx, ClaimedKeyList(data))
	if err != nil {
		return nil, err
	}
	ix, err := VerifyIndex(data, sig, IndexCheck{
		Keyring: kr, Keys: keys, Product: c.Cfg.Product, Base: base, Now: c.Now(),
		LastSerial: seen.Serials[channelKey(c.Cfg.Product, base)], MaxSize: limit, ConfigPath: c.Cfg.Path,
		TrustedKeys: c.trustedKeysName(),
	})
	if err != nil {
		return nil, err
	}
	c.keep(got)
	return ix, nil
}

// trustedKeysName names this server's trusted keys in the remedy for an
// index signed by another key (IndexCheck.TrustedKeys).
func (c *Client) trustedKeysName() string {
	return fmt.Sprintf("trusted_keys (%s)", c.Cfg.TrustedKeys)
}

// maxIndexSize is the most bytes a channel index, repo.json or a
// customer index may have: [network] max_index_size, or the repository
// format's own limit when unset.
func (c *Client) maxIndexSize() int64 {
	if n := c.Cfg.Network.MaxIndexSize; n > 0 {
		return n
	}
	return repo.MaxIndexSize
}

// indexSizeHint is the remedy for an index over the limit: the key that
// sets it, its value and the file it is in.
func indexSizeHint(limit int64, configPath string) string {
	if configPath == "" {
		configPath = "the configuration"
	}
	return fmt.Sprintf("the limit is [network] max_index_size = %d bytes in %s; raise it if the vendor really publishes indexes this large", limit, configPath)
}

// reachHint tells what to check when the repository could not be reached
// at all; HTTP answers and trust refusals carry their own remedies.
func reachHint(err error, cfg *Config) string {
	var he *HTTPError
	var te *TrustError
	if errors.As(err, &he) || errors.As(err, &te) || errors.Is(err, context.Canceled) || errors.Is(err, ErrStalled) {
		return ""
	}
	if !strings.HasPrefix(cfg.Repo, "http") {
		return fmt.Sprintf(" (check repo = %q in %s)", cfg.Repo, cfg.Path)
	}
	return fmt.Sprintf(" (is the repository reachable from here? check repo = %q in %s, and HTTPS_PROXY if a proxy is needed)", cfg.Repo, cfg.Path)
}
