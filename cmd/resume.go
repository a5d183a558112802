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
		Use:   "resume",
		Short: "Lift a pause",
		Args:  cobra.NoArgs,
		RunE:  func(c *cobra.Command, _ []string) error { return runResume(c.Context(), g, opts) },
	}
}

func runResume(_ context.Context, g *globalOptions, _ *resumeOptions) error {
	cl, err := loadHostClient(g)
	if err != nil {
		return err
	}
	was, err := cl.Resume()
	switch {
	case was:
		fmt.Fprintln(g.stdout, "resumed")
	case err == nil:
		fmt.Fprintln(g.stdout, "was not paused")
	}
	return err // after "resumed": the audit log refused its record
}
