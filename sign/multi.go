package sign

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
)

// Signatures by several keys over one document: what a key list needs,
// whose every version is signed by a threshold of root keys. They travel
// as one armored block holding one signature packet per key, which
// `gpg --verify` checks one by one.

// SignDetachedMulti returns one ASCII-armored detached signature block
// holding a signature of data by each signer, in the order given.
func SignDetachedMulti(data []byte, signers ...*Signer) ([]byte, error) {
	if len(signers) == 0 {
		return nil, fmt.Errorf("sign: no signing key given")
	}
	var raw bytes.Buffer
	for _, s := range signers {
		one, err := s.SignDetachedBinary(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		raw.Write(one)
	}
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.SignatureType, nil)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	if _, err := w.Write(raw.Bytes()); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// KeyringOf makes a keyring of listed public keys, fingerprint to armored
// key, refusing a key whose material is not the listed fingerprint, a
// file of several keys, and secret key material: a key list names each
// key by its fingerprint, and that name must bind.
func KeyringOf(keys map[string][]byte) (*Keyring, error) {
	kr := &Keyring{}
	for _, fp := range slices.Sorted(maps.Keys(keys)) {
		e, err := listedEntity(fp, keys[fp])
		if err != nil {
			return nil, err
		}
		kr.add(e)
	}
	return kr, nil
}

func listedEntity(fp string, armored []byte) (*openpgp.Entity, error) {
	entities, revs, err := parseEntities(armored)
	if err != nil {
		return nil, fmt.Errorf("listed key %s: %w", fp, err)
	}
	if len(entities) != 1 || len(revs) != 0 {
		return nil, fmt.Errorf("listed key %s: holds %d keys and %d revocations, not exactly one public key", fp, len(entities), len(revs))
	}
	e := entities[0]
	if e.PrivateKey != nil {
		return nil, fmt.Errorf("listed key %s: holds secret key material: list the public key only", fp)
	}
	if got := fingerprint(e); !strings.EqualFold(got, fp) {
		return nil, fmt.Errorf("listed key %s: the key material is key %s", fp, got)
	}
	return e, nil
}

// SignedBy returns the fingerprints of the listed keys (fingerprint to
// armored public key) that made a good signature of data, valid at now,
// among the signature packets in signature. Each key counts once however
// many of its signatures the block holds; signatures by other keys are
// ignored. An error means the keys or the signature could not be read.
func SignedBy(data, signature []byte, keys map[string][]byte, now time.Time) ([]string, error) {
	_, raw, err := parseSignatures(signature)
	if err != nil {
		return nil, err
	}
	kr, err := KeyringOf(keys)
	if err != nil {
		return nil, err
	}
	var good []string
	for _, e := range kr.entities {
		// One key at a time: go-crypto verifies the first signature whose
		// issuer is in the keyring it is given, and a bad signature by
		// one key must not hide a good one by another.
		one := &Keyring{entities: openpgp.EntityList{e}}
		if _, err := one.Verify(data, raw, now); err == nil {
			good = append(good, fingerprint(e))
		}
	}
	slices.Sort(good)
	return good, nil
}

// SignatureIssuers returns the key ids (upper-case hex) that the
// signatures in signature name as their issuers, to say who signed what
// no trusted key verifies.
func SignatureIssuers(signature []byte) []string {
	sigs, _, err := parseSignatures(signature)
	if err != nil {
		return nil
	}
	var ids []string
	for _, s := range sigs {
		ids = append(ids, keyID(*s.IssuerKeyId))
	}
	return ids
}

// SignersAt is SignedBy at a fixed time, in the shape the key-list walk
// takes (repo.KeySigners).
func SignersAt(now time.Time) func(data, signature []byte, keys map[string][]byte) ([]string, error) {
	return func(data, signature []byte, keys map[string][]byte) ([]string, error) {
		return SignedBy(data, signature, keys, now)
	}
}
