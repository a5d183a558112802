package tomlpos

import "testing"

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
			if got := Line(src, tt.table, tt.index, tt.key); got != tt.want {
				t.Errorf("Line(%q, %d, %q) = %d, want %d", tt.table, tt.index, tt.key, got, tt.want)
			}
		})
	}
}
