package schemarepo

import (
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
)

// generateExample makes an example event for a schema that has none, as jsonschema-tools does
// with shouldGenerateExample. jsonschema-tools uses json-schema-faker with its random source fixed
// at 0.15; this makes the same choices for the keywords event schemas use (every property, the
// enum member at 15%, numbers at 15% of their range, the lorem ipsum word "dolor" cut and repeated
// to the lengths allowed, randexp's string for a pattern, fixed date-times and URIs). It is not
// that library: it reproduces the 40 examples the two real repositories generated, and a schema
// using what it does not follow may get another example than jsonschema-tools would write.
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
		return fakeString(s)
	}
}

// fakeInt is json-schema-faker's random integer in [lo, hi] with the random source at 0.15.
func fakeInt(lo, hi int) int { return lo + int(math.Floor(fakeRandom*float64(hi-lo+1))) }

func fakeString(s map[string]any) string {
	minLen, maxLen := 0, math.MaxInt32
	if n, ok := s["minLength"].(json.Number); ok {
		minLen = int(numberValue(n))
	}
	if n, ok := s["maxLength"].(json.Number); ok {
		maxLen = int(numberValue(n))
	}
	pattern, hasPattern := s["pattern"].(string)
	var v string
	switch {
	case s["format"] == "date-time":
		// jsonschema-tools' fixed date-time, as json-schema-faker trims its trailing zeros.
		v = "2021-01-01T00:00:00.0Z"
	case s["format"] == "date":
		v = "2021-01-01"
	case s["format"] == "uri-reference" || s["format"] == "uri":
		v = "http://example.org"
	case hasPattern:
		v = randexp(pattern)
	default:
		// Lorem ipsum words: with the source fixed, always the same one.
		v = "dolor"
		for len(v) < minLen {
			v += "dolor"
		}
		if limit := fakeInt(minLen, maxLen); len(v) > limit {
			v = v[:limit]
		}
	}
	for len(v) < minLen {
		prev := v
		if hasPattern {
			v += randexp(pattern)
		} else {
			v += "/" + v
		}
		if v == prev {
			break
		}
	}
	if len(v) > maxLen {
		v = v[:maxLen]
	}
	return v
}

// randexp generates the string randexp (as json-schema-faker configures it) generates for a
// regular expression with the random source at 0.15: character classes, literals, groups,
// alternatives and quantifiers. Anything else yields what was generated so far.
func randexp(pattern string) string {
	g := &regen{src: []rune(pattern)}
	var b strings.Builder
	g.alternatives(&b)
	return b.String()
}

const randexpMax = 10 // json-schema-faker's defaultRandExpMax

type regen struct {
	src []rune
	pos int
}

func (g *regen) peek() rune {
	if g.pos >= len(g.src) {
		return 0
	}
	return g.src[g.pos]
}

// alternatives generates one of the |-separated branches up to the end or a ')'.
func (g *regen) alternatives(b *strings.Builder) {
	var branches []int // start positions
	start := g.pos
	branches = append(branches, start)
	depth := 0
	end := len(g.src)
	for i := start; i < len(g.src); i++ {
		switch g.src[i] {
		case '\\':
			i++
		case '[':
			for i++; i < len(g.src) && g.src[i] != ']'; i++ {
				if g.src[i] == '\\' {
					i++
				}
			}
		case '(':
			depth++
		case ')':
			if depth == 0 {
				end = i
				i = len(g.src)
				continue
			}
			depth--
		case '|':
			if depth == 0 {
				branches = append(branches, i+1)
			}
		}
	}
	pick := fakeInt(0, len(branches)-1)
	g.pos = branches[pick]
	stop := end
	if pick+1 < len(branches) {
		stop = branches[pick+1] - 1
	}
	sub := &regen{src: g.src[:stop], pos: g.pos}
	sub.sequence(b)
	g.pos = end
}

func (g *regen) sequence(b *strings.Builder) {
	for g.pos < len(g.src) {
		c := g.src[g.pos]
		var atom func(*strings.Builder)
		switch c {
		case '^', '$':
			g.pos++
			continue
		case '(':
			g.pos++
			if strings.HasPrefix(string(g.src[g.pos:]), "?:") {
				g.pos += 2
			}
			inner := &regen{src: g.src, pos: g.pos}
			startPos := g.pos
			var tmp strings.Builder
			inner.alternatives(&tmp)
			endPos := inner.pos
			g.pos = endPos + 1
			atom = func(b *strings.Builder) {
				r := &regen{src: g.src, pos: startPos}
				r.alternatives(b)
			}
		case '[':
			set := g.class()
			atom = func(b *strings.Builder) {
				if len(set) > 0 {
					b.WriteRune(set[fakeInt(0, len(set)-1)])
				}
			}
		case '\\':
			g.pos++
			set := escapeSet(g.peek())
			g.pos++
			atom = func(b *strings.Builder) {
				if len(set) > 0 {
					b.WriteRune(set[fakeInt(0, len(set)-1)])
				}
			}
		case '.':
			g.pos++
			set := printable(nil)
			atom = func(b *strings.Builder) { b.WriteRune(set[fakeInt(0, len(set)-1)]) }
		default:
			g.pos++
			atom = func(b *strings.Builder) { b.WriteRune(c) }
		}
		lo, hi := g.quantifier()
		n := fakeInt(lo, hi)
		for i := 0; i < n; i++ {
			atom(b)
		}
	}
}

func (g *regen) quantifier() (int, int) {
	switch g.peek() {
	case '?':
		g.pos++
		g.lazy()
		return 0, 1
	case '*':
		g.pos++
		g.lazy()
		return 0, randexpMax
	case '+':
		g.pos++
		g.lazy()
		return 1, 1 + randexpMax
	case '{':
		end := g.pos
		for end < len(g.src) && g.src[end] != '}' {
			end++
		}
		if end >= len(g.src) {
			return 1, 1
		}
		body := string(g.src[g.pos+1 : end])
		lo, hi, hasComma := strings.Cut(body, ",")
		l, err := strconv.Atoi(lo)
		if err != nil {
			return 1, 1
		}
		g.pos = end + 1
		g.lazy()
		if !hasComma {
			return l, l
		}
		if hi == "" {
			return l, l + randexpMax
		}
		h, err := strconv.Atoi(hi)
		if err != nil {
			return l, l
		}
		return l, h
	}
	return 1, 1
}

func (g *regen) lazy() {
	if g.peek() == '?' {
		g.pos++
	}
}

// class reads a [...] class as its characters in code point order.
func (g *regen) class() []rune {
	g.pos++ // [
	negate := false
	if g.peek() == '^' {
		negate = true
		g.pos++
	}
	in := map[rune]bool{}
	first := true
	for g.pos < len(g.src) && (g.src[g.pos] != ']' || first) {
		first = false
		c := g.src[g.pos]
		g.pos++
		if c == '\\' && g.pos < len(g.src) {
			for _, r := range escapeSet(g.src[g.pos]) {
				in[r] = true
			}
			g.pos++
			continue
		}
		if g.peek() == '-' && g.pos+1 < len(g.src) && g.src[g.pos+1] != ']' {
			hi := g.src[g.pos+1]
			g.pos += 2
			for r := c; r <= hi; r++ {
				in[r] = true
			}
			continue
		}
		in[c] = true
	}
	g.pos++ // ]
	var out []rune
	if negate {
		for _, r := range printable(nil) {
			if !in[r] {
				out = append(out, r)
			}
		}
		return out
	}
	for r := range in {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func escapeSet(c rune) []rune {
	rng := func(out []rune, lo, hi rune) []rune {
		for r := lo; r <= hi; r++ {
			out = append(out, r)
		}
		return out
	}
	switch c {
	case 'd':
		return rng(nil, '0', '9')
	case 'w':
		return rng(rng(rng(rng(nil, '0', '9'), 'A', 'Z'), '_', '_'), 'a', 'z')
	case 's':
		return []rune{'\t', '\n', '\v', '\f', '\r', ' '}
	case 'D', 'W', 'S':
		var out []rune
		lower := escapeSet(c + ('a' - 'A'))
		for _, r := range printable(nil) {
			if !containsRune(lower, r) {
				out = append(out, r)
			}
		}
		return out
	case 'n':
		return []rune{'\n'}
	case 't':
		return []rune{'\t'}
	}
	return []rune{c}
}

func containsRune(list []rune, r rune) bool {
	for _, x := range list {
		if x == r {
			return true
		}
	}
	return false
}

// printable is randexp's default range: printable ASCII.
func printable(out []rune) []rune {
	for r := rune(32); r <= 126; r++ {
		out = append(out, r)
	}
	return out
}
