package auth

import (
	"fmt"
	"strings"
)

// Kind is how a principal proved who it is.
type Kind uint8

const (
	// KindAnonymous: no credential was presented.
	KindAnonymous Kind = iota
	// KindAPIKey: an API key from the config; Principal.Name is the key's name (bounded: it
	// comes from the config).
	KindAPIKey
	// KindJWT: a verified JWT; Principal.Name is its subject (chosen by the issuer: do not use
	// it as a metric label value).
	KindJWT
)

func (k Kind) String() string {
	switch k {
	case KindAnonymous:
		return "anonymous"
	case KindAPIKey:
		return "api_key"
	case KindJWT:
		return "jwt"
	}
	return "unknown"
}

// AnonymousName is the name of the principal of a request that presents no credential. It is
// reserved: no API key may be named so and a JWT whose subject is "anonymous" is refused.
const AnonymousName = "anonymous"

// Principal is a caller: who it is, which streams it may write and whether it may use developer
// mode. A Principal is immutable once built and may be shared by any number of requests: the
// Authenticator hands out the same pointer for every request with one API key, and for every
// request with one JWT while the token is cached.
type Principal struct {
	// Name is the API key's name, the JWT's subject, or AnonymousName.
	Name string
	// Kind says which of those.
	Kind Kind

	debug  bool
	grants grants
}

// Anonymous is the principal of requests that present no credential. It may write only streams
// whose policy is "none" and never uses developer mode.
var Anonymous = &Principal{Name: AnonymousName, Kind: KindAnonymous}

// MayWrite is Authorize(p, pol, stream).
func (p *Principal) MayWrite(pol *Policy, stream string) (ok bool, reason string) {
	return Authorize(p, pol, stream)
}

// MayDebug reports whether p may use developer mode on a stream with policy pol: p must be
// flagged for debug (an API key's debug, a JWT's debug claim) and pol must allow it. It does not
// check that p may write the stream: Authorize does.
func (p *Principal) MayDebug(pol *Policy) bool {
	return p != nil && pol != nil && p.debug && pol.debug
}

// Debug reports whether p is flagged for developer mode (whatever the stream).
func (p *Principal) Debug() bool { return p != nil && p.debug }

// Grants returns the stream names and globs p may write, as configured or claimed.
func (p *Principal) Grants() []string {
	if p == nil {
		return nil
	}
	return p.grants.src
}

// grants is a principal's writable streams compiled for Authorize: an exact-name set, the globs
// that are a prefix followed by one trailing "*" (the common "mediawiki.*"), and other globs.
type grants struct {
	src      []string
	all      bool
	exact    map[string]struct{}
	prefixes []string
	patterns []string
}

// compileGrants checks and compiles stream names and globs. A glob's "*" matches any run of
// characters, dots included: "mediawiki.*" covers "mediawiki.page_change.v1" but not "mediawiki".
func compileGrants(streams []string) (grants, error) {
	g := grants{src: streams}
	for _, s := range streams {
		if s == "" {
			return grants{}, fmt.Errorf("empty stream name")
		}
		if strings.IndexFunc(s, isSpaceOrControl) >= 0 {
			return grants{}, fmt.Errorf("stream %q contains white space or a control character", s)
		}
		switch i := strings.IndexByte(s, '*'); {
		case i < 0:
			if g.exact == nil {
				g.exact = make(map[string]struct{}, len(streams))
			}
			g.exact[s] = struct{}{}
		case s == "*" || strings.Trim(s, "*") == "":
			g.all = true
		case i == len(s)-1:
			g.prefixes = append(g.prefixes, s[:i])
		default:
			g.patterns = append(g.patterns, s)
		}
	}
	return g, nil
}

func isSpaceOrControl(r rune) bool {
	return r <= ' ' || r == 0x7f || r == '\u0085' || r == '\u00a0' || r == '\u2028' || r == '\u2029'
}

// covers reports whether the grants include stream. It does not allocate.
func (g *grants) covers(stream string) bool {
	if g.all {
		return true
	}
	if _, ok := g.exact[stream]; ok {
		return true
	}
	for _, p := range g.prefixes {
		if strings.HasPrefix(stream, p) {
			return true
		}
	}
	for _, p := range g.patterns {
		if globMatch(p, stream) {
			return true
		}
	}
	return false
}

// globMatch reports whether s matches pattern, whose only metacharacter is "*" (any run of
// characters). It is the classic linear-time backtracking matcher: on a mismatch it retries from
// the last star, one character further.
func globMatch(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
