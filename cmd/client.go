package cmd

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/internal/lockfile"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// addClientCommands registers the administrator's commands.
func addClientCommands(root *cobra.Command, g *globalOptions) {
	root.AddCommand(
		newCheckCmd(g), newDownloadCmd(g), newInstallCmd(g), newRollbackCmd(g),
		newRecoverCmd(g), newStatusCmd(g), newHistoryCmd(g), newInfoCmd(g),
		newPauseCmd(g), newResumeCmd(g), newDaemonCmd(g), newCronCmd(g),
	)
}

// isTempFail reports errors that mean "could not run now" (exit 75).
func isTempFail(err error) bool {
	return errors.Is(err, lockfile.ErrLocked) || errors.Is(err, client.ErrPaused)
}

// loadClient reads the configuration and prepares a client.
func loadClient(g *globalOptions) (*client.Client, error) {
	cfg, err := client.LoadConfig(client.ConfigPath(g.ConfigPath))
	if err != nil {
		return nil, err
	}
	return client.New(cfg, g.logger)
}

func parseVersionArg(s string) (*repo.Version, error) {
	if s == "" {
		return nil, nil
	}
	v, err := repo.ParseVersion(s)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return &v, nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// checkJSON is the stable `check --json` shape of DESIGN.md.
type checkJSON struct {
	Product string           `json:"product"`
	Base    string           `json:"base"`
	Serial  int64            `json:"serial"`
	Pending []checkJSONEntry `json:"pending"`
}

type checkJSONEntry struct {
	Version string        `json:"version"`
	Summary string        `json:"summary"`
	Bugs    []repo.BugRef `json:"bugs"`
}

type checkOptions struct{}

func newCheckCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "List the fixes pending for the installed version (exit 100 when some are)",
		Long: `Check reads the installed base from version_file, fetches the signed index of
that base from the repository (a conditional request: unchanged costs no
body), verifies it against the trusted keys only, and lists the pending
chain.

Exit status: 0 nothing pending, 100 fixes pending, 1 error.`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error { return runCheck(c.Context(), g, &checkOptions{}) },
	}
}

func runCheck(ctx context.Context, g *globalOptions, _ *checkOptions) error {
	cl, err := loadClient(g)
	if err != nil {
		return err
	}
	res, err := cl.Check(ctx)
	if err != nil {
		return err
	}
	if g.JSON {
		out := checkJSON{Product: res.Product, Base: res.Base.String(), Serial: res.Index.Serial, Pending: []checkJSONEntry{}}
		for _, f := range res.Pending {
			out.Pending = append(out.Pending, checkJSONEntry{Version: f.Version.String(), Summary: f.Summary, Bugs: f.Bugs})
		}
		if err := printJSON(g.stdout, out); err != nil {
			return err
		}
	} else if len(res.Pending) == 0 {
		fmt.Fprintf(g.stdout, "%s %s is up to date (installed: %s)\n", res.Product, res.Base, res.Installed)
	} else {
		fmt.Fprintf(g.stdout, "%s %s: %d fixes pending (installed: %s)\n", res.Product, res.Base, len(res.Pending), res.Installed)
		for _, f := range res.Pending {
			fmt.Fprintf(g.stdout, "  %-12s %s\n", f.Version, f.Summary)
			for _, b := range f.Bugs {
				fmt.Fprintf(g.stdout, "  %-12s   %s: %s\n", "", b.ID, b.Summary)
			}
		}
	}
	if len(res.Pending) > 0 {
		return &exitCodeError{code: ExitPending}
	}
	return nil
}

type downloadOptions struct{ Version string }

func newDownloadCmd(g *globalOptions) *cobra.Command {
	opts := &downloadOptions{}
	return &cobra.Command{
		Use:   "download [VERSION]",
		Short: "Download pending fixes (up to VERSION) into the cache, verified",
		Long: `Download fetches the pending archives into cache_dir, resuming partial files,
never reading past the size the signed index declares, and verifying size
and sha256 before anything else touches them. Install later, even offline.`,
		Args: argsUsage(cobra.MaximumNArgs(1)),
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Version = args[0]
			}
			return runDownload(c.Context(), g, opts)
		},
	}
}

func runDownload(ctx context.Context, g *globalOptions, opts *downloadOptions) error {
	target, err := parseVersionArg(opts.Version)
	if err != nil {
		return err
	}
	cl, err := loadClient(g)
	if err != nil {
		return err
	}
	var bar *progressbar.ProgressBar
	progress := func(f repo.IndexFix) io.Writer {
		if g.Quiet || !isTerminal(os.Stderr) {
			return nil
		}
		bar = progressbar.NewOptions64(f.Size, progressbar.OptionSetWriter(os.Stderr),
			progressbar.OptionSetDescription(f.File), progressbar.OptionShowBytes(true),
			progressbar.OptionSetVisibility(true), progressbar.OptionClearOnFinish())
		return bar
	}
	got, err := cl.Download(ctx, target, progress)
	for _, d := range got {
		fmt.Fprintf(g.stdout, "downloaded %s → %s\n", d.Fix.Version, d.Path)
	}
	if err != nil {
		return err
	}
	if len(got) == 0 {
		fmt.Fprintln(g.stdout, "nothing to download: no fixes pending")
	}
	return nil
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

type installOptions struct {
	Version   string
	DryRun    bool
	Force     bool
	Yes       bool
	Reinstall string
	Wait      time.Duration
	From      string
}

func newInstallCmd(g *globalOptions) *cobra.Command {
	opts := &installOptions{}
	c := &cobra.Command{
		Use:   "install [VERSION]",
		Short: "Install pending fixes in chain order, each as one transaction",
		Long: `Install takes the transaction lock, refuses while paused, runs pre_install,
then per fix in chain order: verify; test (chain, base, writable, disk space,
no locally modified file); journal; back up; put each file in place
atomically; run the scripts for this server's role; record the fix. Then
post_install and health_check (a failing health check rolls the run back).

A failure or crash at any point leaves the root as it was before that fix.
--dry-run runs every test and changes nothing. On a terminal, install asks
for confirmation unless --yes.

--from FILE|DIR installs one fix from a local .fix, .rpm, or unpacked fix
directory (manifest.json, files/, scripts/: what an RPM fix package leaves in
/var/lib/hotfix/incoming/PRODUCT/VERSION for its %post), without the
repository, in the same transaction. A local file is the administrator's
choice, so no signed index is needed; every file is still checked against
the fix's manifest, and an RPM's header signature, when it carries one,
must verify against trusted_keys.`,
		Args: argsUsage(cobra.MaximumNArgs(1)),
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Version = args[0]
			}
			return runInstall(c.Context(), g, opts)
		},
	}
	f := c.Flags()
	f.BoolVar(&opts.DryRun, "dry-run", false, "run every test, change nothing")
	f.BoolVar(&opts.Force, "force", false, "install over locally modified files (they are backed up)")
	f.BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	f.StringVar(&opts.Reinstall, "reinstall", "", "roll back and install again the newest installed fix")
	f.DurationVar(&opts.Wait, "wait", 0, "wait this long for another install to finish (default: exit 75 at once)")
	f.StringVar(&opts.From, "from", "", "install one fix from a local .fix, .rpm or unpacked fix directory")
	return c
}

func runInstall(ctx context.Context, g *globalOptions, opts *installOptions) error {
	target, err := parseVersionArg(opts.Version)
	if err != nil {
		return err
	}
	reinstall, err := parseVersionArg(opts.Reinstall)
	if err != nil {
		return err
	}
	cl, err := loadClient(g)
	if err != nil {
		return err
	}
	progress := func(v repo.Version, step string) {
		if !g.Quiet {
			fmt.Fprintf(g.stderr, "%s: %s\n", v, step)
		}
	}
	if opts.From != "" {
		if target != nil || reinstall != nil {
			return usagef("install --from takes no VERSION and no --reinstall: the fix is the one in %s", opts.From)
		}
		res, err := cl.InstallFrom(ctx, opts.From, client.InstallOptions{DryRun: opts.DryRun, Force: opts.Force, LockWait: opts.Wait, Progress: progress})
		if res != nil {
			for _, f := range res.Installed {
				if res.DryRun {
					fmt.Fprintf(g.stdout, "would install (dry run, tests passed) %s: %s\n", f.Version, f.Summary)
				} else {
					fmt.Fprintf(g.stdout, "installed %s from %s: %s\n", f.Version, opts.From, f.Summary)
				}
			}
		}
		return err
	}
	if !opts.Yes && !opts.DryRun && isTerminal(os.Stdin) {
		res, err := cl.Check(ctx)
		if err != nil {
			return err
		}
		if len(res.Pending) == 0 && reinstall == nil {
			fmt.Fprintf(g.stdout, "%s %s is up to date (installed: %s)\n", res.Product, res.Base, res.Installed)
			return nil
		}
		fmt.Fprintf(g.stdout, "About to install into %s:\n", cl.Cfg.Root)
		for _, f := range res.Pending {
			if target == nil || f.Version.Compare(*target) <= 0 {
				fmt.Fprintf(g.stdout, "  %-12s %s\n", f.Version, f.Summary)
			}
		}
		fmt.Fprint(g.stdout, "Proceed? [y/N] ")
		answer, _ := bufio.NewReader(os.Stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			return errors.New("install cancelled: nothing was changed")
		}
	}
	res, err := cl.Install(ctx, client.InstallOptions{Target: target, DryRun: opts.DryRun, Force: opts.Force,
		Reinstall: reinstall, LockWait: opts.Wait, Progress: progress})
	if res != nil {
		verb := "installed"
		if res.DryRun {
			verb = "would install (dry run, tests passed)"
		}
		for _, f := range res.Installed {
			fmt.Fprintf(g.stdout, "%s %s: %s\n", verb, f.Version, f.Summary)
		}
		if err == nil && len(res.Installed) == 0 {
			fmt.Fprintln(g.stdout, "nothing to install: no fixes pending")
		}
	}
	return err
}

type rollbackOptions struct {
	To   string
	Wait time.Duration
}

func newRollbackCmd(g *globalOptions) *cobra.Command {
	opts := &rollbackOptions{}
	c := &cobra.Command{
		Use:   "rollback [--to VERSION]",
		Short: "Remove the newest installed fixes, restoring their backups",
		Long: `Rollback removes the newest installed fix (or, with --to, every fix newer than
VERSION; --to the base removes all), restoring the files each one replaced
or deleted and removing the files it added. It refuses where a backup is
missing. Install scripts are not undone: the vendor's fix notes say if a
fix needs more.`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error { return runRollback(c.Context(), g, opts) },
	}
	c.Flags().StringVar(&opts.To, "to", "", "roll back until VERSION is the newest installed (the base: all)")
	c.Flags().DurationVar(&opts.Wait, "wait", 0, "wait this long for the transaction lock")
	return c
}

func runRollback(ctx context.Context, g *globalOptions, opts *rollbackOptions) error {
	to, err := parseVersionArg(opts.To)
	if err != nil {
		return err
	}
	cl, err := loadClient(g)
	if err != nil {
		return err
	}
	done, err := cl.Rollback(ctx, client.RollbackOptions{To: to, LockWait: opts.Wait})
	for _, v := range done {
		fmt.Fprintf(g.stdout, "rolled back %s\n", v)
	}
	return err
}

func newRecoverCmd(g *globalOptions) *cobra.Command {
	var wait time.Duration
	c := &cobra.Command{
		Use:   "recover",
		Short: "Finish or undo a transaction interrupted by a crash",
		Long: `Recover reads the journal an interrupted install or rollback left behind and
restores the root so that it matches what "hotfix status" reports. install
and rollback do this by themselves first; run it by hand after a crash to
know the system is consistent before anything else.`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			cl, err := loadClient(g)
			if err != nil {
				return err
			}
			did, err := cl.Recover(c.Context(), wait)
			if err != nil {
				return err
			}
			if did == "" {
				did = "nothing to recover"
			}
			fmt.Fprintln(g.stdout, did)
			return nil
		},
	}
	c.Flags().DurationVar(&wait, "wait", 0, "wait this long for the transaction lock")
	return c
}

func newStatusCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the installed base and fixes, pending count, last check, pause and lock",
		Args:  argsUsage(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			cl, err := loadClient(g)
			if err != nil {
				return err
			}
			st, err := cl.Status()
			if err != nil {
				return err
			}
			if g.JSON {
				return printJSON(g.stdout, st)
			}
			w := g.stdout
			fmt.Fprintf(w, "product:    %s\nbase:       %s\n", st.Product, st.Base)
			if len(st.Installed) == 0 {
				fmt.Fprintln(w, "installed:  no fixes")
			} else {
				fmt.Fprintln(w, "installed:")
				for _, f := range st.Installed {
					fmt.Fprintf(w, "  %-12s %s by %s\n", f.Version, f.InstalledAt.Local().Format("2006-01-02 15:04"), f.By)
				}
			}
			fmt.Fprintf(w, "pending:    %d\n", st.Pending)
			if st.LastCheck != nil {
				fmt.Fprintf(w, "last check: %s, %s\n", st.LastCheck.At.Local().Format("2006-01-02 15:04"), st.LastCheck.Outcome)
			} else {
				fmt.Fprintln(w, "last check: never")
			}
			if st.Paused != nil {
				fmt.Fprintf(w, "paused:     %s\n", (&client.PausedError{Info: *st.Paused}).Error())
			} else {
				fmt.Fprintln(w, "paused:     no")
			}
			if st.Lock != nil {
				fmt.Fprintf(w, "lock:       held by pid %d since %s\n", st.Lock.PID, st.Lock.Since.Local().Format("15:04:05"))
			}
			if st.Journal != "" {
				fmt.Fprintf(w, "WARNING:    an interrupted transaction is in %s: run \"hotfix recover\"\n", st.Journal)
			}
			return nil
		},
	}
}

func newHistoryCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "history",
		Short: "Show the audit log: every install, rollback, pause and scheduled run",
		Args:  argsUsage(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, err := client.LoadConfig(client.ConfigPath(g.ConfigPath))
			if err != nil {
				return err
			}
			recs, err := client.ReadAudit(cfg.LogDir)
			if err != nil {
				return err
			}
			if g.JSON {
				if recs == nil {
					recs = []client.AuditRecord{}
				}
				return printJSON(g.stdout, recs)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME\tUSER\tACTION\tVERSIONS\tOUTCOME\tDETAIL")
			for _, r := range recs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Time.Local().Format("2006-01-02 15:04:05"), r.User, r.Action,
					strings.Join(r.Versions, ","), r.Outcome, r.Detail)
			}
			return tw.Flush()
		},
	}
}

func newInfoCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "info VERSION",
		Short: "Describe one fix: summary, description, bugs, files",
		Args:  argsUsage(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, args []string) error {
			v, err := parseVersionArg(args[0])
			if err != nil {
				return err
			}
			cl, err := loadClient(g)
			if err != nil {
				return err
			}
			info, err := cl.Info(*v)
			if err != nil {
				return err
			}
			if g.JSON {
				return printJSON(g.stdout, info)
			}
			w := g.stdout
			fmt.Fprintf(w, "fix:        %s %s (requires %s)\n", cl.Cfg.Product, v, v.Requires())
			if info.Installed != nil {
				fmt.Fprintf(w, "installed:  %s by %s\n", info.Installed.InstalledAt.Local().Format("2006-01-02 15:04"), info.Installed.By)
			} else {
				fmt.Fprintln(w, "installed:  no")
			}
			switch {
			case info.Manifest != nil:
				m := info.Manifest
				fmt.Fprintf(w, "summary:    %s\n", m.Summary)
				if m.Description != "" {
					fmt.Fprintf(w, "\n%s\n\n", strings.TrimSpace(m.Description))
				}
				for _, b := range m.Bugs {
					fmt.Fprintf(w, "bug %s: %s\n", b.ID, b.Summary)
					if b.Description != "" {
						fmt.Fprintf(w, "    %s\n", b.Description)
					}
				}
				for _, f := range m.Files {
					fmt.Fprintf(w, "file   %s %s %d bytes\n", f.Mode.String(), f.Path, f.Size)
				}
				for _, d := range m.Delete {
					fmt.Fprintf(w, "delete %s\n", d)
				}
				for _, s := range m.Scripts {
					fmt.Fprintf(w, "script %s\n", s.Path)
				}
			case info.Index != nil:
				fmt.Fprintf(w, "summary:    %s\n", info.Index.Summary)
				for _, b := range info.Index.Bugs {
					fmt.Fprintf(w, "bug %s: %s\n", b.ID, b.Summary)
				}
				fmt.Fprintln(w, "(run \"hotfix download\" to see its files)")
			case info.Installed != nil:
				fmt.Fprintf(w, "summary:    %s\n", info.Installed.Summary)
			}
			return nil
		},
	}
}
