package tomlpos

import (
	"bytes"
	"reflect"
	"testing"
)

func TestLine(t *testing.T) {
	src := []byte(`product = "acme"
version = "2.4.1.1"

[[bug]]
id = "A-1"
files = ["x"]

[[bug]]
  "id" = "A-2"

[network]
retries = 3
`)
	tests := []struct {
		name, table string
		index       int
		key         string
		want        int
	}{
		{"top level", "", 0, "version", 2},
		{"first bug id", "bug", 0, "id", 5},
		{"second bug id, quoted and indented", "bug", 1, "id", 9},
		{"second bug header", "bug", 1, "", 8},
		{"table key", "network", 0, "retries", 12},
		{"table header", "network", 0, "", 11},
		{"missing key", "bug", 1, "files", 0},
		{"top-level key is not inside a table", "network", 0, "product", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Line(Lines(src), tt.table, tt.index, tt.key); got != tt.want {
				t.Errorf("Line(%q, %d, %q) = %d, want %d", tt.table, tt.index, tt.key, got, tt.want)
			}
		})
	}
}

func TestLines(t *testing.T) {
	src := `a = 1
"b" = 2
[t]
c = 3
d.e = 4
[t.u]
f = { g = 5, h = { i = 6 } }
[[arr]]
j = 7
[[arr]]
j = 8
`
	got := Lines([]byte(src))
	want := map[string]int{"a": 1, "b": 2, "t": 3, "t.c": 4, "t.d": 5, "t.d.e": 5, "t.u": 6, "t.u.f": 7, "t.u.f.g": 7,
		"t.u.f.h": 7, "t.u.f.h.i": 7, "arr": 8, "arr.0": 8, "arr.0.j": 9, "arr.1": 10, "arr.1.j": 11}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

// A document that does not parse maps what comes before the error.
func TestLinesBrokenDocument(t *testing.T) {
	got := Lines([]byte("a = 1\nb = \n[t\nc = 3\n"))
	if !reflect.DeepEqual(got, map[string]int{"a": 1}) {
		t.Errorf("Lines of a broken document = %v, want a on line 1 and nothing after the error", got)
	}
}

func FuzzLines(f *testing.F) {
	f.Add([]byte("a = 1\n[[bug]]\nid = \"x\"\n[t]\nd.e = { f = 2 }\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		for key, line := range Lines(src) {
			if line < 1 || line > bytes.Count(src, []byte("\n"))+1 {
				t.Fatalf("key %q on line %d of a %d-line document", key, line, bytes.Count(src, []byte("\n"))+1)
			}
		}
	})
}
