package fastpath

import (
	"errors"
	"net/netip"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Format modes (CompileOptions.FormatMode).
const (
	// FormatModeFast checks formats with Ajv 6's "fast" regular expressions, as EventGate does:
	// shape only, so "2019-02-30T29:59:59Z" passes as a date-time.
	FormatModeFast = "fast"
	// FormatModeFull checks formats strictly (RFC 3339 dates and times, RFC 3986 URIs, ...).
	FormatModeFull = "full"
)

// jsSpace is JavaScript's \s, which is wider than RE2's ASCII \s.
const jsSpace = `\t\n\v\f\r \x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}\x{feff}`

// fastFormatPatterns are Ajv 6's formats.fast (lib/compile/formats.js, Ajv 6.12), translated to
// RE2: JavaScript's /i becomes (?i), \s becomes jsSpace. RE2 has no lookahead, so hostname's
// length check is done in code (see FastFormat). Ajv's "url" needs lookahead and is not here (an
// unknown format is not asserted); its "regex" is a function, regexFormat.
var fastFormatPatterns = map[string]string{
	"date":                      `^\d\d\d\d-[0-1]\d-[0-3]\d$`,
	"time":                      `(?i)^(?:[0-2]\d:[0-5]\d:[0-5]\d|23:59:60)(?:\.\d+)?(?:z|[+-]\d\d(?::?\d\d)?)?$`,
	"date-time":                 `(?i)^\d\d\d\d-[0-1]\d-[0-3]\d[t` + jsSpace + `](?:[0-2]\d:[0-5]\d:[0-5]\d|23:59:60)(?:\.\d+)?(?:z|[+-]\d\d(?::?\d\d)?)$`,
	"uri":                       `(?i)^(?:[a-z][a-z0-9+\-.]*:)(?:/?/)?[^` + jsSpace + `]*$`,
	"uri-reference":             `(?i)^(?:(?:[a-z][a-z0-9+\-.]*:)?/?/)?(?:[^\\` + jsSpace + `#][^` + jsSpace + `#]*)?(?:#[^\\` + jsSpace + `]*)?$`,
	"uri-template":              `(?i)^(?:(?:[^\x00-\x20"'<>%\\^` + "`" + `{|}]|%[0-9a-f]{2})|\{[+#./;?&=,!@|]?(?:[a-z0-9_]|%[0-9a-f]{2})+(?::[1-9][0-9]{0,3}|\*)?(?:,(?:[a-z0-9_]|%[0-9a-f]{2})+(?::[1-9][0-9]{0,3}|\*)?)*\})*$`,
	"email":                     `(?i)^[a-z0-9.!#$%&'*+/=?^_` + "`" + `{|}~-]+@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$`,
	"hostname":                  `(?i)^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[-0-9a-z]{0,61}[0-9a-z])?)*\.?$`,
	"ipv4":                      `^(?:(?:25[0-5]|2[0-4]\d|[01]?\d\d?)\.){3}(?:25[0-5]|2[0-4]\d|[01]?\d\d?)$`,
	"ipv6":                      `(?i)^[` + jsSpace + `]*(?:(?:(?:[0-9a-f]{1,4}:){7}(?:[0-9a-f]{1,4}|:))|(?:(?:[0-9a-f]{1,4}:){6}(?::[0-9a-f]{1,4}|(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3})|:))|(?:(?:[0-9a-f]{1,4}:){5}(?:(?:(?::[0-9a-f]{1,4}){1,2})|:(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3})|:))|(?:(?:[0-9a-f]{1,4}:){4}(?:(?:(?::[0-9a-f]{1,4}){1,3})|(?:(?::[0-9a-f]{1,4})?:(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|(?:(?:[0-9a-f]{1,4}:){3}(?:(?:(?::[0-9a-f]{1,4}){1,4})|(?:(?::[0-9a-f]{1,4}){0,2}:(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|(?:(?:[0-9a-f]{1,4}:){2}(?:(?:(?::[0-9a-f]{1,4}){1,5})|(?:(?::[0-9a-f]{1,4}){0,3}:(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|(?:(?:[0-9a-f]{1,4}:){1}(?:(?:(?::[0-9a-f]{1,4}){1,6})|(?:(?::[0-9a-f]{1,4}){0,4}:(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|(?::(?:(?:(?::[0-9a-f]{1,4}){1,7})|(?:(?::[0-9a-f]{1,4}){0,5}:(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:)))(?:%.+)?[` + jsSpace + `]*$`,
	"uuid":                      `(?i)^(?:urn:uuid:)?[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$`,
	"json-pointer":              `^(?:/(?:[^~/]|~0|~1)*)*$`,
	"json-pointer-uri-fragment": `(?i)^#(?:/(?:[a-z0-9_\-.!$&'()*+,;:=@]|%[0-9a-f]{2}|~0|~1)*)*$`,
	"relative-json-pointer":     `^(?:0|[1-9][0-9]*)(?:#|(?:/(?:[^~/]|~0|~1)*)*)$`,
}

// fastFormatRegexps are fastFormatPatterns compiled, for the formats without a hand-written
// matcher and for the tests that hold the matchers to the patterns.
var fastFormatRegexps = func() map[string]*regexp.Regexp {
	m := make(map[string]*regexp.Regexp, len(fastFormatPatterns))
	for name, p := range fastFormatPatterns {
		m[name] = regexp.MustCompile(p)
	}
	return m
}()

// FastFormatNames lists the formats Ajv 6's fast mode asserts.
var FastFormatNames = func() []string {
	names := []string{"regex"}
	for name := range fastFormatPatterns {
		names = append(names, name)
	}
	return names
}()

// FastFormat returns the check of an Ajv 6 fast format, nil for a format Ajv's fast mode does not
// know. The hot formats of the real schemas (date-time, date, uri-reference, ...) are hand-written
// matchers that accept exactly what the regular expressions accept (TestFastFormatsMatchAjv): a
// regexp costs hundreds of nanoseconds per string, and an event carries several.
func FastFormat(name string) func(s string) bool {
	switch name {
	case "date":
		return fastDate
	case "date-time":
		return fastDateTime
	case "time":
		return fastTimeOptionalZone
	case "uri":
		return fastURI
	case "uri-reference":
		return fastURIReference
	case "uuid":
		return fastUUID
	case "regex":
		return regexFormat
	case "hostname":
		re := fastFormatRegexps[name]
		// Ajv: ^(?=.{1,253}\.?$)...
		return func(s string) bool {
			n := len(strings.TrimSuffix(s, "."))
			return n >= 1 && n <= 253 && re.MatchString(s)
		}
	}
	if re := fastFormatRegexps[name]; re != nil {
		return re.MatchString
	}
	return nil
}

// FullFormat returns the strict check of a format, nil for a format it does not know.
func FullFormat(name string) func(s string) bool {
	switch name {
	case "date":
		return fullDate
	case "date-time":
		return fullDateTime
	case "time":
		return fullTime
	case "uri":
		return func(s string) bool { return checkURI(s, true, false) }
	case "uri-reference":
		return func(s string) bool { return checkURI(s, false, false) }
	case "iri":
		return func(s string) bool { return checkURI(s, true, true) }
	case "iri-reference":
		return func(s string) bool { return checkURI(s, false, true) }
	case "uuid":
		return fullUUID
	case "email":
		return func(s string) bool { return checkEmail(s, false) }
	case "idn-email":
		return func(s string) bool { return checkEmail(s, true) }
	case "hostname":
		return func(s string) bool { return checkHostname(s, false) }
	case "idn-hostname":
		return func(s string) bool { return checkHostname(s, true) }
	case "ipv4":
		return checkIPv4
	case "ipv6":
		return checkIPv6
	case "regex":
		return regexFormat
	case "duration":
		return durationRe.MatchString
	case "uri-template", "json-pointer", "relative-json-pointer":
		return fastFormatRegexps[name].MatchString
	}
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool { return isDigit(c) || c|0x20 >= 'a' && c|0x20 <= 'f' }

// isJSSpace reports whether r is in JavaScript's \s.
func isJSSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

// jsSpaceAt reports whether s[i:] starts with a JavaScript \s, and its length in bytes.
func jsSpaceAt(s string, i int) (bool, int) {
	c := s[i]
	if c < utf8.RuneSelf {
		return c == ' ' || c >= '\t' && c <= '\r', 1
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	return isJSSpace(r), n
}

func hasJSSpace(s string) bool {
	for i := 0; i < len(s); {
		sp, n := jsSpaceAt(s, i)
		if sp {
			return true
		}
		i += n
	}
	return false
}

// fastDate is ^\d\d\d\d-[0-1]\d-[0-3]\d$.
func fastDate(s string) bool {
	return len(s) == 10 && fastDatePrefix(s)
}

func fastDatePrefix(s string) bool {
	return isDigit(s[0]) && isDigit(s[1]) && isDigit(s[2]) && isDigit(s[3]) && s[4] == '-' &&
		(s[5] == '0' || s[5] == '1') && isDigit(s[6]) && s[7] == '-' && s[8] >= '0' && s[8] <= '3' && isDigit(s[9])
}

// fastDateTime is Ajv 6's fast date-time: a date, "t" or a JavaScript space, a time with a zone.
func fastDateTime(s string) bool {
	if len(s) < 20 || !fastDatePrefix(s) {
		return false
	}
	c := s[10]
	n := 1
	if c != 'T' && c != 't' {
		var sp bool
		if sp, n = jsSpaceAt(s, 10); !sp {
			return false
		}
	}
	return fastTime(s[10+n:], true)
}

func fastTimeOptionalZone(s string) bool { return fastTime(s, false) }

// fastTime is (?:[0-2]\d:[0-5]\d:[0-5]\d|23:59:60)(?:\.\d+)?(?:z|[+-]\d\d(?::?\d\d)?), the zone
// optional unless needZone, case-insensitive.
func fastTime(s string, needZone bool) bool {
	if len(s) < 8 {
		return false
	}
	if !(s[0] >= '0' && s[0] <= '2' && isDigit(s[1]) && s[2] == ':' && s[3] >= '0' && s[3] <= '5' && isDigit(s[4]) &&
		s[5] == ':' && s[6] >= '0' && s[6] <= '5' && isDigit(s[7])) && s[:8] != "23:59:60" {
		return false
	}
	s = s[8:]
	if len(s) > 1 && s[0] == '.' && isDigit(s[1]) {
		i := 2
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		s = s[i:]
	}
	switch {
	case s == "":
		return !needZone
	case s == "z" || s == "Z":
		return true
	case s[0] == '+' || s[0] == '-':
		s = s[1:]
		if len(s) < 2 || !isDigit(s[0]) || !isDigit(s[1]) {
			return false
		}
		s = s[2:]
		if s != "" && s[0] == ':' {
			s = s[1:]
			if s == "" {
				return false
			}
		}
		return s == "" || len(s) == 2 && isDigit(s[0]) && isDigit(s[1])
	}
	return false
}

func isSchemeChar(c byte) bool {
	return c|0x20 >= 'a' && c|0x20 <= 'z' || isDigit(c) || c == '+' || c == '-' || c == '.'
}

// fastURI is (?i)^(?:[a-z][a-z0-9+\-.]*:)(?:/?/)?[^\s]*$: a scheme, then no space.
func fastURI(s string) bool {
	if s == "" || s[0]|0x20 < 'a' || s[0]|0x20 > 'z' {
		return false
	}
	i := 1
	for i < len(s) && isSchemeChar(s[i]) {
		i++
	}
	return i < len(s) && s[i] == ':' && !hasJSSpace(s)
}

// fastURIReference is Ajv 6's fast uri-reference,
// (?i)^(?:(?:[a-z][a-z0-9+\-.]*:)?/?/)?(?:[^\\\s#][^\s#]*)?(?:#[^\\\s]*)?$, which comes down to:
// no space; before the first "#", nothing or a first character that is not a backslash; after
// it, no backslash.
func fastURIReference(s string) bool {
	i := strings.IndexByte(s, '#')
	if i < 0 {
		i = len(s)
	}
	if i > 0 && s[0] == '\\' {
		return false
	}
	if i < len(s) && strings.IndexByte(s[i+1:], '\\') >= 0 {
		return false
	}
	for j := 0; j < len(s); j++ {
		// Fast path: plain ASCII graphic characters, which is all a URI has.
		if c := s[j]; c > ' ' && c < utf8.RuneSelf {
			continue
		}
		return !hasJSSpace(s[j:])
	}
	return true
}

// fastUUID is (?i)^(?:urn:uuid:)?[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$.
func fastUUID(s string) bool {
	if len(s) == 45 && strings.EqualFold(s[:9], "urn:uuid:") {
		s = s[9:]
	}
	return fullUUID(s)
}

// fullUUID is RFC 4122's text form: 8-4-4-4-12 hex digits.
func fullUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isHex(s[i]) {
				return false
			}
		}
	}
	return true
}

// regexFormat is Ajv 6's "regex" format: a pattern JavaScript can compile, without a "\Z"
// (Ajv refuses it: it is a Python anchor that JavaScript reads as a literal Z). Patterns that
// are valid ECMA-262 but beyond RE2 (lookaround, backreferences) are accepted.
func regexFormat(s string) bool {
	for i := 1; i+1 < len(s); i++ {
		if s[i] == '\\' && s[i+1] == 'Z' && s[i-1] != '\\' {
			return false
		}
	}
	_, err := compileECMA(s)
	return err == nil || errors.Is(err, ErrUnsupported)
}

func num2(s string) int { return int(s[0]-'0')*10 + int(s[1]-'0') }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// fullDate is RFC 3339's full-date, with the days of each month.
func fullDate(s string) bool {
	if len(s) != 10 || !allDigits(s[:4]) || s[4] != '-' || !allDigits(s[5:7]) || s[7] != '-' || !allDigits(s[8:]) {
		return false
	}
	y := int(s[0]-'0')*1000 + int(s[1]-'0')*100 + num2(s[2:])
	m, d := num2(s[5:]), num2(s[8:])
	if m < 1 || m > 12 || d < 1 {
		return false
	}
	days := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m]
	if m == 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		days = 29
	}
	return d <= days
}

// fullTime is RFC 3339's full-time: the offset is required and a leap second must fall on
// 23:59:60 UTC.
func fullTime(s string) bool {
	if len(s) < 9 || !allDigits(s[:2]) || s[2] != ':' || !allDigits(s[3:5]) || s[5] != ':' || !allDigits(s[6:8]) {
		return false
	}
	h, m, sec := num2(s), num2(s[3:]), num2(s[6:])
	if h > 23 || m > 59 || sec > 60 {
		return false
	}
	s = s[8:]
	if s[0] == '.' {
		i := 1
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == 1 {
			return false
		}
		s = s[i:]
	}
	off := 0
	switch {
	case s == "z" || s == "Z":
	case len(s) == 6 && (s[0] == '+' || s[0] == '-') && allDigits(s[1:3]) && s[3] == ':' && allDigits(s[4:]):
		oh, om := num2(s[1:]), num2(s[4:])
		if oh > 23 || om > 59 {
			return false
		}
		off = oh*60 + om
		if s[0] == '-' {
			off = -off
		}
	default:
		return false
	}
	if sec == 60 {
		utc := ((h*60+m-off)%1440 + 1440) % 1440
		return utc == 23*60+59
	}
	return true
}

func fullDateTime(s string) bool {
	return len(s) > 11 && fullDate(s[:10]) && (s[10] == 'T' || s[10] == 't') && fullTime(s[11:])
}

var durationRe = regexp.MustCompile(`^P(?:(?:\d+D|\d+M(?:\d+D)?|\d+Y(?:\d+M(?:\d+D)?)?)(?:T(?:\d+H(?:\d+M(?:\d+S)?)?|\d+M(?:\d+S)?|\d+S))?|T(?:\d+H(?:\d+M(?:\d+S)?)?|\d+M(?:\d+S)?|\d+S)|\d+W)$`)

// checkIPv4 is the dotted quad: four decimal octets, no leading zeros.
func checkIPv4(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 3 || !allDigits(p) || len(p) > 1 && p[0] == '0' {
			return false
		}
		n := 0
		for i := 0; i < len(p); i++ {
			n = n*10 + int(p[i]-'0')
		}
		if n > 255 {
			return false
		}
	}
	return true
}

func checkIPv6(s string) bool {
	if strings.ContainsAny(s, "%") || !strings.Contains(s, ":") {
		return false
	}
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is6()
}

// checkHostname is RFC 1123: dot-separated labels of letters, digits and inner hyphens, each at
// most 63 bytes, 253 in all. With idn, labels may hold any letter (no IDNA mapping is checked).
func checkHostname(s string, idn bool) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if c|0x20 >= 'a' && c|0x20 <= 'z' || isDigit(c) || c == '-' || idn && c >= utf8.RuneSelf {
				continue
			}
			return false
		}
		if !idn && len(label) >= 4 && label[2:4] == "--" && !strings.EqualFold(label[:2], "xn") {
			return false
		}
	}
	return true
}

// checkEmail is RFC 5321's Mailbox: a dot-atom or quoted local part, then a hostname or an
// address literal.
func checkEmail(s string, idn bool) bool {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return false
	}
	local, domain := s[:at], s[at+1:]
	if local[0] == '"' {
		if len(local) < 2 || local[len(local)-1] != '"' {
			return false
		}
	} else {
		if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
			return false
		}
		for i := 0; i < len(local); i++ {
			c := local[i]
			if c|0x20 >= 'a' && c|0x20 <= 'z' || isDigit(c) || strings.IndexByte(".!#$%&'*+/=?^_`{|}~-", c) >= 0 || idn && c >= utf8.RuneSelf {
				continue
			}
			return false
		}
	}
	if strings.HasPrefix(domain, "[") && strings.HasSuffix(domain, "]") {
		lit := domain[1 : len(domain)-1]
		if strings.HasPrefix(lit, "IPv6:") {
			return checkIPv6(lit[5:])
		}
		return checkIPv4(lit)
	}
	return checkHostname(domain, idn)
}

// checkURI checks RFC 3986 (RFC 3987 with iri): a URI (absolute, a scheme required) or a URI
// reference, by its characters and the shape of its authority.
func checkURI(s string, absolute, iri bool) bool {
	rest := s
	if i := strings.IndexAny(s, ":/?#"); i > 0 && s[i] == ':' {
		scheme := s[:i]
		if scheme[0]|0x20 < 'a' || scheme[0]|0x20 > 'z' {
			return false
		}
		for j := 1; j < len(scheme); j++ {
			if !isSchemeChar(scheme[j]) {
				return false
			}
		}
		rest = s[i+1:]
	} else if absolute {
		return false
	} else if i == 0 && s[0] == ':' {
		return false
	}
	frag := ""
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest, frag = rest[:i], rest[i+1:]
		if !uriChars(frag, "/?:@!$&'()*+,;=", iri) {
			return false
		}
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		if !uriChars(rest[i+1:], "/?:@!$&'()*+,;=", iri) {
			return false
		}
		rest = rest[:i]
	}
	if strings.HasPrefix(rest, "//") {
		auth := rest[2:]
		path := ""
		if i := strings.IndexByte(auth, '/'); i >= 0 {
			auth, path = auth[:i], auth[i:]
		}
		if i := strings.LastIndexByte(auth, '@'); i >= 0 {
			if !uriChars(auth[:i], ":!$&'()*+,;=", iri) {
				return false
			}
			auth = auth[i+1:]
		}
		host := auth
		if strings.HasPrefix(auth, "[") {
			end := strings.IndexByte(auth, ']')
			if end < 0 || !checkIPv6(auth[1:end]) {
				return false
			}
			host, auth = "", auth[end+1:]
			if auth != "" && (auth[0] != ':' || !allDigitsOrEmpty(auth[1:])) {
				return false
			}
		} else if i := strings.LastIndexByte(auth, ':'); i >= 0 {
			if !allDigitsOrEmpty(auth[i+1:]) {
				return false
			}
			host = auth[:i]
		}
		if !uriChars(host, "!$&'()*+,;=", iri) {
			return false
		}
		rest = path
	}
	return uriChars(rest, "/:@!$&'()*+,;=", iri)
}

func allDigitsOrEmpty(s string) bool { return s == "" || allDigits(s) }

// uriChars reports whether s holds only unreserved characters, percent-encodings and the given
// sub-delimiters (and, for an IRI, any non-ASCII character).
func uriChars(s, extra string, iri bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c|0x20 >= 'a' && c|0x20 <= 'z' || isDigit(c) || c == '-' || c == '.' || c == '_' || c == '~':
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
			i += 2
		case c >= utf8.RuneSelf:
			if !iri {
				return false
			}
		case strings.IndexByte(extra, c) >= 0:
		default:
			return false
		}
	}
	return true
}
