package client

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/sign"
)

// signedSampleIndex returns the index and signature of a freshly built
// sample repository.
func signedSampleIndex(t testing.TB) (data, sig []byte, ix *repo.Index) {
	t.Helper()
	r := newRepo(t)
	data, err := os.ReadFile(r.indexPath())
	if err != nil {
		t.Fatal(err)
	}
	sig, err = os.ReadFile(r.indexPath() + repo.SigSuffix)
	if err != nil {
		t.Fatal(err)
	}
	ix, err = repo.ParseIndex(data)
	if err != nil {
		t.Fatal(err)
	}
	return data, sig, ix
}

func TestVerifyIndex(t *testing.T) {
	data, sig, ix := signedSampleIndex(t)
	kr := testKeyring(t, "vendor.pub.asc")
	good := IndexCheck{
		Keyring: kr, Product: "acme", Base: repo.MustParseVersion("2.4.1"),
		Now: ix.Generated.Add(time.Hour), LastSerial: ix.Serial, MaxSize: repo.MaxIndexSize,
	}
	changed := bytes.Replace(data, []byte(`"Round tax to cents"`), []byte(`"Round tax to dimes"`), 1)
	if bytes.Equal(changed, data) {
		t.Fatal("test index has no summary to change")
	}
	otherSig, err := testSigner(t, "other.sec.asc").SignDetached(data)
	if err != nil {
		t.Fatal(err)
	}
	// What a newer hotfix may write: a field this one does not know,
	// ignored; and the same field named critical, refused.
	newer := bytes.Replace(data, []byte(`"fixes": [`), []byte(`"mirrors": ["https://m.example"], "fixes": [`), 1)
	critical := bytes.Replace(newer, []byte(`"fixes": [`), []byte(`"critical": ["mirrors"], "fixes": [`), 1)
	if bytes.Equal(newer, data) || bytes.Equal(critical, newer) {
		t.Fatal("test index has no fixes to put a field before")
	}
	tests := []struct {
		name     string
		data     []byte
		sig      []byte
		edit     func(*IndexCheck)
		sentinel error
		msg      []string // substrings the message must hold
	}{
		{name: "good", data: data, sig: sig},
		{name: "first sight of the channel", data: data, sig: sig, edit: func(c *IndexCheck) { c.LastSerial = 0 }},
		{name: "changed after signing", data: changed, sig: sig, sentinel: sign.ErrBadSignature,
			msg: []string{"index for acme 2.4.1", "bad signature", "changed after it was signed"}},
		{name: "unknown key", data: data, sig: otherSig, sentinel: sign.ErrUnknownKey, edit: func(c *IndexCheck) {
			c.TrustedKeys = "trusted_keys (/etc/hotfix/trusted.d)"
		}, msg: []string{"index for acme 2.4.1", "unknown key", "add its public key to trusted_keys (/etc/hotfix/trusted.d)"}},
		{name: "unknown key, a mirror's keyring", data: data, sig: otherSig, sentinel: sign.ErrUnknownKey, edit: func(c *IndexCheck) {
			c.TrustedKeys = "the mirror's keyring /srv/keys"
		}, msg: []string{"unknown key", "add its public key to the mirror's keyring /srv/keys"}},
		{name: "empty keyring", data: data, sig: sig, edit: func(c *IndexCheck) {
			c.Keyring = testKeyring(t, "other.pub.asc")
		}, sentinel: sign.ErrUnknownKey, msg: []string{"unknown key"}},
		{name: "replayed", data: data, sig: sig, edit: func(c *IndexCheck) { c.LastSerial = ix.Serial + 1 }, sentinel: ErrReplayed,
			msg: []string{"index for acme 2.4.1", "serial 1 is lower than serial 2 seen before", "replayed"}},
		{name: "expired", data: data, sig: sig, edit: func(c *IndexCheck) { c.Now = ix.Expires.Add(time.Minute) }, sentinel: ErrExpired,
			msg: []string{"index for acme 2.4.1 expired on " + ix.Expires.UTC().Format("2006-01-02") + " ", `: the vendor must re-run "hotfix repo build"`}},
		{name: "expires exactly now is still good", data: data, sig: sig, edit: func(c *IndexCheck) { c.Now = ix.Expires }},
		{name: "oversized", data: data, sig: sig, edit: func(c *IndexCheck) { c.MaxSize = int64(len(data) - 1) }, sentinel: ErrTooLarge,
			msg: []string{"index for acme 2.4.1", "larger than allowed", "max_index_size"}},
		{name: "another product", data: data, sig: sig, edit: func(c *IndexCheck) { c.Product = "shop" }, sentinel: ErrMismatch,
			msg: []string{"index for shop 2.4.1", "the signed index is for acme 2.4.1"}},
		{name: "another base", data: data, sig: sig, edit: func(c *IndexCheck) { c.Base = repo.MustParseVersion("2.4.2") }, sentinel: ErrMismatch,
			msg: []string{"index for acme 2.4.2", "the signed index is for acme 2.4.1"}},
		{name: "garbage signature", data: data, sig: []byte("-----BEGIN PGP SIGNATURE-----\n\nbm9wZQ==\n-----END PGP SIGNATURE-----\n"),
			msg: []string{"index for acme 2.4.1"}},
		{name: "random signature bytes", data: data, sig: []byte{0x88, 0x01, 0xff, 0x00, 0x13}, msg: []string{"index for acme 2.4.1"}},
		{name: "no signature", data: data, sig: nil, msg: []string{"index for acme 2.4.1"}},
		{name: "signature of other data", data: data, sig: mustSign(t, []byte("{}")), sentinel: sign.ErrBadSignature,
			msg: []string{"index for acme 2.4.1", "bad signature"}},
		{name: "a field a newer hotfix added", data: newer, sig: mustSign(t, newer)},
		{name: "a field a newer hotfix added, named critical", data: critical, sig: mustSign(t, critical), sentinel: repo.ErrCriticalField,
			msg: []string{"index for acme 2.4.1", `"mirrors"`, "upgrade hotfix on this server"}},
		{name: "signed garbage", data: []byte("not json"), sig: mustSign(t, []byte("not json")),
			msg: []string{"index for acme 2.4.1", "malformed index"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			if tt.edit != nil {
				tt.edit(&c)
			}
			got, err := VerifyIndex(tt.data, tt.sig, c)
			if tt.msg == nil {
				if err != nil {
					t.Fatalf("VerifyIndex: %v", err)
				}
				if got.Serial != ix.Serial || len(got.Fixes) != 3 {
					t.Fatalf("got serial %d with %d fixes", got.Serial, len(got.Fixes))
				}
				return
			}
			if err == nil {
				t.Fatal("VerifyIndex accepted it")
			}
			if got != nil {
				t.Error("VerifyIndex returned an index with an error")
			}
			var te *TrustError
			if !errors.As(err, &te) {
				t.Errorf("error %T is not a *TrustError: %v", err, err)
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("error is not %v: %v", tt.sentinel, err)
			}
			for _, m := range tt.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("message %q does not contain %q", err, m)
				}
			}
		})
	}
}

func mustSign(t testing.TB, data []byte) []byte {
	t.Helper()
	s, err := testSigner(t, "vendor.sec.asc").SignDetached(data)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPending(t *testing.T) {
	_, _, ix := signedSampleIndex(t)
	for _, tt := range []struct {
		latest string
		want   []string
	}{
		{"2.4.1", []string{"2.4.1.1", "2.4.1.2", "2.4.1.3"}},
		{"2.4.1.1", []string{"2.4.1.2", "2.4.1.3"}},
		{"2.4.1.3", nil},
	} {
		var got []string
		for _, f := range Pending(ix, repo.MustParseVersion(tt.latest)) {
			got = append(got, f.Version.String())
		}
		if strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("Pending after %s = %v, want %v", tt.latest, got, tt.want)
		}
	}
}
