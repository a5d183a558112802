// Package tomlpos finds the line of a key in TOML source text, so that
// errors found after decoding (a bad value, a duplicate id) can still name
// the line a person must edit. It understands tables and arrays of tables,
// which is all hotfix's files use; it is not a TOML parser.
package tomlpos
