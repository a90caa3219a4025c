package fastpath

import (
	"encoding/binary"
	"math/bits"
	"unsafe"

	"github.com/valyala/fastjson"
)

// Parser reads a request body in one pass (DESIGN.md "One pass over the bytes"): CheckJSON's
// checks (UTF-8, limits, numbers, escapes), the structure, each event's span, and the tree, built
// as fastjson builds it (the same values: strings and keys with an escape raw, unescaped when first
// read, in place in the Parser's copy of the body; those without one read already, which fastjson
// would learn by scanning each for a backslash; numbers as their text), so that Process, the
// validator and AppendJSON read it as one of fastjson's. One addition: an object value's unused
// string holds where the object lies in that copy (Parser.Copy), which AppendSpliced reads.
// Reuse a Parser: its values and buffers are kept between bodies, so a warm Parser does not
// allocate. Not for concurrent use.
type Parser struct {
	b     []byte           // the body's copy: the tree's strings point into it
	vs    []fastjson.Value // values handed out in this body, in order
	spans []Span
	keys  []string // scratch: the keys of a large object, sorted
	lim   JSONLimits
	short int // the string length below which no string limit can be broken
}

// Parse parses body, one JSON event object or an array of them, and returns its root and the
// spans of its events (as CheckJSONSpans). ok is false when the body breaks a rule or holds
// something this pass leaves to the two-pass reading (CheckJSONSpans, then fastjson: its verdict
// and messages); nothing returned is valid then. The tree and spans are valid until the next Parse.
func (p *Parser) Parse(body []byte, lim JSONLimits) (root *fastjson.Value, spans []Span, ok bool) {
	p.b = append(p.b[:0], body...)
	for i := range p.vs {
		// No value keeps the previous body's strings or children alive; each keeps the
		// capacity of its members and items for this body.
		v := (*fastjsonValue)(unsafe.Pointer(&p.vs[i]))
		clear(v.o.kvs)
		clear(v.a)
		v.o.kvs, v.a, v.s, v.t, v.o.keysUnescaped = v.o.kvs[:0], v.a[:0], "", 0, false
	}
	p.vs = p.vs[:0]
	p.spans = p.spans[:0]
	p.lim = lim
	p.short = len(body)
	for _, l := range [2]int{lim.MaxStringBytes, lim.MaxKeyBytes} {
		if l > 0 {
			p.short = min(p.short, l)
		}
	}
	b := p.b
	i := skipSpace(b, 0)
	if i >= len(b) {
		return nil, nil, false
	}
	switch b[i] {
	case '[':
		root, i, ok = p.array(i, 1, true)
	case '{':
		p.spans = append(p.spans, Span{Start: i, KeysUnique: true})
		root, i, ok = p.object(i, 1, &p.spans[0])
		if ok {
			p.spans[0].End = i
		}
	default:
		return nil, nil, false // a body that is not an object or array: refused by the caller's reading
	}
	if !ok || skipSpace(b, i) != len(b) {
		return nil, nil, false
	}
	return root, p.spans, true
}

// Copy is the Parser's copy of the last body: the tree's strings point into it (and fastjson
// unescapes them there, in place: read positions from it, not bytes).
func (p *Parser) Copy() []byte { return p.b }

// Release drops the Parser's buffers when the last body made them larger than maxBytes: a pooled
// Parser must not keep one huge body's memory. (What its values refer to is let go at the next
// Parse, whose buffers they are.)
func (p *Parser) Release(maxBytes int) {
	if cap(p.b) > maxBytes || cap(p.vs) > maxBytes/8 {
		*p = Parser{}
	}
}

// parseMaxDepth is the deepest nesting Parse reads; deeper bodies take the two-pass reading, whose
// parser has its own bound (fastjson.MaxDepth, 300, counting scalars too).
const parseMaxDepth = 256

// fastjsonRawString is fastjson's type of a string not unescaped yet (typeRawString):
// TestParserBuildsFastjsonTrees holds it.
const fastjsonRawString fastjson.Type = 7

// value returns a fresh value for this body.
func (p *Parser) value() *fastjsonValue {
	if len(p.vs) < cap(p.vs) {
		p.vs = p.vs[:len(p.vs)+1]
	} else {
		// Pointers to the values of the old array stay valid: it lives as long as they do.
		p.vs = append(p.vs, fastjson.Value{})
	}
	return (*fastjsonValue)(unsafe.Pointer(&p.vs[len(p.vs)-1])) // reset by Parse
}

func (v *fastjsonValue) public() *fastjson.Value { return (*fastjson.Value)(unsafe.Pointer(v)) }

// any parses the value at b[i] (not whitespace); span is the event's, for whitespace in it.
func (p *Parser) any(i, depth int, span *Span) (*fastjson.Value, int, bool) {
	b := p.b
	switch c := b[i]; c {
	case '{':
		return p.object(i, depth+1, span)
	case '[':
		return p.array(i, depth+1, false)
	case '"':
		end, escaped, ok := p.str(i, false)
		if !ok {
			return nil, i, false
		}
		v := p.value()
		// A string without an escape reads as it is written: fastjson's first read would scan
		// it for a backslash to learn as much.
		v.t, v.s = fastjson.TypeString, b2s(b[i+1:end])
		if escaped {
			v.t = fastjsonRawString
		}
		return v.public(), end + 1, true
	case 't', 'f', 'n':
		var lit string
		var t fastjson.Type
		switch c {
		case 't':
			lit, t = "true", fastjson.TypeTrue
		case 'f':
			lit, t = "false", fastjson.TypeFalse
		default:
			lit, t = "null", fastjson.TypeNull
		}
		end := i + len(lit)
		if end > len(b) || string(b[i:end]) != lit || end < len(b) && !isDelimiter(b[end]) {
			return nil, i, false
		}
		v := p.value()
		v.t = t
		return v.public(), end, true
	default:
		end, ok := scanNumber(b, i)
		if !ok || end == i || (c == '-' || c >= '0' && c <= '9') && mayOverflow(b[i:end]) {
			return nil, i, false // a malformed value, or a huge exponent: the two passes say which
		}
		v := p.value()
		v.t, v.s = fastjson.TypeNumber, b2s(b[i:end])
		return v.public(), end, true
	}
}

// str checks the string whose opening quote is b[i] against CheckJSON's rules and the string
// limits, and returns the offset of its closing quote and whether the string holds an escape.
func (p *Parser) str(i int, key bool) (int, bool, bool) {
	end, escaped, problem := scanStringEscapes(p.b, i)
	if problem != "" || end >= len(p.b) {
		return end, escaped, false
	}
	if n := end - i - 1; n > p.short {
		if key && p.lim.MaxKeyBytes > 0 && n > p.lim.MaxKeyBytes || !key && p.lim.MaxStringBytes > 0 && n > p.lim.MaxStringBytes {
			return end, escaped, false
		}
	}
	return end, escaped, true
}

// object parses the object whose opening brace is b[i], at nesting depth.
func (p *Parser) object(i, depth int, span *Span) (*fastjson.Value, int, bool) {
	b := p.b
	if depth > parseMaxDepth || p.lim.MaxDepth > 0 && depth > p.lim.MaxDepth {
		return nil, i, false
	}
	o := p.value()
	o.t = fastjson.TypeObject
	start := i
	i = p.space(i+1, span)
	if i < len(b) && b[i] == '}' {
		o.s = b2s(b[start : i+1]) // where the object lies, for the splice (AppendSpliced)
		return o.public(), i + 1, true
	}
	escapedKeys := false
	// Duplicate keys: a key is compared with the object's earlier keys only when a filter of their
	// prints (keyPrint; 256 bits, by a print's top byte) says one may be equal to it. Past
	// maxPairwiseKeys keys, uniqueKeys sorts them all at the close instead.
	var seen [4]uint64
	dup := false
	for i < len(b) && b[i] == '"' {
		if p.lim.MaxMembers > 0 && len(o.o.kvs) >= p.lim.MaxMembers {
			return nil, i, false
		}
		end, escaped, ok := p.str(i, true)
		if !ok {
			return nil, i, false
		}
		escapedKeys = escapedKeys || escaped
		key := b2s(b[i+1 : end])
		if span != nil && span.KeysUnique && !dup && len(o.o.kvs) < maxPairwiseKeys {
			h := keyPrint(b[i+1 : end])
			if w, bit := h>>62, uint64(1)<<(h>>56&63); seen[w]&bit == 0 {
				seen[w] |= bit
			} else {
				for _, kv := range o.o.kvs {
					if kv.k == key {
						dup = true
						break
					}
				}
			}
		}
		i = p.space(end+1, span)
		if i >= len(b) || b[i] != ':' {
			return nil, i, false
		}
		if i = p.space(i+1, span); i >= len(b) {
			return nil, i, false
		}
		var v *fastjson.Value
		if v, i, ok = p.any(i, depth, span); !ok {
			return nil, i, false
		}
		o.o.kvs = append(o.o.kvs, fastjsonKV{k: key, v: v})
		if i = p.space(i, span); i >= len(b) {
			return nil, i, false
		}
		switch b[i] {
		case ',':
			i = p.space(i+1, span)
			continue
		case '}':
			if span != nil && span.KeysUnique && (escapedKeys || dup || len(o.o.kvs) > maxPairwiseKeys && !p.uniqueKeys(o.o.kvs)) {
				// An escaped key may be another written differently: Process looks for a key
				// twice in the tree's walk and words it.
				span.KeysUnique = false
			}
			// Keys without an escape read as they are written: fastjson's first walk of the
			// object would scan each for a backslash to learn as much.
			o.o.keysUnescaped = !escapedKeys
			o.s = b2s(b[start : i+1])
			return o.public(), i + 1, true
		}
		return nil, i, false
	}
	return nil, i, false
}

// uniqueKeys reports whether kvs's keys (raw, as read), those of an object larger than
// maxPairwiseKeys, are all different: sorted in the scratch space.
func (p *Parser) uniqueKeys(kvs []fastjsonKV) bool {
	p.keys = p.keys[:0]
	for i := range kvs {
		p.keys = append(p.keys, kvs[i].k)
	}
	_, dup := sortedDuplicate(p.keys)
	clear(p.keys)
	return !dup
}

// keyPrint is a fingerprint of a key: equal keys have equal prints; different keys mostly not.
func keyPrint(k []byte) uint64 {
	var h uint64
	switch n := len(k); {
	case n >= 8:
		h = binary.LittleEndian.Uint64(k) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(k[n-8:]), 29)
	case n > 0:
		var w [8]byte
		copy(w[:], k)
		h = binary.LittleEndian.Uint64(w[:])
	}
	return h*0x9E3779B97F4A7C15 ^ uint64(len(k))
}

// space skips whitespace from b[i]; whitespace inside an event makes its span loose.
func (p *Parser) space(i int, span *Span) int {
	j := skipSpace(p.b, i)
	if j != i && span != nil {
		span.Loose = true
	}
	return j
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// array parses the array whose opening bracket is b[i], at nesting depth; root: the body's own
// array, the list of events (each item's span recorded; --max-events, not --max-members, bounds it).
func (p *Parser) array(i, depth int, root bool) (*fastjson.Value, int, bool) {
	b := p.b
	if depth > parseMaxDepth || p.lim.MaxDepth > 0 && depth > p.lim.MaxDepth {
		return nil, i, false
	}
	a := p.value()
	a.t = fastjson.TypeArray
	var span *Span // the enclosing event's; nil for the root array
	if !root && len(p.spans) > 0 {
		span = &p.spans[len(p.spans)-1]
	}
	i = p.space(i+1, span)
	if i < len(b) && b[i] == ']' {
		return a.public(), i + 1, true
	}
	for i < len(b) {
		if !root && p.lim.MaxMembers > 0 && len(a.a) >= p.lim.MaxMembers {
			return nil, i, false
		}
		var v *fastjson.Value
		var ok bool
		if root {
			// An event: its span, from its opening bracket to after its closing one.
			p.spans = append(p.spans, Span{KeysUnique: true})
			n, start := len(p.spans)-1, i
			if v, i, ok = p.any(i, depth, &p.spans[n]); ok && (b[start] == '{' || b[start] == '[') {
				p.spans[n].Start, p.spans[n].End = start, i
			}
		} else {
			v, i, ok = p.any(i, depth, span)
		}
		if !ok {
			return nil, i, false
		}
		a.a = append(a.a, v)
		if i = p.space(i, span); i >= len(b) {
			return nil, i, false
		}
		switch b[i] {
		case ',':
			i = p.space(i+1, span)
			if i >= len(b) {
				return nil, i, false
			}
			continue
		case ']':
			return a.public(), i + 1, true
		}
		return nil, i, false
	}
	return nil, i, false
}
