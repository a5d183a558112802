package client

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// reachHint names the repo key, and the proxy only where one can matter;
// answers from the repository carry their own remedy.
func TestReachHint(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	tests := []struct {
		name, repo string
		err        error
		want, not  string
	}{
		{"http unreachable", "http://127.0.0.1:1", refused, "HTTPS_PROXY", ""},
		{"file repository missing", "file:///srv/none", os.ErrNotExist, `repo = "file:///srv/none"`, "PROXY"},
		{"http answered 404", "http://127.0.0.1:1", &HTTPError{URL: "http://127.0.0.1:1/x", Status: 404}, "", "repo ="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := reachHint(tt.err, &Config{Repo: tt.repo, Path: "/etc/hotfix/hotfix.toml"})
			if tt.want == "" && got != "" {
				t.Errorf("hint %q, want none", got)
			}
			if !strings.Contains(got, tt.want) || (tt.not != "" && strings.Contains(got, tt.not)) {
				t.Errorf("hint %q: want %q in it, and not %q", got, tt.want, tt.not)
			}
		})
	}
}

// Only a missing trusted_keys gets the "put the vendor's key there" advice;
// a bad key file keeps the keyring's own message.
func TestTrustedKeysHint(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad")
	if err := os.MkdirAll(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, "vendor.asc"), []byte("not a key"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, keys, want, not string
	}{
		{"missing", filepath.Join(dir, "none"), "put the vendor's public key", ""},
		{"not a key", bad, "vendor.asc", "put the vendor's public key (from"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := &Client{Cfg: &Config{TrustedKeys: tt.keys}}
			_, err := c.trusted()
			if err == nil || !strings.Contains(err.Error(), tt.want) || (tt.not != "" && strings.Contains(err.Error(), tt.not)) {
				t.Errorf("error %v: want %q in it, and not %q", err, tt.want, tt.not)
			}
		})
	}
}
