// Package rpm owns RPM fix packages, the second archive format: writing
// one with the same content as a .fix (so dnf can install fixes), reading
// its header for indexing, and verifying and extracting one safely
// (header signature per Trust, payload digest before decompression,
// every entry against the header and the manifest).
package rpm
