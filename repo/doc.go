// Package repo is the repository model of hotfix: versions and chains, the
// fix source (fix.toml), the manifest and the .fix archive, channel indexes,
// the generator that adds archives and builds signed indexes, and the HTML
// fix pages. It never prints; callers pass a *slog.Logger where it logs.
package repo
