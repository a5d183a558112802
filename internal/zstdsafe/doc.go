// Package zstdsafe decompresses zstd data from untrusted sources with
// bounded memory, and reads it to its true end.
//
// github.com/klauspost/compress/zstd bounds the window it allocates
// (WithDecoderMaxWindow), but a single-segment frame's window is its
// declared content size, checked only against WithDecoderMaxMemory; it
// silently skips skippable frames (printing to stderr as it does); and it
// does not mind what a caller leaves unread after the last frame. This
// package therefore walks the frame structure itself as the bytes pass
// (frame headers, block headers, checksums) and hands them to the decoder
// only after each frame's window has been checked against a bound:
// skippable frames, dictionaries, reserved bits and data after the last
// frame are refused with ErrFormat, and the reader returns io.EOF only
// after every frame has decoded and its checksum matched.
package zstdsafe
