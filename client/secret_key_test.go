package client

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

// A secret key in trusted_keys works by its public part, and every load
// warns, naming the file: it belongs on the vendor's side.
func TestSecretKeyInTrustedKeysWarns(t *testing.T) {
	tests := []struct {
		name   string
		keys   []string
		secret []string // files the warning must name
	}{
		{"public key only", []string{"vendor.pub.asc"}, nil},
		{"the vendor's secret key", []string{"vendor.sec.asc"}, []string{"vendor.sec.asc"}},
		{"a secret key beside the public one", []string{"vendor.pub.asc", "other.sec.asc"}, []string{"other.sec.asc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOptions{Keys: tt.keys})
			var logs bytes.Buffer
			c, err := New(e.Cfg, slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Check(context.Background()); err != nil {
				t.Fatalf("check with %v: %v", tt.keys, err)
			}
			warned := strings.Count(logs.String(), "a SECRET key is in trusted_keys")
			if warned != len(tt.secret) {
				t.Fatalf("%d warnings, want %d:\n%s", warned, len(tt.secret), logs.String())
			}
			for _, f := range tt.secret {
				if !strings.Contains(logs.String(), filepath.Join(e.Dir, "keys", f)) {
					t.Errorf("the warning does not name %s:\n%s", f, logs.String())
				}
			}
		})
	}
}
