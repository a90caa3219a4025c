package fastpath

import (
	"encoding/binary"
	"math/bits"
	"unsafe"

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
//
// parsed, when not nil, is the same event's bytes in fastpath.Parser's copy of the body, which v
// was read from: the splice then takes the positions of v's objects and keys from the tree
// (Parser keeps where each object lies) instead of walking raw (byte for byte the same value).
func AppendSpliced(dst, raw, parsed []byte, v *fastjson.Value) ([]byte, bool) {
	if out, ok := appendSplicedAt(dst, raw, parsed, v); ok {
		return out, true
	}
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
		s.dst = appendAdded(append(s.dst, s.raw[s.from:i]...), kvs, n)
		s.from = i
	}
	return i + 1, true
}

// appendAdded appends the members Process added to an object, kvs[n:], n being the members it had
// in the bytes: each after a comma, but the first of an object that had none.
func appendAdded(dst []byte, kvs []fastjsonKV, n int) []byte {
	for j, kv := range kvs[n:] {
		if n > 0 || j > 0 {
			dst = append(dst, ',')
		}
		dst = AppendJSONString(dst, kv.k)
		dst = append(dst, ':')
		dst = AppendJSON(dst, kv.v)
	}
	return dst
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
			m := quoteOrBackslash(binary.LittleEndian.Uint64(raw[i:]))
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

// appendSplicedAt is the splice from the positions Parser kept; false when v does not carry them.
func appendSplicedAt(dst, raw, parsed []byte, v *fastjson.Value) ([]byte, bool) {
	if len(parsed) != len(raw) || len(raw) == 0 {
		return dst, false
	}
	f := fastSplicer{dst: dst, raw: raw, base: uintptr(unsafe.Pointer(unsafe.SliceData(parsed)))}
	if !f.object(v, true) {
		return dst, false
	}
	return append(f.dst, raw[f.from:]...), true
}

// fastSplicer is the splice from the positions Parser kept: an object's own string holds where it
// lies in the Parser's copy (its closing brace is the last byte), and a key that lies in that copy
// was read there, where a key Process added does not (its text is the program's). It walks only
// the tree's objects and arrays; raw[from:] is not copied yet.
type fastSplicer struct {
	dst, raw []byte
	base     uintptr // the address of the event's first byte in the Parser's copy
	from     int
}

// at returns where s lies in the event, or false when it does not lie in it.
func (f *fastSplicer) at(s string) (int, bool) {
	if len(s) == 0 {
		return 0, false
	}
	p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	if p < f.base || p-f.base+uintptr(len(s)) > uintptr(len(f.raw)) {
		return 0, false
	}
	return int(p - f.base), true
}

// object splices the added members of v, an object read by Parser, and of the objects within it;
// false when v does not carry the positions this needs (the walking splice then decides).
func (f *fastSplicer) object(v *fastjson.Value, root bool) bool {
	m := (*fastjsonValue)(unsafe.Pointer(v))
	if m.t != fastjson.TypeObject {
		return false
	}
	off, ok := f.at(m.s)
	closing := off + len(m.s) - 1
	if !ok || f.raw[off] != '{' || f.raw[closing] != '}' || root && (off != 0 || closing != len(f.raw)-1) {
		return false
	}
	kvs := m.o.kvs
	n := 0 // members read from the bytes; the rest were added, after them
	for n < len(kvs) {
		if _, in := f.at(kvs[n].k); !in {
			break
		}
		n++
	}
	for _, kv := range kvs[n:] {
		if _, in := f.at(kv.k); in || kv.k == "" {
			return false // a key read from the bytes after an added one, or an empty key: not told apart
		}
	}
	for _, kv := range kvs[:n] {
		if !f.within(kv.v) {
			return false
		}
	}
	if n < len(kvs) {
		f.dst = appendAdded(append(f.dst, f.raw[f.from:closing]...), kvs, n)
		f.from = closing
	}
	return true
}

// within splices the objects within v, a value read by Parser.
func (f *fastSplicer) within(v *fastjson.Value) bool {
	m := (*fastjsonValue)(unsafe.Pointer(v))
	switch m.t {
	case fastjson.TypeObject:
		return f.object(v, false)
	case fastjson.TypeArray:
		for _, c := range m.a {
			if !f.within(c) {
				return false
			}
		}
	}
	return true
}
