package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
)

// Streams are the standard streams hotfix reads and writes, injected so
// that every command runs the same under a test as on a terminal.
type Streams struct {
	In  io.Reader // nil reads as empty
	Out io.Writer
	Err io.Writer
	// IsTerminal reports whether one of the streams above is an interactive
	// terminal: install then asks before changing anything, download draws
	// progress bars and cron skips its random wait. Nil means none is.
	IsTerminal func(stream any) bool
}

// globalOptions are the flags that come before the subcommand, and the
// streams and logger every command uses.
type globalOptions struct {
	ConfigPath string
	JSON       bool
	Verbose    bool
	Quiet      bool
	Instances  []string // --instance, repeatable: limit to these [[instance]] names

	stdin    io.Reader
	stdout   io.Writer
	stderr   io.Writer
	terminal func(any) bool
	logger   *slog.Logger
}

// isTerminal reports whether stream (g.stdin, g.stdout or g.stderr) is an
// interactive terminal.
func (g *globalOptions) isTerminal(stream any) bool {
	return g.terminal != nil && g.terminal(stream)
}

// newRootCmd builds the whole command tree.
func newRootCmd(g *globalOptions) *cobra.Command {
	root := &cobra.Command{
		Use:   "hotfix",
		Short: "Deliver version-chained product hotfixes, signed, safely and unattended",
		Long: `hotfix delivers urgent fixes for an installed product the way yum and apt
deliver packages, for version-chained hotfixes: fix 6.14.2.3 goes onto 6.14.2
only after 6.14.2.1 and 6.14.2.2.

Vendors:        hotfix key generate, pack, repo add, repo build, repo verify,
                repo rollout, repo trust, repo publish, repo export, serve
Administrators: hotfix check, list, download, install, rollback, uninstall,
                status, history, info, verify, owns, pause, resume, recover,
                daemon, cron, cluster status, mirror

Try it:         hotfix demo`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(c *cobra.Command, _ []string) error {
			if err := checkJSONFlag(g, c); err != nil {
				return err
			}
			level := slog.LevelWarn
			if g.Verbose {
				level = slog.LevelDebug
			}
			g.logger = slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: level}))
			return nil
		},
	}
	// --version prints what "hotfix version" prints.
	root.SetVersionTemplate("hotfix {{.Version}}\n")
	root.SetIn(g.stdin)
	root.SetOut(g.stdout)
	root.SetErr(g.stderr)
	// Subcommands inherit this: every flag mistake is a usage error.
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&g.ConfigPath, "config", "", "client configuration file (default $HOTFIX_CONFIG or /etc/hotfix/hotfix.toml)")
	pf.BoolVar(&g.JSON, "json", false, "machine-readable output where supported")
	pf.BoolVarP(&g.Verbose, "verbose", "v", false, "log debug details to stderr")
	pf.BoolVarP(&g.Quiet, "quiet", "q", false, "print results and errors only: no progress, hints or info logs")
	pf.StringArrayVar(&g.Instances, "instance", nil, "with [[instance]] tables: only this instance (repeatable)")
	_ = root.RegisterFlagCompletionFunc("instance", completeInstances(g))

	root.AddCommand(
		newVersionCmd(g),
		newKeyCmd(g),
		newPackCmd(g),
		newRepoCmd(g),
		newServeCmd(g),
		newMirrorCmd(g),
		newDemoCmd(g),
		// The administrator's commands.
		newCheckCmd(g), newListCmd(g), newDownloadCmd(g), newInstallCmd(g), newRollbackCmd(g), newUninstallCmd(g),
		newRecoverCmd(g), newStatusCmd(g), newHistoryCmd(g), newInfoCmd(g),
		newPauseCmd(g), newResumeCmd(g), newDaemonCmd(g), newCronCmd(g), newClusterCmd(g),
		newVerifyCmd(g), newOwnsCmd(g),
		newGenDocsCmd(g),
	)
	typeUsageErrors(root)
	useOwnBashCompletion(root)
	return root
}

// Execute runs hotfix with args and returns the process exit code.
func Execute(ctx context.Context, args []string, s Streams) int {
	in := s.In
	if in == nil {
		in = strings.NewReader("")
	}
	g := &globalOptions{stdin: in, stdout: s.Out, stderr: s.Err, terminal: s.IsTerminal, logger: slog.New(slog.DiscardHandler)}
	root := newRootCmd(g)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	code := exitCode(err)
	if err != nil {
		var ec *exitCodeError
		if !(errors.As(err, &ec) && ec.err == nil) {
			fmt.Fprintf(g.stderr, "hotfix: %v%s\n", err, advice(err))
		}
		if code == ExitUsage {
			fmt.Fprintln(g.stderr, "Run 'hotfix --help' for usage.")
		}
	}
	return code
}
