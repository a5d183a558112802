package repo

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The key list (keys/N.root.json, signed in keys/N.root.json.asc) is the
// vendor's statement of which keys count: the offline root keys that
// clients hold and that sign the next version of the list, their
// threshold, and the online signing keys whose index signatures count.
// Its trust rules follow TUF's root role: version N+1 counts only when a
// threshold of version N's root keys AND a threshold of its own root keys
// signed it, and its number is exactly N+1; a reader walks forward one
// version at a time and never back; only the newest version's expiry
// matters, so that a vendor can always recover from an expired list by
// publishing the next one.

// KeyListFormat is the key-list format version.
const KeyListFormat = 1

// Limits a reader of key lists applies.
const (
	// MaxKeyListSize bounds one N.root.json: a list holds a few armored
	// public keys of a few kilobytes each.
	MaxKeyListSize = 1 << 20
	// MaxKeyListSignature bounds one N.root.json.asc (one armored
	// signature per root key).
	MaxKeyListSignature = 256 << 10
	// MaxKeyListSteps is how many versions a client walks forward in
	// one run; a longer way continues on the next run.
	MaxKeyListSteps = 64
	// MaxListedKeys bounds the root keys and the signing keys of a list.
	MaxListedKeys = 32
	// KeyListWarning is how long before its expiry a key list is
	// reported as expiring soon.
	KeyListWarning = 30 * 24 * time.Hour
)

// KeysDir is the repository folder of public keys and key lists.
const KeysDir = "keys"

const keyListSuffix = ".root.json"

// KeyListPath is the repository-relative path of version v of the key
// list, with "/" separators: keys/v.root.json.
func KeyListPath(v int64) string {
	return KeysDir + "/" + strconv.FormatInt(v, 10) + keyListSuffix
}

// KeyListVersion returns the version a file name N.root.json stands for.
func KeyListVersion(name string) (int64, bool) {
	s, ok := strings.CutSuffix(name, keyListSuffix)
	if !ok || s == "" || s[0] == '0' || len(s) > 18 {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

// Conditions callers branch on (to choose the remedy they name); every
// error wrapping one names the list version and the keys concerned.
var (
	// ErrKeyListSignature: not signed by the required threshold of root keys.
	ErrKeyListSignature = errors.New("key list not signed by enough root keys")
	// ErrKeyListVersion: a version other than exactly the next one
	// (skipped, replayed, or a file served under another number).
	ErrKeyListVersion = errors.New("key list version out of sequence")
	// ErrKeyListExpired: the newest key list is past its expiry.
	ErrKeyListExpired = errors.New("key list expired")
	// ErrKeyListUntrusted: no version of the list is signed by a
	// threshold of the root keys trusted out of band.
	ErrKeyListUntrusted = errors.New("key list not signed by trusted root keys")
	// ErrKeyRevoked: signed by a key the newest key list does not name
	// as a signing key.
	ErrKeyRevoked = errors.New("signing key not in the key list")
	// ErrKeyListRollback: an index names an older key-list version than
	// one already seen (or none at all).
	ErrKeyListRollback = errors.New("index signed under an older key list")
)

// ListedKey is one public key in a key list.
type ListedKey struct {
	// Fingerprint is the primary key fingerprint, upper-case hex.
	Fingerprint string `json:"fingerprint"`
	// PublicKey is the ASCII-armored public key; a reader checks that
	// its fingerprint is Fingerprint.
	PublicKey string `json:"public_key"`
}

// KeyRoot is the root role of a key list: the offline keys and how many
// of them must sign the next version.
type KeyRoot struct {
	Threshold int         `json:"threshold"`
	Keys      []ListedKey `json:"keys"`
}

// KeyList is one version of the key list.
type KeyList struct {
	Format    int         `json:"format"`
	Version   int64       `json:"version"`
	Generated time.Time   `json:"generated"`
	Expires   time.Time   `json:"expires"`
	Root      KeyRoot     `json:"root"`
	Signing   []ListedKey `json:"signing"`
}

// ParseKeyList decodes and validates one key list. It is pure and checks
// structure only; whether the list counts is KeyWalk's decision.
func ParseKeyList(data []byte) (*KeyList, error) {
	if len(data) > MaxKeyListSize {
		return nil, fmt.Errorf("key list: %d bytes, more than the %d a key list can need", len(data), MaxKeyListSize)
	}
	var kl KeyList
	if err := strictJSON(data, &kl); err != nil {
		return nil, fmt.Errorf("parse key list: %w", err)
	}
	if err := kl.Validate(); err != nil {
		return nil, err
	}
	return &kl, nil
}

// Validate checks a key list's structure: a supported format, a version
// of 1 or more, an expiry after its generation, 1 to MaxListedKeys root
// keys with a threshold they can meet, signing keys, and no fingerprint
// twice in a role (a threshold counts distinct keys).
func (kl *KeyList) Validate() error {
	if kl.Format != KeyListFormat {
		return fmt.Errorf("key list format %d is not supported (this hotfix reads %d): upgrade hotfix", kl.Format, KeyListFormat)
	}
	if kl.Version < 1 {
		return fmt.Errorf("key list: version %d must be 1 or more", kl.Version)
	}
	what := fmt.Sprintf("key list version %d", kl.Version)
	if kl.Generated.IsZero() || kl.Expires.IsZero() || !kl.Expires.After(kl.Generated) {
		return fmt.Errorf("%s: expires (%s) must come after generated (%s)", what, kl.Expires, kl.Generated)
	}
	if err := checkListedKeys(what+" root keys", kl.Root.Keys); err != nil {
		return err
	}
	if kl.Root.Threshold < 1 || kl.Root.Threshold > len(kl.Root.Keys) {
		return fmt.Errorf("%s: root threshold %d must be between 1 and the %d root keys", what, kl.Root.Threshold, len(kl.Root.Keys))
	}
	return checkListedKeys(what+" signing keys", kl.Signing)
}

func checkListedKeys(what string, keys []ListedKey) error {
	if len(keys) == 0 || len(keys) > MaxListedKeys {
		return fmt.Errorf("%s: %d keys, must be 1 to %d", what, len(keys), MaxListedKeys)
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if !isFingerprint(k.Fingerprint) {
			return fmt.Errorf("%s: %q is not an OpenPGP fingerprint (40 or 64 upper-case hex digits)", what, k.Fingerprint)
		}
		if seen[k.Fingerprint] {
			return fmt.Errorf("%s: key %s is listed twice (a threshold counts distinct keys)", what, k.Fingerprint)
		}
		seen[k.Fingerprint] = true
		if !strings.HasPrefix(k.PublicKey, "-----BEGIN PGP PUBLIC KEY BLOCK-----") {
			return fmt.Errorf("%s: key %s: public_key must be an armored OpenPGP public key", what, k.Fingerprint)
		}
	}
	return nil
}

func isFingerprint(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// Marshal encodes the key list canonically: keys in fingerprint order,
// indented, with a final newline, so that the same list always has the
// same bytes (and the same signatures verify over them).
func (kl *KeyList) Marshal() ([]byte, error) {
	c := *kl
	c.Root.Keys = sortedKeys(kl.Root.Keys)
	c.Signing = sortedKeys(kl.Signing)
	c.Generated, c.Expires = kl.Generated.UTC(), kl.Expires.UTC()
	b, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func sortedKeys(keys []ListedKey) []ListedKey {
	out := slices.Clone(keys)
	slices.SortFunc(out, func(a, b ListedKey) int { return strings.Compare(a.Fingerprint, b.Fingerprint) })
	return out
}

// RootFingerprints returns the fingerprints of the root keys, sorted.
func (kl *KeyList) RootFingerprints() []string { return fingerprints(kl.Root.Keys) }

// SigningFingerprints returns the fingerprints of the signing keys, sorted.
func (kl *KeyList) SigningFingerprints() []string { return fingerprints(kl.Signing) }

// NamesSigning reports whether fp is one of the list's signing keys.
func (kl *KeyList) NamesSigning(fp string) bool {
	return slices.ContainsFunc(kl.Signing, func(k ListedKey) bool { return strings.EqualFold(k.Fingerprint, fp) })
}

func fingerprints(keys []ListedKey) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.Fingerprint
	}
	slices.Sort(out)
	return out
}

// CheckExpiry refuses a list past its expiry at now.
func (kl *KeyList) CheckExpiry(now time.Time) error {
	if now.After(kl.Expires) {
		return fmt.Errorf("%w: key list version %d expired on %s", ErrKeyListExpired, kl.Version, kl.Expires.UTC().Format("2006-01-02 15:04 UTC"))
	}
	return nil
}

// ExpiresSoon reports whether the list expires within KeyListWarning of now.
func (kl *KeyList) ExpiresSoon(now time.Time) bool {
	return !now.After(kl.Expires) && kl.Expires.Sub(now) < KeyListWarning
}
