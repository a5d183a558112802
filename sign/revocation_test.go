package sign

import (
	"bytes"
	"crypto"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/hotfix-project/hotfix/internal/testkit"
)

// revocationCert returns a standalone revocation certificate of k's key,
// armored as gpg writes one: a public key block holding only the key
// revocation signature.
func revocationCert(t testing.TB, k *Key) []byte {
	t.Helper()
	e := k.Entity()
	if err := e.RevokeKey(packet.KeyCompromised, "leaked", nil); err != nil {
		t.Fatal(err)
	}
	sig := e.Revocations[len(e.Revocations)-1]
	e.Revocations = e.Revocations[:len(e.Revocations)-1] // k itself stays unrevoked
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sig.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return buf.Bytes()
}

// A revocation certificate dropped into the trusted key directory revokes
// its key, in whichever order the files come; one for a key that is not
// trusted changes nothing; one that does not verify is refused by name.
func TestStandaloneRevocation(t *testing.T) {
	data := []byte("channel index\n")
	now := time.Now()
	vendor, err := GenerateKey("Vendor <v@example.com>", KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := GenerateKey("Other <o@example.com>", KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sig, err := vendor.Signer().SignDetached(data)
	if err != nil {
		t.Fatal(err)
	}
	vendorPub, _ := vendor.ArmoredPublic()
	otherPub, _ := other.ArmoredPublic()
	vendorRev := revocationCert(t, vendor)
	otherRev := revocationCert(t, other)
	// The same certificate with its signature value damaged: it still
	// parses, but no longer verifies.
	forged := damageRevocation(t, vendorRev)
	// A revocation of the vendor's key issued by the other key: only a
	// key's own revocation counts.
	byOther := armorPackets(t, otherRevokes(t, other, vendor))
	// A document signature where a revocation certificate belongs.
	docSig := armorPackets(t, dearmor(t, sig))

	cases := []struct {
		name    string
		files   map[string][]byte
		wantErr error    // from Verify
		loadErr []string // from LoadKeyring
	}{
		{"no revocation", map[string][]byte{"vendor.asc": vendorPub}, nil, nil},
		{"revocation after the key", map[string][]byte{"a-vendor.asc": vendorPub, "b-vendor.rev.asc": vendorRev}, ErrKeyRevoked, nil},
		{"revocation before the key", map[string][]byte{"a-vendor.rev.asc": vendorRev, "b-vendor.asc": vendorPub}, ErrKeyRevoked, nil},
		{"revocation in the key's file", map[string][]byte{"vendor.asc": append(append([]byte{}, vendorPub...), vendorRev...)}, ErrKeyRevoked, nil},
		{"revocation of a key not trusted", map[string][]byte{"vendor.asc": vendorPub, "other.rev.asc": otherRev}, nil, nil},
		{"revocation of another trusted key", map[string][]byte{"vendor.asc": vendorPub, "other.asc": otherPub, "other.rev.asc": otherRev}, nil, nil},
		{"gpg's .rev name", map[string][]byte{"vendor.asc": vendorPub, "vendor.rev": vendorRev}, ErrKeyRevoked, nil},
		{"damaged revocation", map[string][]byte{"vendor.asc": vendorPub, "vendor.rev.asc": forged}, nil, []string{"vendor.rev.asc", "does not verify", vendor.Fingerprint(), "remove it"}},
		{"revocation issued by another key", map[string][]byte{"vendor.asc": vendorPub, "other.asc": otherPub, "x.rev": byOther}, nil, []string{"x.rev", "issued by key " + other.Fingerprint(), "revokes another key"}},
		{"truncated revocation", map[string][]byte{"vendor.asc": vendorPub, "vendor.rev": armorPackets(t, dearmor(t, vendorRev)[:20])}, nil, []string{"vendor.rev", "revocation certificate", "get"}},
		{"document signature", map[string][]byte{"vendor.asc": vendorPub, "sig.asc": docSig}, nil, []string{"sig.asc", "not a key revocation certificate"}},
		{"a key in a .rev file", map[string][]byte{"vendor.asc": vendorPub, "other.rev": otherPub}, nil, []string{"other.rev", "rename it to other.asc"}},
		{"revocations only", map[string][]byte{"vendor.rev": vendorRev}, nil, []string{"no key"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, b := range c.files {
				writeFile(t, filepath.Join(dir, name), b)
			}
			kr, err := LoadKeyring(dir)
			if c.loadErr != nil {
				if err == nil {
					t.Fatal("LoadKeyring accepted a revocation that does not verify")
				}
				for _, s := range c.loadErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q lacks %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err = kr.Verify(data, sig, now)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("Verify = %v, want %v", err, c.wantErr)
			}
		})
	}

	// A file of revocations alone is not a keyring.
	revOnly := writeFile(t, filepath.Join(t.TempDir(), "vendor.asc"), vendorRev)
	if _, err := LoadKeyring(revOnly); err == nil || !strings.Contains(err.Error(), "no key: put the vendor's public key beside them") {
		t.Errorf("LoadKeyring(revocation only) = %v, want an error saying there is no key", err)
	}
}

// otherRevokes returns a key revocation signature over target's key
// issued by issuer.
func otherRevokes(t *testing.T, issuer, target *Key) []byte {
	t.Helper()
	priv := issuer.Entity().PrivateKey
	sig := &packet.Signature{
		Version:           priv.Version,
		SigType:           packet.SigTypeKeyRevocation,
		PubKeyAlgo:        priv.PubKeyAlgo,
		Hash:              crypto.SHA256,
		CreationTime:      time.Now(),
		IssuerKeyId:       &priv.KeyId,
		IssuerFingerprint: priv.Fingerprint,
	}
	if err := sig.RevokeKey(target.Entity().PrimaryKey, priv, nil); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := sig.Serialize(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// dearmor returns the packets of an armored block.
func dearmor(t testing.TB, armored []byte) []byte {
	t.Helper()
	block, err := armor.Decode(bytes.NewReader(armored))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(block.Body)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// armorPackets armors raw packets as a public key block, as a revocation
// certificate is.
func armorPackets(t *testing.T, raw []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := armor.Encode(&out, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(raw)
	w.Close()
	return out.Bytes()
}

// damageRevocation flips a bit near the end of the certificate's packet,
// inside the signature value.
func damageRevocation(t *testing.T, cert []byte) []byte {
	t.Helper()
	raw := dearmor(t, cert)
	raw[len(raw)-3] ^= 0x01
	return armorPackets(t, raw)
}

// The revocation certificate gpg writes when it makes a key, copied in as
// gpg wrote it (name, explanation and the colon before its armor line),
// revokes that key for hotfix.
func TestGPGRevocationCertificate(t *testing.T) {
	home := testkit.GPGHome(t)
	mustGPG(t, home, "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key", "GPG Vendor <gv@example.com>", "ed25519", "sign", "0")
	pub := mustGPG(t, home, "--armor", "--export", "gv@example.com")
	dir := t.TempDir()
	data := writeFile(t, filepath.Join(dir, "index.json"), []byte("channel index\n"))
	mustGPG(t, home, "--armor", "--detach-sign", "--output", data+".asc", data)
	sig, _ := os.ReadFile(data + ".asc")
	revs, err := filepath.Glob(filepath.Join(home, "openpgp-revocs.d", "*.rev"))
	if err != nil || len(revs) != 1 {
		t.Fatalf("gpg wrote %d revocation certificates (%v), want 1", len(revs), err)
	}
	rev, err := os.ReadFile(revs[0])
	if err != nil {
		t.Fatal(err)
	}

	keys := t.TempDir()
	writeFile(t, filepath.Join(keys, "vendor.asc"), pub)
	kr, err := LoadKeyring(keys)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Verify([]byte("channel index\n"), sig, time.Now()); err != nil {
		t.Fatalf("gpg's signature before the revocation: %v", err)
	}
	writeFile(t, filepath.Join(keys, filepath.Base(revs[0])), rev)
	if kr, err = LoadKeyring(keys); err != nil {
		t.Fatal(err)
	}
	_, err = kr.Verify([]byte("channel index\n"), sig, time.Now())
	if !errors.Is(err, ErrKeyRevoked) {
		t.Fatalf("Verify after gpg's revocation certificate = %v, want ErrKeyRevoked", err)
	}
}
