package cmd

import (
	"encoding/json"
	"io"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/repo"
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
