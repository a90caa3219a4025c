package cors

import (
	"fmt"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"intake.dev/intake/edge/internal/httpval"
)

// DefaultMaxAge is how long browsers may cache a preflight when Options.MaxAge is 0. Chromium
// caps it at 2 hours anyway; Firefox at 24.
const DefaultMaxAge = 2 * time.Hour

// Options are the settings that are not origin lists.
type Options struct {
	// AllowCredentials lets browsers send cookies and HTTP auth (fetch's credentials: "include";
	// navigator.sendBeacon always does) and read the response: Access-Control-Allow-Credentials
	// is sent and the origin is always echoed, never "*".
	AllowCredentials bool `yaml:"allow_credentials" json:"allow_credentials"`
	// MaxAge is Access-Control-Max-Age, in whole seconds; 0 means DefaultMaxAge, negative omits it.
	MaxAge time.Duration `yaml:"max_age" json:"max_age"`
}

// StreamOrigins is one stream's own allowed origins (producers.<service>.allowed_origins); Stream
// names it in errors.
type StreamOrigins struct {
	Stream  string
	Origins []string
}

// Table is the CORS policy of one configuration snapshot. It is immutable and safe for concurrent
// use; build a new one when the configuration changes.
type Table struct {
	global      *Matcher
	any         *Matcher   // global and every stream's: what a preflight or a response may allow
	streams     []*Matcher // by stream index; nil: the stream adds nothing to the global list
	credentials bool
	maxAge      []byte // nil: no header
}

// NewTable compiles the global allowed origins and each stream's, perStream indexed like the
// snapshot's streams (the index AllowedFor takes).
func NewTable(global []string, perStream []StreamOrigins, o Options) (*Table, error) {
	t := &Table{credentials: o.AllowCredentials, streams: make([]*Matcher, len(perStream))}
	var err error
	if t.global, err = NewMatcher(global); err != nil {
		return nil, fmt.Errorf("global allowed_origins: %w", err)
	}
	union := append([]string(nil), global...)
	for i, s := range perStream {
		if len(s.Origins) == 0 {
			continue
		}
		if t.streams[i], err = NewMatcher(s.Origins); err != nil {
			return nil, fmt.Errorf("stream %q: producers allowed_origins: %w", s.Stream, err)
		}
		union = append(union, s.Origins...)
	}
	if t.any, err = NewMatcher(union); err != nil {
		panic("BUG: the union of valid origin lists does not compile: " + err.Error())
	}
	switch {
	case o.MaxAge == 0:
		t.maxAge = strconv.AppendInt(nil, int64(DefaultMaxAge/time.Second), 10)
	case o.MaxAge > 0:
		t.maxAge = strconv.AppendInt(nil, int64(o.MaxAge/time.Second), 10)
	}
	return t, nil
}

// Header names and values, built once.
var (
	hAllowOrigin      = []byte(fasthttp.HeaderAccessControlAllowOrigin)
	hAllowCredentials = []byte(fasthttp.HeaderAccessControlAllowCredentials)
	hAllowMethods     = []byte(fasthttp.HeaderAccessControlAllowMethods)
	hAllowHeaders     = []byte(fasthttp.HeaderAccessControlAllowHeaders)
	hExposeHeaders    = []byte(fasthttp.HeaderAccessControlExposeHeaders)
	hMaxAge           = []byte(fasthttp.HeaderAccessControlMaxAge)
	hVary             = []byte(fasthttp.HeaderVary)

	vStar    = []byte("*")
	vTrue    = []byte("true")
	vOrigin  = []byte("Origin")
	vMethods = []byte("POST, OPTIONS")
	// AllowedHeaders, as sent in Access-Control-Allow-Headers.
	vHeaders = []byte("Content-Type, Content-Encoding, Authorization, X-API-Key, X-Request-Id, X-Intake-Debug")
	// Retry-After (on 429 and 503) and X-Request-Id are not CORS-safelisted response headers: a
	// page could not read them without this.
	vExpose = []byte("Retry-After, X-Request-Id")
)

// allowedHeaders is vHeaders in lower case, for checking Access-Control-Request-Headers.
var allowedHeaders = []string{"content-type", "content-encoding", "authorization", "x-api-key", "x-request-id", "x-intake-debug"}

// Allowed reports whether origin is allowed globally or by any stream: whether a preflight may
// pass and a response may be read.
func (t *Table) Allowed(origin []byte) bool { return t.any.Match(origin) }

// AllowedFor reports whether an event of the stream with index stream may come from origin: the
// global list or that stream's. An empty origin (no Origin header: not a browser's cross-origin
// request) is allowed; an index out of range has the global list only. It does not allocate.
func (t *Table) AllowedFor(origin []byte, stream int) bool {
	if len(origin) == 0 || t.global.Match(origin) {
		return true
	}
	if uint(stream) < uint(len(t.streams)) {
		if m := t.streams[stream]; m != nil {
			return m.Match(origin)
		}
	}
	return false
}

// Preflight answers an OPTIONS request: when origin is allowed (globally or by any stream), the
// requested method is POST or a method browsers never ask about (GET, HEAD), and every requested
// header is in the allow list, it sets Access-Control-Allow-Origin, -Allow-Methods,
// -Allow-Headers, -Max-Age (and -Allow-Credentials when the table allows credentials) and returns
// true. Otherwise it sets none of them, which is the refusal: answer 204 either way. Vary: Origin
// is added in both cases. It does not allocate once h is warm.
func (t *Table) Preflight(origin, requestMethod, requestHeaders []byte, h *fasthttp.ResponseHeader) (ok bool) {
	addVaryOrigin(h)
	if !t.any.Match(origin) || !methodAllowed(requestMethod) || !headersAllowed(requestHeaders) {
		return false
	}
	t.setAllowOrigin(origin, h, t.credentials)
	h.SetCanonical(hAllowMethods, vMethods)
	h.SetCanonical(hAllowHeaders, vHeaders)
	if t.maxAge != nil {
		h.SetCanonical(hMaxAge, t.maxAge)
	}
	return true
}

// Apply sets the CORS headers of an actual response (any method, text/plain beacons included):
// Access-Control-Allow-Origin and -Expose-Headers when origin is allowed globally or by any
// stream, and Vary: Origin always. credentials asks for a credentialed answer (the origin echoed
// and Access-Control-Allow-Credentials: true); it is honoured only when the table allows
// credentials. It reports whether origin was allowed and does not allocate once h is warm.
func (t *Table) Apply(origin []byte, h *fasthttp.ResponseHeader, credentials bool) bool {
	addVaryOrigin(h)
	if !t.any.Match(origin) {
		return false
	}
	t.setAllowOrigin(origin, h, credentials && t.credentials)
	h.SetCanonical(hExposeHeaders, vExpose)
	return true
}

// Credentials reports whether the table allows credentials (Options.AllowCredentials).
func (t *Table) Credentials() bool { return t.credentials }

func (t *Table) setAllowOrigin(origin []byte, h *fasthttp.ResponseHeader, credentials bool) {
	switch {
	case credentials:
		h.SetCanonical(hAllowOrigin, origin)
		h.SetCanonical(hAllowCredentials, vTrue)
	case t.any.all:
		h.SetCanonical(hAllowOrigin, vStar)
	default:
		h.SetCanonical(hAllowOrigin, origin)
	}
}

// addVaryOrigin adds Origin to Vary, keeping what is there (Accept-Encoding, say): the answer
// depends on Origin, and a cache must not give one origin's answer to another.
func addVaryOrigin(h *fasthttp.ResponseHeader) {
	v := h.PeekCanonical(hVary)
	if len(v) == 0 {
		h.SetCanonical(hVary, vOrigin)
		return
	}
	if hasToken(v, "origin") || hasToken(v, "*") {
		return
	}
	var buf [128]byte // on the stack unless Vary is long
	h.SetCanonical(hVary, append(append(append(buf[:0], v...), ", "...), vOrigin...))
}

func methodAllowed(m []byte) bool {
	switch string(m) {
	case "POST", "GET", "HEAD":
		return true
	}
	return false
}

// headersAllowed reports whether every name in a comma-separated list is in allowedHeaders, in any
// case.
func headersAllowed(list []byte) bool {
	for list != nil {
		var name []byte
		if name, list = httpval.Next(list); len(name) == 0 {
			continue
		}
		found := false
		for _, a := range allowedHeaders {
			if httpval.EqualFold(name, a) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// hasToken reports whether the comma-separated list holds tok (lower case), in any case.
func hasToken(list []byte, tok string) bool {
	for list != nil {
		var name []byte
		if name, list = httpval.Next(list); httpval.EqualFold(name, tok) {
			return true
		}
	}
	return false
}
