package sign

import (
	"path/filepath"
	"slices"
	"testing"
)

// A keyring names every file that held secret key material (kept as its
// public part only), so that the client can warn about each; public keys,
// binary or armored, are not named.
func TestSecretKeyFiles(t *testing.T) {
	secret := readTestFile(t, "vendor.sec.asc")
	public := readTestFile(t, "other.pub.asc")
	protected := readTestFile(t, "protected.sec.asc")
	tests := []struct {
		name  string
		files map[string][]byte
		file  string // LoadKeyring of this file instead of the directory
		want  []string
	}{
		{"public keys only", map[string][]byte{"a.asc": public}, "", nil},
		{"a secret key file", map[string][]byte{"vendor.asc": secret}, "vendor.asc", []string{"vendor.asc"}},
		{"a secret key among public ones", map[string][]byte{"a.asc": public, "b.key": secret, "c.pub": public}, "", []string{"b.key"}},
		{"two secret keys, one protected", map[string][]byte{"a.asc": secret, "b.asc": protected}, "", []string{"a.asc", "b.asc"}},
		{"a secret key and a public key in one file", map[string][]byte{"both.asc": append(append(public, '\n'), secret...)}, "", []string{"both.asc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range tt.files {
				writeFile(t, filepath.Join(dir, name), data)
			}
			path := dir
			if tt.file != "" {
				path = filepath.Join(dir, tt.file)
			}
			kr, err := LoadKeyring(path)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, f := range tt.want {
				want = append(want, filepath.Join(dir, f))
			}
			if got := kr.SecretKeyFiles(); !slices.Equal(got, want) {
				t.Errorf("SecretKeyFiles() = %v, want %v", got, want)
			}
			for _, e := range kr.Entities() {
				if e.PrivateKey != nil {
					t.Error("the keyring holds secret key material")
				}
			}
		})
	}
}
