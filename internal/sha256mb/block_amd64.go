package sha256mb

//go:generate go run gen_amd64.go

import "golang.org/x/sys/cpu"

// useMulti is whether the 16-lane kernel runs on this machine: it needs
// AVX-512 F and BW (VPSHUFB on 512 bits) and an OS that saves their state.
var useMulti = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW

// block16 runs the compression function on nblocks consecutive 64-byte
// blocks of each of 16 messages; ptrs[l] is where lane l's blocks start and
// state[i][l] is word i of lane l's state.
//
//go:noescape
func block16(state *[8][lanes]uint32, ptrs *[lanes]*byte, nblocks int)
