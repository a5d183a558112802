package sign

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// defaultHash is what signatures and self-signatures use: every gpg and rpm
// in service verifies SHA-256, and EdDSA over Ed25519 needs at least 256 bits.
const defaultHash = crypto.SHA256

// maxKeyFile bounds how much of a key file is read: real key files are a
// few kilobytes, and a runaway file should fail, not fill memory.
const maxKeyFile = 8 << 20

// Errors LoadSigner returns for conditions the caller may explain further.
var (
	// ErrPassphraseRequired: the secret key is encrypted and no passphrase was given.
	ErrPassphraseRequired = errors.New("secret key is protected by a passphrase: set HOTFIX_KEY_PASSPHRASE")
	// ErrWrongPassphrase: the passphrase does not decrypt the secret key.
	ErrWrongPassphrase = errors.New("wrong passphrase for secret key (check HOTFIX_KEY_PASSPHRASE)")
	// ErrNotSecretKey: the file holds only public keys.
	ErrNotSecretKey = errors.New("file holds a public key, not a secret key: pass the secret key file written by 'hotfix key generate'")
)

// Signer makes detached signatures with one secret key.
// It is safe for concurrent use: go-crypto's Entity.Serialize writes to the
// entity's signature packets, so every use of the entity is serialised by
// one mutex shared with the copies WithClock makes.
type Signer struct {
	entity *openpgp.Entity
	now    func() time.Time
	mu     *sync.Mutex
}

func newSigner(e *openpgp.Entity) *Signer {
	return &Signer{entity: e, now: time.Now, mu: new(sync.Mutex)}
}

// LoadSigner reads an armored or binary secret key file and decrypts it with
// passphrase when it is encrypted.
func LoadSigner(path string, passphrase []byte) (*Signer, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("load secret key: %w", err)
	}
	entities, _, err := parseEntities(data)
	if err != nil {
		return nil, fmt.Errorf("load secret key %s: %w", path, err)
	}
	var secret []*openpgp.Entity
	for _, e := range entities {
		if e.PrivateKey != nil {
			secret = append(secret, e)
		}
	}
	switch len(secret) {
	case 0:
		return nil, fmt.Errorf("load secret key %s: %w", path, ErrNotSecretKey)
	case 1:
	default:
		return nil, fmt.Errorf("load secret key %s: file holds %d secret keys: keep exactly one per file", path, len(secret))
	}
	e := secret[0]
	if encrypted(e) {
		if len(passphrase) == 0 {
			return nil, fmt.Errorf("load secret key %s: %w", path, ErrPassphraseRequired)
		}
		if err := e.DecryptPrivateKeys(passphrase); err != nil {
			return nil, fmt.Errorf("load secret key %s: %w", path, ErrWrongPassphrase)
		}
	}
	s, err := NewSigner(e)
	if err != nil {
		return nil, fmt.Errorf("load secret key %s: %w", path, err)
	}
	return s, nil
}

// NewSigner wraps an entity whose signing key is already decrypted.
func NewSigner(e *openpgp.Entity) (*Signer, error) {
	now := time.Now()
	k, ok := e.SigningKey(now)
	if !ok {
		return nil, fmt.Errorf("key %s has no usable signing key at %s (expired or revoked?)", fingerprint(e), now.UTC().Format(time.RFC3339))
	}
	if k.PrivateKey == nil || k.PrivateKey.Dummy() {
		return nil, fmt.Errorf("key %s: the secret part of its signing key is missing", fingerprint(e))
	}
	if k.PrivateKey.Encrypted {
		return nil, fmt.Errorf("key %s: %w", fingerprint(e), ErrPassphraseRequired)
	}
	return newSigner(e), nil
}

func encrypted(e *openpgp.Entity) bool {
	if e.PrivateKey != nil && e.PrivateKey.Encrypted && !e.PrivateKey.Dummy() {
		return true
	}
	for _, s := range e.Subkeys {
		if s.PrivateKey != nil && s.PrivateKey.Encrypted && !s.PrivateKey.Dummy() {
			return true
		}
	}
	return false
}

// WithClock returns a copy of s that dates its signatures by now. Tests use
// it; real signatures carry the current time so that key expiry is judged
// against the moment of signing.
func (s *Signer) WithClock(now func() time.Time) *Signer {
	c := *s
	c.now = now
	return &c
}

func (s *Signer) config() *packet.Config {
	return &packet.Config{Time: s.now, DefaultHash: defaultHash}
}

// SignDetached returns an ASCII-armored detached signature of data, as
// `gpg --verify data.asc data` expects.
func (s *Signer) SignDetached(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.SignatureType, nil)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := openpgp.DetachSign(w, s.entity, bytes.NewReader(data), s.config()); err != nil {
		return nil, fmt.Errorf("sign with key %s: %w", s.Fingerprint(), err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// SignDetachedBinary returns a binary detached signature of everything read
// from r (the form RPM header signatures take).
func (s *Signer) SignDetachedBinary(r io.Reader) ([]byte, error) {
	var buf bytes.Buffer
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := openpgp.DetachSign(&buf, s.entity, r, s.config()); err != nil {
		return nil, fmt.Errorf("sign with key %s: %w", s.Fingerprint(), err)
	}
	return buf.Bytes(), nil
}

// ArmoredPublic returns the signer's ASCII-armored public key.
func (s *Signer) ArmoredPublic() ([]byte, error) {
	var buf bytes.Buffer
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ExportPublic(&buf, s.entity); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Fingerprint returns the signer's primary key fingerprint in upper-case hex.
func (s *Signer) Fingerprint() string { return fingerprint(s.entity) }

// Entity returns the underlying OpenPGP entity (secret part decrypted).
func (s *Signer) Entity() *openpgp.Entity { return s.entity }

func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("read %s: larger than %d bytes: not a key file", path, maxKeyFile)
	}
	return data, nil
}
