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

// keyFileExts are the file names LoadKeyring reads from a directory.
var keyFileExts = []string{".asc", ".gpg", ".pub", ".key"}

var armorBegin = []byte("-----BEGIN PGP ")

// Keyring is a set of trusted public keys.
type Keyring struct {
	entities openpgp.EntityList
}

// LoadKeyring reads trusted public keys from path: a key file (armored or
// binary, one key or several) or a directory, of which every regular *.asc,
// *.gpg, *.pub and *.key file is read in name order. Secret keys count by
// their public part.
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
		kr, err := ParseKeyring(data)
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
		if !slices.Contains(keyFileExts, strings.ToLower(filepath.Ext(de.Name()))) {
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
		one, err := ParseKeyring(data)
		if err != nil {
			return nil, fmt.Errorf("load trusted keys %s: %w", p, err)
		}
		kr.add(one.entities...)
	}
	if kr.Len() == 0 {
		return nil, fmt.Errorf("load trusted keys: no key files (%s) in directory %s: copy the vendor's public key there",
			strings.Join(keyFileExts, ", "), path)
	}
	return kr, nil
}

// ParseKeyring reads public keys from the bytes of a key file: armored
// blocks (several may follow each other) or binary packets.
func ParseKeyring(data []byte) (*Keyring, error) {
	entities, err := parseEntities(data)
	if err != nil {
		return nil, err
	}
	kr := &Keyring{}
	for _, e := range entities {
		if e.PrivateKey != nil {
			if e, err = publicOnly(e); err != nil {
				return nil, err
			}
		}
		kr.add(e)
	}
	return kr, nil
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
// included.
func parseEntities(data []byte) ([]*openpgp.Entity, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("empty file: not an OpenPGP key")
	}
	if !bytes.Contains(data, armorBegin) {
		if data[0]&0x80 == 0 {
			return nil, errors.New("not an OpenPGP key (neither an armored block nor binary OpenPGP packets)")
		}
		el, err := openpgp.ReadKeyRing(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("not a readable OpenPGP key: %w", err)
		}
		if len(el) == 0 {
			return nil, errors.New("no OpenPGP key found")
		}
		return el, nil
	}
	var all []*openpgp.Entity
	rest := data
	for {
		i := bytes.Index(rest, armorBegin)
		if i < 0 {
			break
		}
		rest = rest[i:]
		block, err := armor.Decode(bytes.NewReader(rest))
		if err != nil {
			return nil, fmt.Errorf("corrupt armored block: %w", err)
		}
		if block.Type != openpgp.PublicKeyType && block.Type != openpgp.PrivateKeyType {
			return nil, fmt.Errorf("armored %q block where a key was expected: not an OpenPGP key", block.Type)
		}
		body, err := io.ReadAll(block.Body)
		if err != nil {
			return nil, fmt.Errorf("corrupt armored %s: %w", block.Type, err)
		}
		el, err := openpgp.ReadKeyRing(bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("not a readable OpenPGP key: %w", err)
		}
		all = append(all, el...)
		// Move past this block's END line to look for another.
		end := bytes.Index(rest, []byte("-----END PGP "))
		if end < 0 {
			break
		}
		rest = rest[end+len("-----END PGP "):]
	}
	if len(all) == 0 {
		return nil, errors.New("no OpenPGP key found")
	}
	return all, nil
}
