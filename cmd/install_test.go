package cmd

import (
	"errors"
	"fmt"
	"testing"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/repo"
)

// The library names the refusal; cmd adds the flag that answers it, and
// the message reads as it always did.
func TestInstallAdvice(t *testing.T) {
	ai := &client.AlreadyInstalledError{Version: repo.MustParseVersion("2.4.1.2"), Installed: repo.MustParseVersion("2.4.1.3")}
	err := withInstallAdvice(ai)
	want := "fix 2.4.1.2 is already installed (installed: 2.4.1.3); use --reinstall 2.4.1.3 for the newest"
	if err.Error() != want || !errors.Is(err, client.ErrAlreadyInstalled) {
		t.Errorf("advice = %q, want %q (and still ErrAlreadyInstalled)", err, want)
	}
	other := fmt.Errorf("boom")
	if withInstallAdvice(other) != other || withInstallAdvice(nil) != nil {
		t.Error("other errors must pass unchanged")
	}
}
