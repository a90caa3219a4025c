package fastpath

import (
	"encoding/binary"
	"math/bits"

	"github.com/valyala/fastjson"
)

// Span is where one event's bytes lie in a request body, as CheckJSONSpans found them.
type Span struct {
	Start, End int
	// Loose: the event has whitespace outside its strings (its bytes are not compact JSON).
	Loose bool
	// KeysUnique: Parser compared every object's keys and found none twice (CheckJSONSpans
	// does not look: false).
	KeysUnique bool
}

// Bytes returns the span's bytes of body when they are one compact JSON object, else nil.
func (s Span) Bytes(body []byte) []byte {
	if s.Loose || s.End <= s.Start || s.End > len(body) || body[s.Start] != '{' {
		return nil
	}
	return body[s.Start:s.End]
}

// AppendSpliced appends the Kafka value of event v, whose bytes as received are raw (compact JSON,
// parsed into v; see DESIGN.md "One pass over the bytes"): raw copied as it is, with the members
// Process added to v's objects (enrichment, the query's stream and schema, defaults) written before
// the closing brace of their object. It relies on what Process does to an event: members are only
// ever added (fastjson appends them after the parsed ones), never changed or removed, and no key
// is there twice (refused before). It returns false, having appended nothing, when raw and v do
// not have the same shape; the caller then writes v with AppendJSON.
func AppendSpliced(dst, raw []byte, v *fastjson.Value) ([]byte, bool) {
	s := splicer{dst: dst, raw: raw}
	end, ok := s.value(0, v, 0)
	if !ok || end != len(raw) {
		return dst, false
	}
	return append(s.dst, raw[s.from:]...), true
}

// splicer copies raw to dst, lazily: raw[from:] is not copied yet.
type splicer struct {
	dst, raw []byte
	from     int
}

// value walks the value starting at raw[i], v's bytes, and returns the offset after it.
func (s *splicer) value(i int, v *fastjson.Value, depth int) (int, bool) {
	raw := s.raw
	if i >= len(raw) || depth > maxSpliceDepth {
		return i, false
	}
	switch raw[i] {
	case '{':
		if v.Type() != fastjson.TypeObject {
			return i, false
		}
		o, _ := v.Object()
		kvs := objectMembers(o)
		i++
		n := 0 // members in raw
		if i < len(raw) && raw[i] == '}' {
			return s.close(i, n, kvs)
		}
		for i < len(raw) && raw[i] == '"' {
			i = skipString(raw, i)
			if i >= len(raw) || raw[i] != ':' || n >= len(kvs) {
				return i, false
			}
			var ok bool
			if i, ok = s.value(i+1, kvs[n].v, depth+1); !ok {
				return i, false
			}
			n++
			if i < len(raw) && raw[i] == ',' {
				i++
				continue
			}
			if i < len(raw) && raw[i] == '}' {
				return s.close(i, n, kvs)
			}
			return i, false
		}
		return i, false
	case '[':
		if v.Type() != fastjson.TypeArray {
			return i, false
		}
		a, _ := v.Array()
		i++
		if i < len(raw) && raw[i] == ']' {
			return i + 1, len(a) == 0
		}
		for n := 0; n < len(a); n++ {
			var ok bool
			if i, ok = s.value(i, a[n], depth+1); !ok || i >= len(raw) {
				return i, false
			}
			switch {
			case raw[i] == ']' && n == len(a)-1:
				return i + 1, true
			case raw[i] != ',':
				return i, false
			}
			i++
		}
		return i, false
	case '"':
		if v.Type() != fastjson.TypeString {
			return i, false
		}
		return skipString(raw, i), true
	default:
		// A number, true, false or null: up to the delimiter (the bytes are compact).
		for i < len(raw) && raw[i] != ',' && raw[i] != '}' && raw[i] != ']' {
			i++
		}
		return i, true
	}
}

// close ends the object whose closing brace is raw[i] and which had n members in raw: the
// members Process added (kvs[n:]) go before the brace.
func (s *splicer) close(i, n int, kvs []fastjsonKV) (int, bool) {
	if len(kvs) > n {
		s.dst = append(s.dst, s.raw[s.from:i]...)
		s.from = i
		for j, kv := range kvs[n:] {
			if n > 0 || j > 0 {
				s.dst = append(s.dst, ',')
			}
			s.dst = AppendJSONString(s.dst, kv.k)
			s.dst = append(s.dst, ':')
			s.dst = AppendJSON(s.dst, kv.v)
		}
	}
	return i + 1, true
}

// maxSpliceDepth bounds the splice's recursion; deeper events take AppendJSON (CheckJSON's
// --max-depth is lower in any sensible configuration).
const maxSpliceDepth = 512

// skipString returns the offset after the string whose opening quote is raw[i] (CheckJSON
// passed it), 8 bytes at a time.
func skipString(raw []byte, i int) int {
	i++
	for i < len(raw) {
		if i+8 <= len(raw) {
			w := binary.LittleEndian.Uint64(raw[i:])
			q := w ^ (ones * '"')
			bs := w ^ (ones * '\\')
			m := ((q-ones)&^q | (bs-ones)&^bs) & highs
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		}
		switch raw[i] {
		case '"':
			return i + 1
		case '\\':
			i += 2
		default:
			i++
		}
	}
	return i
}
