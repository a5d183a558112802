package sign

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

const keysDir = "../testdata/keys"

func testSigner(t *testing.T, name string) *Signer {
	t.Helper()
	s, err := LoadSigner(filepath.Join(keysDir, name+".sec.asc"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testKeyring(t *testing.T, names ...string) *Keyring {
	t.Helper()
	var all []byte
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(keysDir, n+".pub.asc"))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	kr, err := ParseKeyring(all)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func writeFile(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func wantErr(t *testing.T, err error, sentinel error, contains ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", sentinel)
	}
	if sentinel != nil && !errors.Is(err, sentinel) {
		t.Fatalf("error %q is not %v", err, sentinel)
	}
	for _, c := range contains {
		if !strings.Contains(err.Error(), c) {
			t.Errorf("error %q does not mention %q", err, c)
		}
	}
}

var fprRE = regexp.MustCompile(`^[0-9A-F]{40}$`)

func TestGenerateKey(t *testing.T) {
	now := func() time.Time { return time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC) }
	for _, tc := range []struct {
		name string
		opts KeyOptions
		algo packet.PublicKeyAlgorithm
	}{
		{"ed25519", KeyOptions{Now: now}, packet.PubKeyAlgoEdDSA},
		{"rsa2048", KeyOptions{RSABits: 2048, Now: now}, packet.PubKeyAlgoRSA},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := GenerateKey("Example Releases <releases@example.com>", tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !fprRE.MatchString(k.Fingerprint()) {
				t.Errorf("fingerprint %q is not 40 upper-case hex digits", k.Fingerprint())
			}
			e := k.Entity()
			if e.PrimaryKey.PubKeyAlgo != tc.algo || e.PrimaryKey.Version != 4 {
				t.Errorf("algorithm %v version %d, want %v v4", e.PrimaryKey.PubKeyAlgo, e.PrimaryKey.Version, tc.algo)
			}
			if len(e.Subkeys) != 0 {
				t.Errorf("%d subkeys, want a signing-only key", len(e.Subkeys))
			}
			if !e.PrimaryKey.CreationTime.Equal(now()) {
				t.Errorf("created %v, want %v", e.PrimaryKey.CreationTime, now())
			}
			pub, err := k.ArmoredPublic()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(pub, []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----")) || bytes.Contains(pub, []byte("PRIVATE")) {
				t.Errorf("public export looks wrong:\n%s", pub)
			}
			kr, err := ParseKeyring(pub)
			if err != nil {
				t.Fatal(err)
			}
			if got := kr.Fingerprints(); len(got) != 1 || got[0] != k.Fingerprint() {
				t.Errorf("keyring fingerprints %v, want [%s]", got, k.Fingerprint())
			}
			if id := kr.Entities()[0].PrimaryIdentity(); id == nil || id.Name != "Example Releases <releases@example.com>" {
				t.Errorf("uid %+v", id)
			}
			sec, err := k.ArmoredSecret()
			if err != nil {
				t.Fatal(err)
			}
			path := writeFile(t, filepath.Join(t.TempDir(), "k.sec"), sec)
			s, err := LoadSigner(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if s.Fingerprint() != k.Fingerprint() {
				t.Errorf("signer %s, key %s", s.Fingerprint(), k.Fingerprint())
			}
			sig, err := s.SignDetached([]byte("hello"))
			if err != nil {
				t.Fatal(err)
			}
			v, err := kr.Verify([]byte("hello"), sig, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if v.Fingerprint != k.Fingerprint() || v.UID != "Example Releases <releases@example.com>" {
				t.Errorf("verified %+v", v)
			}
		})
	}
}

func TestGenerateKeyRejects(t *testing.T) {
	for _, tc := range []struct {
		uid  string
		bits int
		want string
	}{
		{"", 0, "user id is empty"},
		{"   ", 0, "user id is empty"},
		{"releases@example.com", 0, "no <email>"},
		{"<releases@example.com>", 0, "no name"},
		{"Name <>", 0, "not an email address"},
		{"Name <no-at-sign>", 0, "not an email address"},
		{"Name <a@b@c>", 0, "not an email address"},
		{"Name (x) <a@example.com>", 0, "must not contain"},
		{"Name <a@example.com", 0, "no <email>"},
		{"Na\x01me <a@example.com>", 0, "control character"},
		{"Name <a@example.com>", 1024, "RSA key size 1024 not supported"},
		{"Name <a@example.com>", 3000, "use 2048, 3072 or 4096"},
	} {
		t.Run(tc.uid, func(t *testing.T) {
			_, err := GenerateKey(tc.uid, KeyOptions{RSABits: tc.bits})
			wantErr(t, err, nil, tc.want)
		})
	}
}

func TestPassphrase(t *testing.T) {
	k, err := GenerateKey("P <p@example.com>", KeyOptions{Passphrase: []byte("s3cret")})
	if err != nil {
		t.Fatal(err)
	}
	sec, _ := k.ArmoredSecret()
	dir := t.TempDir()
	fresh := writeFile(t, filepath.Join(dir, "fresh.sec.asc"), sec)
	for _, tc := range []struct {
		name, path, pass string
		want             error
		mention          []string
	}{
		{"fresh key, right passphrase", fresh, "s3cret", nil, nil},
		{"fresh key, no passphrase", fresh, "", ErrPassphraseRequired, []string{fresh, "HOTFIX_KEY_PASSPHRASE"}},
		{"fresh key, wrong passphrase", fresh, "guess", ErrWrongPassphrase, []string{fresh, "wrong passphrase"}},
		{"committed key, right passphrase", filepath.Join(keysDir, "protected.sec.asc"), "test-passphrase", nil, nil},
		{"committed key, wrong passphrase", filepath.Join(keysDir, "protected.sec.asc"), "nope", ErrWrongPassphrase, []string{"protected.sec.asc"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := LoadSigner(tc.path, []byte(tc.pass))
			if tc.want != nil {
				wantErr(t, err, tc.want, tc.mention...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			pub, _ := s.ArmoredPublic()
			kr, err := ParseKeyring(pub)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := s.SignDetached([]byte("data"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := kr.Verify([]byte("data"), sig, time.Now()); err != nil {
				t.Fatal(err)
			}
		})
	}
	if bytes.Contains(sec, []byte("s3cret")) {
		t.Error("passphrase appears in the secret key file")
	}
	// The armored secret must really be encrypted: loading it without a
	// passphrase is refused above, and its packets say so.
	e, _, err := parseEntities(sec)
	if err != nil || !e[0].PrivateKey.Encrypted {
		t.Fatalf("secret key not encrypted (err %v)", err)
	}
}

func TestLoadSignerErrors(t *testing.T) {
	dir := t.TempDir()
	pubBytes, _ := os.ReadFile(filepath.Join(keysDir, "vendor.pub.asc"))
	sigBytes, err := testSigner(t, "vendor").SignDetached([]byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	two := append(readTestFile(t, "vendor.sec.asc"), readTestFile(t, "other.sec.asc")...)
	for _, tc := range []struct {
		name    string
		data    []byte // nil: file does not exist
		want    error
		mention string
	}{
		{"missing", nil, fs.ErrNotExist, "no such file"},
		{"empty", []byte{}, nil, "empty file"},
		{"text", []byte("hello world\n"), nil, "not an OpenPGP key"},
		{"public key", pubBytes, ErrNotSecretKey, "public key, not a secret key"},
		{"signature", sigBytes, nil, `"PGP SIGNATURE" block`},
		{"two secret keys", two, nil, "2 secret keys"},
		{"binary garbage", []byte{0x99, 0x01, 0x02, 0x03}, nil, "not a readable OpenPGP key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			if tc.data != nil {
				writeFile(t, path, tc.data)
			}
			_, err := LoadSigner(path, nil)
			wantErr(t, err, tc.want, path, tc.mention)
		})
	}
}

func readTestFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(keysDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBinarySecretKey(t *testing.T) {
	s := testSigner(t, "vendor")
	var buf bytes.Buffer
	if err := s.Entity().SerializePrivateWithoutSigning(&buf, nil); err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, filepath.Join(t.TempDir(), "vendor.gpg"), buf.Bytes())
	s2, err := LoadSigner(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s2.Fingerprint() != s.Fingerprint() {
		t.Errorf("binary load gave %s, want %s", s2.Fingerprint(), s.Fingerprint())
	}
}

func TestVerify(t *testing.T) {
	data := []byte("{\"serial\": 7}\n")
	vendor := testSigner(t, "vendor")
	other := testSigner(t, "other")
	kr := testKeyring(t, "vendor")
	signedAt := time.Now().Add(-time.Minute).Truncate(time.Second)
	vendorSig, err := vendor.WithClock(func() time.Time { return signedAt }).SignDetached(data)
	if err != nil {
		t.Fatal(err)
	}
	binSig, err := vendor.SignDetachedBinary(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	otherSig, err := other.SignDetached(data)
	if err != nil {
		t.Fatal(err)
	}
	futureSig, err := vendor.WithClock(func() time.Time { return time.Now().Add(48 * time.Hour) }).SignDetached(data)
	if err != nil {
		t.Fatal(err)
	}

	// A key that expires an hour after its creation.
	t0 := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	short, err := GenerateKey("Short <short@example.com>", KeyOptions{Now: func() time.Time { return t0 }, Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	shortSig, err := short.Signer().WithClock(func() time.Time { return t0.Add(10 * time.Minute) }).SignDetached(data)
	if err != nil {
		t.Fatal(err)
	}
	shortKR, err := NewKeyring(short.Entity())
	if err != nil {
		t.Fatal(err)
	}

	// A revoked key, its revocation published with the key.
	rev, err := GenerateKey("Revoked <rev@example.com>", KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	revSig, err := rev.Signer().SignDetached(data)
	if err != nil {
		t.Fatal(err)
	}
	revPubBefore, _ := rev.ArmoredPublic()
	if err := rev.Entity().RevokeKey(packet.KeyCompromised, "test", nil); err != nil {
		t.Fatal(err)
	}
	revPubAfter, _ := rev.ArmoredPublic()
	revKR, err := ParseKeyring(revPubAfter)
	if err != nil {
		t.Fatal(err)
	}
	// The revocation must win even when an unrevoked copy comes first.
	revDir := t.TempDir()
	writeFile(t, filepath.Join(revDir, "a-old.asc"), revPubBefore)
	writeFile(t, filepath.Join(revDir, "b-revoked.asc"), revPubAfter)
	revDirKR, err := LoadKeyring(revDir)
	if err != nil {
		t.Fatal(err)
	}

	// A keyring from a directory that holds several keys, the signer's
	// among them.
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "01-other.pub"), readTestFile(t, "other.pub.asc"))
	writeFile(t, filepath.Join(dir, "02-vendor.asc"), readTestFile(t, "vendor.pub.asc"))
	dirKR, err := LoadKeyring(dir)
	if err != nil {
		t.Fatal(err)
	}

	tampered := bytes.Clone(data)
	tampered[3] ^= 1

	now := time.Now()
	for _, tc := range []struct {
		name    string
		kr      *Keyring
		data    []byte
		sig     []byte
		at      time.Time
		want    error
		mention []string
	}{
		{"good armored", kr, data, vendorSig, now, nil, nil},
		{"good binary", kr, data, binSig, now, nil, nil},
		{"good from directory keyring", dirKR, data, vendorSig, now, nil, nil},
		{"signature with surrounding whitespace", kr, data, append(append([]byte("\n\n"), vendorSig...), "\n\n"...), now, nil, nil},
		{"tampered data", kr, tampered, vendorSig, now, ErrBadSignature, []string{"data changed after it was signed"}},
		{"empty data", kr, nil, vendorSig, now, ErrBadSignature, nil},
		{"unknown key", kr, data, otherSig, now, ErrUnknownKey, []string{"unknown key 5833301A39EE26C0", "not among the trusted keys"}},
		{"empty signature", kr, data, nil, now, ErrNoSignature, []string{"signature is empty"}},
		{"blank signature", kr, data, []byte(" \n\t"), now, ErrNoSignature, []string{"signature is empty"}},
		{"garbage signature", kr, data, []byte("this is not a signature"), now, ErrNoSignature, []string{"not a valid OpenPGP signature"}},
		{"key instead of signature", kr, data, readTestFile(t, "vendor.pub.asc"), now, ErrNoSignature, []string{"PGP PUBLIC KEY BLOCK"}},
		{"binary key instead of signature", kr, data, kr.binaryForTest(t), now, ErrNoSignature, []string{"not only signatures"}},
		{"truncated armor", kr, data, vendorSig[:len(vendorSig)/2], now, ErrNoSignature, nil},
		{"truncated binary", kr, data, binSig[:len(binSig)-10], now, ErrNoSignature, nil},
		{"signature from the future", kr, data, futureSig, now, ErrSignatureExpired, []string{"check the clock"}},
		{"key valid at check time", shortKR, data, shortSig, t0.Add(30 * time.Minute), nil, nil},
		{"key expired", shortKR, data, shortSig, t0.Add(2 * time.Hour), ErrKeyExpired, []string{"expired", "2024-06-01T14:00:00Z"}},
		{"key revoked", revKR, data, revSig, now, ErrKeyRevoked, []string{"revoked"}},
		{"key revoked in a later file", revDirKR, data, revSig, now, ErrKeyRevoked, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := tc.kr.Verify(tc.data, tc.sig, tc.at)
			if tc.want != nil {
				if v != nil {
					t.Errorf("got Verified %+v together with an error", v)
				}
				wantErr(t, err, tc.want, tc.mention...)
				var ve *VerifyError
				if !errors.As(err, &ve) || ve.Reason == "" {
					t.Errorf("error %T is not a *VerifyError with a reason", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.Fingerprint != tc.kr.Fingerprints()[0] && v.Fingerprint != vendor.Fingerprint() {
				t.Errorf("fingerprint %s", v.Fingerprint)
			}
			if len(v.KeyID) != 16 || !strings.HasSuffix(v.Fingerprint, v.KeyID) {
				t.Errorf("key id %q does not end fingerprint %q", v.KeyID, v.Fingerprint)
			}
			if v.UID == "" || v.Created.IsZero() {
				t.Errorf("incomplete %+v", v)
			}
		})
	}
	v, err := kr.Verify(data, vendorSig, now)
	if err != nil {
		t.Fatal(err)
	}
	want := Verified{Fingerprint: vendor.Fingerprint(), KeyID: vendor.Fingerprint()[24:], UID: "Hotfix Test Vendor <vendor@example.com>", Created: signedAt}
	if *v != want {
		t.Errorf("Verified = %+v, want %+v", *v, want)
	}
}

// binaryForTest is the keyring's first key as binary packets.
func (k *Keyring) binaryForTest(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := k.entities[0].Serialize(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A signature file holding several signatures verifies when any of them
// is by a trusted key (key rotation: old and new key sign side by side).
func TestVerifyMultipleSignatures(t *testing.T) {
	data := []byte("payload")
	a, _ := testSigner(t, "other").SignDetachedBinary(bytes.NewReader(data))
	b, _ := testSigner(t, "vendor").SignDetachedBinary(bytes.NewReader(data))
	v, err := testKeyring(t, "vendor").Verify(data, append(a, b...), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if v.Fingerprint != testSigner(t, "vendor").Fingerprint() {
		t.Errorf("verified by %s", v.Fingerprint)
	}
}

func TestLoadKeyring(t *testing.T) {
	vendorPub := readTestFile(t, "vendor.pub.asc")
	otherPub := readTestFile(t, "other.pub.asc")
	vendorFpr := testSigner(t, "vendor").Fingerprint()
	otherFpr := testSigner(t, "other").Fingerprint()
	var binOther bytes.Buffer
	if err := testKeyring(t, "other").Entities()[0].Serialize(&binOther); err != nil {
		t.Fatal(err)
	}

	t.Run("file with two armored keys", func(t *testing.T) {
		p := writeFile(t, filepath.Join(t.TempDir(), "keys.asc"), append(append(bytes.Clone(vendorPub), "\n"...), otherPub...))
		kr, err := LoadKeyring(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(kr.Fingerprints(), ","); got != vendorFpr+","+otherFpr {
			t.Errorf("fingerprints %s", got)
		}
	})
	t.Run("binary file", func(t *testing.T) {
		p := writeFile(t, filepath.Join(t.TempDir(), "k.gpg"), binOther.Bytes())
		kr, err := LoadKeyring(p)
		if err != nil {
			t.Fatal(err)
		}
		if kr.Len() != 1 || kr.Fingerprints()[0] != otherFpr {
			t.Errorf("fingerprints %v", kr.Fingerprints())
		}
	})
	t.Run("directory", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "b.gpg"), binOther.Bytes())
		writeFile(t, filepath.Join(dir, "a.KEY"), readTestFile(t, "vendor.sec.asc")) // secret: public part only
		writeFile(t, filepath.Join(dir, "c.pub"), vendorPub)                         // duplicate: merged
		writeFile(t, filepath.Join(dir, "README"), []byte("not a key"))
		writeFile(t, filepath.Join(dir, "notes.txt"), []byte("not a key"))
		if err := os.Mkdir(filepath.Join(dir, "sub.asc"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(dir, "c.pub"), filepath.Join(dir, "d-link.asc")); err != nil {
			t.Fatal(err)
		}
		kr, err := LoadKeyring(dir)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(kr.Fingerprints(), ","); got != vendorFpr+","+otherFpr {
			t.Errorf("fingerprints %s, want vendor then other", got)
		}
		for _, e := range kr.Entities() {
			if e.PrivateKey != nil {
				t.Errorf("keyring holds secret key material of %s", fingerprint(e))
			}
			for _, s := range e.Subkeys {
				if s.PrivateKey != nil {
					t.Errorf("keyring holds secret subkey material")
				}
			}
		}
	})
	for _, tc := range []struct {
		name    string
		setup   func(dir string) string
		mention []string
	}{
		{"missing path", func(dir string) string { return filepath.Join(dir, "nope") }, []string{"no such file"}},
		{"empty directory", func(dir string) string { return dir }, []string{"no key files", "in directory"}},
		{"directory without key files", func(dir string) string {
			writeFile(t, filepath.Join(dir, "README.md"), []byte("x"))
			return dir
		}, []string{"no key files"}},
		{"corrupt key in directory", func(dir string) string {
			writeFile(t, filepath.Join(dir, "a.asc"), vendorPub)
			writeFile(t, filepath.Join(dir, "b.asc"), []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n"))
			return dir
		}, []string{"b.asc"}},
		{"text file", func(dir string) string { return writeFile(t, filepath.Join(dir, "k.asc"), []byte("hello")) }, []string{"k.asc", "not an OpenPGP key"}},
		{"signature file", func(dir string) string {
			sig, _ := testSigner(t, "vendor").SignDetached([]byte("x"))
			return writeFile(t, filepath.Join(dir, "k.asc"), sig)
		}, []string{"k.asc", "PGP SIGNATURE"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := tc.setup(dir)
			_, err := LoadKeyring(p)
			wantErr(t, err, nil, append(tc.mention, p)...)
		})
	}
}

func TestExportPublicHasNoSecret(t *testing.T) {
	s := testSigner(t, "vendor")
	var buf bytes.Buffer
	if err := ExportPublic(&buf, s.Entity()); err != nil {
		t.Fatal(err)
	}
	el, err := openpgp.ReadArmoredKeyRing(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if el[0].PrivateKey != nil {
		t.Error("public export carries a secret key")
	}
}

func FuzzParseKeyring(f *testing.F) {
	for _, n := range []string{"vendor.pub.asc", "other.sec.asc", "protected.sec.asc"} {
		b, err := os.ReadFile(filepath.Join(keysDir, n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// A key followed by its revocation certificate, and the certificate
	// alone, so the revocation path is fuzzed too.
	k, err := GenerateKey("Fuzz <fuzz@example.com>", KeyOptions{})
	if err != nil {
		f.Fatal(err)
	}
	pub, _ := k.ArmoredPublic()
	rev := revocationCert(f, k)
	f.Add(append(pub, rev...))
	f.Add(dearmor(f, rev))
	f.Add([]byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n-----END PGP PUBLIC KEY BLOCK-----\n"))
	f.Add([]byte{0x99, 0x00, 0x0d, 0x04})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		kr, err := ParseKeyring(data)
		if err == nil && kr.Len() == 0 {
			t.Error("no error and no keys")
		}
		_, _, _ = parseEntities(data)
	})
}

func FuzzVerify(f *testing.F) {
	kr, err := ParseKeyring(append(readFileF(f, "vendor.pub.asc"), readFileF(f, "other.pub.asc")...))
	if err != nil {
		f.Fatal(err)
	}
	s, err := LoadSigner(filepath.Join(keysDir, "vendor.sec.asc"), nil)
	if err != nil {
		f.Fatal(err)
	}
	data := []byte("data")
	armored, _ := s.SignDetached(data)
	binary, _ := s.SignDetachedBinary(bytes.NewReader(data))
	f.Add(armored)
	f.Add(binary)
	f.Add([]byte("-----BEGIN PGP SIGNATURE-----\n\n=AAAA\n-----END PGP SIGNATURE-----\n"))
	f.Add([]byte{0xc2, 0x00})
	f.Fuzz(func(t *testing.T, sig []byte) {
		v, err := kr.Verify(data, sig, time.Now())
		if (v == nil) == (err == nil) {
			t.Fatalf("Verify returned %v and %v", v, err)
		}
		var ve *VerifyError
		if err != nil && !errors.As(err, &ve) {
			t.Fatalf("error %T is not a *VerifyError: %v", err, err)
		}
	})
}

func readFileF(f *testing.F, name string) []byte {
	f.Helper()
	b, err := os.ReadFile(filepath.Join(keysDir, name))
	if err != nil {
		f.Fatal(err)
	}
	return b
}
