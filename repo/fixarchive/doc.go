// Package fixarchive owns the .fix archive: packing a fix source into
// PRODUCT-VERSION.fix (a zstd or xz tar stream, manifest.json first) and reading
// one safely, checking every entry against the manifest before a byte
// lands on disk. Archives come from anywhere, so the reader treats them
// as hostile: bounded decompression, no links, no paths outside, and every
// archive read to its true end (the tar end-of-archive marker, nothing but
// zeros after it, the xz container validated to its last byte), so that
// nothing hides where tar itself would stop looking.
package fixarchive
