package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/sign"
)

func runHotfix(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Execute(context.Background(), args, Streams{Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

func TestKeyGenerate(t *testing.T) {
	for _, tc := range []struct {
		name, passphrase string
		extra            []string
		algo             string
	}{
		{"ed25519", "", nil, "ed25519"},
		{"ed25519 with passphrase", "pass phrase", nil, "ed25519"},
		{"rsa2048", "", []string{"--rsa", "2048"}, "rsa2048"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(passphraseEnv, tc.passphrase)
			dir := t.TempDir()
			sec := filepath.Join(dir, "vendor.sec.asc")
			pub := filepath.Join(dir, "vendor.pub.asc")
			args := append([]string{"key", "generate", "--uid", "Example Releases <releases@example.com>", "--secret", sec, "--public", pub}, tc.extra...)
			code, out, errOut := runHotfix(t, args...)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			for _, want := range []string{tc.algo, sec, pub, "trusted_keys"} {
				if !strings.Contains(out, want) {
					t.Errorf("output does not mention %q:\n%s", want, out)
				}
			}
			for path, mode := range map[string]os.FileMode{sec: 0o600, pub: 0o644} {
				fi, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != mode {
					t.Errorf("%s has mode %v, want %v", path, fi.Mode().Perm(), mode)
				}
			}
			if leftovers, _ := filepath.Glob(filepath.Join(dir, ".*")); len(leftovers) > 0 {
				t.Errorf("temporary files left behind: %v", leftovers)
			}

			s, err := sign.LoadSigner(sec, []byte(tc.passphrase))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out, s.Fingerprint()) {
				t.Errorf("output lacks fingerprint %s:\n%s", s.Fingerprint(), out)
			}
			if tc.passphrase != "" {
				if _, err := sign.LoadSigner(sec, nil); err == nil {
					t.Error("secret key written without encryption although a passphrase was set")
				}
			}
			kr, err := sign.LoadKeyring(pub)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := s.SignDetached([]byte("x"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := kr.Verify([]byte("x"), sig, time.Now()); err != nil {
				t.Fatal(err)
			}

			// A second run must not touch the existing key.
			before, _ := os.ReadFile(sec)
			code, _, errOut = runHotfix(t, args...)
			if code != ExitError || !strings.Contains(errOut, sec) || !strings.Contains(errOut, "refusing to overwrite") {
				t.Errorf("second run: exit %d, stderr %q; want exit 1 naming %s", code, errOut, sec)
			}
			after, _ := os.ReadFile(sec)
			if !bytes.Equal(before, after) {
				t.Error("existing secret key was changed")
			}
		})
	}
}

func TestKeyGenerateJSON(t *testing.T) {
	t.Setenv(passphraseEnv, "")
	dir := t.TempDir()
	code, out, errOut := runHotfix(t, "--json", "key", "generate", "--uid", "A <a@example.com>",
		"--secret", filepath.Join(dir, "s"), "--public", filepath.Join(dir, "p"))
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got struct {
		Fingerprint, Algorithm, Secret, Public string
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(got.Fingerprint) != 40 || got.Algorithm != "ed25519" || got.Secret != filepath.Join(dir, "s") {
		t.Errorf("json %+v", got)
	}
}

func TestKeyGenerateRefuses(t *testing.T) {
	t.Setenv(passphraseEnv, "")
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing.asc")
	if err := os.WriteFile(existing, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	uid := "A <a@example.com>"
	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		mention string
	}{
		{"bad rsa size", []string{"--uid", uid, "--secret", filepath.Join(dir, "s1"), "--public", filepath.Join(dir, "p1"), "--rsa", "1024"}, ExitUsage, "--rsa 1024"},
		{"rsa not a number", []string{"--uid", uid, "--secret", filepath.Join(dir, "s1"), "--public", filepath.Join(dir, "p1"), "--rsa", "big"}, ExitUsage, "--rsa"},
		{"no uid", []string{"--secret", filepath.Join(dir, "s1"), "--public", filepath.Join(dir, "p1")}, ExitUsage, "--uid is required"},
		{"malformed uid", []string{"--uid", "just a name", "--secret", filepath.Join(dir, "s1"), "--public", filepath.Join(dir, "p1")}, ExitUsage, "Name <email>"},
		{"no secret", []string{"--uid", uid, "--public", filepath.Join(dir, "p1")}, ExitUsage, "--secret"},
		{"no public", []string{"--uid", uid, "--secret", filepath.Join(dir, "s1")}, ExitUsage, "--public"},
		{"same file", []string{"--uid", uid, "--secret", filepath.Join(dir, "k"), "--public", filepath.Join(dir, ".", "k")}, ExitUsage, "same file"},
		{"stray argument", []string{"--uid", uid, "--secret", filepath.Join(dir, "s1"), "--public", filepath.Join(dir, "p1"), "extra"}, ExitUsage, "extra"},
		{"secret exists", []string{"--uid", uid, "--secret", existing, "--public", filepath.Join(dir, "p2")}, ExitError, existing},
		{"public exists", []string{"--uid", uid, "--secret", filepath.Join(dir, "s3"), "--public", existing}, ExitError, existing},
		{"directory missing", []string{"--uid", uid, "--secret", filepath.Join(dir, "no", "s"), "--public", filepath.Join(dir, "p4")}, ExitError, filepath.Join(dir, "no", "s")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runHotfix(t, append([]string{"key", "generate"}, tc.args...)...)
			if code != tc.code || !strings.Contains(errOut, tc.mention) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", code, errOut, tc.code, tc.mention)
			}
		})
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep me" {
		t.Errorf("existing file changed to %q", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("refused runs left files behind: %v", names)
	}
	if code, _, errOut := runHotfix(t, "key", "rotate"); code != ExitUsage || !strings.Contains(errOut, "rotate") {
		t.Errorf("unknown subcommand: exit %d, %q", code, errOut)
	}
}
