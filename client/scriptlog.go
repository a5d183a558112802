package client

import (
	"fmt"
	"io"
	"sync"
)

// What a script's or hook's output may take in its log: the head shows
// what it set out to do, the tail how it ended; the middle of a runaway
// output is dropped, and the log says so.
const (
	scriptLogHead = 512 << 10
	scriptLogTail = 512 << 10
)

// cappedLog passes the first head bytes written to it on to w, keeps the
// last tail bytes of the rest in memory, and at finish writes a line
// saying how much was cut, then that tail. It never fails a write: a
// script must not die of SIGPIPE because its log is full.
type cappedLog struct {
	mu      sync.Mutex
	w       io.Writer
	headMax int
	head    int    // bytes still to pass on
	tail    []byte // ring of the last bytes past the head
	next    int    // where the ring is written next
	full    bool   // the ring has wrapped
	dropped int64  // bytes past the head that the ring no longer holds
}

func newCappedLog(w io.Writer, head, tail int) *cappedLog {
	return &cappedLog{w: w, headMax: head, head: head, tail: make([]byte, tail)}
}

func (l *cappedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(p)
	if l.head > 0 {
		k := min(l.head, len(p))
		_, _ = l.w.Write(p[:k]) // a log write error must not kill the script
		l.head -= k
		p = p[k:]
	}
	if len(l.tail) == 0 {
		l.dropped += int64(len(p))
		return n, nil
	}
	for len(p) > 0 {
		k := copy(l.tail[l.next:], p)
		if l.full {
			l.dropped += int64(k) // overwrote the oldest k bytes
		}
		p = p[k:]
		l.next += k
		if l.next == len(l.tail) {
			l.next, l.full = 0, true
		}
	}
	return n, nil
}

// finish writes what the ring holds, after a line saying what was cut.
func (l *cappedLog) finish() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dropped > 0 {
		fmt.Fprintf(l.w, "\n[hotfix: output cut: %d bytes left out; the first %d and the last %d bytes are kept]\n", l.dropped, l.headMax, len(l.tail))
	}
	if l.full {
		_, _ = l.w.Write(l.tail[l.next:])
	}
	_, _ = l.w.Write(l.tail[:l.next])
	l.next, l.full, l.dropped = 0, false, 0
}
