package cmd

import (
	"encoding/json"
	"io"

	"github.com/hotfix-project/hotfix/client"
	"github.com/hotfix-project/hotfix/repo"
)

// loadClient reads the configuration and prepares a client.
func loadClient(g *globalOptions) (*client.Client, error) {
	cfg, err := client.LoadConfig(client.ConfigPath(g.ConfigPath))
	if err != nil {
		return nil, err
	}
	return client.New(cfg, g.logger)
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
