package cors

import (
	"fmt"
	"strconv"
	"strings"
)

// Matcher is a compiled list of allowed origins. It is immutable once built and safe for
// concurrent use.
type Matcher struct {
	all   bool                // "*": every origin but "null"
	exact map[string]struct{} // normalized origins, "null" included when listed
	// wild holds "scheme://*.suffix[:port]" split around the star, by suffix (".example.org",
	// ".example.org:8443"): an origin matches when it is a listed scheme's "scheme://", one or
	// more labels, and the suffix. Match looks up each dot of the origin's host, a handful of
	// lookups however many wildcards are listed.
	wild map[string][]string
	n    int // entries listed, for Empty
}

// NewMatcher compiles origins: "*", "null", "scheme://host[:port]" or "scheme://*.domain[:port]".
// Scheme and host are lower-cased, a default port (http 80, https 443) and one trailing slash
// dropped; paths, queries, user info and any other "*" are errors.
func NewMatcher(origins []string) (*Matcher, error) {
	m := &Matcher{exact: make(map[string]struct{}, len(origins)), wild: map[string][]string{}}
	for _, o := range origins {
		if err := m.add(o); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Matcher) add(o string) error {
	o = strings.TrimSpace(o)
	m.n++
	switch o {
	case "*":
		m.all = true
		return nil
	case "null":
		m.exact["null"] = struct{}{}
		return nil
	}
	prefix, host, port, err := parseOrigin(o)
	if err != nil {
		return fmt.Errorf("cannot parse allowed origin %q: %s", o, err)
	}
	if rest, ok := strings.CutPrefix(host, "*."); ok {
		suffix := "." + rest + port
		m.wild[suffix] = append(m.wild[suffix], prefix)
		return nil
	}
	m.exact[prefix+host+port] = struct{}{}
	return nil
}

// parseOrigin splits a configured origin into "scheme://", host and ":port" ("" for the default).
func parseOrigin(o string) (prefix, host, port string, err error) {
	s := strings.ToLower(strings.TrimSuffix(o, "/"))
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || !validScheme(scheme) {
		return "", "", "", fmt.Errorf(`want "scheme://host[:port]"`)
	}
	if rest == "" || strings.ContainsAny(rest, "/?#@ \t\\") {
		return "", "", "", fmt.Errorf("an origin has no path, query or user info")
	}
	host = rest
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return "", "", "", fmt.Errorf("unclosed [")
		}
		host, port = rest[:end+1], rest[end+1:]
		if port != "" && port[0] != ':' {
			return "", "", "", fmt.Errorf("junk after ]")
		}
		if !validIPv6Host(host) {
			return "", "", "", fmt.Errorf("bad IPv6 host %s", host)
		}
	} else if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		host, port = rest[:i], rest[i:]
	}
	if port != "" {
		p, err := strconv.Atoi(port[1:])
		if err != nil || p < 1 || p > 65535 || port[1] == '0' {
			return "", "", "", fmt.Errorf("bad port %q", port[1:])
		}
		if (scheme == "http" && p == 80) || (scheme == "https" && p == 443) {
			port = "" // browsers never send a default port
		}
	}
	if host == "" {
		return "", "", "", fmt.Errorf("no host")
	}
	if host[0] != '[' {
		labels := host
		if rest, ok := strings.CutPrefix(host, "*."); ok {
			labels = rest
		}
		if !validLabels([]byte(labels)) {
			return "", "", "", fmt.Errorf(`bad host %q (a "*" may only be the whole first label)`, host)
		}
	}
	return scheme + "://", host, port, nil
}

func validScheme(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func validIPv6Host(h string) bool {
	if len(h) < 4 {
		return false
	}
	for i := 1; i < len(h)-1; i++ {
		c := h[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c == ':' || c == '.') {
			return false
		}
	}
	return true
}

// validLabels reports whether b is one or more non-empty labels of lower-case letters, digits,
// '-' and '_' joined by dots: what a browser puts between "scheme://" and the port.
func validLabels(b []byte) bool {
	if len(b) == 0 || b[0] == '.' || b[len(b)-1] == '.' {
		return false
	}
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
		case c == '.':
			if b[i-1] == '.' {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// Match reports whether origin (an Origin header's value) is allowed. It does not allocate.
func (m *Matcher) Match(origin []byte) bool {
	if len(origin) == 0 {
		return false
	}
	if m.all && string(origin) != "null" {
		return true
	}
	if _, ok := m.exact[string(origin)]; ok {
		return true
	}
	if len(m.wild) == 0 {
		return false
	}
	// Slow path: wildcards. The host starts after "://"; each dot in it may start a suffix.
	host := 0
	for i := 0; i+2 < len(origin); i++ {
		if origin[i] == ':' && origin[i+1] == '/' && origin[i+2] == '/' {
			host = i + 3
			break
		}
	}
	if host == 0 {
		return false
	}
	for i := host + 1; i < len(origin); i++ {
		if origin[i] != '.' {
			continue
		}
		prefixes, ok := m.wild[string(origin[i:])]
		if !ok {
			continue
		}
		for _, p := range prefixes {
			if p == string(origin[:host]) && validLabels(origin[host:i]) {
				return true
			}
		}
		// A shorter suffix may still match: "https://*.example" for "https://a.b.example"
		// when only "http://*.b.example" is listed.
	}
	return false
}

// AllowsAll reports whether the list holds "*".
func (m *Matcher) AllowsAll() bool { return m.all }

// Empty reports whether the list allows nothing.
func (m *Matcher) Empty() bool { return m.n == 0 }
