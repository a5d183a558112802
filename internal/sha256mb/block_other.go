//go:build !amd64

package sha256mb

// useMulti is false: without the 16-lane kernel every message is hashed
// with crypto/sha256.
var useMulti = false

func block16(state *[8][lanes]uint32, ptrs *[lanes]*byte, nblocks int) {
	block16Generic(state, ptrs, nblocks)
}
