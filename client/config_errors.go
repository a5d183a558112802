package client

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// ConfigError is a problem in a configuration file. Line is 0 when the
// problem is a key that is missing rather than one that is wrong.
type ConfigError struct {
	Path string
	Line int
	Key  string // dotted, such as "schedule.days_of_week"; "" for syntax errors
	Err  error
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	if e.Line > 0 {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *ConfigError) Unwrap() error { return e.Err }

// decodeError turns go-toml's errors into ConfigErrors. It reads go-toml's
// typed errors (key, position) and the document itself, never an error's
// text: that changes between go-toml releases.
func decodeError(path string, data []byte, err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		var errs []error
		for i := range strict.Errors {
			de := &strict.Errors[i]
			row, _ := de.Position()
			key := strings.Join(de.Key(), ".")
			// go-toml reports a [table] header the struct lacks as a
			// missing table, anything else as an unknown field.
			table := strings.HasPrefix(strings.TrimSpace(lineAt(data, row)), "[")
			errs = append(errs, &ConfigError{Path: path, Line: row, Key: key,
				Err: &wrapped{msg: unknownKeyMessage(de.Key(), table), err: de}})
		}
		return joinErrors(errs)
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, col := de.Position()
		key := strings.Join(de.Key(), ".")
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		var doc map[string]any
		switch {
		case key == "":
			msg = fmt.Sprintf("syntax error at column %d: %s", col, msg)
		case toml.Unmarshal(data, &doc) == nil:
			// The document is valid TOML, so the error is a value of the
			// wrong type for its key.
			if m, ok := wrongType(doc, de.Key(), lineAt(data, row), col); ok {
				msg = m
			}
		}
		return &ConfigError{Path: path, Line: row, Key: key, Err: &wrapped{msg: msg, err: de}}
	}
	return &ConfigError{Path: path, Err: err}
}

// wrongType explains a value of the wrong type at key (col is where go-toml
// says it starts on line). The expectation is that of the longest known key
// the path starts with: "schedule.cron.x = 1" makes schedule.cron a table.
func wrongType(doc map[string]any, key []string, line string, col int) (string, bool) {
	for n := len(key); n > 0; n-- {
		want, ok := knownKeys[strings.Join(key[:n], ".")]
		if !ok {
			continue
		}
		v, ok := lookup(doc, key[:n])
		if !ok {
			return "", false
		}
		got := valueType(v)
		switch {
		case got == "table" && col >= 1 && col <= len(line) && line[col-1] == '{':
			got = "inline table"
		case got == "array" && strings.HasPrefix(strings.TrimSpace(line), "[["):
			got = "array of tables"
		}
		return fmt.Sprintf("wrong type: got a TOML %s, want %s", got, want), true
	}
	return "", false
}

// lookup finds the value at a key path of a decoded document; in an array
// of tables it follows the last one, the one being defined.
func lookup(doc map[string]any, key []string) (any, bool) {
	var v any = doc
	for _, k := range key {
		if arr, ok := v.([]any); ok && len(arr) > 0 {
			v = arr[len(arr)-1]
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// valueType names the TOML type of a decoded value as go-toml's documents
// do, dates and times included.
func valueType(v any) string {
	switch v.(type) {
	case time.Time:
		return "datetime"
	case toml.LocalDateTime:
		return "local datetime"
	case toml.LocalDate:
		return "local date"
	case toml.LocalTime:
		return "local time"
	}
	return tomlType(v)
}

// lineAt returns line row (1-based) of data, or "" when there is none.
func lineAt(data []byte, row int) string {
	for i, line := range bytes.Split(data, []byte("\n")) {
		if i == row-1 {
			return string(line)
		}
	}
	return ""
}

// unknownKeyMessage explains an unknown key and guesses what was meant; the
// classic slip is a top-level key written below a [table] header.
func unknownKeyMessage(key []string, table bool) string {
	full := strings.Join(key, ".")
	last := key[len(key)-1]
	msg := "unknown key"
	if table {
		msg = "unknown table"
	}
	if _, ok := knownKeys[last]; ok && len(key) > 1 && !strings.HasSuffix(knownKeys[last], "]") {
		return fmt.Sprintf("%s: %s is a top-level key; move it above the first [table] header", msg, last)
	}
	var guesses []string
	for k := range knownKeys {
		kl := k[strings.LastIndex(k, ".")+1:]
		if kl == last || editDistance(k, full) <= 2 {
			guesses = append(guesses, k)
		}
	}
	sort.Strings(guesses)
	if len(guesses) > 0 {
		return fmt.Sprintf("%s; did you mean %s?", msg, strings.Join(guesses, " or "))
	}
	return msg + "; packaging/hotfix.toml lists every key"
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// wrapped rewords an error for people while keeping the original in the chain.
type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

func joinErrors(errs []error) error {
	sort.SliceStable(errs, func(i, j int) bool {
		return errs[i].(*ConfigError).Line < errs[j].(*ConfigError).Line
	})
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}
