package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes fixed by DESIGN.md.
const (
	ExitOK       = 0
	ExitError    = 1
	ExitUsage    = 2
	ExitPending  = 100
	ExitTempFail = 75
)

// version is set by the linker (-ldflags "-X .../cmd.version=1.2.3").
var version = "dev"

// globalOptions are the flags that come before the subcommand.
type globalOptions struct {
	ConfigPath string
	JSON       bool
	Verbose    bool
	Quiet      bool

	stdout io.Writer
	stderr io.Writer
	logger *slog.Logger
}

// usageError marks a mistake in how the command was called (exit 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// exitCodeError carries a specific exit code with an optional message.
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}
func (e *exitCodeError) Unwrap() error { return e.err }

// newRootCmd builds the whole command tree.
func newRootCmd(g *globalOptions) *cobra.Command {
	root := &cobra.Command{
		Use:   "hotfix",
		Short: "Deliver version-chained product hotfixes, signed, safely and unattended",
		Long: `hotfix delivers urgent fixes for an installed product the way yum and apt
deliver packages, for version-chained hotfixes: fix 6.14.2.3 goes onto 6.14.2
only after 6.14.2.1 and 6.14.2.2.

Vendors:        hotfix key generate, pack, repo add, repo build, repo verify, serve
Administrators: hotfix check, download, install, rollback, status, history, info,
                pause, resume, daemon, cron

Try it:         hotfix demo`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(c *cobra.Command, _ []string) error {
			level := slog.LevelWarn
			if g.Verbose {
				level = slog.LevelDebug
			}
			g.logger = slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: level}))
			return nil
		},
	}
	root.SetOut(g.stdout)
	root.SetErr(g.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&g.ConfigPath, "config", "", "client configuration file (default $HOTFIX_CONFIG or /etc/hotfix/hotfix.toml)")
	pf.BoolVar(&g.JSON, "json", false, "machine-readable output where supported")
	pf.BoolVarP(&g.Verbose, "verbose", "v", false, "log debug details to stderr")
	pf.BoolVarP(&g.Quiet, "quiet", "q", false, "print results and errors only: no progress, hints or info logs")

	root.AddCommand(
		newVersionCmd(g),
		newKeyCmd(g),
		newPackCmd(g),
		newRepoCmd(g),
		newServeCmd(g),
		newDemoCmd(g),
	)
	addClientCommands(root, g)
	return root
}

// Execute runs hotfix with args and returns the process exit code.
func Execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	g := &globalOptions{stdout: stdout, stderr: stderr, logger: slog.New(slog.DiscardHandler)}
	root := newRootCmd(g)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	code := exitCode(err)
	if err != nil {
		var ec *exitCodeError
		if !(errors.As(err, &ec) && ec.err == nil) {
			fmt.Fprintf(stderr, "hotfix: %v\n", err)
		}
		if code == ExitUsage {
			fmt.Fprintln(stderr, "Run 'hotfix --help' for usage.")
		}
	}
	return code
}

// exitCode is the one place that maps errors to DESIGN.md's exit codes.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ec *exitCodeError
	if errors.As(err, &ec) {
		return ec.code
	}
	var ue *usageError
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command ") {
		return ExitUsage
	}
	if isTempFail(err) {
		return ExitTempFail
	}
	return ExitError
}

func newVersionCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the hotfix version",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			fmt.Fprintf(g.stdout, "hotfix %s\n", version)
			return nil
		},
	}
}

var _ = os.Stdout
