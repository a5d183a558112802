package publish

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/sign"
)

// DefaultKeyListExpires is how long a key list stays valid unless told.
const DefaultKeyListExpires = 365 * 24 * time.Hour

// ErrKeyNotListed is Build's refusal of a key the newest key list does
// not name as a signing key: clients would refuse every index it signs.
var ErrKeyNotListed = errors.New("key is not a signing key of the key list")

// TrustOptions tune Trust.
type TrustOptions struct {
	// RootSigners sign the new version: a threshold of the previous
	// version's root keys and a threshold of the new version's.
	RootSigners []*sign.Signer
	// Roots are the armored public root keys of the new version; none
	// means the RootSigners' own.
	Roots [][]byte
	// Signing are the armored public keys whose index signatures count.
	Signing [][]byte
	// Threshold of root keys that must sign the next version; 0 means 1.
	Threshold int
	// Expires is the new version's validity; 0 means DefaultKeyListExpires.
	Expires time.Duration
	Now     func() time.Time // nil means time.Now
	Logger  *slog.Logger
}

// TrustResult says what Trust wrote.
type TrustResult struct {
	List     *repo.KeyList
	Previous *repo.KeyList // nil for version 1
	Path     string        // keys/N.root.json; the signature is beside it
}

// Trust writes the next version of the repository's key list,
// keys/N.root.json and its detached signature keys/N.root.json.asc,
// signed by every root signer. It refuses what clients would refuse: a
// list the previous version's root keys or its own do not sign by their
// thresholds, and a repository whose chain of key lists is broken. A
// version once written is never replaced.
func Trust(ctx context.Context, root string, opts TrustOptions) (*TrustResult, error) {
	if len(opts.RootSigners) == 0 {
		return nil, errors.New("trust: at least one root key is needed to sign the key list")
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	prev, err := loadKeyChain(root, now())
	if err != nil {
		return nil, err
	}
	kl, err := nextKeyList(prev, opts, now().UTC().Truncate(time.Second))
	if err != nil {
		return nil, err
	}
	if err := checkRootSigners(prev, kl, opts.RootSigners); err != nil {
		return nil, err
	}
	data, err := kl.Marshal()
	if err != nil {
		return nil, err
	}
	sig, err := sign.SignDetachedMulti(data, opts.RootSigners...)
	if err != nil {
		return nil, fmt.Errorf("trust: %w", err)
	}
	// The very rule clients apply decides, before anything is written.
	w := &repo.KeyWalk{Signers: sign.SignersAt(now()), Trusted: prev}
	if err := w.Step(data, sig); err != nil {
		return nil, fmt.Errorf("trust: the new list would be refused: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	path := filepath.Join(root, filepath.FromSlash(repo.KeyListPath(kl.Version)))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	// The list before its signature: a reader finding the list without a
	// signature refuses it and tries again, never trusts half of it.
	if err := atomicfile.CreateNew(path, data, 0o644); err != nil {
		return nil, fmt.Errorf("trust: write %s: %w", path, err)
	}
	if err := atomicfile.CreateNew(path+repo.SigSuffix, sig, 0o644); err != nil {
		return nil, fmt.Errorf("trust: write %s%s: %w", path, repo.SigSuffix, err)
	}
	// The root public keys beside the signing keys in keys/, the folder
	// whose keys are handed to administrators out of band.
	for _, k := range kl.Root.Keys {
		p := filepath.Join(filepath.Dir(path), k.Fingerprint+".asc")
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			if err := atomicfile.WriteFile(p, []byte(k.PublicKey), 0o644); err != nil {
				return nil, fmt.Errorf("trust: write %s: %w", p, err)
			}
		}
	}
	logger(opts.Logger).Info("key list written", "version", kl.Version, "roots", kl.RootFingerprints(), "signing", kl.SigningFingerprints())
	return &TrustResult{List: kl, Previous: prev, Path: path}, nil
}

// nextKeyList makes the version after prev from opts.
func nextKeyList(prev *repo.KeyList, opts TrustOptions, generated time.Time) (*repo.KeyList, error) {
	expires := opts.Expires
	if expires == 0 {
		expires = DefaultKeyListExpires
	}
	if expires < MinExpires {
		return nil, fmt.Errorf("trust: expiry %s is shorter than %s", expires, MinExpires)
	}
	roots := opts.Roots
	if len(roots) == 0 {
		for _, s := range opts.RootSigners {
			pub, err := s.ArmoredPublic()
			if err != nil {
				return nil, err
			}
			roots = append(roots, pub)
		}
	}
	rootKeys, err := listKeys("root", roots)
	if err != nil {
		return nil, err
	}
	signing, err := listKeys("signing", opts.Signing)
	if err != nil {
		return nil, err
	}
	threshold := opts.Threshold
	if threshold == 0 {
		threshold = 1
	}
	kl := &repo.KeyList{Format: repo.KeyListFormat, Version: 1, Generated: generated, Expires: generated.Add(expires),
		Root: repo.KeyRoot{Threshold: threshold, Keys: rootKeys}, Signing: signing}
	if prev != nil {
		kl.Version = prev.Version + 1
	}
	if err := kl.Validate(); err != nil {
		return nil, fmt.Errorf("trust: %w", err)
	}
	return kl, nil
}

// listKeys reads armored public keys, one key each, as a list names them:
// by fingerprint, with their public part only.
func listKeys(role string, keys [][]byte) ([]repo.ListedKey, error) {
	var out []repo.ListedKey
	for i, data := range keys {
		kr, err := sign.ParseKeyring(data)
		if err != nil {
			return nil, fmt.Errorf("trust: %s key %d: %w", role, i+1, err)
		}
		if kr.Len() != 1 {
			return nil, fmt.Errorf("trust: %s key %d: the file holds %d keys: give one key per file", role, i+1, kr.Len())
		}
		var pub bytes.Buffer
		if err := sign.ExportPublic(&pub, kr.Entities()[0]); err != nil {
			return nil, err
		}
		fp := kr.Fingerprints()[0]
		if slices.ContainsFunc(out, func(k repo.ListedKey) bool { return k.Fingerprint == fp }) {
			return nil, fmt.Errorf("trust: %s key %s is given twice", role, fp)
		}
		out = append(out, repo.ListedKey{Fingerprint: fp, PublicKey: pub.String()})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("trust: no %s key given", role)
	}
	return out, nil
}

// checkRootSigners refuses a signer that is a root key of neither the
// previous version nor the new one: its signature would count for
// nothing, and a vendor who passes it most likely meant another key.
func checkRootSigners(prev, kl *repo.KeyList, signers []*sign.Signer) error {
	for _, s := range signers {
		fp := s.Fingerprint()
		if slices.Contains(kl.RootFingerprints(), fp) || prev != nil && slices.Contains(prev.RootFingerprints(), fp) {
			continue
		}
		names := "version 1"
		if prev != nil {
			names = fmt.Sprintf("version %d (%s) or %d", prev.Version, strings.Join(prev.RootFingerprints(), ", "), kl.Version)
		}
		return fmt.Errorf("trust: key %s is a root key of neither %s: sign with the root keys only", fp, names)
	}
	return nil
}

// keyListVersions lists the versions keys/ holds, in order.
func keyListVersions(root string) ([]int64, error) {
	des, err := os.ReadDir(filepath.Join(root, repo.KeysDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var vs []int64
	for _, de := range des {
		if v, ok := repo.KeyListVersion(de.Name()); ok {
			vs = append(vs, v)
		}
	}
	slices.Sort(vs)
	return vs, nil
}

// loadKeyChain reads the repository's key lists, from version 1 to the
// newest, checking each step as a client would (without out-of-band
// anchors: that the vendor's own chain holds), and returns the newest;
// nil when the repository has none. Expiry is the caller's concern.
func loadKeyChain(root string, now time.Time) (*repo.KeyList, error) {
	w, err := walkKeyChain(root, now, nil)
	if err != nil || w == nil {
		return nil, err
	}
	return w.Trusted, nil
}

// walkKeyChain walks every key list of root with anchor; nil when there
// is none.
func walkKeyChain(root string, now time.Time, anchor func(string) bool) (*repo.KeyWalk, error) {
	vs, err := keyListVersions(root)
	if err != nil || len(vs) == 0 {
		return nil, err
	}
	w := &repo.KeyWalk{Signers: sign.SignersAt(now), Anchor: anchor}
	for i, v := range vs {
		if v != int64(i+1) {
			return nil, fmt.Errorf("%s: %w: version %d is missing (the key lists must run 1 to %d without gaps)",
				filepath.Join(root, repo.KeysDir), repo.ErrKeyListVersion, i+1, vs[len(vs)-1])
		}
		path := filepath.Join(root, filepath.FromSlash(repo.KeyListPath(v)))
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		sig, err := os.ReadFile(path + repo.SigSuffix)
		if err != nil {
			return nil, fmt.Errorf("%s: signature missing: %w", path, err)
		}
		if err := w.Step(data, sig); err != nil {
			return nil, fmt.Errorf("%s: %w", root, err)
		}
	}
	return w, nil
}

// buildKeyList is Build's view of the key list: the newest version, which
// must name signer as a signing key and must not have expired; nil when
// the repository has none. A list about to expire is warned about.
func buildKeyList(root, signer string, now time.Time, log *slog.Logger) (*repo.KeyList, error) {
	kl, err := loadKeyChain(root, now)
	if err != nil || kl == nil {
		return nil, err
	}
	if !kl.NamesSigning(signer) {
		return nil, fmt.Errorf("%w: key %s is not named by key list version %d (%s), which names %s: clients would refuse what it signs",
			ErrKeyNotListed, signer, kl.Version, repo.KeyListPath(kl.Version), strings.Join(kl.SigningFingerprints(), ", "))
	}
	if err := kl.CheckExpiry(now); err != nil {
		return nil, fmt.Errorf("%w: clients refuse every index until the next version is published (hotfix repo trust)", err)
	}
	warnKeyListExpiry(kl, now, log)
	return kl, nil
}

func warnKeyListExpiry(kl *repo.KeyList, now time.Time, log *slog.Logger) {
	if kl.ExpiresSoon(now) {
		logger(log).Warn("the key list expires soon: publish its next version (hotfix repo trust) before then, or clients refuse every index",
			"version", kl.Version, "expires", kl.Expires.Format(time.RFC3339))
	}
}
