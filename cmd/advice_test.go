package cmd

import (
	"errors"
	"fmt"
	"testing"

	"github.com/hotfix-project/hotfix/repo/publish"
	"github.com/hotfix-project/hotfix/repo/rpm"
)

// The libraries name no flags; the message a user reads still does.
func TestAdviceNamesTheFlag(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("x.rpm: %w", &rpm.Error{Err: rpm.ErrUnsigned}),
			`x.rpm: invalid RPM fix package: the package is not signed: sign it with "hotfix pack --format rpm --key"`},
		{publish.ErrNoSigner, "build: a signing key is required (--key)"},
		{errors.New("something else"), "something else"},
	} {
		if got := tt.err.Error() + advice(tt.err); got != tt.want {
			t.Errorf("message %q, want %q", got, tt.want)
		}
	}
}
