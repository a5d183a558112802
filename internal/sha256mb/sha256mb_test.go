package sha256mb

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// hashAll runs Hash over msgs and returns the digests in order, failing
// the test if a Done is missing or repeated.
func hashAll(t testing.TB, msgs [][]byte) [][Size]byte {
	t.Helper()
	sums := make([][Size]byte, len(msgs))
	calls := make([]int, len(msgs))
	i := 0
	err := Hash(context.Background(), func() (Job, bool) {
		if i == len(msgs) {
			return Job{}, false
		}
		k := i
		i++
		return Job{Data: msgs[k], Done: func(s [Size]byte) { sums[k] = s; calls[k]++ }}, true
	})
	if err != nil {
		t.Fatal(err)
	}
	for k, n := range calls {
		if n != 1 {
			t.Fatalf("message %d (%d bytes): Done called %d times", k, len(msgs[k]), n)
		}
	}
	return sums
}

func checkAll(t testing.TB, msgs [][]byte) {
	t.Helper()
	for k, got := range hashAll(t, msgs) {
		if want := sha256.Sum256(msgs[k]); got != want {
			t.Fatalf("message %d (%d bytes): got %x, want %x", k, len(msgs[k]), got, want)
		}
	}
}

func randomBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// withMulti runs f with the 16-lane kernel, with the lanes driving the Go
// reference kernel, and with crypto/sha256 alone, so that every path is
// tested wherever the assembly can run and the lanes' bookkeeping
// everywhere.
func withMulti(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	savedMulti, savedKernel := useMulti, kernel
	t.Cleanup(func() { useMulti, kernel = savedMulti, savedKernel })
	modes := []struct {
		name   string
		multi  bool
		kernel func(*[8][lanes]uint32, *[lanes]*byte, int)
	}{
		{"avx512", true, block16},
		{"lanes in Go", true, block16Generic},
		{"crypto/sha256", false, nil},
	}
	for _, m := range modes {
		if m.name == "avx512" && !savedMulti {
			t.Logf("this CPU lacks AVX-512: the assembly kernel cannot run here")
			continue
		}
		useMulti, kernel = m.multi, m.kernel
		t.Run(m.name, f)
	}
	useMulti, kernel = savedMulti, savedKernel
}

func TestHashMatchesCryptoSHA256(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	lengths := func(n int, f func(i int) int) [][]byte {
		msgs := make([][]byte, n)
		for i := range msgs {
			msgs[i] = randomBytes(r, f(i))
		}
		return msgs
	}
	cases := []struct {
		name string
		msgs [][]byte
	}{
		{"none", nil},
		{"one empty", [][]byte{{}}},
		{"one block", [][]byte{randomBytes(r, 64)}},
		// Every tail length, both one and two padding blocks.
		{"lengths 0-300", lengths(301, func(i int) int { return i })},
		{"16 equal", lengths(16, func(int) int { return 4096 })},
		{"17 equal", lengths(17, func(int) int { return 4096 })},
		{"one long, many short", lengths(40, func(i int) int {
			if i == 0 {
				return 1 << 20
			}
			return 100 + i
		})},
		{"long last", lengths(20, func(i int) int {
			if i == 19 {
				return 300000
			}
			return 1000 * i
		})},
		// After the first call the empty message is done, which leaves
		// five: the 56-byte one is then half through its two padding
		// blocks when the rest go to crypto/sha256.
		{"padding interrupted", lengths(6, func(i int) int { return []int{56, 0, 10000, 10000, 10000, 10000}[i] })},
		{"mixed", lengths(200, func(int) int { return r.IntN(200000) })},
		{"beyond one call", lengths(18, func(i int) int { return maxCall*64*2 + i*64 + i })},
	}
	withMulti(t, func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) { checkAll(t, c.msgs) })
		}
	})
}

// TestKernelMatchesGeneric compares the assembly with the Go reference on
// random states, so a wrong round shows up as a wrong word, not just a
// wrong digest.
func TestKernelMatchesGeneric(t *testing.T) {
	if !useMulti {
		t.Skip("this CPU lacks AVX-512: the kernel never runs here")
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, nblocks := range []int{1, 2, 7} {
		t.Run(fmt.Sprint(nblocks), func(t *testing.T) {
			var st [8][lanes]uint32
			var ptrs [lanes]*byte
			for i := range st {
				for l := range st[i] {
					st[i][l] = r.Uint32()
				}
			}
			for l := range ptrs {
				ptrs[l] = &randomBytes(r, nblocks*64)[0]
			}
			want := st
			block16Generic(&want, &ptrs, nblocks)
			got := st
			block16(&got, &ptrs, nblocks)
			if got != want {
				t.Fatalf("kernel state differs from the reference:\n got %x\nwant %x", got, want)
			}
		})
	}
}

func TestHashStopsWhenCancelled(t *testing.T) {
	withMulti(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		msg := make([]byte, 1<<20)
		served, finished := 0, 0
		err := Hash(ctx, func() (Job, bool) {
			served++
			if served == 20 {
				cancel()
			}
			return Job{Data: msg, Done: func([Size]byte) { finished++ }}, true
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Hash = %v, want context.Canceled", err)
		}
		if finished >= served {
			t.Fatalf("all %d messages finished after the cancel", served)
		}
	})
}

func FuzzHash(f *testing.F) {
	f.Add([]byte("abc"), uint64(0))
	f.Add(make([]byte, 5000), uint64(12345))
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		// Cut data into up to 40 messages at places the seed picks.
		r := rand.New(rand.NewPCG(seed, 0))
		var msgs [][]byte
		for len(data) > 0 && len(msgs) < 40 {
			n := r.IntN(len(data) + 1)
			msgs = append(msgs, data[:n])
			data = data[n:]
		}
		msgs = append(msgs, data)
		checkAll(t, msgs)
	})
}

func benchmarkHash(b *testing.B, multi bool) {
	saved := useMulti
	defer func() { useMulti = saved }()
	useMulti = multi && saved
	msgs := make([][]byte, 64)
	for i := range msgs {
		msgs[i] = make([]byte, 1<<20+i*4096)
	}
	total := 0
	for _, m := range msgs {
		total += len(m)
	}
	b.SetBytes(int64(total))
	for b.Loop() {
		hashAll(b, msgs)
	}
}

// BenchmarkHash hashes 64 messages of about 1 MiB each, the size of a
// small fix package, with the 16-lane kernel where it runs.
func BenchmarkHash(b *testing.B) { benchmarkHash(b, true) }

// BenchmarkHashEach is the same with crypto/sha256 one after another.
func BenchmarkHashEach(b *testing.B) { benchmarkHash(b, false) }

// The committed kernel is what the generator writes.
func TestKernelIsGenerated(t *testing.T) {
	out := filepath.Join(t.TempDir(), "block_amd64.s")
	cmd := exec.Command("go", "run", "gen_amd64.go", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run gen_amd64.go: %v\n%s", err, msg)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("block_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("block_amd64.s differs from what gen_amd64.go writes: run go generate ./internal/sha256mb")
	}
}
