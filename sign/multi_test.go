package sign

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/testkit"
)

func multiKey(t *testing.T, name string) *Key {
	t.Helper()
	k, err := GenerateKey(name+" <"+name+"@example.com>", KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pubOf(t *testing.T, k *Key) []byte {
	t.Helper()
	b, err := k.ArmoredPublic()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSignedByCountsEachGoodSigner(t *testing.T) {
	a, b, c := multiKey(t, "a"), multiKey(t, "b"), multiKey(t, "c")
	data := []byte("key list\n")
	keys := map[string][]byte{a.Fingerprint(): pubOf(t, a), b.Fingerprint(): pubOf(t, b), c.Fingerprint(): pubOf(t, c)}
	other, err := SignDetachedMulti([]byte("other data"), a.Signer())
	if err != nil {
		t.Fatal(err)
	}
	good, err := SignDetachedMulti(data, b.Signer(), a.Signer(), a.Signer())
	if err != nil {
		t.Fatal(err)
	}
	// A bad signature by c in front of good ones by a and b.
	badC, _ := SignDetachedMulti([]byte("tampered"), c.Signer())
	mixed := append(armoredToBinary(t, badC), armoredToBinary(t, good)...)
	tests := []struct {
		name string
		sig  []byte
		want []string
	}{
		{"two keys, one twice", good, sorted(a.Fingerprint(), b.Fingerprint())},
		{"a bad signature hides no good one", mixed, sorted(a.Fingerprint(), b.Fingerprint())},
		{"signature of other data", other, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SignedBy(data, tt.sig, keys, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("signers %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := SignedBy(data, nil, keys, time.Now()); err == nil {
		t.Fatal("an empty signature is no error")
	}
}

func sorted(s ...string) []string { slices.Sort(s); return s }

func armoredToBinary(t *testing.T, armored []byte) []byte {
	t.Helper()
	_, raw, err := parseSignatures(armored)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestKeyringOfBindsFingerprints(t *testing.T) {
	a, b := multiKey(t, "a"), multiKey(t, "b")
	sec, _ := a.ArmoredSecret()
	tests := []struct {
		name string
		keys map[string][]byte
		want string
	}{
		{"key under another fingerprint", map[string][]byte{a.Fingerprint(): pubOf(t, b)}, "the key material is key " + b.Fingerprint()},
		{"two keys under one fingerprint", map[string][]byte{a.Fingerprint(): append(pubOf(t, a), pubOf(t, b)...)}, "not exactly one public key"},
		{"secret key", map[string][]byte{a.Fingerprint(): sec}, "secret key material"},
		{"garbage", map[string][]byte{a.Fingerprint(): []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxx\n")}, "listed key " + a.Fingerprint()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := KeyringOf(tt.keys)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	kr, err := KeyringOf(map[string][]byte{a.Fingerprint(): pubOf(t, a), b.Fingerprint(): pubOf(t, b)})
	if err != nil || kr.Len() != 2 {
		t.Fatalf("kr=%v err=%v", kr, err)
	}
}

// gpg reads a block of several signatures and reports each signer.
func TestGPGVerifiesMultiSignature(t *testing.T) {
	a, b := multiKey(t, "a"), multiKey(t, "b")
	dir := t.TempDir()
	data := []byte("{\"version\": 1}\n")
	sig, err := SignDetachedMulti(data, a.Signer(), b.Signer())
	if err != nil {
		t.Fatal(err)
	}
	home := testkit.GPGHome(t)
	mustGPG(t, home, "--import", writeFile(t, filepath.Join(dir, "a.asc"), pubOf(t, a)))
	mustGPG(t, home, "--import", writeFile(t, filepath.Join(dir, "b.asc"), pubOf(t, b)))
	out := string(mustGPG(t, home, "--verify", writeFile(t, filepath.Join(dir, "d.asc"), sig), writeFile(t, filepath.Join(dir, "d"), data)))
	if strings.Count(out, "Good signature") != 2 {
		t.Fatalf("gpg did not report two good signatures:\n%s", out)
	}
}
