// Package tomlpos finds the line of a key in TOML source text, so that
// errors found after decoding (a bad value, a duplicate id, a setting that
// conflicts with another) can still name the line a person must edit. It
// is the one place hotfix maps keys to lines, for fix.toml and for the
// client configuration alike, and it walks go-toml's own parser rather
// than reading lines, so quoted, dotted and inline-table keys are found
// wherever they are written.
package tomlpos
