package sign

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// keyFileExts are the file names LoadKeyring reads from a directory; a
// ".rev" file (gpg's name for a revocation certificate) may hold
// revocation certificates only.
var keyFileExts = []string{".asc", ".gpg", ".pub", ".key", revExt}

const revExt = ".rev"

var armorBegin = []byte("-----BEGIN PGP ")

// Keyring is a set of trusted public keys.
type Keyring struct {
	entities openpgp.EntityList
	// revocations are standalone revocation certificates read so far:
	// each applies to its key whichever file brings the key.
	revocations []revocation
	// secretFiles name the files that held secret key material, of
	// which only the public part was kept.
	secretFiles []string
}

// revocation is a key revocation signature and the file it came from.
type revocation struct {
	sig    *packet.Signature
	source string
}

// LoadKeyring reads trusted public keys from path: a key file (armored or
// binary, one key or several) or a directory, of which every regular *.asc,
// *.gpg, *.pub, *.key and *.rev file is read in name order. Secret keys
// count by their public part; revocation certificates revoke their key
// whichever file brings it.
func LoadKeyring(path string) (*Keyring, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load trusted keys: %w", err)
	}
	if !fi.IsDir() {
		data, err := readKeyFile(path)
		if err != nil {
			return nil, fmt.Errorf("load trusted keys: %w", err)
		}
		kr, err := parseWholeKeyring(data, path)
		if err != nil {
			return nil, fmt.Errorf("load trusted keys %s: %w", path, err)
		}
		return kr, nil
	}
	des, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("load trusted keys: %w", err)
	}
	kr := &Keyring{}
	for _, de := range des { // os.ReadDir sorts by name
		ext := strings.ToLower(filepath.Ext(de.Name()))
		if !slices.Contains(keyFileExts, ext) || isDocumentSignature(de.Name()) {
			continue
		}
		p := filepath.Join(path, de.Name())
		// Stat, not Lstat: key directories are often symlink farms
		// (/etc/pki/rpm-gpg), and the link's target is what counts.
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("load trusted keys: %w", err)
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		data, err := readKeyFile(p)
		if err != nil {
			return nil, fmt.Errorf("load trusted keys: %w", err)
		}
		one, err := parseKeyring(data, p)
		if err != nil {
			return nil, fmt.Errorf("load trusted keys %s: %w", p, err)
		}
		if ext == revExt && one.Len() > 0 {
			return nil, fmt.Errorf("load trusted keys %s: holds a key, and a %s file may hold revocation certificates only: rename it to %s.asc",
				p, revExt, strings.TrimSuffix(de.Name(), filepath.Ext(de.Name())))
		}
		kr.add(one.entities...)
		kr.revocations = append(kr.revocations, one.revocations...)
		kr.secretFiles = append(kr.secretFiles, one.secretFiles...)
	}
	if kr.Len() == 0 {
		return nil, fmt.Errorf("load trusted keys: no key files (%s) in directory %s: copy the vendor's public key there",
			strings.Join(keyFileExts, ", "), path)
	}
	if err := kr.applyRevocations(); err != nil {
		return nil, fmt.Errorf("load trusted keys: %w", err)
	}
	return kr, nil
}

// ParseKeyring reads public keys from the bytes of a key file: armored
// blocks (several may follow each other) or binary packets. A standalone
// revocation certificate (what gpg writes to openpgp-revocs.d, or
// --gen-revoke) revokes its key when the same bytes bring the key too.
func ParseKeyring(data []byte) (*Keyring, error) { return parseWholeKeyring(data, "") }

// parseWholeKeyring is ParseKeyring of the file named source ("" for
// bytes from elsewhere).
func parseWholeKeyring(data []byte, source string) (*Keyring, error) {
	kr, err := parseKeyring(data, source)
	if err != nil {
		return nil, err
	}
	if kr.Len() == 0 {
		return nil, errors.New("revocation certificates only, no key: put the vendor's public key beside them")
	}
	if err := kr.applyRevocations(); err != nil {
		return nil, err
	}
	return kr, nil
}

// parseKeyring reads the keys and revocation certificates of one file;
// source names it in errors.
func parseKeyring(data []byte, source string) (*Keyring, error) {
	entities, sigs, err := parseEntities(data)
	if err != nil {
		return nil, err
	}
	kr := &Keyring{}
	for _, e := range entities {
		if e.PrivateKey != nil {
			if e, err = publicOnly(e); err != nil {
				return nil, err
			}
			if source != "" && !slices.Contains(kr.secretFiles, source) {
				kr.secretFiles = append(kr.secretFiles, source)
			}
		}
		kr.add(e)
	}
	for _, sig := range sigs {
		kr.revocations = append(kr.revocations, revocation{sig, source})
	}
	return kr, nil
}

// applyRevocations adds each standalone revocation certificate to the key
// it revokes, once its signature by that very key verifies. A certificate
// for a key not in the keyring changes nothing (a site may keep those of
// keys it no longer trusts); one that does not verify is an error, since
// whoever placed it meant a key to be revoked.
func (k *Keyring) applyRevocations() error {
	for _, r := range k.revocations {
		var target *openpgp.Entity
		for _, e := range k.entities {
			pk := e.PrimaryKey
			if (len(r.sig.IssuerFingerprint) > 0 && bytes.Equal(r.sig.IssuerFingerprint, pk.Fingerprint)) ||
				(len(r.sig.IssuerFingerprint) == 0 && r.sig.IssuerKeyId != nil && *r.sig.IssuerKeyId == pk.KeyId) {
				target = e
				break
			}
		}
		if target == nil {
			continue
		}
		if err := target.PrimaryKey.VerifyRevocationSignature(r.sig); err != nil {
			where := ""
			if r.source != "" {
				where = " in " + r.source
			}
			// The certificate names only its issuer: a revocation of
			// another key by this one looks the same as a damaged one.
			return fmt.Errorf("revocation certificate%s, issued by key %s, does not verify against that key (%v): it is damaged, or it revokes another key (only a key's own revocation counts): remove it",
				where, fingerprint(target), err)
		}
		target.Revocations = append(target.Revocations, r.sig)
	}
	return nil
}

// NewKeyring makes a keyring of the public parts of entities.
func NewKeyring(entities ...*openpgp.Entity) (*Keyring, error) {
	kr := &Keyring{}
	for _, e := range entities {
		p, err := publicOnly(e)
		if err != nil {
			return nil, err
		}
		kr.add(p)
	}
	return kr, nil
}

// publicOnly returns a copy of e without secret key material, so that a
// trusted keyring never holds (or leaks) secrets.
func publicOnly(e *openpgp.Entity) (*openpgp.Entity, error) {
	var buf bytes.Buffer
	if err := e.Serialize(&buf); err != nil {
		return nil, fmt.Errorf("key %s: %w", fingerprint(e), err)
	}
	p, err := openpgp.ReadEntity(packet.NewReader(&buf))
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", fingerprint(e), err)
	}
	return p, nil
}

// add appends entities, merging a key seen twice so that a revocation in
// either copy wins whatever order the files came in.
func (k *Keyring) add(entities ...*openpgp.Entity) {
	for _, e := range entities {
		i := slices.IndexFunc(k.entities, func(o *openpgp.Entity) bool {
			return bytes.Equal(o.PrimaryKey.Fingerprint, e.PrimaryKey.Fingerprint)
		})
		if i < 0 {
			k.entities = append(k.entities, e)
			continue
		}
		merge(k.entities[i], e)
	}
}

func merge(dst, src *openpgp.Entity) {
	dst.Revocations = append(dst.Revocations, src.Revocations...)
	for name, id := range src.Identities {
		if have, ok := dst.Identities[name]; ok {
			have.Revocations = append(have.Revocations, id.Revocations...)
		} else {
			dst.Identities[name] = id
		}
	}
	for _, sk := range src.Subkeys {
		i := slices.IndexFunc(dst.Subkeys, func(o openpgp.Subkey) bool {
			return bytes.Equal(o.PublicKey.Fingerprint, sk.PublicKey.Fingerprint)
		})
		if i < 0 {
			dst.Subkeys = append(dst.Subkeys, sk)
		} else {
			dst.Subkeys[i].Revocations = append(dst.Subkeys[i].Revocations, sk.Revocations...)
		}
	}
}

// Len returns the number of keys.
func (k *Keyring) Len() int { return len(k.entities) }

// SecretKeyFiles names the files LoadKeyring read that held secret key
// material. Only their public parts are trusted, but a secret key belongs
// on the vendor's side: whoever can read such a file can sign what every
// holder of the keyring accepts, so callers warn about each.
func (k *Keyring) SecretKeyFiles() []string { return slices.Clone(k.secretFiles) }

// Fingerprints returns the primary key fingerprints, upper-case hex, in the
// order the keys were loaded.
func (k *Keyring) Fingerprints() []string {
	out := make([]string, len(k.entities))
	for i, e := range k.entities {
		out[i] = fingerprint(e)
	}
	return out
}

// Entities returns the keys, for callers that hand them to go-crypto
// directly (RPM header signatures).
func (k *Keyring) Entities() openpgp.EntityList { return k.entities }

// parseEntities reads every key in data, armored or binary, secret parts
// included, and the key revocation signatures of standalone revocation
// certificates.
func parseEntities(data []byte) ([]*openpgp.Entity, []*packet.Signature, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil, errors.New("empty file: not an OpenPGP key")
	}
	if !bytes.Contains(data, armorBegin) {
		if data[0]&0x80 == 0 {
			return nil, nil, errors.New("not an OpenPGP key (neither an armored block nor binary OpenPGP packets)")
		}
		return readKeysOrRevocations(data)
	}
	var all []*openpgp.Entity
	var sigs []*packet.Signature
	rest := data
	for {
		i := bytes.Index(rest, armorBegin)
		if i < 0 {
			break
		}
		rest = rest[i:]
		block, err := armor.Decode(bytes.NewReader(rest))
		if err != nil {
			return nil, nil, fmt.Errorf("corrupt armored block: %w", err)
		}
		if block.Type != openpgp.PublicKeyType && block.Type != openpgp.PrivateKeyType {
			return nil, nil, fmt.Errorf("armored %q block where a key was expected: not an OpenPGP key", block.Type)
		}
		body, err := io.ReadAll(block.Body)
		if err != nil {
			return nil, nil, fmt.Errorf("corrupt armored %s: %w", block.Type, err)
		}
		el, revs, err := readKeysOrRevocations(body)
		if err != nil {
			return nil, nil, err
		}
		all = append(all, el...)
		sigs = append(sigs, revs...)
		// Move past this block's END line to look for another.
		end := bytes.Index(rest, []byte("-----END PGP "))
		if end < 0 {
			break
		}
		rest = rest[end+len("-----END PGP "):]
	}
	if len(all) == 0 && len(sigs) == 0 {
		return nil, nil, errors.New("no OpenPGP key found")
	}
	return all, sigs, nil
}

// readKeysOrRevocations reads binary packets: keys, or else a revocation
// certificate (key revocation signatures and nothing else).
func readKeysOrRevocations(body []byte) ([]*openpgp.Entity, []*packet.Signature, error) {
	el, err := openpgp.ReadKeyRing(bytes.NewReader(body))
	if err == nil && len(el) > 0 {
		return el, nil, nil
	}
	sigs, serr := revocationSignatures(body)
	switch {
	case serr == nil:
		return nil, sigs, nil
	case !errors.Is(serr, errNotSignatures):
		return nil, nil, serr
	case err != nil:
		return nil, nil, fmt.Errorf("not a readable OpenPGP key or revocation certificate (%w): get the file again from its source", err)
	}
	return nil, nil, errors.New("no OpenPGP key found")
}

var errNotSignatures = errors.New("not signature packets")

// revocationSignatures returns the signatures of body when it holds key
// revocation signatures only; errNotSignatures when it does not start with
// a signature.
func revocationSignatures(body []byte) ([]*packet.Signature, error) {
	var sigs []*packet.Signature
	r := packet.NewReader(bytes.NewReader(body))
	for {
		p, err := r.Next()
		if err == io.EOF && len(sigs) > 0 {
			return sigs, nil
		}
		if err != nil {
			if len(sigs) == 0 {
				return nil, errNotSignatures
			}
			return nil, fmt.Errorf("damaged revocation certificate (%v): get it again from the key's owner", err)
		}
		sig, ok := p.(*packet.Signature)
		if !ok {
			if len(sigs) == 0 {
				return nil, errNotSignatures
			}
			return nil, errors.New("a revocation certificate followed by other packets: keep keys and revocation certificates in separate armored blocks")
		}
		if sig.SigType != packet.SigTypeKeyRevocation {
			return nil, fmt.Errorf("an OpenPGP signature of type %#x, not a key revocation certificate: only keys and their revocation certificates belong among the trusted keys", uint8(sig.SigType))
		}
		sigs = append(sigs, sig)
	}
}

// isDocumentSignature reports whether name is the detached signature of a
// JSON document (a repository's keys/N.root.json.asc beside its public
// keys): a copy of that folder is a valid key directory.
func isDocumentSignature(name string) bool {
	return strings.HasSuffix(strings.ToLower(name), ".json.asc")
}
