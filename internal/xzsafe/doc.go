// Package xzsafe decompresses xz data from untrusted sources with bounded
// memory.
//
// github.com/ulikunitz/xz allocates whatever LZMA2 dictionary a block header
// asks for before it checks anything, so a 64-byte file can make it allocate
// gigabytes, and its ReaderConfig.DictCap only raises that size. This package
// therefore parses the xz container itself (stream header, block headers,
// index, stream footer, padding, concatenated streams) and hands each block's
// LZMA2 data to lzma.Reader2 only after the dictionary size has been checked
// against a caller-supplied bound. Only the LZMA2 filter is accepted: xz files
// with BCJ or delta filters are rejected, since hotfix never writes them.
//
// Data is returned as it is decoded; the integrity check of a block and the
// index are verified when their end is reached, and the reader returns io.EOF
// only after the whole container has validated. Callers that must not act on
// unverified bytes should read to io.EOF before trusting the output (hotfix
// also verifies a signed digest of the compressed file before decompressing).

package xzsafe
