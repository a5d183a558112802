package recordlog

import (
	"bytes"
	"testing"
)

// FuzzNext reads arbitrary bytes as a log: Next must never panic or read
// past data, a record it returns must end its record, after its CRC, and the
// Decoder must stop at the first field that does not fit.
func FuzzNext(f *testing.F) {
	body := AppendCount(AppendInt(AppendString(nil, "2.4.1.3"), -7), 2)
	f.Add(Append(Append(nil, body), []byte("x")))
	f.Add(Append(nil, nil))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		rest := data
		for len(rest) > 0 {
			rec, n := Next(rest)
			if rec == nil {
				if n != 0 {
					t.Fatalf("torn record with length %d", n)
				}
				break
			}
			if n <= 0 || n > len(rest) {
				t.Fatalf("record length %d of %d bytes", n, len(rest))
			}
			// The length may be a non-minimal uvarint (harmless: the CRC
			// still covers the body), so compare the body and its CRC.
			if n < len(rec)+5 || !bytes.Equal(rest[n-len(rec):n], rec) ||
				!bytes.Equal(Append(nil, rec)[len(Append(nil, rec))-len(rec)-4:], rest[n-len(rec)-4:n]) {
				t.Fatalf("record body is not the last bytes of its record")
			}
			d := Decoder{B: rec}
			for i := 0; i < 8 && !d.Bad && len(d.B) > 0; i++ {
				switch i % 4 {
				case 0:
					_ = d.String()
				case 1:
					_ = d.Int()
				case 2:
					if c := d.Count(); c > len(rec) {
						t.Fatalf("count %d over %d bytes", c, len(rec))
					}
				default:
					_ = d.Bytes()
				}
			}
			if d.Bad && (d.Int() != 0 || d.Bytes() != nil) {
				t.Fatalf("decoder read on after a bad field")
			}
			rest = rest[n:]
		}
	})
}
