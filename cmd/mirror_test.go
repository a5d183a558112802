package cmd

import (
	"io"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/client"
)

// TestMirrorDeadlinesAreTheClients: README promises that a mirror's
// transfers have the client's deadlines; --min-rate once defaulted to 0,
// so a mirror crawled on behind a source trickling a byte a second.
func TestMirrorDeadlinesAreTheClients(t *testing.T) {
	root := newRootCmd(&globalOptions{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard})
	c, _, err := root.Find([]string{"mirror"})
	if err != nil {
		t.Fatal(err)
	}
	for flag, want := range map[string]string{"min-rate": "1024", "stall-time": "30s"} {
		if got := c.Flags().Lookup(flag).DefValue; got != want {
			t.Errorf("mirror --%s defaults to %s, want the client's %s", flag, got, want)
		}
	}
	if client.DefaultMinRate != 1024 {
		t.Errorf("client.DefaultMinRate is %d: update this test and README", client.DefaultMinRate)
	}
}
