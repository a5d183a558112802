// Package cmd holds the hotfix command line: flags, output and exit codes.
// Logic worth testing lives in the library packages; each command here is a
// newXCmd constructor, an options struct and a runX(ctx, opts) function.
package cmd
