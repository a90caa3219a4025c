package schemacache

import (
	"regexp"
	"strings"
)

// Format modes (Config.FormatMode).
const (
	// FormatModeFast checks formats with Ajv 6's "fast" regular expressions, as EventGate does:
	// shape only, so "2019-02-30T29:59:59Z" passes as a date-time.
	FormatModeFast = "fast"
	// FormatModeFull keeps kaptinlin's strict RFC 3339 / RFC 3986 checks.
	FormatModeFull = "full"
)

// jsSpace is JavaScript's \s, which is wider than RE2's ASCII \s.
const jsSpace = `\t\n\v\f\r \x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}\x{feff}`

// fastFormatPatterns are Ajv 6's formats.fast (lib/compile/formats.js, Ajv 6.12), translated to
// RE2: JavaScript's /i becomes (?i), \s becomes jsSpace. RE2 has no lookahead, so hostname's
// length check is done in code (see fastFormats).
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

// fastFormats are the compiled checks, by format name. Each takes the instance as kaptinlin
// passes it; they are registered for strings only, so v is always a string.
var fastFormats = func() map[string]func(any) bool {
	m := make(map[string]func(any) bool, len(fastFormatPatterns))
	for name, p := range fastFormatPatterns {
		re := regexp.MustCompile(p)
		if name == "hostname" {
			// Ajv: ^(?=.{1,253}\.?$)...
			m[name] = func(v any) bool {
				s, _ := v.(string)
				n := len(strings.TrimSuffix(s, "."))
				return n >= 1 && n <= 253 && re.MatchString(s)
			}
			continue
		}
		m[name] = func(v any) bool {
			s, _ := v.(string)
			return re.MatchString(s)
		}
	}
	return m
}()
