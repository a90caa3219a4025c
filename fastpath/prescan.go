package fastpath

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"unicode/utf8"
)

// JSONLimits bounds what CheckJSON lets through. A field of 0 or less is no limit. CheckJSON's
// messages name the intake serve flags that set them.
type JSONLimits struct {
	// MaxDepth bounds the nesting of objects and arrays (--max-depth).
	MaxDepth int
	// MaxStringBytes bounds a string value, counted in bytes as written between its quotes: an
	// escape counts as its characters (--max-string-bytes).
	MaxStringBytes int
	// MaxKeyBytes bounds an object key, counted the same way (--max-key-bytes).
	MaxKeyBytes int
	// MaxMembers bounds the keys of one object and the items of one array (--max-members). The
	// outermost array, a request's list of events, is the caller's to bound (--max-events).
	MaxMembers int
}

// MaxCountedDepth is how many levels CheckJSON counts members in: one counter per level, on its
// stack, so that counting allocates nothing. With MaxMembers set, deeper input is refused.
const MaxCountedDepth = 256

// CheckJSON is a cheap pass over a body before fastjson parses it, for what fastjson lets through
// or makes costly: nesting deeper than lim.MaxDepth (deep input makes parse errors cost memory
// out of all proportion), strings, keys and objects or arrays beyond lim's other bounds, numbers
// outside JSON's grammar ("01", "1.", "+1", "-"), raw control characters inside strings, and
// escapes of lone UTF-16 surrogates ("\ud800" alone: fastjson keeps such an escape as its six
// characters, which would change the event's text), and bytes that are not UTF-8 (fastjson takes
// them): a body it passes is valid UTF-8 (utf8.Valid), since every byte outside strings must be
// ASCII for the grammar and strings are checked. It returns "" when the body passes, else
// what is wrong and where. Structure (brackets, commas, literals) is left to the parser. It does
// not allocate unless it finds a problem.
func CheckJSON(b []byte, lim JSONLimits) string {
	_, problem := checkJSON(b, lim, nil, false)
	return problem
}

// CheckJSONSpans is CheckJSON that also records where each event lies in b (spans[:0] grown as
// needed): the whole of b's outermost object, or each item of its outermost array, in order (an
// item that is not an object or array gets an empty Span). Process splices the Kafka value from
// those bytes (Request.Raw).
func CheckJSONSpans(b []byte, lim JSONLimits, spans []Span) ([]Span, string) {
	return checkJSON(b, lim, spans, true)
}

func checkJSON(b []byte, lim JSONLimits, spans []Span, record bool) ([]Span, string) {
	var members [MaxCountedDepth]int32 // commas seen so far in the open object or array of each level
	depth := 0
	rootArray := false // the outermost value is an array: its items are --max-events' to count
	spans = spans[:0]
	eventDepth := 1 // the depth of an event's own brackets: 2 under a root array
	if record && len(b) > 0 {
		spans = append(spans, Span{})
	}
	// shortest is the string length below which neither string limit can be broken.
	shortest := len(b)
	for _, l := range [2]int{lim.MaxStringBytes, lim.MaxKeyBytes} {
		if l > 0 {
			shortest = min(shortest, l)
		}
	}
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '"':
			start := i
			var problem string
			if i, problem = scanString(b, i); problem != "" {
				return spans, problem
			}
			// Slow path: a string long enough to break a limit, if it is a key or a value.
			if n := i - start - 1; n > shortest && i < len(b) {
				if isKey(b, i+1) {
					if lim.MaxKeyBytes > 0 && n > lim.MaxKeyBytes {
						return spans, "an object key of " + strconv.Itoa(n) + " bytes at offset " + strconv.Itoa(start) +
							" is longer than " + strconv.Itoa(lim.MaxKeyBytes) + " bytes (--max-key-bytes)"
					}
				} else if lim.MaxStringBytes > 0 && n > lim.MaxStringBytes {
					return spans, "a string of " + strconv.Itoa(n) + " bytes at offset " + strconv.Itoa(start) +
						" is longer than " + strconv.Itoa(lim.MaxStringBytes) + " bytes (--max-string-bytes)"
				}
			}
		case '{', '[':
			if depth++; lim.MaxDepth > 0 && depth > lim.MaxDepth {
				return spans, "JSON nests deeper than " + strconv.Itoa(lim.MaxDepth) + " levels (--max-depth) at offset " + strconv.Itoa(i)
			}
			if depth == 1 {
				rootArray = c == '['
				if rootArray {
					eventDepth = 2
				}
			}
			if record && depth == eventDepth {
				spans[len(spans)-1].Start = i
			}
			if lim.MaxMembers > 0 {
				if depth > MaxCountedDepth {
					return spans, "JSON nests deeper than " + strconv.Itoa(MaxCountedDepth) + " levels at offset " + strconv.Itoa(i) +
						", the most --max-members can count in (lower --max-depth, or set --max-members 0)"
				}
				members[depth-1] = 0
			}
		case '}', ']':
			if record && depth == eventDepth {
				spans[len(spans)-1].End = i + 1
			}
			// Never below 0: unbalanced closers must not buy nesting past --max-depth.
			if depth > 0 {
				depth--
			}
		case ',':
			if record && depth == 1 && rootArray {
				spans = append(spans, Span{})
			}
			if lim.MaxMembers > 0 && depth > 0 && depth <= MaxCountedDepth && !(depth == 1 && rootArray) {
				if members[depth-1]++; int(members[depth-1]) >= lim.MaxMembers {
					return spans, "an object or array has more than " + strconv.Itoa(lim.MaxMembers) + " members (--max-members) at offset " + strconv.Itoa(i)
				}
			}
		case ':':
		case ' ', '\t', '\n', '\r':
			if record && depth >= eventDepth {
				spans[len(spans)-1].Loose = true
			}
		default:
			// A scalar token: a number, true, false or null, and nothing else (fastjson also takes
			// "+1", "01", "NaN", "Inf").
			end, ok := scanNumber(b, i)
			if c != '-' && (c < '0' || c > '9') {
				tok := b[i:end]
				ok = string(tok) == "true" || string(tok) == "false" || string(tok) == "null"
			}
			if !ok {
				return spans, "malformed value " + strconv.Quote(string(b[i:end])) + " at offset " + strconv.Itoa(i)
			}
			if (c == '-' || c >= '0' && c <= '9') && mayOverflow(b[i:end]) {
				// Slow path: a huge exponent. fastjson would make it +Inf, JSON.stringify null.
				if _, err := strconv.ParseFloat(string(b[i:end]), 64); err != nil {
					return spans, "number " + string(b[i:end]) + " at offset " + strconv.Itoa(i) + " is out of range of a 64-bit float"
				}
			}
			i = end - 1
		}
	}
	return spans, ""
}

// scanNumber checks the number starting at b[i] against JSON's grammar,
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, and returns where its token ends.
func scanNumber(b []byte, i int) (end int, ok bool) {
	start := i
	tokenEnd := func() int {
		j := start
		for j < len(b) && !isDelimiter(b[j]) {
			j++
		}
		return j
	}
	digits := func() bool {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n > 0
	}
	if b[i] == '-' {
		i++
	}
	if i == start && (b[i] < '0' || b[i] > '9') {
		return tokenEnd(), false
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		digits()
	default:
		return tokenEnd(), false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return tokenEnd(), false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return tokenEnd(), false
		}
	}
	if i < len(b) && !isDelimiter(b[i]) {
		return tokenEnd(), false
	}
	return i, true
}

// mayOverflow is a cheap test for a number that could exceed float64's range (about 1.8e308): one
// with more than 300 integer digits, or an exponent that with the integer digits passes 300.
func mayOverflow(num []byte) bool {
	intDigits, exp, expSign, inExp := 0, 0, 1, false
	seenDot := false
	for _, c := range num {
		switch {
		case c == 'e' || c == 'E':
			inExp = true
		case inExp && c == '-':
			expSign = -1
		case inExp && c >= '0' && c <= '9':
			if exp < 100000 {
				exp = exp*10 + int(c-'0')
			}
		case c == '.':
			seenDot = true
		case !seenDot && c >= '0' && c <= '9':
			intDigits++
		}
	}
	return intDigits+expSign*exp > 300
}

// validEscape reports whether the backslash at b[i] starts one of JSON's escapes.
func validEscape(b []byte, i int) bool {
	if i+1 >= len(b) {
		return false
	}
	switch b[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return true
	case 'u':
		if i+5 >= len(b) {
			return false
		}
		for _, h := range b[i+2 : i+6] {
			if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
				return false
			}
		}
		return true
	}
	return false
}

// stringSpecial marks the bytes scanString stops at inside a string: the quote, the backslash,
// control characters and every byte of a multi-byte UTF-8 sequence.
var stringSpecial = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	for c := 0x80; c < 0x100; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

const (
	ones  = 0x0101010101010101 // 0x01 in every byte of a word
	highs = 0x8080808080808080 // 0x80 in every byte
)

// stringStops returns w (8 bytes of a string, little-endian) with the high bit set in the lowest
// byte that is a stop of scanString (stringSpecial), and in none below it; 0 when no byte is.
// Bytes above the lowest stop may be marked falsely (a borrow runs upwards), never ones below.
func stringStops(w uint64) uint64 {
	return quoteOrBackslash(w) | ((w-ones*0x20)&^w|w)&highs
}

// quoteOrBackslash returns w with the high bit set in the lowest byte that is '"' or '\\' (and
// none below it; bytes above may be marked falsely); 0 when none is.
func quoteOrBackslash(w uint64) uint64 {
	q := w ^ (ones * '"')
	bs := w ^ (ones * '\\')
	return ((q-ones)&^q | (bs-ones)&^bs) & highs
}

// scanString checks the string whose opening quote is b[i] and returns the offset of its closing
// quote (len(b) when it has none: the parser reports that), or what is wrong with it: a raw
// control character, a malformed escape, a lone surrogate escape, bytes that are not UTF-8.
// Ordinary ASCII is skipped eight bytes at a time.
func scanString(b []byte, i int) (end int, problem string) {
	end, _, problem = scanStringEscapes(b, i)
	return end, problem
}

// scanStringEscapes is scanString that also reports whether the string holds an escape.
func scanStringEscapes(b []byte, i int) (end int, escaped bool, problem string) {
	i++
	for i < len(b) {
		// Fast path: eight ordinary bytes at a time.
		if i+8 <= len(b) {
			m := stringStops(binary.LittleEndian.Uint64(b[i:]))
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		} else if !stringSpecial[b[i]] {
			i++
			continue
		}
		switch c := b[i]; {
		case c == '"':
			return i, escaped, ""
		case c < 0x20:
			return i, false, "a string has a raw control character (byte " + strconv.Itoa(int(c)) + ") at offset " + strconv.Itoa(i) + "; write it as \\u00XX"
		case c >= 0x80:
			// utf8.Valid's verdict, sequence by sequence: overlong forms, surrogates and code
			// points beyond U+10FFFF are refused.
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return i, false, "a string has bytes that are not UTF-8 at offset " + strconv.Itoa(i)
			}
			i += size
			continue
		}
		if !validEscape(b, i) {
			return i, false, "a string has a malformed escape at offset " + strconv.Itoa(i)
		}
		if b[i+1] == 'u' {
			switch r := hex4(b[i+2 : i+6]); {
			case r >= 0xD800 && r <= 0xDBFF:
				// A high surrogate must be followed by the escape of a low one.
				if i+7 >= len(b) || b[i+6] != '\\' || !validEscape(b, i+6) || b[i+7] != 'u' ||
					!isLowSurrogate(hex4(b[i+8:i+12])) {
					return i, false, "a string has a lone UTF-16 surrogate escape " + string(b[i:i+6]) + " at offset " + strconv.Itoa(i)
				}
				i += 6 // the low half is checked
			case isLowSurrogate(r):
				return i, false, "a string has a lone UTF-16 surrogate escape " + string(b[i:i+6]) + " at offset " + strconv.Itoa(i)
			}
		}
		escaped = true
		i += 2 // the backslash and the escaped character
	}
	return i, escaped, ""
}

// hex4 decodes the four hex digits of a \u escape (validEscape checked them).
func hex4(h []byte) rune {
	var r rune
	for _, c := range h[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

func isLowSurrogate(r rune) bool { return r >= 0xDC00 && r <= 0xDFFF }

// isKey reports whether the string that ended just before b[i] is an object key: a colon follows.
func isKey(b []byte, i int) bool {
	for ; i < len(b); i++ {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
		case ':':
			return true
		default:
			return false
		}
	}
	return false
}

func isDelimiter(c byte) bool {
	switch c {
	case ',', ']', '}', ' ', '\t', '\n', '\r', ':':
		return true
	}
	return false
}
