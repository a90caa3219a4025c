package schemarepo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"intake.dev/intake/schemacache"
)

// Documents are held as encoding/json decodes them with UseNumber: map[string]any, []any,
// json.Number, string, bool and nil. Numbers keep their text; they compare as JavaScript compares
// them (as doubles), which is how jsonschema-tools, the reference, compares documents.

// decodeDoc reads a YAML or JSON schema document the way the edge does (schemacache.ToJSON).
func decodeDoc(data []byte) (any, error) {
	js, err := schemacache.ToJSON(data)
	if err != nil {
		return nil, err
	}
	return decodeJSON(js)
}

func decodeJSON(js []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(js))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func readDoc(path string) (any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	v, err := decodeDoc(data)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	return v, nil
}

// jsonBytes encodes v as compact JSON (keys sorted: encoding/json's order for maps).
func jsonBytes(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("BUG: cannot encode a decoded document: " + err.Error())
	}
	return b
}

// deepCopy copies a decoded document.
func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		a := make([]any, len(t))
		for i, x := range t {
			a[i] = deepCopy(x)
		}
		return a
	default:
		return v
	}
}

// numberValue is a JSON number as JavaScript reads it.
func numberValue(n json.Number) float64 {
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		// ParseFloat saturates out of range values to ±Inf with an error, as JavaScript reads them.
		return f
	}
	return f
}

// deepEqual is lodash's isEqual (Node's assert.deepStrictEqual agrees on JSON documents).
func deepEqual(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !deepEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !deepEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case json.Number:
		y, ok := b.(json.Number)
		return ok && numberValue(x) == numberValue(y)
	default:
		return a == b
	}
}

// jsTypeof is JavaScript's typeof for a decoded value.
func jsTypeof(v any) string {
	switch v.(type) {
	case map[string]any, []any, nil:
		return "object"
	case json.Number:
		return "number"
	case string:
		return "string"
	case bool:
		return "boolean"
	default:
		return "undefined"
	}
}

// truthy is JavaScript's truthiness of a decoded value (a missing value is nil, and falsy).
func truthy(v any) bool {
	switch t := v.(type) {
	case nil:
		return false
	case bool:
		return t
	case string:
		return t != ""
	case json.Number:
		f := numberValue(t)
		return f == f && f != 0
	default:
		return true
	}
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// brief renders a value for a message, cut to a readable length.
func brief(v any) string {
	if v == nil {
		return "null"
	}
	s := string(jsonBytes(v))
	if len(s) > 200 {
		s = s[:197] + "..."
	}
	return s
}

// pointerToken escapes a JSON pointer token.
func pointerToken(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

// jsonPointer evaluates a JSON pointer ("" or "/a/b") inside v.
func jsonPointer(v any, ptr string) (any, bool) {
	if ptr == "" {
		return v, true
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, false
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch t := v.(type) {
		case map[string]any:
			x, ok := t[tok]
			if !ok {
				return nil, false
			}
			v = x
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(t) {
				return nil, false
			}
			v = t[i]
		default:
			return nil, false
		}
	}
	return v, true
}
