package sha256mb

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"hash"
)

// Job is one message to hash. Data must stay readable and unchanged until
// Done has been called with its digest.
type Job struct {
	Data []byte
	Done func(sum [Size]byte)
}

// Size is the size of a SHA-256 digest in bytes.
const Size = sha256.Size

const (
	lanes = 16
	// scalarMax is the number of messages at or below which the
	// remaining ones are finished with crypto/sha256: the 16-lane kernel
	// hashes at about 2.7 times one stream's speed, so with five or fewer
	// lanes busy one stream after another is faster.
	scalarMax = 5
	// maxCall bounds the blocks per lane per call of the kernel, so a
	// cancelled context is noticed within a few milliseconds and the
	// garbage collector never waits long for the (non-preemptible)
	// assembly.
	maxCall = 1024
)

// kernel is block16; the tests run the lanes with block16Generic too, so
// that their bookkeeping is tested on machines without AVX-512.
var kernel = block16

var initState = [8]uint32{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}

// Hash hashes the messages next returns until it returns false, calling
// each job's Done with the message's SHA-256 from the calling goroutine.
// next is called again as soon as a lane is free, so up to 16 messages are
// in flight. Hash returns early only when ctx is done, with ctx's error;
// messages then in flight get no Done call.
func Hash(ctx context.Context, next func() (Job, bool)) error {
	if !useMulti {
		return hashEach(ctx, next)
	}
	var m multi
	return m.run(ctx, next)
}

// hashEach is Hash one message after another with crypto/sha256.
func hashEach(ctx context.Context, next func() (Job, bool)) error {
	for {
		j, ok := next()
		if !ok {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		j.Done(sha256.Sum256(j.Data))
	}
}

// lane is one message in flight.
type lane struct {
	job    Job
	active bool
	rest   []byte // the whole blocks not yet hashed: of Data, then of pad
	padded []byte // pad's blocks, still to come after rest; nil once rest is them
	pad    [2 * 64]byte
}

type multi struct {
	state [8][lanes]uint32
	ptrs  [lanes]*byte
	lane  [lanes]lane
}

// start puts j in lane l: its whole blocks first, then the padded tail.
func (m *multi) start(l int, j Job) {
	ln := &m.lane[l]
	*ln = lane{job: j, active: true}
	for i, v := range initState {
		m.state[i][l] = v
	}
	whole := len(j.Data) &^ 63
	tail := copy(ln.pad[:], j.Data[whole:])
	ln.pad[tail] = 0x80
	padLen := 64
	if tail >= 56 {
		padLen = 128
	}
	binary.BigEndian.PutUint64(ln.pad[padLen-8:], uint64(len(j.Data))*8)
	ln.rest, ln.padded = j.Data[:whole], ln.pad[:padLen]
	if whole == 0 {
		ln.rest, ln.padded = ln.padded, nil
	}
}

// finish empties lane l and hands sum to its job.
func (m *multi) finish(l int, sum [Size]byte) {
	done := m.lane[l].job.Done
	m.lane[l] = lane{}
	done(sum)
}

// sum is the digest in lane l's state.
func (m *multi) sum(l int) [Size]byte {
	var sum [Size]byte
	for i := range 8 {
		binary.BigEndian.PutUint32(sum[4*i:], m.state[i][l])
	}
	return sum
}

func (m *multi) run(ctx context.Context, next func() (Job, bool)) error {
	exhausted := false
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		busy := 0
		for l := range m.lane {
			if !m.lane[l].active && !exhausted {
				j, ok := next()
				if ok {
					m.start(l, j)
				} else {
					exhausted = true
				}
			}
			if m.lane[l].active {
				busy++
			}
		}
		if busy == 0 {
			return nil
		}
		if exhausted && busy <= scalarMax {
			return m.finishEach(ctx)
		}
		n := maxCall
		first := -1
		for l := range m.lane {
			if ln := &m.lane[l]; ln.active {
				n = min(n, len(ln.rest)/64)
				if first < 0 {
					first = l
				}
			}
		}
		for l := range m.lane {
			if m.lane[l].active {
				m.ptrs[l] = &m.lane[l].rest[0]
			} else {
				// An idle lane hashes a busy lane's data into a
				// state nobody reads.
				m.ptrs[l] = m.ptrs[first]
			}
		}
		kernel(&m.state, &m.ptrs, n)
		for l := range m.lane {
			ln := &m.lane[l]
			if !ln.active {
				continue
			}
			ln.rest = ln.rest[n*64:]
			switch {
			case len(ln.rest) > 0:
			case ln.padded != nil:
				ln.rest, ln.padded = ln.padded, nil
			default:
				m.finish(l, m.sum(l))
			}
		}
	}
}

// finishEach completes the lanes still busy one after another: a lane
// still in its message goes on in crypto/sha256, resumed from the lane's
// state through the digest's documented binary form; a lane in its padding
// (one or two blocks left) is finished in Go.
func (m *multi) finishEach(ctx context.Context) error {
	for l := range m.lane {
		if err := ctx.Err(); err != nil {
			return err
		}
		ln := &m.lane[l]
		if !ln.active {
			continue
		}
		if ln.padded == nil {
			var h [8]uint32
			for i := range h {
				h[i] = m.state[i][l]
			}
			compress(&h, ln.rest)
			for i := range h {
				m.state[i][l] = h[i]
			}
			m.finish(l, m.sum(l))
			continue
		}
		hashed := len(ln.job.Data)&^63 - len(ln.rest)
		var sum [Size]byte
		if h := m.resume(l, hashed); h != nil {
			h.Write(ln.job.Data[hashed:])
			h.Sum(sum[:0])
		} else {
			sum = sha256.Sum256(ln.job.Data)
		}
		m.finish(l, sum)
	}
	return nil
}

// resume returns a crypto/sha256 hash in lane l's state, hashed bytes in
// and nothing buffered; nil should crypto/sha256 not take the state (its
// form is part of the package's compatibility promise).
func (m *multi) resume(l, hashed int) hash.Hash {
	// crypto/sha256's marshalled state: "sha\x03", the eight words, the
	// 64-byte buffer, the length in bytes.
	b := make([]byte, 0, 4+32+64+8)
	b = append(b, "sha\x03"...)
	for i := range 8 {
		b = binary.BigEndian.AppendUint32(b, m.state[i][l])
	}
	b = append(b, make([]byte, 64)...)
	b = binary.BigEndian.AppendUint64(b, uint64(hashed))
	h := sha256.New()
	if err := h.(interface{ UnmarshalBinary([]byte) error }).UnmarshalBinary(b); err != nil {
		return nil
	}
	return h
}
