package cmd

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestUsageExitCodes checks the one mapping from mistakes in how hotfix is
// called to exit 2, with a message that says what was wrong.
func TestUsageExitCodes(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string // in stderr; on success, in stdout
	}{
		{"unknown command", []string{"bogus"}, ExitUsage, `unknown command "bogus"`},
		{"unknown repo subcommand", []string{"repo", "bogus"}, ExitUsage, `unknown command "bogus" for "hotfix repo"`},
		{"unknown key subcommand", []string{"key", "bogus"}, ExitUsage, `unknown command "bogus" for "hotfix key"`},
		{"unknown flag", []string{"check", "--bogus"}, ExitUsage, "unknown flag: --bogus"},
		{"too many arguments", []string{"status", "extra"}, ExitUsage, "unknown command"},
		{"bad version argument", []string{"--config", "/nonexistent/hotfix.toml", "install", "1..2"}, ExitUsage, "version"},
		{"group alone shows help", []string{"repo"}, ExitOK, "Available Commands"},
		{"version", []string{"version"}, ExitOK, "hotfix "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Execute(context.Background(), tt.args, &out, &errb)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstderr: %s", code, tt.code, errb.String())
			}
			got, stream := errb.String(), "stderr"
			if tt.code == ExitOK {
				got, stream = out.String(), "stdout"
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("%s %q lacks %q", stream, got, tt.want)
			}
		})
	}
}
