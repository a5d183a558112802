package tomlpos

import (
	"bufio"
	"bytes"
	"strings"
)

// Line returns the 1-based line of key inside table (use "" for the top
// level). For an array of tables ("[[bug]]"), index picks the element
// (0-based); for a plain table, pass 0. It returns 0 when not found.
func Line(src []byte, table string, index int, key string) int {
	current, seen := "", -1
	if table == "" {
		seen = 0
	}
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "[["):
			current = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(strings.SplitN(line, "]]", 2)[0], "[["), "]]"))
			if current == table {
				seen++
			}
			if key == "" && current == table && seen == index {
				return n
			}
		case strings.HasPrefix(line, "["):
			current = strings.TrimSpace(strings.TrimPrefix(strings.SplitN(line, "]", 2)[0], "["))
			if current == table {
				seen = 0
			}
			if key == "" && current == table {
				return n
			}
		default:
			if current != table || seen != index || key == "" {
				continue
			}
			k, _, ok := strings.Cut(line, "=")
			if ok && strings.Trim(strings.TrimSpace(k), `"'`) == key {
				return n
			}
		}
	}
	return 0
}
