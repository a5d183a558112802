package cmd

import (
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func newRepoCmd(g *globalOptions) *cobra.Command {
	c := &cobra.Command{
		Use:   "repo",
		Short: "Manage a static hotfix repository (vendor side)",
		Long: `A hotfix repository is a directory of PRODUCT/BASE/ channels holding fix
archives, signed indexes and HTML pages. Publish it with "hotfix serve" or
copy it to object storage or any static web host with "hotfix repo publish",
which keeps the safe order (archives, indexes, signatures).`,
	}
	c.AddCommand(newRepoAddCmd(g), newRepoBuildCmd(g), newRepoVerifyCmd(g), newRepoTrustCmd(g), newRepoExportCmd(g), newRepoRolloutCmd(g), newRepoPublishCmd(g))
	return c
}

// batchGC lets the one-shot vendor batch commands (repo add, repo build)
// trade memory for speed. They load caches of several MB and allocate tens
// of MB within a fraction of a second, nearly all of it live until the end:
// at Go's default GOGC=100 the collector took a quarter of an incremental
// build of 2000 packages. A GOGC the user set wins.
func batchGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}
