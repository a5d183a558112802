// Package sha256mb computes the SHA-256 of many byte slices at once.
//
// Indexing a repository is hashing: a fresh build of thousands of fix
// packages spends most of its time in SHA-256, and one stream of SHA-256
// cannot go faster than the SHA extensions' one block per ~150 cycles. With
// AVX-512 a core runs the compression function on 16 independent messages
// at once (one per 32-bit lane) at about 2.7 times the throughput of the
// SHA extensions, so the many files of a build are hashed 16 at a time.
// Where AVX-512 is missing, or fewer messages are left than make a batch
// pay, each message is hashed with crypto/sha256.
//
// The digests are those of crypto/sha256; the tests compare them for every
// length up to several blocks and under fuzzing. block_amd64.s is generated
// by gen_amd64.go.
package sha256mb
