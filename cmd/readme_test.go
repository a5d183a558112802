package cmd

import (
	"io"
	"os"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// readmeSection returns README.md's text from the heading title to the
// next heading of the same level.
func readmeSection(t *testing.T, readme, title string) string {
	t.Helper()
	start := strings.Index(readme, "\n"+title+"\n")
	if start < 0 {
		t.Fatalf("README.md has no heading %q", title)
	}
	rest := readme[start+len(title)+2:]
	if end := strings.Index(rest, "\n"+title[:strings.Index(title, " ")+1]); end >= 0 {
		rest = rest[:end]
	}
	return rest
}

// TestREADMECoversCommands keeps README true to the command tree: every
// command a user can run is in the command reference and in the root
// help's summary, and the machine-readable section gives the keys of
// every command with --json and names every other one among those that
// refuse it. A new command (or a new --json form) without its README
// line fails here rather than surprising a reader.
func TestREADMECoversCommands(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	reference := readmeSection(t, readme, "## Command reference")
	machine := readmeSection(t, readme, "## Machine-readable output")
	root := newRootCmd(&globalOptions{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			walk(sub)
			if !sub.Runnable() || sub.HasSubCommands() {
				continue
			}
			path := strings.TrimPrefix(sub.CommandPath(), "hotfix ")
			if !strings.Contains(reference, "hotfix "+path) && !strings.Contains(reference, "/ `"+path) {
				t.Errorf("README's command reference does not name hotfix %s", path)
			}
			top := strings.Fields(path)[0]
			if !strings.Contains(root.Long, " "+top) {
				t.Errorf("hotfix --help's summary does not name %s", top)
			}
			if sub.Annotations["json"] == "yes" {
				if !strings.Contains(machine, "`"+path+" --json") {
					t.Errorf("README's machine-readable output does not give the keys of %s --json", path)
				}
			} else if !strings.Contains(machine, "`"+path+"`") {
				t.Errorf("README's machine-readable output does not say that %s refuses --json", path)
			}
		}
	}
	walk(root)
}
