package cmd

import (
	"errors"
	"fmt"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/internal/lockfile"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/publish"
	"github.com/hotfix-project/hotfix/repo/rpm"
)

// Exit codes fixed by DESIGN.md.
const (
	ExitOK       = 0
	ExitError    = 1
	ExitUsage    = 2
	ExitPending  = 100
	ExitTempFail = 75
)

// usageError marks a mistake in how the command was called (exit 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// exitCodeError carries a specific exit code with an optional message; with
// no message nothing is printed (check's 100 is an answer, not a failure).
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}
func (e *exitCodeError) Unwrap() error { return e.err }

// advice is what the command line adds to a library error that one of
// its flags answers: the libraries name no flags.
func advice(err error) string {
	switch {
	case errors.Is(err, rpm.ErrUnsigned):
		return `: sign it with "hotfix pack --format rpm --key"`
	case errors.Is(err, publish.ErrNoSigner):
		return " (--key)"
	case errors.Is(err, publish.ErrIndexTooLarge):
		return " (once every client has, --max-index-size BYTES to match)"
	case errors.Is(err, publish.ErrExpiresTooShort):
		return " (--expires)"
	case errors.Is(err, publish.ErrKeyNotListed):
		return " (give --key one of the listed signing keys, or name this key with hotfix repo trust --signing)"
	case errors.Is(err, repo.ErrKeyListSignature):
		return " (--root-key: sign with enough root keys of the previous version and of the new one)"
	}
	return ""
}

// exitCode is the one place that maps errors to DESIGN.md's exit codes. It
// looks at types and sentinels only, never at error text: every usage
// mistake cobra can make (unknown command, bad flag, wrong arguments) reaches
// it as a *usageError through typeUsageErrors and SetFlagErrorFunc.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ec *exitCodeError
	if errors.As(err, &ec) {
		return ec.code
	}
	var ue *usageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	var te *client.TreeError
	if errors.As(err, &te) {
		// Several instances: 75 only when every one that did not
		// finish was merely held off (a child blocked behind a waiting
		// parent unwraps to the parent's wait).
		for _, ie := range te.Errs {
			if !temporary(ie) {
				return ExitError
			}
		}
		return ExitTempFail
	}
	if temporary(err) {
		return ExitTempFail
	}
	return ExitError
}

// temporary says whether err only held a run off for now, so that the
// next one may go through (exit 75): a lock, a pause, a cluster primary
// that has not committed the fix yet.
func temporary(err error) bool {
	return errors.Is(err, lockfile.ErrLocked) || errors.Is(err, client.ErrPaused) || errors.Is(err, client.ErrWaitingForPrimary)
}
