// Package fixarchive owns the .fix archive: packing a fix source into
// PRODUCT-VERSION.fix (a zstd or xz tar stream, manifest.json first) and reading
// one safely, checking every entry against the manifest before a byte
// lands on disk. Archives come from anywhere, so the reader treats them
// as hostile: bounded decompression, no links, no paths outside.
package fixarchive
