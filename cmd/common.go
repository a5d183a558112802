package cmd

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/internal/words"
	"github.com/hotfix-project/hotfix/repo"
	"github.com/spf13/cobra"
)

// loadClient reads the configuration and prepares the client of its
// one root, or of the instance --instance names (instances.go).
func loadClient(g *globalOptions) (*client.Client, error) {
	cfg, err := loadConfig(g)
	if err != nil {
		return nil, err
	}
	return instanceClient(g, cfg, true)
}

// loadHostClient is loadClient for the commands that act on the whole
// host when there are [[instance]] tables and no --instance (pause,
// resume: state_dir/paused.json holds off every instance).
func loadHostClient(g *globalOptions) (*client.Client, error) {
	cfg, err := loadConfig(g)
	if err != nil {
		return nil, err
	}
	return instanceClient(g, cfg, false)
}

// parseVersionArg parses an optional VERSION argument or flag value: ""
// gives nil, a malformed one is a usage error.
func parseVersionArg(s string) (*repo.Version, error) {
	if s == "" {
		return nil, nil
	}
	v, err := repo.ParseVersion(s)
	if err != nil {
		return nil, &usageError{err}
	}
	return &v, nil
}

// printJSON writes v as indented JSON, the form of every --json output.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// jsonFormat is the "format" key of every --json output: it grows by one
// only when a key changes meaning or goes away (new keys keep it).
const jsonFormat = 1

// timeJSON is the form of times in --json output: RFC 3339 in UTC.
const timeJSON = time.RFC3339

// jsonCommand marks a command whose output --json turns into JSON; any
// other command refuses --json (a usage error) rather than ignore it.
var jsonCommand = map[string]string{"json": "yes"}

// checkJSONFlag refuses --json on a command that has no JSON form.
func checkJSONFlag(g *globalOptions, c *cobra.Command) error {
	if !g.JSON || c.Annotations["json"] == "yes" || !c.Runnable() || c.HasSubCommands() {
		return nil
	}
	switch c.Name() {
	case "help", cobra.ShellCompRequestCmd, cobra.ShellCompNoDescRequestCmd:
		return nil
	}
	name := strings.TrimPrefix(c.CommandPath(), c.Root().Name()+" ")
	return usagef("%s has no JSON output: it reports nothing a script would read (leave out --json)", name)
}

// localTime shows an RFC 3339 time of a --json value in local time, as
// the text forms do.
func localTime(s string) string {
	t, err := time.Parse(timeJSON, s)
	if err != nil {
		return s
	}
	return t.Local().Format("2006-01-02 15:04")
}

// plural writes n with the singular or plural noun: "1 fix", "2 fixes".
func plural(n int, one, many string) string { return words.Count(n, one, many) }

// humanBytes writes a size for people: bytes below 1 KiB, else KiB or
// MiB with one decimal.
func humanBytes(n int64) string {
	switch {
	case n < 1<<10:
		return plural(int(n), "byte", "bytes")
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
