package client

import "encoding/json"

// A minimal scanner over JSON already known to be valid (json.Valid, or json.Marshal's output):
// it finds an object's members and their value spans so that prepare can add meta.id and friends
// without decoding and re-encoding the whole event (which would also reorder its keys).

// member is one member of a JSON object: its key (raw, between the quotes) and the span of its
// value, b[vStart:vEnd].
type member struct {
	key          []byte
	escaped      bool // the key holds a backslash escape: compare it with keyIs
	vStart, vEnd int
}

// keyIs reports whether the member's key is name.
func (m *member) keyIs(name string) bool {
	if !m.escaped {
		return string(m.key) == name
	}
	var s string
	q := make([]byte, 0, len(m.key)+2)
	q = append(append(append(q, '"'), m.key...), '"')
	return json.Unmarshal(q, &s) == nil && s == name
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipSpace returns the index of the first non-whitespace byte at or after i (len(b) when none).
func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// skipString returns the index just past the string whose opening quote is b[i].
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index just past the value starting at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

// objectMembers appends the members of the object whose '{' is b[open] to dst and returns them
// with the index of the object's closing '}'.
func objectMembers(b []byte, open int, dst []member) ([]member, int) {
	i := skipSpace(b, open+1)
	if i < len(b) && b[i] == '}' {
		return dst, i
	}
	for i < len(b) {
		kEnd := skipString(b, i)
		m := member{key: b[i+1 : kEnd-1]}
		for _, c := range m.key {
			if c == '\\' {
				m.escaped = true
				break
			}
		}
		i = skipSpace(b, kEnd)
		i = skipSpace(b, i+1) // past ':'
		m.vStart = i
		m.vEnd = skipValue(b, i)
		dst = append(dst, m)
		i = skipSpace(b, m.vEnd)
		if i >= len(b) || b[i] == '}' {
			return dst, i
		}
		i = skipSpace(b, i+1) // past ','
	}
	return dst, len(b)
}

// stringValue returns the value of the JSON string b (with its quotes), false when b is not a
// string.
func stringValue(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '"' {
		return "", false
	}
	inner := b[1 : len(b)-1]
	for _, c := range inner {
		if c == '\\' {
			var s string
			if json.Unmarshal(b, &s) != nil {
				return "", false
			}
			return s, true
		}
	}
	return string(inner), true
}

// appendJSONString appends s as a JSON string.
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			// Slow path: let encoding/json escape it (control characters, invalid UTF-8).
			q, _ := json.Marshal(s)
			return append(dst, q...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
