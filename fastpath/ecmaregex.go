package fastpath

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// JSON Schema patterns are ECMA-262 regular expressions; Go's regexp is RE2. compileECMA
// translates the syntax whose meaning differs and refuses what RE2 cannot do:
//
//   - \d, \w, \s and their negations get ECMA's meaning (ASCII digits and word characters;
//     JavaScript's wider set of spaces), also inside classes; "." does not match any line
//     terminator (\n, \r, U+2028, U+2029); \uXXXX (a surrogate pair joined), \u{...}, \cX, \0.
//   - "[]" matches nothing and "[^]" anything; an identity escape of a letter (\a, \e, \z) is
//     that letter, as in ECMA's non-Unicode mode.
//   - Lookahead and lookbehind ((?=, (?!, (?<=, (?<!) and backreferences (\1, \k<name>) are
//     beyond RE2: errRegexBeyondRE2, and the schema falls back to kaptinlin.
//   - Not translated, a known difference: Ajv 6 compiles patterns without the "u" flag, so "."
//     and a class match one UTF-16 code unit and a character outside the BMP counts as two; here
//     they match one code point. \p{...} keeps RE2's property names (\p{L}, \p{Greek}); ECMA's
//     long names (\p{Letter}) do not compile and fall back. A \S inside a class with other
//     members has no RE2 spelling and falls back too.
var errRegexBeyondRE2 = fmt.Errorf("%w: the pattern uses lookaround or a backreference, which Go's regexp (RE2) cannot run", ErrUnsupported)

const (
	ecmaDigit    = `0-9`
	ecmaWord     = `0-9A-Za-z_`
	ecmaDot      = `[^\n\r\x{2028}\x{2029}]`
	ecmaNotSpace = `[^` + jsSpace + `]`
)

// compileECMA compiles an ECMA-262 pattern into a Go regexp with the same meaning, or fails
// with errRegexBeyondRE2 or a syntax error.
func compileECMA(pattern string) (*regexp.Regexp, error) {
	tr, err := translateECMA(pattern)
	if err != nil {
		return nil, err
	}
	re, err := regexp.Compile(tr)
	if err != nil {
		return nil, fmt.Errorf("pattern %q: %w", pattern, err)
	}
	return re, nil
}

func translateECMA(p string) (string, error) {
	var b strings.Builder
	depth := 0
	for i := 0; i < len(p); {
		c := p[i]
		switch c {
		case '\\':
			n, err := translateEscape(&b, p, i, false)
			if err != nil {
				return "", err
			}
			i += n
		case '.':
			b.WriteString(ecmaDot)
			i++
		case '[':
			n, err := translateClass(&b, p, i)
			if err != nil {
				return "", err
			}
			i += n
		case '(':
			depth++
			switch {
			case strings.HasPrefix(p[i:], "(?=") || strings.HasPrefix(p[i:], "(?!") ||
				strings.HasPrefix(p[i:], "(?<=") || strings.HasPrefix(p[i:], "(?<!"):
				return "", errRegexBeyondRE2
			case strings.HasPrefix(p[i:], "(?<"):
				b.WriteString("(?P<")
				i += 3
			case strings.HasPrefix(p[i:], "(?:"):
				b.WriteString("(?:")
				i += 3
			case strings.HasPrefix(p[i:], "(?"):
				return "", fmt.Errorf("pattern %q: invalid group", p)
			default:
				b.WriteByte('(')
				i++
			}
		case ')':
			depth--
			if depth < 0 {
				return "", fmt.Errorf("pattern %q: unmatched )", p)
			}
			b.WriteByte(c)
			i++
		case '{':
			// A brace that does not start a quantifier is a literal in ECMA (Annex B); RE2
			// reads "x{2}" as a repeat and any other brace as a literal, which agrees.
			b.WriteByte(c)
			i++
		default:
			_, n := utf8.DecodeRuneInString(p[i:])
			b.WriteString(p[i : i+n])
			i += n
		}
	}
	if depth != 0 {
		return "", fmt.Errorf("pattern %q: unmatched (", p)
	}
	return b.String(), nil
}

// translateEscape writes the RE2 form of the escape at p[i] ("\") and returns its length. In a
// class, \b is a backspace and the class shorthands are written as ranges.
func translateEscape(b *strings.Builder, p string, i int, inClass bool) (int, error) {
	if i+1 >= len(p) {
		return 0, fmt.Errorf("pattern %q: trailing backslash", p)
	}
	c := p[i+1]
	switch c {
	case 'd', 'w', 's':
		set := map[byte]string{'d': ecmaDigit, 'w': ecmaWord, 's': jsSpace}[c]
		if inClass {
			b.WriteString(set)
		} else {
			b.WriteString("[" + set + "]")
		}
		return 2, nil
	case 'D', 'W':
		// RE2's \D and \W are the ASCII complements, which ECMA's are too.
		b.WriteByte('\\')
		b.WriteByte(c)
		return 2, nil
	case 'S':
		if inClass {
			return 0, fmt.Errorf("%w: \\S inside a class in %q", ErrUnsupported, p)
		}
		b.WriteString(ecmaNotSpace)
		return 2, nil
	case 'b':
		if inClass {
			b.WriteString(`\x08`)
		} else {
			b.WriteString(`\b`)
		}
		return 2, nil
	case 'B':
		if inClass {
			b.WriteByte('B')
		} else {
			b.WriteString(`\B`)
		}
		return 2, nil
	case 'f', 'n', 'r', 't', 'v':
		b.WriteByte('\\')
		b.WriteByte(c)
		return 2, nil
	case '0':
		if i+2 < len(p) && isDigit(p[i+2]) {
			return 0, errRegexBeyondRE2 // an octal escape or a backreference
		}
		b.WriteString(`\x00`)
		return 2, nil
	case '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return 0, errRegexBeyondRE2
	case 'k':
		if strings.HasPrefix(p[i+2:], "<") {
			return 0, errRegexBeyondRE2
		}
		b.WriteByte('k')
		return 2, nil
	case 'c':
		if i+2 < len(p) && (p[i+2]|0x20 >= 'a' && p[i+2]|0x20 <= 'z') {
			writeCodePoint(b, rune(p[i+2]%32))
			return 3, nil
		}
		b.WriteString(`\\c`)
		return 2, nil
	case 'x':
		if i+3 < len(p) && isHex(p[i+2]) && isHex(p[i+3]) {
			r, _ := strconv.ParseUint(p[i+2:i+4], 16, 32)
			writeCodePoint(b, rune(r))
			return 4, nil
		}
		b.WriteByte('x')
		return 2, nil
	case 'u':
		if strings.HasPrefix(p[i+2:], "{") {
			end := strings.IndexByte(p[i+2:], '}')
			if end > 1 {
				if r, err := strconv.ParseUint(p[i+3:i+2+end], 16, 32); err == nil && r <= utf8.MaxRune {
					writeCodePoint(b, rune(r))
					return 3 + end, nil
				}
			}
		}
		if i+5 < len(p) && isHex(p[i+2]) && isHex(p[i+3]) && isHex(p[i+4]) && isHex(p[i+5]) {
			r, _ := strconv.ParseUint(p[i+2:i+6], 16, 32)
			// A surrogate pair spelled as two escapes is one code point.
			if r >= 0xd800 && r < 0xdc00 && strings.HasPrefix(p[i+6:], `\u`) && i+11 < len(p) {
				if lo, err := strconv.ParseUint(p[i+8:i+12], 16, 32); err == nil && lo >= 0xdc00 && lo < 0xe000 {
					writeCodePoint(b, rune((r-0xd800)<<10+(lo-0xdc00)+0x10000))
					return 12, nil
				}
			}
			if r >= 0xd800 && r < 0xe000 {
				return 0, fmt.Errorf("%w: a lone surrogate in %q", ErrUnsupported, p)
			}
			writeCodePoint(b, rune(r))
			return 6, nil
		}
		b.WriteByte('u')
		return 2, nil
	case 'p', 'P':
		// RE2 spells Unicode properties as ECMA's "u" mode does, for the short names.
		b.WriteByte('\\')
		b.WriteByte(c)
		return 2, nil
	}
	if c >= utf8.RuneSelf {
		_, n := utf8.DecodeRuneInString(p[i+1:])
		b.WriteString(regexp.QuoteMeta(p[i+1 : i+1+n]))
		return 1 + n, nil
	}
	// An identity escape: punctuation stays escaped, a letter is itself.
	if c|0x20 >= 'a' && c|0x20 <= 'z' || isDigit(c) || c == '_' {
		b.WriteByte(c)
		return 2, nil
	}
	b.WriteByte('\\')
	b.WriteByte(c)
	return 2, nil
}

func writeCodePoint(b *strings.Builder, r rune) {
	fmt.Fprintf(b, `\x{%x}`, r)
}

// translateClass writes the RE2 form of the class at p[i] ("[") and returns its length.
func translateClass(b *strings.Builder, p string, i int) (int, error) {
	j := i + 1
	neg := false
	if j < len(p) && p[j] == '^' {
		neg = true
		j++
	}
	if j < len(p) && p[j] == ']' {
		// ECMA: [] matches nothing, [^] any character.
		if neg {
			b.WriteString(`[\x{0}-\x{10ffff}]`)
		} else {
			b.WriteString(`[^\x{0}-\x{10ffff}]`)
		}
		return j + 1 - i, nil
	}
	b.WriteByte('[')
	if neg {
		b.WriteByte('^')
	}
	for j < len(p) {
		c := p[j]
		switch c {
		case ']':
			b.WriteByte(']')
			return j + 1 - i, nil
		case '\\':
			n, err := translateEscape(b, p, j, true)
			if err != nil {
				return 0, err
			}
			j += n
		case '[':
			b.WriteString(`\[`)
			j++
		default:
			_, n := utf8.DecodeRuneInString(p[j:])
			b.WriteString(p[j : j+n])
			j += n
		}
	}
	return 0, fmt.Errorf("pattern %q: unterminated class", p)
}
