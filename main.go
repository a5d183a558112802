// Command hotfix packs, publishes, checks, downloads and installs
// version-chained product hotfixes.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/hotfix-project/hotfix/cmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cmd.Execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
