package sign

import (
	"bytes"
	"errors"
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
func revocationCert(t *testing.T, k *Key) []byte {
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
		{"revocation by another key", map[string][]byte{"vendor.asc": vendorPub, "other.asc": otherPub, "other.rev.asc": otherRev}, nil, nil},
		{"damaged revocation", map[string][]byte{"vendor.asc": vendorPub, "vendor.rev.asc": forged}, nil, []string{"vendor.rev.asc", "does not verify", vendor.Fingerprint()}},
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
	if _, err := ParseKeyring(vendorRev); err == nil || !strings.Contains(err.Error(), "no OpenPGP key") {
		t.Errorf("ParseKeyring(revocation only) = %v, want an error saying there is no key", err)
	}
}

// damageRevocation flips a bit near the end of the certificate's packet,
// inside the signature value.
func damageRevocation(t *testing.T, cert []byte) []byte {
	t.Helper()
	block, err := armor.Decode(bytes.NewReader(cert))
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	body.ReadFrom(block.Body)
	raw := body.Bytes()
	raw[len(raw)-3] ^= 0x01
	var out bytes.Buffer
	w, _ := armor.Encode(&out, openpgp.PublicKeyType, nil)
	w.Write(raw)
	w.Close()
	return out.Bytes()
}

// The revocation certificate gpg writes when it makes a key revokes that
// key for hotfix, once the colon gpg puts before it is removed (as gpg's
// own instructions in the file say).
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
	rev = bytes.Replace(rev, []byte(":-----BEGIN PGP PUBLIC KEY BLOCK-----"), []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----"), 1)

	keys := t.TempDir()
	writeFile(t, filepath.Join(keys, "vendor.asc"), pub)
	kr, err := LoadKeyring(keys)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Verify([]byte("channel index\n"), sig, time.Now()); err != nil {
		t.Fatalf("gpg's signature before the revocation: %v", err)
	}
	writeFile(t, filepath.Join(keys, "vendor.rev"), rev)
	// .rev is not a key file name: only .asc and friends are read.
	if kr, err = LoadKeyring(keys); err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Verify([]byte("channel index\n"), sig, time.Now()); err != nil {
		t.Fatalf("a .rev file was read: %v", err)
	}
	writeFile(t, filepath.Join(keys, "vendor-revoked.asc"), rev)
	if kr, err = LoadKeyring(keys); err != nil {
		t.Fatal(err)
	}
	_, err = kr.Verify([]byte("channel index\n"), sig, time.Now())
	if !errors.Is(err, ErrKeyRevoked) {
		t.Fatalf("Verify after gpg's revocation certificate = %v, want ErrKeyRevoked", err)
	}
}
