package cmd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hotfix-project/hotfix/client"
	"github.com/spf13/cobra"
)

type recoverOptions struct {
	Wait time.Duration
}

func newRecoverCmd(g *globalOptions) *cobra.Command {
	opts := &recoverOptions{}
	c := &cobra.Command{
		Use:   "recover",
		Short: "Finish or undo a transaction interrupted by a crash",
		Long: `Recover reads the journal an interrupted install or rollback left behind and
restores the root so that it matches what "hotfix status" reports. install
and rollback do this by themselves first; run it by hand after a crash to
know the system is consistent before anything else.

When state.json is missing, empty, damaged or does not list fixes whose
backups exist (install, rollback and status then refuse, so that the
backups of the original files are never overwritten), recover rebuilds it:
the fixes whose backups exist, which must form one chain from the base;
when and by whom from the audit log; their files from their archives in the
download cache, or else from the root as it is now. A damaged state.json is
kept beside as state.json.damaged-TIME. It says why when it cannot.

The customer fixes whose backups exist (state_dir/custom) are restored the
same way; one whose backups' journal is unreadable is named, with how to
install it again.`,
		Args:        cobra.NoArgs,
		Annotations: jsonCommand,
		RunE:        func(c *cobra.Command, _ []string) error { return runRecover(c.Context(), g, opts) },
	}
	c.Flags().DurationVar(&opts.Wait, "wait", 0, "wait this long for the transaction lock")
	return c
}

// recoverJSON is `recover --json`: what recover did ("" for nothing),
// and the customer fixes a rebuild of a lost state restored and could
// not restore. recovered stays for the scripts that read it.
type recoverJSON struct {
	Format         int                   `json:"format"`
	Recovered      string                `json:"recovered"`
	RestoredCustom []client.CustomFixRef `json:"restored_custom"`
	LostCustom     []client.CustomFixRef `json:"lost_custom"`
}

func runRecover(ctx context.Context, g *globalOptions, opts *recoverOptions) error {
	cl, err := loadClient(g)
	if err != nil {
		return err
	}
	res, err := cl.Recover(ctx, opts.Wait)
	did := res.Did
	var lost *client.CustomLostError
	if errors.As(err, &lost) {
		err = fmt.Errorf("%w: move their directories out of %s and run \"hotfix install --force\", which installs them again from the repository over their files as they are", err, lost.Dir)
	}
	if g.JSON {
		out := recoverJSON{Format: jsonFormat, Recovered: did, RestoredCustom: res.RestoredCustom, LostCustom: res.LostCustom}
		if out.RestoredCustom == nil {
			out.RestoredCustom = []client.CustomFixRef{}
		}
		if out.LostCustom == nil {
			out.LostCustom = []client.CustomFixRef{}
		}
		if jerr := printJSON(g.stdout, out); jerr != nil && err == nil {
			err = jerr
		}
		return err
	}
	if did == "" && err == nil {
		did = "nothing to recover"
	}
	if did != "" && err == nil {
		fmt.Fprintln(g.stdout, did)
	}
	return err // says what recover did before it failed
}
