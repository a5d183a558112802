package cmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

type resumeOptions struct{}

func newResumeCmd(g *globalOptions) *cobra.Command {
	opts := &resumeOptions{}
	return &cobra.Command{
		Use:         "resume",
		Short:       "Lift a pause",
		Args:        cobra.NoArgs,
		Annotations: jsonCommand,
		RunE:        func(c *cobra.Command, _ []string) error { return runResume(c.Context(), g, opts) },
	}
}

// resumeJSON is `resume --json`.
type resumeJSON struct {
	Format    int  `json:"format"`
	WasPaused bool `json:"was_paused"`
}

func runResume(_ context.Context, g *globalOptions, _ *resumeOptions) error {
	cl, err := loadHostClient(g)
	if err != nil {
		return err
	}
	was, err := cl.Resume()
	if g.JSON {
		if jerr := printJSON(g.stdout, resumeJSON{Format: jsonFormat, WasPaused: was}); jerr != nil && err == nil {
			err = jerr
		}
		return err
	}
	switch {
	case was:
		fmt.Fprintln(g.stdout, "resumed")
	case err == nil:
		fmt.Fprintln(g.stdout, "was not paused")
	}
	return err // after "resumed": the audit log refused its record
}
