package publish

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/sign"
)

// keyChain checks the repository's key lists as a client would: the chain
// from version 1, anchored in opts.TrustedKeys when given, and the
// newest's expiry (warned about KeyListWarning before). With a good
// chain, index and package signatures count only by the newest list's
// signing keys, as on a client; a repository without key lists keeps
// the plain rule of opts.Check.
func (v *verifier) keyChain(opts VerifyOptions) {
	var anchor func(string) bool
	if len(opts.TrustedKeys) > 0 {
		anchor = func(fp string) bool { return slices.Contains(opts.TrustedKeys, fp) }
	}
	keysDir := filepath.Join(v.root, repo.KeysDir)
	w, err := walkKeyChain(v.root, v.now, anchor)
	if err != nil {
		v.add(keysDir, err)
		return
	}
	if w == nil {
		return
	}
	kl, err := w.Done(v.now)
	if err != nil {
		if errors.Is(err, repo.ErrKeyListExpired) {
			err = fmt.Errorf("%w: publish the next version (hotfix repo trust)", err)
		} else {
			err = fmt.Errorf("%w: the given keyring holds none of the root keys clients need", err)
		}
		v.add(keysDir, err)
		return
	}
	warnKeyListExpiry(kl, v.now, opts.Logger)
	kr, err := sign.KeyringOf(repo.KeyMap(kl.Signing))
	if err != nil {
		v.add(filepath.Join(v.root, filepath.FromSlash(repo.KeyListPath(kl.Version))), err)
		return
	}
	v.keyList = kl
	v.check = func(data, sig []byte) error {
		_, err := kr.Verify(data, sig, v.now)
		if errors.Is(err, sign.ErrUnknownKey) {
			return fmt.Errorf("%w: signed by key %s, which key list version %d does not name (it names %s): run \"hotfix repo build\" with a listed key",
				repo.ErrKeyRevoked, strings.Join(sign.SignatureIssuers(sig), ", "), kl.Version, strings.Join(kl.SigningFingerprints(), ", "))
		}
		return err
	}
}

// indexKeyList checks that an index was signed under the newest key list.
func (v *verifier) indexKeyList(path string, keyList int64) {
	if v.keyList == nil || keyList == v.keyList.Version {
		return
	}
	v.add(path, fmt.Errorf("signed under key list version %d, but the newest is %d: clients that saw it refuse this index: run \"hotfix repo build\"",
		keyList, v.keyList.Version))
}
