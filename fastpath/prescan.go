package fastpath

import "strconv"

// CheckJSON is a cheap pass over a body before fastjson parses it, for what fastjson lets through
// or makes costly: nesting deeper than maxDepth (deep input makes parse errors cost memory out of
// all proportion), numbers outside JSON's grammar ("01", "1.", "+1", "-"), and raw control
// characters inside strings. It returns "" when the body passes, else what is wrong and where.
// Structure (brackets, commas, literals) is left to the parser.
func CheckJSON(b []byte, maxDepth int) string {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				switch {
				case b[i] == '\\':
					if !validEscape(b, i) {
						return "a string has a malformed escape at offset " + strconv.Itoa(i)
					}
					i++
				case b[i] < 0x20:
					return "a string has a raw control character (byte " + strconv.Itoa(int(b[i])) + ") at offset " + strconv.Itoa(i) + "; write it as \\u00XX"
				}
			}
		case c == '{' || c == '[':
			if depth++; depth > maxDepth {
				return "JSON nests deeper than " + strconv.Itoa(maxDepth) + " levels (--max-depth) at offset " + strconv.Itoa(i)
			}
		case c == '}' || c == ']':
			depth--
		case c == ',' || c == ':' || c == ' ' || c == '\t' || c == '\n' || c == '\r':
		default:
			// A scalar token: a number, true, false or null, and nothing else (fastjson also takes
			// "+1", "01", "NaN", "Inf").
			end, ok := scanNumber(b, i)
			if c != '-' && (c < '0' || c > '9') {
				tok := b[i:end]
				ok = string(tok) == "true" || string(tok) == "false" || string(tok) == "null"
			}
			if !ok {
				return "malformed value " + strconv.Quote(string(b[i:end])) + " at offset " + strconv.Itoa(i)
			}
			if (c == '-' || c >= '0' && c <= '9') && mayOverflow(b[i:end]) {
				// Slow path: a huge exponent. fastjson would make it +Inf, JSON.stringify null.
				if _, err := strconv.ParseFloat(string(b[i:end]), 64); err != nil {
					return "number " + string(b[i:end]) + " at offset " + strconv.Itoa(i) + " is out of range of a 64-bit float"
				}
			}
			i = end - 1
		}
	}
	return ""
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

func isDelimiter(c byte) bool {
	switch c {
	case ',', ']', '}', ' ', '\t', '\n', '\r', ':':
		return true
	}
	return false
}
