package publish

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/hotfix-project/hotfix/internal/statefile"
	"github.com/hotfix-project/hotfix/repo/site"
)

// siteConfigName keeps the repository's page settings between builds. A
// dot-file: never served, never published.
const siteConfigName = ".site.json"

type siteConfig struct {
	BugURL string `json:"bug_url,omitempty"`
}

// siteOptions resolves the pages' options: bugURL, when given, replaces
// the kept template; otherwise the kept one is used, after the same check
// as the flag's (the file may have been edited by hand). keep saves a new
// template: Build calls it only once everything is published, so that a
// build that fails leaves the repository, .site.json included, as it was.
func siteOptions(root string, bugURL *string, fingerprint string) (opts site.Options, keep func() error, err error) {
	keep = func() error { return nil }
	// No lock: only build writes it, whole and atomically (statefile).
	f := statefile.File[siteConfig]{Path: filepath.Join(root, siteConfigName)}
	conf, _, err := f.Load()
	if err != nil {
		if errors.Is(err, statefile.ErrDamaged) {
			err = fmt.Errorf("%s: %w: fix it or remove it (it only keeps the bug link template)", f.Path, err)
		}
		return site.Options{}, nil, err
	}
	if bugURL == nil {
		if err := checkBugURL(conf.BugURL); err != nil {
			return site.Options{}, nil, fmt.Errorf("%s: %w: fix it or remove it (it only keeps the bug link template)", f.Path, err)
		}
	} else {
		if err := checkBugURL(*bugURL); err != nil {
			return site.Options{}, nil, err
		}
		if *bugURL != conf.BugURL {
			conf.BugURL = *bugURL
			keep = func() error { return f.Save(conf) }
		}
	}
	return site.Options{BugURL: conf.BugURL, Fingerprint: fingerprint}, keep, nil
}

// ErrBugURL is a bug link template that cannot make links.
var ErrBugURL = errors.New("bug link template")

// checkBugURL accepts "" and absolute http(s) URLs that hold {id}.
func checkBugURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(strings.ReplaceAll(s, "{id}", "ID"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%w %q: want an http or https URL such as https://bugs.example.com/browse/{id}", ErrBugURL, s)
	}
	if !strings.Contains(s, "{id}") {
		return fmt.Errorf("%w %q has no {id}: every bug would link to the same page", ErrBugURL, s)
	}
	return nil
}
