package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/internal/lockfile"
)

// TestUsageExitCodes checks the one mapping from mistakes in how hotfix is
// called to exit 2, with a message that says what was wrong, through the
// whole command tree: cobra's own complaints included.
func TestUsageExitCodes(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string // in stderr; on success, in stdout
	}{
		{"unknown command", []string{"bogus"}, ExitUsage, `unknown command "bogus" for "hotfix"`},
		{"unknown command, suggestion", []string{"chek"}, ExitUsage, "Did you mean this?\n\tcheck"},
		{"unknown command after a global flag", []string{"--json", "bogus"}, ExitUsage, `unknown command "bogus"`},
		{"unknown repo subcommand", []string{"repo", "bogus"}, ExitUsage, `unknown command "bogus" for "hotfix repo"`},
		{"unknown key subcommand", []string{"key", "bogus"}, ExitUsage, `unknown command "bogus" for "hotfix key"`},
		{"unknown flag", []string{"check", "--bogus"}, ExitUsage, "unknown flag: --bogus"},
		{"unknown global flag", []string{"--bogus", "status"}, ExitUsage, "unknown flag: --bogus"},
		{"unknown flag of a group", []string{"repo", "--bogus"}, ExitUsage, "unknown flag: --bogus"},
		{"unknown flag in a group's command", []string{"repo", "add", "--bogus"}, ExitUsage, "unknown flag: --bogus"},
		{"unknown shorthand flag", []string{"install", "-Z"}, ExitUsage, "unknown shorthand flag: 'Z'"},
		{"bad flag value", []string{"install", "--wait", "soon"}, ExitUsage, "--wait"},
		{"flag without its value", []string{"rollback", "--to"}, ExitUsage, "flag needs an argument"},
		{"too many arguments", []string{"status", "extra"}, ExitUsage, `status: unexpected argument "extra" (usage: hotfix status [flags])`},
		{"too many arguments to version", []string{"version", "extra"}, ExitUsage, `version: unexpected argument "extra"`},
		{"one argument too many", []string{"install", "2.4.1.1", "2.4.1.2"}, ExitUsage, `install: unexpected argument "2.4.1.2" (usage: hotfix install [VERSION] [flags])`},
		{"missing argument", []string{"info"}, ExitUsage, "hotfix: info: missing VERSION|BUG-ID (usage: hotfix info VERSION|BUG-ID [flags])"},
		{"missing argument in a group", []string{"repo", "build"}, ExitUsage, "hotfix: repo build: missing REPO (usage: hotfix repo build REPO --key SECRET [flags])"},
		{"missing arguments in a group", []string{"repo", "add"}, ExitUsage, "repo add: missing REPO"},
		{"missing archives", []string{"repo", "add", "REPO"}, ExitUsage, "repo add: missing ARCHIVE... (or --product P --base B to declare an empty channel)"},
		{"empty channel with archives", []string{"repo", "add", "REPO", "a.fix", "--product", "acme", "--base", "2.5.0"}, ExitUsage, "take no ARCHIVE"},
		{"empty channel without a base", []string{"repo", "add", "REPO", "--product", "acme"}, ExitUsage, "needs both --product P and --base B"},
		{"yes and assumeno", []string{"install", "--yes", "--assumeno"}, ExitUsage, "--yes and --assumeno contradict each other"},
		{"rollback yes and assumeno", []string{"rollback", "-y", "--assumeno"}, ExitUsage, "--yes and --assumeno contradict each other"},
		{"list installed and available", []string{"list", "--installed", "--available"}, ExitUsage, "--installed and --available exclude each other"},
		{"json where meaningless", []string{"--json", "serve", "repo"}, ExitUsage, "hotfix: serve has no JSON output"},
		{"json of the daemon", []string{"--json", "daemon"}, ExitUsage, "hotfix: daemon has no JSON output"},
		{"json of the demo", []string{"--json", "demo"}, ExitUsage, "hotfix: demo has no JSON output"},
		{"bad version argument", []string{"--config", "/nonexistent/hotfix.toml", "install", "1..2"}, ExitUsage, "version"},
		{"unknown help topic", []string{"help", "bogus"}, ExitUsage, `unknown command "bogus" for "hotfix"`},
		{"unknown help topic in a group", []string{"help", "repo", "bogus"}, ExitUsage, `unknown command "bogus" for "hotfix repo"`},
		{"unknown completion shell", []string{"completion", "tcsh"}, ExitUsage, `unknown command "tcsh" for "hotfix completion"`},
		{"too many arguments to a completion", []string{"completion", "bash", "extra"}, ExitUsage, `completion bash: unexpected argument "extra"`},
		{"usage hint", []string{"bogus"}, ExitUsage, "Run 'hotfix --help' for usage."},
		{"root alone shows help", []string{}, ExitOK, "Available Commands"},
		{"group alone shows help", []string{"repo"}, ExitOK, "Available Commands"},
		{"help on a group", []string{"help", "repo"}, ExitOK, "hotfix repo [command]"},
		{"help on a command", []string{"help", "repo", "add"}, ExitOK, "hotfix repo add REPO [ARCHIVE...]"},
		{"completion alone shows help", []string{"completion"}, ExitOK, "Available Commands"},
		{"completion script", []string{"completion", "bash"}, ExitOK, "bash completion"},
		{"version", []string{"version"}, ExitOK, "hotfix "},
		{"version flag", []string{"--version"}, ExitOK, "hotfix dev\n"},
		{"version as JSON", []string{"--json", "version"}, ExitOK, "{\n  \"format\": 1,\n  \"version\": \"dev\"\n}\n"},
		{"configuration missing is an error, not usage", []string{"--config", "/nonexistent/hotfix.toml", "status"}, ExitError, "/nonexistent/hotfix.toml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Execute(context.Background(), tt.args, Streams{Out: &out, Err: &errb})
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

// TestExitCode checks the mapping itself: types and sentinels, however
// deeply wrapped, and never the text of an error.
func TestExitCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		code int
	}{
		{"success", nil, ExitOK},
		{"plain error", errors.New("boom"), ExitError},
		{"text that looks like usage is still an error", errors.New("unknown command \"x\" for \"hotfix\""), ExitError},
		{"usage", usagef("--uid is required"), ExitUsage},
		{"wrapped usage", fmt.Errorf("repo build: %w", usagef("--key")), ExitUsage},
		{"check pending", &exitCodeError{code: ExitPending}, ExitPending},
		{"explicit code wins over what it wraps", &exitCodeError{code: ExitError, err: fmt.Errorf("report: %w", client.ErrPaused)}, ExitError},
		{"locked", fmt.Errorf("install: %w", lockfile.ErrLocked), ExitTempFail},
		{"paused", fmt.Errorf("not paused: %w", &client.PausedError{}), ExitTempFail},
		{"paused sentinel", client.ErrPaused, ExitTempFail},
		{"joined with a lock", errors.Join(errors.New("x"), lockfile.ErrLocked), ExitTempFail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exitCode(tt.err); got != tt.code {
				t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.code)
			}
		})
	}
}
