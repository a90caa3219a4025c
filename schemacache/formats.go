package schemacache

import "intake.dev/intake/fastpath"

// Format modes (Config.FormatMode), as fastpath names them.
const (
	// FormatModeFast checks formats with Ajv 6's "fast" regular expressions, as EventGate does:
	// shape only, so "2019-02-30T29:59:59Z" passes as a date-time.
	FormatModeFast = fastpath.FormatModeFast
	// FormatModeFull keeps kaptinlin's strict RFC 3339 / RFC 3986 checks.
	FormatModeFull = fastpath.FormatModeFull
)

// fastFormats are Ajv 6's fast formats, by name, as kaptinlin calls them. The checks are
// fastpath's, which the compiled validator uses too, so both validators agree. They are
// registered for strings only, so v is always a string.
var fastFormats = func() map[string]func(any) bool {
	m := make(map[string]func(any) bool, len(fastpath.FastFormatNames))
	for _, name := range fastpath.FastFormatNames {
		check := fastpath.FastFormat(name)
		m[name] = func(v any) bool {
			s, _ := v.(string)
			return check(s)
		}
	}
	return m
}()
