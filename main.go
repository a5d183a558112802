// Command hotfix packs, publishes, checks, downloads and installs
// version-chained product hotfixes.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/hotfix-project/hotfix/cmd"
	"golang.org/x/term"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cmd.Execute(ctx, os.Args[1:], cmd.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, IsTerminal: isTerminal})
	stop()
	os.Exit(code)
}

// isTerminal reports whether stream is a file open on a terminal.
func isTerminal(stream any) bool {
	f, ok := stream.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
