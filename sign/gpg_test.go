package sign

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/testkit"
)

func mustGPG(t *testing.T, home string, args ...string) []byte {
	t.Helper()
	out, err := testkit.GPG(t, home, args...)
	if err != nil {
		t.Fatalf("gpg %v: %v\n%s", args, err, out)
	}
	return out
}

// gpg accepts the keys and signatures this package makes.
func TestGPGVerifiesOurSignatures(t *testing.T) {
	for _, tc := range []struct {
		name string
		bits int
	}{{"ed25519", 0}, {"rsa2048", 2048}} {
		t.Run(tc.name, func(t *testing.T) {
			home := testkit.GPGHome(t)
			dir := t.TempDir()
			k, err := GenerateKey("Interop Test <interop@example.com>", KeyOptions{RSABits: tc.bits})
			if err != nil {
				t.Fatal(err)
			}
			pub, _ := k.ArmoredPublic()
			mustGPG(t, home, "--import", writeFile(t, filepath.Join(dir, "pub.asc"), pub))

			data := []byte("channel index\nserial 3\n")
			sig, err := k.Signer().SignDetached(data)
			if err != nil {
				t.Fatal(err)
			}
			dataPath := writeFile(t, filepath.Join(dir, "index.json"), data)
			sigPath := writeFile(t, filepath.Join(dir, "index.json.asc"), sig)
			out := mustGPG(t, home, "--verify", sigPath, dataPath)
			if !bytes.Contains(out, []byte("Good signature")) || !bytes.Contains(out, []byte(k.Fingerprint()[24:])) {
				t.Errorf("gpg output lacks a good signature by %s:\n%s", k.Fingerprint(), out)
			}

			bin, err := k.Signer().SignDetachedBinary(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			mustGPG(t, home, "--verify", writeFile(t, filepath.Join(dir, "index.json.sig"), bin), dataPath)

			writeFile(t, dataPath, []byte("channel index\nserial 4\n"))
			out, err = testkit.GPG(t, home, "--verify", sigPath, dataPath)
			var ee *exec.ExitError
			if !errors.As(err, &ee) || !bytes.Contains(out, []byte("BAD signature")) {
				t.Errorf("gpg accepted tampered data (err %v):\n%s", err, out)
			}

			// gpg also reads and signs with the secret key file, encrypted
			// or not, and we verify what it signs.
			pk, err := GenerateKey("Secret Interop <s@example.com>", KeyOptions{RSABits: tc.bits, Passphrase: []byte("pw")})
			if err != nil {
				t.Fatal(err)
			}
			for _, kk := range []struct {
				key  *Key
				pass string
			}{{k, ""}, {pk, "pw"}} {
				sec, _ := kk.key.ArmoredSecret()
				loop := []string{"--passphrase", kk.pass, "--pinentry-mode", "loopback"}
				mustGPG(t, home, append(loop, "--import", writeFile(t, filepath.Join(dir, "sec.asc"), sec))...)
				gsig := filepath.Join(dir, "gpg-"+kk.key.Fingerprint()+".asc")
				mustGPG(t, home, append(loop, "--local-user", kk.key.Fingerprint(), "--armor", "--detach-sign", "--output", gsig, dataPath)...)
				kr, err := NewKeyring(kk.key.Entity())
				if err != nil {
					t.Fatal(err)
				}
				gs, _ := os.ReadFile(gsig)
				signed, _ := os.ReadFile(dataPath)
				if _, err := kr.Verify(signed, gs, time.Now()); err != nil {
					t.Errorf("signature gpg made with our secret key %s: %v", kk.key.Fingerprint(), err)
				}
			}
		})
	}
}

// Keyring.Verify accepts a signature gpg made with a key gpg made.
func TestVerifyGPGSignature(t *testing.T) {
	home := testkit.GPGHome(t)
	dir := t.TempDir()
	loop := []string{"--passphrase", "", "--pinentry-mode", "loopback"}
	mustGPG(t, home, append(loop, "--quick-gen-key", "T <t@example.com>", "ed25519", "sign", "never")...)
	pub := mustGPG(t, home, "--armor", "--export", "t@example.com")
	keyDir := t.TempDir()
	keyPath := writeFile(t, filepath.Join(keyDir, "gpg.asc"), pub)

	data := []byte("signed by gpg\n")
	dataPath := writeFile(t, filepath.Join(dir, "data"), data)
	sigPath := filepath.Join(dir, "data.asc")
	mustGPG(t, home, append(loop, "--armor", "--detach-sign", "--output", sigPath, dataPath)...)
	binPath := filepath.Join(dir, "data.sig")
	mustGPG(t, home, append(loop, "--detach-sign", "--output", binPath, dataPath)...)

	kr, err := LoadKeyring(keyDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{sigPath, binPath} {
		sig, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		v, err := kr.Verify(data, sig, time.Now())
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(p), err)
		}
		if v.Fingerprint != kr.Fingerprints()[0] || v.UID != "T <t@example.com>" {
			t.Errorf("%s: verified %+v", filepath.Base(p), v)
		}
		_, err = kr.Verify([]byte("signed by gpg?\n"), sig, time.Now())
		wantErr(t, err, ErrBadSignature)
	}
	if kr2, err := LoadKeyring(keyPath); err != nil || kr2.Len() != 1 {
		t.Fatalf("load %s: %v", keyPath, err)
	}
}
