package recordlog

import (
	"bytes"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	body := append(AppendCount(AppendInt(AppendBytes(AppendString(nil, "name"), []byte{1, 2}), -7), 3), "xyz"...)
	log := Append(Append([]byte("magic\n"), body), []byte("second"))
	data := log[len("magic\n"):]
	got, n := Next(data)
	if !bytes.Equal(got, body) {
		t.Fatalf("first record %q, want %q", got, body)
	}
	d := Decoder{B: got}
	if s, b, i, c := d.String(), d.Bytes(), d.Int(), d.Count(); s != "name" || !bytes.Equal(b, []byte{1, 2}) || i != -7 || c != 3 || d.Bad {
		t.Fatalf("fields %q %v %d %d bad %v", s, b, i, c, d.Bad)
	}
	if second, _ := Next(data[n:]); string(second) != "second" {
		t.Fatalf("second record %q", second)
	}
	// A torn or damaged record ends the log.
	if r, _ := Next(data[:n-1]); r != nil {
		t.Error("torn record read")
	}
	bad := bytes.Clone(data)
	bad[n-1] ^= 1
	if r, _ := Next(bad); r != nil {
		t.Error("damaged record read")
	}
	// A field that does not fit marks the decoder bad.
	d = Decoder{B: []byte{5, 'a'}}
	if _ = d.String(); !d.Bad || d.Done() {
		t.Error("short field read")
	}
}
