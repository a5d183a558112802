package repo

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// addFields returns the JSON object data with fields merged in at the
// top level, and in every element of the list under key each when
// each is not empty.
func addFields(t *testing.T, data []byte, top map[string]any, each string, inner map[string]any) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range top {
		m[k] = v
	}
	if each != "" {
		for _, e := range m[each].([]any) {
			for k, v := range inner {
				e.(map[string]any)[k] = v
			}
		}
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The signed indexes are read forward-compatibly: a field a newer hotfix
// added is ignored unless the index names it as critical, and then the
// index is refused rather than half understood. Every kind of signed
// index follows the one rule.
func TestIndexesReadForwardCompatibly(t *testing.T) {
	start := time.Date(2026, 11, 1, 4, 0, 0, 0, time.UTC)
	ix := sampleIndex(t)
	ix.Fixes[0].Rollout = &Rollout{Ring: RingStable, Percent: pct(20), Start: &start}
	channel, err := ix.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	custom, err := customIndexFixture().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	latest := MustParseVersion("2.4.1.3")
	root, err := (&RootIndex{Format: IndexFormat, Generated: start, Expires: start.Add(time.Hour),
		Products: []Product{{Name: "acme", Channels: []ChannelSummary{{Base: MustParseVersion("2.4.1"), Serial: 1, Latest: &latest, Fixes: 3}}}}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	kinds := []struct {
		name  string
		data  []byte
		each  string // the list of entries
		known string // a field of each entry
		parse func([]byte) error
	}{
		{"channel index", channel, "fixes", "summary", func(b []byte) error { _, err := ParseIndex(b); return err }},
		{"customer index", custom, "fixes", "summary", func(b []byte) error { _, err := ParseCustomIndex(b); return err }},
		{"repo.json", root, "products", "channels", func(b []byte) error { _, err := ParseRootIndex(b); return err }},
	}
	for _, k := range kinds {
		for _, tt := range []struct {
			name   string
			top    map[string]any
			inner  map[string]any
			refuse error // nil: accepted
		}{
			{"as written", nil, nil, nil},
			{"a new top-level field", map[string]any{"mirrors": []string{"https://m.example"}}, nil, nil},
			{"a new field in every entry", nil, map[string]any{"restart": "none"}, nil},
			{"a known field named critical", map[string]any{"critical": []string{"format", k.each + "." + k.known}}, nil, nil},
			{"a new top-level field named critical", map[string]any{"mirrors": 1, "critical": []string{"mirrors"}}, nil, ErrCriticalField},
			{"a new entry field named critical", map[string]any{"critical": []string{k.each + ".restart"}}, map[string]any{"restart": "none"}, ErrCriticalField},
			{"a critical field under an unknown list", map[string]any{"critical": []string{"rings.name"}}, nil, ErrCriticalField},
			{"an empty critical name", map[string]any{"critical": []string{""}}, nil, ErrCriticalField},
		} {
			t.Run(k.name+"/"+tt.name, func(t *testing.T) {
				data := k.data
				if tt.top != nil || tt.inner != nil {
					data = addFields(t, data, tt.top, k.each, tt.inner)
				}
				err := k.parse(data)
				if tt.refuse == nil && err != nil {
					t.Fatalf("refused: %v\n%s", err, data)
				}
				if tt.refuse != nil && !errors.Is(err, tt.refuse) {
					t.Fatalf("error %v, want %v\n%s", err, tt.refuse, data)
				}
				if tt.refuse != nil && !strings.Contains(err.Error(), "does not know it") {
					t.Errorf("the error does not say what is unknown: %v", err)
				}
			})
		}
		t.Run(k.name+"/trailing data", func(t *testing.T) {
			if err := k.parse(append(append([]byte(nil), k.data...), "{}"...)); err == nil || !strings.Contains(err.Error(), "trailing data") {
				t.Fatalf("trailing data: %v", err)
			}
		})
	}
	// A rollout only holds fixes back: a key in it this hotfix does not
	// know is refused, never ignored.
	edited := strings.Replace(string(channel), `"percent": 20`, `"percent": 20, "exclude": ["eu"]`, 1)
	if _, err := ParseIndex([]byte(edited)); err == nil || !strings.Contains(err.Error(), "unknown field") {
		t.Fatalf("an unknown key in a rollout: %v", err)
	}
}
