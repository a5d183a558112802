package sign

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// KeyOptions tunes GenerateKey. The zero value makes an Ed25519 key that
// never expires and whose secret part is not encrypted.
type KeyOptions struct {
	// RSABits selects an RSA key of that size (2048, 3072 or 4096);
	// 0 selects Ed25519 (EdDSA, readable by gpg 2.2 and rpm).
	RSABits int
	// Passphrase encrypts the secret key when non-empty.
	Passphrase []byte
	// Lifetime makes the key expire that long after creation; 0 = never.
	Lifetime time.Duration
	// Now is the key's creation time source; nil means time.Now.
	Now func() time.Time
}

// Key is a freshly generated key pair.
type Key struct {
	entity *openpgp.Entity // secret part decrypted, usable for signing
	secret []byte          // armored secret key, encrypted if asked
}

// ValidRSABits reports whether GenerateKey accepts bits as an RSA key size.
func ValidRSABits(bits int) bool {
	return bits == 2048 || bits == 3072 || bits == 4096
}

// GenerateKey makes a new signing key for uid, which must have the form
// "Name <email>".
func GenerateKey(uid string, opts KeyOptions) (*Key, error) {
	name, email, err := ParseUID(uid)
	if err != nil {
		return nil, err
	}
	if opts.RSABits != 0 && !ValidRSABits(opts.RSABits) {
		return nil, fmt.Errorf("generate key: RSA key size %d not supported: use 2048, 3072 or 4096", opts.RSABits)
	}
	if opts.Lifetime < 0 || opts.Lifetime.Seconds() > math.MaxUint32 {
		return nil, fmt.Errorf("generate key: lifetime %v out of range", opts.Lifetime)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	created := now().Truncate(time.Second)
	cfg := &packet.Config{
		Time:            func() time.Time { return created },
		DefaultHash:     defaultHash,
		KeyLifetimeSecs: uint32(opts.Lifetime / time.Second),
	}

	var e *openpgp.Entity
	if opts.RSABits == 0 {
		cfg.Algorithm = packet.PubKeyAlgoEdDSA
		e, err = openpgp.NewEntity(name, "", email, cfg)
		if err != nil {
			return nil, fmt.Errorf("generate key: %w", err)
		}
	} else {
		// Built by hand rather than with NewEntity, which would spend
		// as long again on an RSA encryption subkey we would throw away.
		priv, err := rsa.GenerateKey(rand.Reader, opts.RSABits)
		if err != nil {
			return nil, fmt.Errorf("generate key: %w", err)
		}
		pk := packet.NewSignerPrivateKey(created, priv)
		e = &openpgp.Entity{
			PrimaryKey: &pk.PublicKey,
			PrivateKey: pk,
			Identities: map[string]*openpgp.Identity{},
		}
		if err := e.AddUserId(name, "", email, cfg); err != nil {
			return nil, fmt.Errorf("generate key: %w", err)
		}
	}
	// A repository key only signs; an encryption subkey would only be
	// one more secret to guard.
	e.Subkeys = nil

	k := &Key{entity: e}
	if len(opts.Passphrase) > 0 {
		if err := e.EncryptPrivateKeys(opts.Passphrase, cfg); err != nil {
			return nil, fmt.Errorf("generate key: encrypt secret key: %w", err)
		}
		k.secret, err = armorSecret(e)
		if err != nil {
			return nil, err
		}
		if err := e.DecryptPrivateKeys(opts.Passphrase); err != nil {
			return nil, fmt.Errorf("generate key: decrypt secret key: %w", err)
		}
	} else {
		k.secret, err = armorSecret(e)
		if err != nil {
			return nil, err
		}
	}
	return k, nil
}

func armorSecret(e *openpgp.Entity) ([]byte, error) {
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PrivateKeyType, nil)
	if err != nil {
		return nil, fmt.Errorf("armor secret key: %w", err)
	}
	// Without re-signing: the self-signatures are fresh, and the key may
	// already be encrypted.
	if err := e.SerializePrivateWithoutSigning(w, nil); err != nil {
		return nil, fmt.Errorf("serialize secret key: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("armor secret key: %w", err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// ArmoredPublic returns the ASCII-armored public key, for clients' trusted
// key directories.
func (k *Key) ArmoredPublic() ([]byte, error) {
	var buf bytes.Buffer
	if err := ExportPublic(&buf, k.entity); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ArmoredSecret returns the ASCII-armored secret key, encrypted with the
// passphrase given to GenerateKey if there was one.
func (k *Key) ArmoredSecret() ([]byte, error) {
	return bytes.Clone(k.secret), nil
}

// Fingerprint returns the key's fingerprint in upper-case hex.
func (k *Key) Fingerprint() string { return fingerprint(k.entity) }

// Entity returns the underlying OpenPGP entity, secret part decrypted.
func (k *Key) Entity() *openpgp.Entity { return k.entity }

// Signer returns a Signer that signs with this key.
func (k *Key) Signer() *Signer { return newSigner(k.entity) }

// ExportPublic writes the ASCII-armored public part of e to w. Secret key
// material is never written.
func ExportPublic(w io.Writer, e *openpgp.Entity) error {
	aw, err := armor.Encode(w, openpgp.PublicKeyType, nil)
	if err != nil {
		return fmt.Errorf("export public key: %w", err)
	}
	if err := e.Serialize(aw); err != nil {
		return fmt.Errorf("export public key %s: %w", fingerprint(e), err)
	}
	if err := aw.Close(); err != nil {
		return fmt.Errorf("export public key: %w", err)
	}
	// go-crypto ends the armor without a newline; files read better with one.
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("export public key: %w", err)
	}
	return nil
}

// ParseUID splits a user id of the form "Name <email>" into its parts.
func ParseUID(uid string) (name, email string, err error) {
	bad := func(why string) error {
		return fmt.Errorf("user id %q: %s: want \"Name <email>\", e.g. \"Example Releases <releases@example.com>\"", uid, why)
	}
	s := strings.TrimSpace(uid)
	if s == "" {
		return "", "", errors.New(`user id is empty: want "Name <email>", e.g. "Example Releases <releases@example.com>"`)
	}
	open := strings.LastIndexByte(s, '<')
	if open < 0 || !strings.HasSuffix(s, ">") {
		return "", "", bad("no <email>")
	}
	name = strings.TrimSpace(s[:open])
	email = s[open+1 : len(s)-1]
	if name == "" {
		return "", "", bad("no name before <email>")
	}
	if strings.ContainsAny(name, "()<>\x00") {
		return "", "", bad("name must not contain ( ) < >")
	}
	for _, r := range name + email {
		if r < 0x20 || r == 0x7f {
			return "", "", bad("control character")
		}
	}
	at := strings.IndexByte(email, '@')
	if at <= 0 || at == len(email)-1 || strings.Count(email, "@") != 1 ||
		strings.ContainsAny(email, " \t()<>\x00") {
		return "", "", bad(fmt.Sprintf("%q is not an email address", email))
	}
	return name, email, nil
}

func fingerprint(e *openpgp.Entity) string {
	return fmt.Sprintf("%X", e.PrimaryKey.Fingerprint)
}

func keyID(id uint64) string { return fmt.Sprintf("%016X", id) }
