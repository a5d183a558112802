package sign

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Conditions Verify reports; each comes wrapped in a *VerifyError.
var (
	ErrNoSignature      = errors.New("no valid signature")
	ErrUnknownKey       = errors.New("signed by an unknown key")
	ErrBadSignature     = errors.New("bad signature")
	ErrKeyExpired       = errors.New("signing key expired")
	ErrKeyRevoked       = errors.New("signing key revoked")
	ErrSignatureExpired = errors.New("signature expired or dated in the future")
)

// VerifyError says why a signature was refused. Err is one of the ErrXxx
// sentinels above; Reason names the cause and the remedy.
type VerifyError struct {
	Reason string
	Err    error
}

func (e *VerifyError) Error() string { return e.Reason }
func (e *VerifyError) Unwrap() error { return e.Err }

func verifyErr(sentinel error, format string, args ...any) error {
	return &VerifyError{Reason: fmt.Sprintf(format, args...), Err: sentinel}
}

// Verified describes a good signature.
type Verified struct {
	Fingerprint string    // primary key fingerprint of the signer, upper-case hex
	KeyID       string    // id of the key (primary or subkey) that made the signature, upper-case hex
	UID         string    // the signer's primary user id
	Created     time.Time // when the signature was made
}

// strongHashes are the digests a signature may use; SHA-1 and MD5
// signatures can be forged and are refused.
var strongHashes = []crypto.Hash{crypto.SHA224, crypto.SHA256, crypto.SHA384, crypto.SHA512, crypto.SHA3_256, crypto.SHA3_512}

// maxSignature bounds the signature bytes looked at: a detached signature is
// a few hundred bytes, even with several signers.
const maxSignature = 1 << 20

// Verify checks that signature (a detached OpenPGP signature, armored or
// binary) is a good signature of data by a key in k, with keys and
// signature valid at now. It does no I/O.
func (k *Keyring) Verify(data, signature []byte, now time.Time) (*Verified, error) {
	sigs, raw, err := parseSignatures(signature)
	if err != nil {
		return nil, err
	}
	var sig *packet.Signature
	var ids []string
	for _, s := range sigs {
		if len(k.entities.KeysByIdUsage(*s.IssuerKeyId, packet.KeyFlagSign)) > 0 {
			sig = s
			break
		}
		ids = append(ids, keyID(*s.IssuerKeyId))
	}
	if sig == nil {
		return nil, verifyErr(ErrUnknownKey,
			"signed by unknown key %s, not among the trusted keys",
			strings.Join(ids, ", "))
	}
	if !isStrong(sig.Hash) {
		return nil, verifyErr(ErrBadSignature, "signature by key %s uses weak digest %v: re-sign with SHA-256 or better",
			keyID(*sig.IssuerKeyId), sig.Hash)
	}
	if sig.SigType != packet.SigTypeBinary && sig.SigType != packet.SigTypeText {
		return nil, verifyErr(ErrNoSignature, "OpenPGP signature of type %#x is not a document signature", uint8(sig.SigType))
	}

	cfg := &packet.Config{Time: func() time.Time { return now }}
	got, signer, err := openpgp.VerifyDetachedSignature(k.entities, bytes.NewReader(data), bytes.NewReader(raw), cfg)
	// go-crypto returns the signer together with ErrKeyExpired and
	// friends: any error at all is a refusal.
	if err != nil {
		return nil, mapVerifyError(err, keyID(*sig.IssuerKeyId), now)
	}
	if signer == nil || got == nil {
		return nil, verifyErr(ErrBadSignature, "signature by key %s did not verify", keyID(*sig.IssuerKeyId))
	}
	v := &Verified{
		Fingerprint: fingerprint(signer),
		KeyID:       keyID(*got.IssuerKeyId),
		Created:     got.CreationTime,
	}
	if id := signer.PrimaryIdentity(); id != nil {
		v.UID = id.Name
	}
	return v, nil
}

func isStrong(h crypto.Hash) bool {
	for _, s := range strongHashes {
		if h == s {
			return true
		}
	}
	return false
}

func mapVerifyError(err error, id string, now time.Time) error {
	at := now.UTC().Format(time.RFC3339)
	switch {
	case errors.Is(err, pgperrors.ErrKeyExpired):
		return verifyErr(ErrKeyExpired, "signing key %s expired (checked at %s): the vendor must extend or replace the key and re-sign", id, at)
	case errors.Is(err, pgperrors.ErrKeyRevoked):
		return verifyErr(ErrKeyRevoked, "signing key %s is revoked: remove it from the trusted key directory and get a repository signed with a valid key", id)
	case errors.Is(err, pgperrors.ErrSignatureExpired):
		return verifyErr(ErrSignatureExpired, "signature by key %s expired or is dated after %s: check the clock, or have the data re-signed", id, at)
	case errors.Is(err, pgperrors.ErrUnknownIssuer):
		return verifyErr(ErrUnknownKey, "signed by unknown key %s, not among the trusted keys", id)
	}
	var se pgperrors.SignatureError
	if errors.As(err, &se) {
		return verifyErr(ErrBadSignature, "bad signature by key %s: the data changed after it was signed, or the signature belongs to other data (%v)", id, err)
	}
	return verifyErr(ErrBadSignature, "signature by key %s does not verify: %v", id, err)
}

// parseSignatures decodes armored or binary signature bytes into their
// signature packets, and returns the binary form too.
func parseSignatures(signature []byte) ([]*packet.Signature, []byte, error) {
	if len(bytes.TrimSpace(signature)) == 0 {
		return nil, nil, verifyErr(ErrNoSignature, "signature is empty: the signature file is missing or was cut off")
	}
	if len(signature) > maxSignature {
		return nil, nil, verifyErr(ErrNoSignature, "signature is %d bytes, more than the %d a detached signature can need", len(signature), maxSignature)
	}
	raw := signature
	if bytes.Contains(signature, armorBegin) {
		block, err := armor.Decode(bytes.NewReader(signature))
		if err != nil {
			return nil, nil, verifyErr(ErrNoSignature, "signature is not a valid armored OpenPGP block: %v", err)
		}
		if block.Type != openpgp.SignatureType {
			return nil, nil, verifyErr(ErrNoSignature, "armored %q block where a %q was expected", block.Type, openpgp.SignatureType)
		}
		raw, err = io.ReadAll(block.Body)
		if err != nil {
			return nil, nil, verifyErr(ErrNoSignature, "signature armor is corrupt: %v", err)
		}
	}
	var sigs []*packet.Signature
	r := packet.NewReader(bytes.NewReader(raw))
	for {
		p, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, verifyErr(ErrNoSignature, "signature is not a valid OpenPGP signature: %v", err)
		}
		s, ok := p.(*packet.Signature)
		if !ok {
			return nil, nil, verifyErr(ErrNoSignature, "signature data holds an OpenPGP %T packet, not only signatures: not a detached signature", p)
		}
		if s.IssuerKeyId == nil {
			return nil, nil, verifyErr(ErrNoSignature, "OpenPGP signature names no issuer key")
		}
		sigs = append(sigs, s)
	}
	if len(sigs) == 0 {
		return nil, nil, verifyErr(ErrNoSignature, "no OpenPGP signature found in the signature data")
	}
	return sigs, raw, nil
}
