// Package site owns the HTML pages a repository publishes for people: a
// page per channel listing its fixes, newest first, and the repository's
// top page listing products and channels. Each fix's section of a channel
// page is rendered once and kept by sha256 of the fix's file (the caller
// stores them), so a build that adds one fix to thousands renders one.
package site
