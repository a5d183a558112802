package tomlpos

import (
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// Lines maps every key and table of src to the line that defines it, as
// dotted paths: "notify.smtp", "t.d.e" for a dotted key, the inline
// table's keys under its own. An element of an array of tables has its
// 0-based index in the path ("bug.1" for its header, "bug.1.id" for a
// key; "bug" alone is the first header). It walks
// go-toml's own parser, so quoted and dotted keys are found wherever they
// are written; for a document that does not parse, it maps what comes
// before the error.
func Lines(src []byte) (lines map[string]int) {
	lines = map[string]int{}
	defer func() {
		// Lines is for documents that already decoded; a line number is
		// not worth a crash should the parser fail on one.
		if recover() != nil {
			lines = map[string]int{}
		}
	}()
	var p unstable.Parser
	p.Reset(src)
	var table []string
	seen := map[string]int{} // elements of each array of tables so far
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			var line int
			table, line = appendKey(&p, nil, e)
			if line == 0 {
				continue
			}
			name := strings.Join(table, ".")
			setLine(lines, name, line)
			if e.Kind == unstable.ArrayTable {
				i := seen[name]
				seen[name]++
				table = append(table, strconv.Itoa(i))
				setLine(lines, strings.Join(table, "."), line)
			}
		case unstable.KeyValue:
			walkKeyValue(&p, lines, table, e)
		}
	}
	return lines
}

// appendKey returns prefix followed by the parts of the key of e (a table
// header or a key/value), and the line the key starts on; 0 if it has none.
func appendKey(p *unstable.Parser, prefix []string, e *unstable.Node) ([]string, int) {
	parts := append([]string(nil), prefix...)
	line := 0
	for it := e.Key(); it.Next(); {
		n := it.Node()
		if line == 0 {
			line = p.Shape(n.Raw).Start.Line
		}
		parts = append(parts, string(n.Data))
	}
	return parts, line
}

func walkKeyValue(p *unstable.Parser, lines map[string]int, prefix []string, kv *unstable.Node) {
	parts, line := appendKey(p, prefix, kv)
	if line == 0 {
		return
	}
	for i := len(prefix) + 1; i <= len(parts); i++ {
		setLine(lines, strings.Join(parts[:i], "."), line)
	}
	if v := kv.Value(); v != nil && v.Kind == unstable.InlineTable {
		for it := v.Children(); it.Next(); {
			if c := it.Node(); c.Kind == unstable.KeyValue {
				walkKeyValue(p, lines, parts, c)
			}
		}
	}
}

func setLine(lines map[string]int, key string, line int) {
	if _, ok := lines[key]; !ok {
		lines[key] = line
	}
}

// Line returns the line of key inside table ("" for the top level) in
// lines, what Lines returned; 0 when it is not there. For an array of
// tables ("[[bug]]"), index picks the element; for a plain table, pass 0.
// An empty key asks for the table's header.
func Line(lines map[string]int, table string, index int, key string) int {
	join := func(parts ...string) string {
		var keep []string
		for _, p := range parts {
			if p != "" {
				keep = append(keep, p)
			}
		}
		return strings.Join(keep, ".")
	}
	if table != "" {
		if n, ok := lines[join(table, strconv.Itoa(index), key)]; ok {
			return n
		}
		if index != 0 {
			return 0
		}
	}
	return lines[join(table, key)]
}
