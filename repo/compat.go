package repo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// Signed indexes (index.json, a customer's index.json, repo.json) are
// read forward-compatibly, as TUF clients and APT read theirs: a field
// this hotfix does not know is ignored, so that a vendor who upgrades
// the repository tools does not stop every server that has not upgraded
// yet. A field an older client must not ignore (one that holds fixes
// back, or changes what is installed) is named in the index's "critical"
// list by the hotfix that writes it; a client that does not know a field
// named there refuses the whole index. Names are a top-level field
// ("key_list") or a field of every fix ("fixes.rollout").
//
// Everything else stays strict: fix manifests (an archive's content must
// be understood in full before it is installed), key lists (signed by
// offline root keys, their meaning must not be guessed) and local state.

// ErrCriticalField is an index that names, as critical, a field this
// hotfix does not know: a newer hotfix wrote it, and ignoring the field
// could install what the vendor held back.
var ErrCriticalField = errors.New("the index needs a newer hotfix")

// readIndexJSON decodes a signed index into v, ignoring fields v does not
// have; data must hold exactly one JSON object.
func readIndexJSON(data []byte, v any) error { return decodeJSON(data, v, false) }

// strictJSON decodes data into v, refusing fields v does not have; data
// must hold exactly one JSON object.
func strictJSON(data []byte, v any) error { return decodeJSON(data, v, true) }

// decodeJSON is the one JSON reader of the repository's formats: one
// object, nothing after it, and unknown fields refused when strict.
func decodeJSON(data []byte, v any, strict bool) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON object")
	}
	return nil
}

// checkCritical refuses critical field names this hotfix does not know.
// top is the index's type; nested maps a field holding a list of entries
// ("fixes") to the entry type.
func checkCritical(critical []string, top reflect.Type, nested map[string]reflect.Type) error {
	for _, name := range critical {
		t, field := top, name
		if parent, child, ok := strings.Cut(name, "."); ok {
			t, field = nested[parent], child
		}
		if t == nil || !hasJSONField(t, field) {
			return fmt.Errorf("%w: it names %q as a field this hotfix must understand, and this hotfix does not know it", ErrCriticalField, name)
		}
	}
	return nil
}

// hasJSONField says whether struct type t has a field encoded as name.
func hasJSONField(t reflect.Type, name string) bool {
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if tag == name && tag != "" && tag != "-" {
			return true
		}
	}
	return false
}
