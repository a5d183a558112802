// Package server serves a static hotfix repository directory over HTTP.
//
// The repository is plain files, so any web server or CDN can host it; this
// package exists so that a vendor can publish one without configuring a web
// server, and so that tests and demos have a realistic host. It is
// deliberately strict: only GET and HEAD, nothing outside the repository
// (enforced by os.Root, so symlinks cannot escape either), no dot-files (the
// atomic-write temporaries are named .name.tmp-*), and no directory listings.
// Validators (ETag, Last-Modified) and caching headers follow the
// repository's publishing contract: archives are immutable, indexes and
// signatures must always be revalidated.
package server
