// Package atomicfile writes files so that readers and crashes only ever see
// the old content or the new, never a mix: the data goes to a temporary file
// in the same directory, is synced, and is renamed over the target, and the
// directory is synced so the rename itself survives a power cut.
package atomicfile
