package schemarepo

import (
	"encoding/json"
	"math"
	"sort"
)

// generateExample makes an example event for a schema that has none, as jsonschema-tools does
// with shouldGenerateExample. jsonschema-tools uses json-schema-faker with its random source fixed
// at 0.15; this follows the same choices for the common keywords (every property, the enum member
// at 15%, numbers at 15% of their range, "dolor" for strings, fixed date-times and URIs) but is
// not that library: materialize keeps the example of a version already materialized instead.
func generateExample(schema map[string]any, cfg *Config) (any, error) {
	ex := fakeValue(schema, 0)
	if m, ok := ex.(map[string]any); ok {
		if _, has := m["$schema"]; has {
			m["$schema"] = schema[cfg.SchemaVersionField]
		}
	}
	return ex, nil
}

const fakeRandom = 0.15

func fakeValue(v any, depth int) any {
	s, ok := v.(map[string]any)
	if !ok || depth > 32 {
		return nil
	}
	if d, ok := s["default"]; ok {
		return d
	}
	if enum, ok := s["enum"].([]any); ok && len(enum) > 0 {
		return enum[int(math.Floor(fakeRandom*float64(len(enum))))]
	}
	if c, ok := s["const"]; ok {
		return c
	}
	t, _ := s["type"].(string)
	if types, ok := s["type"].([]any); ok && len(types) > 0 {
		t, _ = types[int(math.Floor(fakeRandom*float64(len(types))))].(string)
	}
	if t == "" {
		switch {
		case s["properties"] != nil || s["additionalProperties"] != nil:
			t = "object"
		case s["items"] != nil:
			t = "array"
		default:
			t = "string"
		}
	}
	bound := func(kw string, def float64) float64 {
		if n, ok := s[kw].(json.Number); ok {
			return numberValue(n)
		}
		return def
	}
	switch t {
	case "object":
		out := map[string]any{}
		props := asMap(s["properties"])
		keys := make([]string, 0, len(props))
		for k := range props {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out[k] = fakeValue(props[k], depth+1)
		}
		if len(props) == 0 {
			if ap, ok := s["additionalProperties"].(map[string]any); ok {
				out["dolorb"] = fakeValue(ap, depth+1)
			}
		}
		return out
	case "array":
		return []any{fakeValue(s["items"], depth+1)}
	case "boolean":
		return false
	case "null":
		return nil
	case "integer":
		lo, hi := bound("minimum", -maxSafeInteger), bound("maximum", maxSafeInteger)
		return numberOf(math.Floor(fakeRandom*(hi-lo+1)) + lo)
	case "number":
		lo, hi := bound("minimum", -maxSafeInteger), bound("maximum", maxSafeInteger)
		return numberOf(fakeRandom*(hi-lo) + lo)
	default:
		switch s["format"] {
		case "date-time":
			return "2021-01-01T00:00:00.000Z"
		case "date":
			return "2021-01-01"
		case "uri-reference", "uri":
			return "http://example.org"
		}
		return "dolor"
	}
}
