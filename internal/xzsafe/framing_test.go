package xzsafe

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/ulikunitz/xz"
)

// CheckFraming agrees with NewReader on every file whose blocks are
// intact: the valid shapes pass, and whatever is appended to or cut off
// the end of a file is refused by both.
func TestCheckFraming(t *testing.T) {
	text := []byte(strings.Repeat("framing of an xz file\n", 200))
	one := runXZ(t, text, "-0")
	multi := runXZ(t, text, "-0", "-T2", "--block-size=256", "--check=sha256")
	none := runXZ(t, text, "-0", "--check=none")
	goMade := goXZ(t, text, xz.WriterConfig{DictCap: 1 << 20})
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name string
		data []byte
		want string // "" means valid
	}{
		{"one stream", one, ""},
		{"many blocks", multi, ""},
		{"no check", none, ""},
		{"written by ulikunitz/xz", goMade, ""},
		{"empty stream", runXZ(t, nil, "-0"), ""},
		{"two streams with padding", cat(one, make([]byte, 8), multi), ""},
		{"trailing stream padding", cat(one, make([]byte, 4)), ""},
		{"one byte appended", cat(one, []byte("x")), "not a multiple of four"},
		{"four bytes appended", cat(one, []byte("abcd")), "no stream footer at the end of the last stream"},
		{"garbage appended", cat(multi, []byte("garbage appended by a mirror")), "no stream footer"},
		{"odd stream padding", cat(one, make([]byte, 5)), "not a multiple of four"},
		{"footer cut", one[:len(one)-5], "not a multiple of four"},
		{"footer cut off", one[:len(one)-12], "no stream footer"},
		{"footer and index cut off", multi[:len(multi)-24], "no stream footer"},
		{"the first stream's footer cut", cat(one[:len(one)-12], multi), "stream 1 from the end"},
		{"only padding", make([]byte, 8), "cannot hold a stream header and footer"},
		{"empty", nil, "empty input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckFraming(tt.data)
			_, derr := decode(tt.data, 0)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("CheckFraming: %v", err)
				}
				if derr != nil {
					t.Fatalf("the case is meant to be valid, but NewReader refuses it: %v", derr)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CheckFraming: error %v, want one mentioning %q", err, tt.want)
			}
			if !errors.Is(err, ErrFormat) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("error %v is neither ErrFormat nor io.ErrUnexpectedEOF", err)
			}
			if derr == nil {
				t.Errorf("NewReader accepts what CheckFraming refuses")
			}
		})
	}
}
