package client

import (
	"os"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/repo"
)

// FuzzVerifyIndex feeds arbitrary index and signature bytes to VerifyIndex:
// it must never panic, and whatever it accepts must be a valid index of the
// expected channel, signed by the trusted key.
func FuzzVerifyIndex(f *testing.F) {
	r := newRepo(f)
	data, err := os.ReadFile(r.indexPath())
	if err != nil {
		f.Fatal(err)
	}
	sig, err := os.ReadFile(r.indexPath() + repo.SigSuffix)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data, sig)
	f.Add(data, []byte{})
	f.Add([]byte{}, sig)
	f.Add([]byte("{}"), mustSign(f, []byte("{}")))
	f.Add([]byte(`{"format":1,"product":"acme","base":"2.4.1","serial":1}`), []byte("-----BEGIN PGP SIGNATURE-----\n\n-----END PGP SIGNATURE-----\n"))
	f.Add(data[:len(data)/2], sig[:len(sig)/2])
	kr := testKeyring(f, "vendor.pub.asc")
	base := repo.MustParseVersion("2.4.1")
	now := time.Now()
	f.Fuzz(func(t *testing.T, data, sig []byte) {
		ix, err := VerifyIndex(data, sig, IndexCheck{Keyring: kr, Product: "acme", Base: base, Now: now, LastSerial: 1, MaxSize: 1 << 20})
		if err != nil {
			if ix != nil {
				t.Fatal("index returned with an error")
			}
			return
		}
		if ix.Product != "acme" || !ix.Base.Equal(base) || ix.Serial < 1 || now.After(ix.Expires) {
			t.Fatalf("accepted a wrong index: %+v", ix)
		}
	})
}
