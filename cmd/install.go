package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/spf13/cobra"
)

type installOptions struct {
	Version   string
	DryRun    bool
	Force     bool
	Reinstall string
	Wait      time.Duration
	From      string
	// AllowExpired accepts an export bundle whose index expired.
	AllowExpired bool
	With         []string
	Without      []string
	answerFlags
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
--dry-run runs every test and changes nothing. On a terminal, install first
downloads the fixes and shows a transaction summary (per fix: bugs, size,
the files it changes, adds and deletes, its scripts; then the hooks) and
asks, unless --yes; --assumeno shows the summary and stops (exit 0). On a
terminal each fix is one line with a progress bar; in a log, one line per
step.

--from FILE|DIR installs one fix from a local .fix, .rpm, or unpacked fix
directory (manifest.json, files/, scripts/: what an RPM fix package leaves in
/var/lib/hotfix/incoming/PRODUCT/VERSION for its %post), without the
repository, in the same transaction. A local file is the administrator's
choice, so no signed index is needed; every file is still checked against
the fix's manifest, and an RPM's header signature, when it carries one,
must verify against trusted_keys.

--from FILE also takes an export bundle ("hotfix repo export", for sites
without a network path to the repository): it installs the pending chain
from it with the same checks as online (the index's signature against
trusted_keys, product, base, serial, expiry; every archive's size and
sha256), without the network. An index past its expiry is refused unless
--allow-expired, which the audit log records.

--with PART and --without PART (repeatable) choose optional parts of the
fixes over the configuration's parts = [...] and over the choice recorded
when an earlier fix with that part was installed.`,
		Args:              cobra.MaximumNArgs(1),
		Annotations:       jsonCommand,
		ValidArgsFunction: completeAvailable(g),
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
	opts.answerFlags.register(c)
	f.StringVar(&opts.Reinstall, "reinstall", "", "roll back and install again the newest installed fix")
	f.DurationVar(&opts.Wait, "wait", 0, "wait this long for another install to finish (default: exit 75 at once)")
	f.StringVar(&opts.From, "from", "", "install from a local .fix, .rpm, unpacked fix directory or export bundle")
	f.BoolVar(&opts.AllowExpired, "allow-expired", false, "with --from BUNDLE: accept its index past its expiry (recorded in the audit log)")
	f.StringArrayVar(&opts.With, "with", nil, "install the optional part `PART` of the fixes (repeatable)")
	f.StringArrayVar(&opts.Without, "without", nil, "leave out the optional part `PART` of the fixes (repeatable)")
	_ = c.RegisterFlagCompletionFunc("reinstall", completeInstalled(g))
	return c
}

// installJSON is `install --json` (README "Machine-readable output").
type installJSON struct {
	Format    int              `json:"format"`
	DryRun    bool             `json:"dry_run"`
	Installed []checkJSONEntry `json:"installed"`
	Kept      []keptJSON       `json:"kept"`
	// Custom are the customer fixes installed after the vendor's.
	Custom []checkJSONCustFix `json:"custom,omitempty"`
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
	if err := opts.check("install"); err != nil {
		return err
	}
	cfg, err := loadConfig(g)
	if err != nil {
		return err
	}
	if usesTree(g, cfg, true) && opts.From == "" && reinstall == nil {
		return runTreeInstall(ctx, g, cfg, opts, target)
	}
	cl, err := instanceClient(g, cfg, true)
	if err != nil {
		return err
	}
	steps := newStepReporter(g)
	defer steps.end()
	if opts.From != "" {
		if target != nil || reinstall != nil {
			return usagef("install --from takes no VERSION and no --reinstall: the fix is the one in %s", opts.From)
		}
		return runInstallFrom(ctx, g, cl, opts, steps.step)
	}
	if opts.AllowExpired {
		return usagef("install: --allow-expired applies only to --from with an export bundle")
	}
	if !opts.DryRun && opts.mustAsk(g) {
		proceed, err := confirmInstall(ctx, g, cl, opts, target, reinstall)
		if err == nil && !proceed && g.JSON {
			return printJSON(g.stdout, installOut(&client.InstallResult{}))
		}
		if err != nil || !proceed {
			return err
		}
	}
	res, err := cl.Install(ctx, client.InstallOptions{Target: target, DryRun: opts.DryRun, Force: opts.Force,
		Reinstall: reinstall, LockWait: opts.Wait, Progress: steps.step, With: opts.With, Without: opts.Without})
	steps.end()
	if res != nil {
		if g.JSON {
			if jerr := printJSON(g.stdout, installOut(res)); jerr != nil && err == nil {
				err = jerr
			}
			return withInstallAdvice(err)
		}
		for _, k := range res.Kept {
			fmt.Fprintf(g.stdout, "kept your changed %s as %s\n", k.Path, k.KeptAs)
		}
		verb := "installed"
		if res.DryRun {
			verb = "would install (dry run, tests passed)"
		}
		for _, f := range res.Installed {
			fmt.Fprintf(g.stdout, "%s %s: %s\n", verb, f.Version, f.Summary)
		}
		for _, f := range res.Custom {
			fmt.Fprintf(g.stdout, "%s customer fix %s %s: %s\n", verb, f.ID, f.Version, f.Summary)
		}
		if err == nil && len(res.Installed) == 0 && len(res.Custom) == 0 {
			fmt.Fprintln(g.stdout, "nothing to install: no fixes pending")
		}
	}
	return withInstallAdvice(err)
}

func installOut(res *client.InstallResult) installJSON {
	out := installJSON{Format: jsonFormat, DryRun: res.DryRun, Installed: []checkJSONEntry{}, Kept: []keptJSON{}}
	for _, f := range res.Installed {
		out.Installed = append(out.Installed, checkJSONEntry{Version: f.Version.String(), Summary: f.Summary, Bugs: orNoBugs(f.Bugs)})
	}
	for _, k := range res.Kept {
		out.Kept = append(out.Kept, keptJSON{Path: k.Path, KeptAs: k.KeptAs})
	}
	for _, f := range res.Custom {
		out.Custom = append(out.Custom, checkJSONCustFix{ID: f.ID, Version: f.Version.String(), Summary: f.Summary, Bugs: orNoBugs(f.Bugs)})
	}
	return out
}

// orNoBugs makes nil bugs an empty list, so that --json shows [].
func orNoBugs(b []repo.BugRef) []repo.BugRef {
	if b == nil {
		return []repo.BugRef{}
	}
	return b
}

// withInstallAdvice adds the flag that answers a refusal of install.
func withInstallAdvice(err error) error {
	var ai *client.AlreadyInstalledError
	if errors.As(err, &ai) {
		return fmt.Errorf("%w; use --reinstall %s for the newest", err, ai.Installed)
	}
	if errors.Is(err, client.ErrUnknownPart) {
		return fmt.Errorf("%w (check --with and --without against \"hotfix info VERSION\")", err)
	}
	var rc *client.RollbackChangesError
	if errors.As(err, &rc) {
		return fmt.Errorf("%w (--reinstall with --force, each kept as FILE.hotfix-kept-TIME)", err)
	}
	var co *client.CustomOverrideError
	if errors.As(err, &co) {
		return fmt.Errorf("%w, or install with --force to let the vendor's files win (status then shows the customer fix as overridden)", err)
	}
	return err
}

func runInstallFrom(ctx context.Context, g *globalOptions, cl *client.Client, opts *installOptions, progress func(repo.Version, string)) error {
	res, err := cl.InstallFrom(ctx, opts.From, client.InstallOptions{DryRun: opts.DryRun, Force: opts.Force, LockWait: opts.Wait, Progress: progress,
		AllowExpired: opts.AllowExpired, With: opts.With, Without: opts.Without})
	if errors.Is(err, client.ErrExpired) && !opts.AllowExpired {
		err = fmt.Errorf("%w (if the site has no newer bundle and you accept fixes signed for an earlier period, --allow-expired takes it; the audit log records that)", err)
	}
	if res != nil {
		if g.JSON {
			if jerr := printJSON(g.stdout, installOut(res)); jerr != nil && err == nil {
				err = jerr
			}
			return err
		}
		for _, f := range res.Installed {
			if res.DryRun {
				fmt.Fprintf(g.stdout, "would install (dry run, tests passed) %s: %s\n", f.Version, f.Summary)
			} else {
				fmt.Fprintf(g.stdout, "installed %s from %s: %s\n", f.Version, opts.From, f.Summary)
			}
		}
		for _, f := range res.Custom {
			if res.DryRun {
				fmt.Fprintf(g.stdout, "would install (dry run, tests passed) customer fix %s %s: %s\n", f.ID, f.Version, f.Summary)
			} else {
				fmt.Fprintf(g.stdout, "installed customer fix %s %s from %s: %s\n", f.ID, f.Version, opts.From, f.Summary)
			}
		}
	}
	return err
}

// confirmInstall shows an administrator what install would do, as a
// transaction summary, and asks (or, with --assumeno, answers no). It
// returns false, nil when there is nothing to do. With --json the summary
// and the question go to stderr, leaving stdout to the JSON.
func confirmInstall(ctx context.Context, g *globalOptions, cl *client.Client, opts *installOptions, target, reinstall *repo.Version) (bool, error) {
	w := g.stdout
	if g.JSON {
		w = g.stderr
	}
	plan, err := planInstall(ctx, g, w, cl, target)
	if err != nil {
		return false, err
	}
	if len(plan) == 0 && reinstall == nil {
		return false, nil
	}
	printSummary(w, cl, plan, reinstall)
	ga := *g
	ga.stdout = w
	return opts.ask(&ga, "installed")
}

// runTreeInstall installs over the instances (instances.go): level by
// level, a child never past its parent; on a cluster secondary, --wait
// also waits for the primary.
func runTreeInstall(ctx context.Context, g *globalOptions, cfg *client.Config, opts *installOptions, target *repo.Version) error {
	t, err := loadTree(g, cfg)
	if err != nil {
		return err
	}
	t.Progress = func(name string, v repo.Version, step string) {
		if !g.Quiet {
			fmt.Fprintf(g.stderr, "%s%s: %s\n", instanceLabel(name), v, step)
		}
	}
	if !opts.DryRun && opts.mustAsk(g) {
		names := g.Instances
		if len(names) == 0 {
			names = cfg.InstanceNames()
		}
		fmt.Fprintf(g.stdout, "About to install the pending fixes of %s, parents first.\n", strings.Join(names, ", "))
		if proceed, err := opts.ask(g, "installed"); err != nil || !proceed {
			return err
		}
	}
	res, err := t.Install(ctx, client.InstallOptions{Target: target, DryRun: opts.DryRun, Force: opts.Force, LockWait: opts.Wait})
	if err != nil {
		return err
	}
	printTreeInstall(g, res)
	return withInstallAdvice(res.Err())
}
