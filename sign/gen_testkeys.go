//go:build ignore

// gen_testkeys writes the fixed test keys under testdata/keys. Go 1.26
// ignores packet.Config.Rand in key generation, so tests cannot make the same
// key twice: they read these committed files instead. Run from the module
// root: go run ./sign/gen_testkeys.go
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hotfix-project/hotfix/sign"
)

func main() {
	created := func() time.Time { return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) }
	keys := []struct {
		name, uid  string
		passphrase string
	}{
		{"vendor", "Hotfix Test Vendor <vendor@example.com>", ""},
		{"other", "Hotfix Other Vendor <other@example.com>", ""},
		{"protected", "Hotfix Protected Key <protected@example.com>", "test-passphrase"},
	}
	for _, k := range keys {
		key, err := sign.GenerateKey(k.uid, sign.KeyOptions{Passphrase: []byte(k.passphrase), Now: created})
		check(err)
		sec, err := key.ArmoredSecret()
		check(err)
		pub, err := key.ArmoredPublic()
		check(err)
		check(os.WriteFile(filepath.Join("testdata", "keys", k.name+".sec.asc"), sec, 0o600))
		check(os.WriteFile(filepath.Join("testdata", "keys", k.name+".pub.asc"), pub, 0o644))
		fmt.Println(k.name, key.Fingerprint())
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
