package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hotfix-project/hotfix/internal/statefile"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/sign"
)

// keyListName holds the newest key list this server has trusted, so that
// the next run walks forward from it and never back.
const keyListName = "keylist.json"

// keyListState is state_dir/keylist.json.
type keyListState struct {
	Version int64  `json:"version"`
	List    []byte `json:"list"` // the list's bytes as verified
}

// keyListFile is updated under lock_dir/keylist.lock: checks run
// concurrently and must all keep the newest version.
func keyListFile(stateDir, lockDir string) statefile.File[keyListState] {
	return statefile.File[keyListState]{
		Path: filepath.Join(stateDir, keyListName),
		Lock: filepath.Join(lockDir, "keylist.lock"), Wait: 30 * time.Second, Command: "hotfix check",
	}
}

// IndexKeys are the keys an index signature counts by under a key list:
// the newest version trusted and a keyring of its signing keys.
type IndexKeys struct {
	List    *repo.KeyList
	Signing *sign.Keyring
}

// indexKeys returns the keys an index that names key-list version want
// counts by: the newest key list trusted, walked forward from the newest
// version seen (stored under state_dir) up to want, at most
// repo.MaxKeyListSteps versions a run; nil under the plain rule (no key
// list ever seen and want 0: trusted keys sign indexes directly). Walking
// only as far as the index asks costs a repository without a key list,
// and an unchanged one, no request at all; an index that names an older
// version than one seen is refused by checkIndexKeyList, and one whose
// version the walk did not reach likewise.
func (c *Client) indexKeys(ctx context.Context, want int64) (*IndexKeys, error) {
	return c.indexKeysFrom(ctx, want, c.fetchKeyList)
}

// indexKeysFrom is indexKeys reading the key list versions from read (the
// repository, or an export bundle), and storing the newest it trusted.
func (c *Client) indexKeysFrom(ctx context.Context, want int64, read KeyListReader) (*IndexKeys, error) {
	if c.keys != nil && c.keys.List.Version >= want {
		return c.keys, nil
	}
	roots, err := c.trusted()
	if err != nil {
		return nil, err
	}
	file := keyListFile(c.Cfg.StateDir, c.Cfg.LockDir)
	seen, err := loadKeyList(file, c.Cfg.StateDir)
	if err != nil {
		return nil, err
	}
	if seen == nil && want <= 0 {
		return nil, nil
	}
	keys, newest, err := WalkKeyLists(ctx, read, want, KeyListWalk{Roots: roots, RootsDir: c.Cfg.TrustedKeys, Seen: seen, Now: c.Now(), Log: c.Log})
	if err != nil || keys == nil {
		return nil, err
	}
	if newest != nil {
		if err := saveKeyList(ctx, file, keys.List.Version, newest); err != nil {
			return nil, keyListStateError(err, c.Cfg.StateDir)
		}
		from := int64(0)
		if seen != nil {
			from = seen.Version
		}
		c.Log.Info("key list advanced", "from", from, "to", keys.List.Version, "signing", strings.Join(keys.List.SigningFingerprints(), ","))
	}
	c.keys = keys
	return c.keys, nil
}

// KeyListReader reads version v of a repository's key list and its
// detached signature; ok is false when the repository has no such
// version.
type KeyListReader func(ctx context.Context, v int64) (data, sig []byte, ok bool, err error)

// KeyListWalk says where a walk of a key list starts.
type KeyListWalk struct {
	Roots    *sign.Keyring // the root keys trusted out of band
	RootsDir string        // where they are kept, named in the remedies
	Seen     *repo.KeyList // the newest version trusted before; nil starts at version 1
	Now      time.Time
	Log      *slog.Logger // warns of a walk cut at repo.MaxKeyListSteps; nil: silent
}

// WalkKeyLists is the client's key-list rule, one for everything that
// verifies a repository (a check, install --from a bundle, a mirror):
// from w.Seen (or from version 1, anchored on w.Roots) forward, up to
// version want and at most repo.MaxKeyListSteps versions, each version
// signed by a threshold of the previous version's root keys and of its
// own (repo.KeyWalk decides; read only fetches). It returns the keys
// indexes count by, nil when no list was seen before and the source has
// none (the plain rule), and the bytes of the newest version trusted
// when the walk went past w.Seen (to be stored), else nil.
func WalkKeyLists(ctx context.Context, read KeyListReader, want int64, w KeyListWalk) (*IndexKeys, []byte, error) {
	trusted := w.Roots.Fingerprints()
	kw := &repo.KeyWalk{
		Signers: sign.SignersAt(w.Now),
		Anchor:  func(fp string) bool { return slices.Contains(trusted, fp) },
		Trusted: w.Seen,
	}
	var newest []byte
	for kw.Next() <= want && kw.Steps() < repo.MaxKeyListSteps {
		data, sig, ok, err := read(ctx, kw.Next())
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			break
		}
		if err := kw.Step(data, sig); err != nil {
			return nil, nil, keyListTrustError(err, w.Roots, w.RootsDir)
		}
		if kw.Trusted != nil && kw.Trusted.Version == kw.Next()-1 {
			newest = data
		}
	}
	if kw.Next() <= want && kw.Steps() == repo.MaxKeyListSteps && w.Log != nil {
		w.Log.Warn("the key list has more new versions than one run walks; the next run continues", "walked", kw.Steps(), "at", kw.Next()-1)
	}
	if kw.Steps() == 0 && w.Seen == nil {
		return nil, nil, nil // keys/1.root.json is absent: checkIndexKeyList says so
	}
	kl, err := kw.Done(w.Now)
	if err != nil {
		return nil, nil, keyListTrustError(err, w.Roots, w.RootsDir)
	}
	if w.Seen != nil && kl.Version <= w.Seen.Version {
		newest = nil
	}
	signing, err := sign.KeyringOf(repo.KeyMap(kl.Signing))
	if err != nil {
		return nil, nil, &TrustError{What: fmt.Sprintf("key list version %d", kl.Version), Err: err, Hint: "the vendor published a list whose keys do not read; tell the vendor"}
	}
	return &IndexKeys{List: kl, Signing: signing}, newest, nil
}

// loadKeyList reads the newest key list stored; nil when none is.
func loadKeyList(file statefile.File[keyListState], dir string) (*repo.KeyList, error) {
	st, found, err := file.Load()
	if err != nil || !found {
		return nil, keyListStateError(err, dir)
	}
	kl, err := repo.ParseKeyList(st.List)
	if err != nil {
		return nil, keyListStateError(&statefile.DamagedError{Err: err}, dir)
	}
	return kl, nil
}

// ClaimedKeyList is the key-list version index (or repo.json) bytes
// name, read before they are verified only to know how far to walk the
// key list (which is verified on its own); 0 when they name none or do
// not decode.
func ClaimedKeyList(data []byte) int64 {
	var v struct {
		KeyList int64 `json:"key_list"`
	}
	if json.Unmarshal(data, &v) != nil || v.KeyList < 0 {
		return 0
	}
	return v.KeyList
}

// saveKeyList records version v unless a concurrent check recorded a
// newer one meanwhile.
func saveKeyList(ctx context.Context, file statefile.File[keyListState], v int64, data []byte) error {
	return file.Update(ctx, func(st *keyListState) error {
		if st.Version < v {
			st.Version, st.List = v, data
		}
		return nil
	})
}

// fetchKeyList reads keys/v.root.json and its signature with the index's
// deadlines; ok is false when the repository has no such version.
func (c *Client) fetchKeyList(ctx context.Context, v int64) (data, sig []byte, ok bool, err error) {
	rel := repo.KeyListPath(v)
	data, _, _, err = c.Fetcher.Small(ctx, rel, repo.MaxKeyListSize, "")
	if absent(err) {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("fetch key list version %d: %w%s", v, err, reachHint(err, c.Cfg))
	}
	sig, _, _, err = c.Fetcher.Small(ctx, rel+repo.SigSuffix, repo.MaxKeyListSignature, "")
	if absent(err) {
		return nil, nil, false, &TrustError{What: "key list version " + fmt.Sprint(v), Err: fmt.Errorf("%w: %s%s is missing", repo.ErrKeyListSignature, rel, repo.SigSuffix),
			Hint: "the repository is being published or is incomplete; try again later, and tell the vendor if it persists"}
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("fetch key list version %d signature: %w", v, err)
	}
	return data, sig, true, nil
}

// absent reports whether a fetch found no file: 404 or 410, or 403, which
// object stores answer for a missing object when listing is not allowed.
// Hiding the key list this way gains an attacker nothing: a server that
// saw a list keeps it, and an index signed under one names its version.
func absent(err error) bool {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Status == http.StatusNotFound || he.Status == http.StatusGone || he.Status == http.StatusForbidden
	}
	return errors.Is(err, fs.ErrNotExist)
}

// keyListTrustError wraps a refused walk with what to do.
func keyListTrustError(err error, roots *sign.Keyring, dir string) error {
	hint := "the vendor must publish a correctly signed next version of the key list; nothing was trusted or installed"
	switch {
	case errors.Is(err, repo.ErrKeyListExpired):
		hint = `the vendor must re-sign the key list: publish its next version with "hotfix repo trust" (until then every index is refused)`
	case errors.Is(err, repo.ErrKeyListUntrusted):
		hint = fmt.Sprintf("put the vendor's root public key into %s (it holds %s); the vendor hands it out out of band", dir, strings.Join(roots.Fingerprints(), ", "))
	case errors.Is(err, repo.ErrKeyListVersion):
		hint = "an old or misplaced key list is being served (replayed, or a mirror out of date); refusing it, nothing was installed"
	}
	return &TrustError{What: "key list", Err: err, Hint: hint}
}

func keyListStateError(err error, dir string) error {
	if errors.Is(err, statefile.ErrDamaged) {
		return fmt.Errorf("read %s: %w: restore it from a backup; removing it lets the walk start again from version 1", filepath.Join(dir, keyListName), err)
	}
	return err
}

// verifyIndexSignature checks an index's signature: by a trusted key
// under the plain rule, by a signing key of the newest key list under a
// key list, where any other key (even one whose file sits in
// trusted_keys) is revoked.
func verifyIndexSignature(what string, data, sig []byte, c IndexCheck) error {
	if c.Keys == nil {
		if _, err := c.Keyring.Verify(data, sig, c.Now); err != nil {
			hint := ""
			if errors.Is(err, sign.ErrUnknownKey) && c.TrustedKeys != "" {
				hint = "if you trust the vendor's key, add its public key to " + c.TrustedKeys
			}
			return &TrustError{What: what, Err: err, Hint: hint}
		}
		return nil
	}
	_, err := c.Keys.Signing.Verify(data, sig, c.Now)
	if err == nil {
		return nil
	}
	if !errors.Is(err, sign.ErrUnknownKey) {
		return &TrustError{What: what, Err: err}
	}
	kl := c.Keys.List
	note := ""
	if c.Keyring != nil {
		if _, terr := c.Keyring.Verify(data, sig, c.Now); terr == nil {
			note = " (its file among the trusted keys no longer counts: with a key list only the root keys there do)"
		}
	}
	return &TrustError{What: what,
		Err: fmt.Errorf("%w: signed by key %s, which key list version %d does not name as a signing key (it names %s)%s",
			repo.ErrKeyRevoked, strings.Join(sign.SignatureIssuers(sig), ", "), kl.Version, strings.Join(kl.SigningFingerprints(), ", "), note),
		Hint: "the key is revoked or unknown: the vendor must rebuild the index with a listed signing key (or a mirror serves stale files); refusing it"}
}

// checkIndexKeyList refuses an index signed under another key-list
// version than the newest trusted: an older one is a rollback, a newer
// one was not reached.
func checkIndexKeyList(what string, named int64, keys *IndexKeys) error {
	if keys == nil {
		if named > 0 {
			return &TrustError{What: what, Err: fmt.Errorf("%w: the index was signed under key list version %d, but the repository serves no key list (%s)", repo.ErrKeyListVersion, named, repo.KeyListPath(1)),
				Hint: "the repository or mirror is missing its keys/ folder; tell whoever publishes it"}
		}
		return nil
	}
	v := keys.List.Version
	switch {
	case named < v:
		return &TrustError{What: what, Err: fmt.Errorf("%w: the index names key list version %d, older than version %d already seen", repo.ErrKeyListRollback, named, v),
			Hint: `an old index is being replayed or a mirror is stale; the vendor must rebuild with "hotfix repo build" under the newest key list`}
	case named > v:
		return &TrustError{What: what, Err: fmt.Errorf("%w: the index names key list version %d, but the newest version reached is %d", repo.ErrKeyListVersion, named, v),
			Hint: fmt.Sprintf("%s is missing from the repository, or this run stopped its walk early; try again, and tell the vendor if it persists", repo.KeyListPath(v+1))}
	}
	return nil
}

// packageKeys are the keys an RPM header signature counts by: the signing
// keys of the newest key list (walked this run, or else the one stored
// from an earlier run, for install --from), or the trusted keys when this
// server never saw a key list.
func (c *Client) packageKeys() (*sign.Keyring, error) {
	if c.keys != nil {
		return c.keys.Signing, nil
	}
	kl, err := loadKeyList(keyListFile(c.Cfg.StateDir, ""), c.Cfg.StateDir)
	if err != nil {
		return nil, err
	}
	if kl == nil {
		return c.trusted()
	}
	return sign.KeyringOf(repo.KeyMap(kl.Signing))
}
