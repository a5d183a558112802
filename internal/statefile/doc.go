// Package statefile loads and updates the small JSON state files of
// hotfix (state.json, seen.json, paused.json, the transaction journal,
// reported.json) one way: decoded strictly, written whole to a temporary,
// fsynced, renamed over the old file and the directory synced, so that a
// crash leaves the old content or the new, never a mix. Update does the
// read-modify-write under a lockfile lock for files that writers share
// without a wider lock.
package statefile
