package client

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/hotfix-project/hotfix/repo"
)

// ErrNoChannel means the repository's signed repo.json lists no channel
// for the configured product and installed base: the vendor does not know
// this product, or has published nothing for this version, not even an
// empty channel. Callers branch on it to advise the vendor's command.
var ErrNoChannel = errors.New("no such channel in the repository")

// NoChannelError is ErrNoChannel with what repo.json does list.
type NoChannelError struct {
	Product    string
	Base       repo.Version
	Config     string         // the configuration file, named in the remedy
	Known      bool           // the product is in repo.json
	Bases      []repo.Version // the product's channels, when Known
	Products   []string       // every product, when not Known
	RepoURL    string
	IndexError error // the fetch error that led here (a 404)
}

func (e *NoChannelError) Error() string {
	if !e.Known {
		return fmt.Sprintf("the repository %s has no product %q (it publishes: %s): check product in %s",
			e.RepoURL, e.Product, orNone(e.Products), e.Config)
	}
	var bases []string
	for _, b := range e.Bases {
		bases = append(bases, b.String())
	}
	return fmt.Sprintf("the vendor publishes no channel for %s %s (its channels of %s: %s): check the installed version in version_file, "+
		"or ask the vendor to publish the channel of %s, empty until a fix exists",
		e.Product, e.Base, e.Product, orNone(bases), e.Base)
}

func (e *NoChannelError) Unwrap() []error { return []error{ErrNoChannel, e.IndexError} }

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// isMissing reports whether a fetch failed because the file is not there
// (an HTTP 404 or 410, or a missing file under a file:// repository).
func isMissing(err error) bool {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Status == 404 || he.Status == 410
	}
	return errors.Is(err, fs.ErrNotExist)
}

// explainMissingIndex turns a missing channel index into a NoChannelError
// when the signed repo.json confirms that the channel does not exist. It
// returns nil when repo.json cannot say (missing, unverifiable, or it
// lists the channel: then the index is missing by accident, and the
// caller's own error stands). Only a verified repo.json decides: a
// forged one could otherwise turn an outage into "no such channel".
func (c *Client) explainMissingIndex(ctx context.Context, base repo.Version, indexErr error) error {
	kr, err := c.trusted()
	if err != nil {
		return nil
	}
	limit := c.maxIndexSize()
	data, _, _, err := c.Fetcher.Small(ctx, repo.RootIndexName, limit, "")
	if err != nil {
		c.Log.Debug("repo.json not read", "err", err)
		return nil
	}
	sig, _, _, err := c.Fetcher.Small(ctx, repo.RootIndexName+repo.SigSuffix, 64<<10, "")
	if err != nil {
		c.Log.Debug("repo.json.asc not read", "err", err)
		return nil
	}
	if _, err := kr.Verify(data, sig, c.Now()); err != nil {
		c.Log.Warn("repo.json does not verify against trusted_keys: not used to explain the missing index", "err", err)
		return nil
	}
	ri, err := repo.ParseRootIndex(data)
	if err != nil || c.Now().After(ri.Expires) {
		return nil
	}
	e := &NoChannelError{Product: c.Cfg.Product, Base: base, Config: c.Cfg.Path, RepoURL: c.Cfg.Repo, IndexError: indexErr}
	for _, p := range ri.Products {
		e.Products = append(e.Products, p.Name)
		if p.Name != c.Cfg.Product {
			continue
		}
		e.Known = true
		for _, ch := range p.Channels {
			if ch.Base.Equal(base) {
				return nil // listed: the index is missing by accident
			}
			e.Bases = append(e.Bases, ch.Base)
		}
	}
	slices.Sort(e.Products)
	slices.SortFunc(e.Bases, func(a, b repo.Version) int { return a.Compare(b) })
	return e
}
