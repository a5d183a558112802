// Package cmd holds the hotfix command line: flags, output and exit codes,
// nothing worth testing on its own. Each command lives in its own file
// (check.go, repo_build.go, key_generate.go, ...) as a newXCmd constructor,
// an xOptions struct and a runX(ctx, g, opts) function that calls a library
// package and prints its result. root.go builds the tree and Execute runs
// it on injected Streams (stdin, stdout, stderr, terminal detection);
// exit.go is the one place errors become exit codes, by type only; args.go
// turns every cobra complaint into a usage error (exit 2).
package cmd
