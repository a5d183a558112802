package rpm

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/sign"
)

// Test keys shared by the whole project.
var (
	vendorSecret = filepath.Join("..", "..", "testdata", "keys", "vendor.sec.asc")
	vendorPublic = filepath.Join("..", "..", "testdata", "keys", "vendor.pub.asc")
	otherPublic  = filepath.Join("..", "..", "testdata", "keys", "other.pub.asc")
)

// testEpoch is the fixed SOURCE_DATE_EPOCH of the test archives.
var testEpoch = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func vendorSigner(t testing.TB) *sign.Signer {
	t.Helper()
	s, err := sign.LoadSigner(vendorSecret, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func keyringCheck(t testing.TB, path string, now time.Time) repo.CheckSignature {
	t.Helper()
	kr, err := sign.LoadKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	return func(data, sig []byte) error {
		_, err := kr.Verify(data, sig, now)
		return err
	}
}
