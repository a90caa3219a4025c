package cors

import (
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

func mustMatcher(t testing.TB, origins ...string) *Matcher {
	t.Helper()
	m, err := NewMatcher(origins)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMatch(t *testing.T) {
	m := mustMatcher(t,
		"https://www.example.org",
		"HTTPS://Upper.Example.org/", // normalized
		"https://*.wiki.example",
		"http://localhost:8080",
		"https://default-port.example:443",
		"https://*.ports.example:8443",
		"http://[::1]:3000",
		"chrome-extension://abcdefghij",
	)
	f := func(origin string, want bool) {
		t.Helper()
		if got := m.Match([]byte(origin)); got != want {
			t.Fatalf("Match(%q) = %v, want %v", origin, got, want)
		}
	}
	f("https://www.example.org", true)
	f("https://upper.example.org", true)
	f("http://www.example.org", false)       // scheme is significant
	f("https://www.example.org:8443", false) // port is significant
	f("https://www.example.org:443", false)  // browsers never send a default port
	f("https://www.example.org.evil.com", false)
	f("https://evilwww.example.org", false)
	f("https://www.example.org/", false)
	f("HTTPS://WWW.EXAMPLE.ORG", false) // browsers send lower case
	f("", false)
	f("null", false)
	// Wildcards: one or more labels, never the bare domain.
	f("https://en.wiki.example", true)
	f("https://en.m.wiki.example", true)
	f("https://a-b_c.wiki.example", true)
	f("https://wiki.example", false)
	f("https://.wiki.example", false)
	f("https://a..wiki.example", false)
	f("https://evilwiki.example", false)
	f("http://en.wiki.example", false)
	f("https://en.wiki.example:8443", false)
	f("https://en.wiki.example.evil.com", false)
	f("https://evil.com/.wiki.example", false)
	f("https://evil.com?.wiki.example", false)
	f("https://evil.com#.wiki.example", false)
	f("https://user@a.wiki.example", false)
	f("https://a:1.wiki.example", false)
	f("https://A.wiki.example", false)
	f("https://x.ports.example:8443", true)
	f("https://x.ports.example", false)
	f("https://x.ports.example:84430", false)
	// Ports and others.
	f("http://localhost:8080", true)
	f("http://localhost", false)
	f("https://default-port.example", true)
	f("http://[::1]:3000", true)
	f("chrome-extension://abcdefghij", true)

	// The first suffix found is not the only candidate.
	mixed := mustMatcher(t, "http://*.b.example", "https://*.example")
	if !mixed.Match([]byte("https://a.b.example")) || mixed.Match([]byte("http://b.example")) || !mixed.Match([]byte("http://a.b.example")) {
		t.Fatal("nested wildcard suffixes")
	}

	all := mustMatcher(t, "*")
	f = func(origin string, want bool) {
		t.Helper()
		if got := all.Match([]byte(origin)); got != want {
			t.Fatalf("*: Match(%q) = %v, want %v", origin, got, want)
		}
	}
	f("https://anything.example", true)
	f("null", false) // sandboxed frames and file: pages only when listed
	f("", false)
	if !mustMatcher(t, "*", "null").Match([]byte("null")) {
		t.Fatal(`"null" listed but not matched`)
	}
	if mustMatcher(t).Match([]byte("https://www.example.org")) {
		t.Fatal("an empty list matched")
	}
}

func TestNewMatcherErrors(t *testing.T) {
	f := func(origin string, want string) {
		t.Helper()
		_, err := NewMatcher([]string{"https://ok.example", origin})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%q: got %v, want an error with %q", origin, err, want)
		}
	}
	f("www.example.org", "scheme://host")
	f("https://", "scheme://host")
	f("https://www.example.org/path", "no path")
	f("https://www.example.org?q", "no path")
	f("https://user@www.example.org", "no path")
	f("https://*example.org", "bad host")
	f("https://www.*.example.org", "bad host")
	f("https://*", "bad host")
	f("https://*.", "bad host")
	f("https://a..b", "bad host")
	f("https://www.example.org:0", "bad port")
	f("https://www.example.org:65536", "bad port")
	f("https://www.example.org:08443", "bad port")
	f("https://www.example.org:", "bad port")
	f("https://:443", "no host")
	f("https://[::1", "unclosed")
	f("https://[::1]x", "junk")
	f("https://[zz]", "bad IPv6")
	f("1https://x", "scheme://host")
}

func mustTable(t testing.TB, global []string, streams []StreamOrigins, o Options) *Table {
	t.Helper()
	tb, err := NewTable(global, streams, o)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

var testStreams = []StreamOrigins{
	{Stream: "mediawiki.page_view"},
	{Stream: "app.session", Origins: []string{"https://app.example.net"}},
	{Stream: "partners", Origins: []string{"https://*.partner.example"}},
}

func TestAllowedFor(t *testing.T) {
	tb := mustTable(t, []string{"https://*.wikipedia.org"}, testStreams, Options{})
	f := func(origin string, stream int, want bool) {
		t.Helper()
		if got := tb.AllowedFor([]byte(origin), stream); got != want {
			t.Fatalf("AllowedFor(%q, %d) = %v, want %v", origin, stream, got, want)
		}
	}
	f("https://en.wikipedia.org", 0, true) // global
	f("https://en.wikipedia.org", 1, true)
	f("https://en.wikipedia.org", 99, true)
	f("https://app.example.net", 1, true) // the stream's own
	f("https://app.example.net", 0, false)
	f("https://app.example.net", 2, false) // another stream's
	f("https://x.partner.example", 2, true)
	f("https://x.partner.example", 1, false)
	f("https://app.example.net", -1, false)
	f("https://evil.example", 1, false)
	f("", 1, true) // no Origin: not a browser's cross-origin request

	// The preflight and the response headers follow the union.
	g := func(origin string, want bool) {
		t.Helper()
		if got := tb.Allowed([]byte(origin)); got != want {
			t.Fatalf("Allowed(%q) = %v, want %v", origin, got, want)
		}
	}
	g("https://en.wikipedia.org", true)
	g("https://app.example.net", true)
	g("https://x.partner.example", true)
	g("https://evil.example", false)
	g("", false)
}

func TestNewTableErrors(t *testing.T) {
	_, err := NewTable([]string{"https://ok.example/x"}, nil, Options{})
	if err == nil || !strings.Contains(err.Error(), "global allowed_origins") {
		t.Fatalf("got %v", err)
	}
	_, err = NewTable(nil, []StreamOrigins{{Stream: "s.one", Origins: []string{"nope"}}}, Options{})
	if err == nil || !strings.Contains(err.Error(), `stream "s.one"`) {
		t.Fatalf("got %v", err)
	}
}

// headers renders the CORS headers of h, one "Name: value" per line in a fixed order.
func headers(h *fasthttp.ResponseHeader) string {
	var b strings.Builder
	for _, k := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials",
		"Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Max-Age",
		"Access-Control-Expose-Headers", "Vary"} {
		if v := h.Peek(k); len(v) > 0 {
			b.WriteString(k + ": " + string(v) + "\n")
		}
	}
	return b.String()
}

const (
	wantMethods = "Access-Control-Allow-Methods: POST, OPTIONS\n"
	wantHeaders = "Access-Control-Allow-Headers: Content-Type, Content-Encoding, Authorization, X-API-Key, X-Request-Id, X-Intake-Debug\n"
	wantExpose  = "Access-Control-Expose-Headers: Retry-After, X-Request-Id\n"
	vary        = "Vary: Origin\n"
)

func TestPreflight(t *testing.T) {
	plain := mustTable(t, []string{"https://www.example.org"}, testStreams, Options{MaxAge: 600e9})
	creds := mustTable(t, []string{"*"}, nil, Options{AllowCredentials: true, MaxAge: -1})
	star := mustTable(t, []string{"*"}, nil, Options{})
	f := func(tb *Table, origin, method, reqHeaders string, wantOK bool, want string) {
		t.Helper()
		var h fasthttp.ResponseHeader
		ok := tb.Preflight([]byte(origin), []byte(method), []byte(reqHeaders), &h)
		if got := headers(&h); ok != wantOK || got != want {
			t.Fatalf("%s %s [%s]: ok=%v\n%s\nwant ok=%v\n%s", origin, method, reqHeaders, ok, got, wantOK, want)
		}
	}
	allowed := func(originHeader string) string {
		return originHeader + wantMethods + wantHeaders
	}
	f(plain, "https://www.example.org", "POST", "content-type", true,
		allowed("Access-Control-Allow-Origin: https://www.example.org\n")+"Access-Control-Max-Age: 600\n"+vary)
	f(plain, "https://www.example.org", "POST", "Content-Type, authorization,x-api-key , X-Request-Id,x-intake-debug,content-encoding", true,
		allowed("Access-Control-Allow-Origin: https://www.example.org\n")+"Access-Control-Max-Age: 600\n"+vary)
	f(plain, "https://www.example.org", "POST", "", true,
		allowed("Access-Control-Allow-Origin: https://www.example.org\n")+"Access-Control-Max-Age: 600\n"+vary)
	// Allowed by a stream only: the preflight cannot know the stream, so it passes.
	f(plain, "https://x.partner.example", "POST", "content-type", true,
		allowed("Access-Control-Allow-Origin: https://x.partner.example\n")+"Access-Control-Max-Age: 600\n"+vary)
	f(plain, "https://www.example.org", "GET", "authorization", true,
		allowed("Access-Control-Allow-Origin: https://www.example.org\n")+"Access-Control-Max-Age: 600\n"+vary)
	// Refusals set nothing but Vary.
	f(plain, "https://evil.example", "POST", "content-type", false, vary)
	f(plain, "", "POST", "content-type", false, vary)
	f(plain, "https://www.example.org", "PUT", "content-type", false, vary)
	f(plain, "https://www.example.org", "post", "", false, vary) // methods are case-sensitive
	f(plain, "https://www.example.org", "", "", false, vary)
	f(plain, "https://www.example.org", "POST", "content-type, x-secret", false, vary)
	f(plain, "https://www.example.org", "POST", "cookie", false, vary)
	// "*" without credentials answers "*"; with credentials it echoes, never "*".
	f(star, "https://any.example", "POST", "content-type", true,
		allowed("Access-Control-Allow-Origin: *\n")+"Access-Control-Max-Age: 7200\n"+vary)
	f(creds, "https://any.example", "POST", "content-type", true,
		"Access-Control-Allow-Origin: https://any.example\nAccess-Control-Allow-Credentials: true\n"+wantMethods+wantHeaders+vary)
	f(creds, "null", "POST", "", false, vary)
}

func TestApply(t *testing.T) {
	plain := mustTable(t, []string{"https://www.example.org"}, testStreams, Options{AllowCredentials: true})
	noCreds := mustTable(t, []string{"https://www.example.org"}, nil, Options{})
	star := mustTable(t, []string{"*"}, nil, Options{})
	f := func(tb *Table, origin string, credentials bool, vary0 string, wantOK bool, want string) {
		t.Helper()
		var h fasthttp.ResponseHeader
		if vary0 != "" {
			h.Set("Vary", vary0)
		}
		ok := tb.Apply([]byte(origin), &h, credentials)
		if got := headers(&h); ok != wantOK || got != want {
			t.Fatalf("%s credentials=%v: ok=%v\n%s\nwant ok=%v\n%s", origin, credentials, ok, got, wantOK, want)
		}
	}
	f(plain, "https://www.example.org", false, "", true, "Access-Control-Allow-Origin: https://www.example.org\n"+wantExpose+vary)
	f(plain, "https://www.example.org", true, "", true,
		"Access-Control-Allow-Origin: https://www.example.org\nAccess-Control-Allow-Credentials: true\n"+wantExpose+vary)
	f(noCreds, "https://www.example.org", true, "", true, "Access-Control-Allow-Origin: https://www.example.org\n"+wantExpose+vary)
	f(plain, "https://app.example.net", false, "", true, "Access-Control-Allow-Origin: https://app.example.net\n"+wantExpose+vary)
	f(plain, "https://evil.example", true, "", false, vary)
	f(plain, "", false, "", false, vary)
	f(star, "https://any.example", false, "", true, "Access-Control-Allow-Origin: *\n"+wantExpose+vary)
	// Vary keeps what is there and does not repeat itself.
	f(plain, "https://evil.example", false, "Accept-Encoding", false, "Vary: Accept-Encoding, Origin\n")
	f(plain, "https://evil.example", false, "accept-encoding, ORIGIN", false, "Vary: accept-encoding, ORIGIN\n")
	f(plain, "https://evil.example", false, "*", false, "Vary: *\n")

	// Applying twice sets each header once.
	var h fasthttp.ResponseHeader
	plain.Apply([]byte("https://www.example.org"), &h, true)
	plain.Apply([]byte("https://www.example.org"), &h, true)
	if n := strings.Count(h.String(), "Access-Control-Allow-Origin"); n != 1 {
		t.Fatalf("Allow-Origin %d times:\n%s", n, h.String())
	}
	if v := string(h.Peek("Vary")); v != "Origin" {
		t.Fatalf("Vary after two Applies: %q", v)
	}
}

// Match's suffix index must agree with the plain reading of the list: each pattern tried in turn.
func FuzzMatch(f *testing.F) {
	patterns := []string{"https://www.example.org", "https://*.example.org", "http://*.b.example.org",
		"https://*.ports.example:8443", "http://localhost:8080", "null"}
	m := mustMatcher(f, patterns...)
	for _, s := range []string{"https://a.example.org", "http://a.b.example.org", "https://x.ports.example:8443",
		"https://example.org", "null", "https://evil.com/.example.org", "https://a..example.org"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, origin string) {
		want := false
		for _, p := range patterns {
			// A pattern with a star allows the names it stands for, not an origin spelled with a
			// star (no browser sends one).
			if p == origin && !strings.Contains(p, "*") {
				want = true
			}
			if star := strings.Index(p, "*"); star >= 0 {
				prefix, suffix := p[:star], p[star+1:]
				if len(origin) > len(prefix)+len(suffix) && strings.HasPrefix(origin, prefix) && strings.HasSuffix(origin, suffix) &&
					validLabels([]byte(origin[len(prefix):len(origin)-len(suffix)])) {
					want = true
				}
			}
		}
		if got := m.Match([]byte(origin)); got != want {
			t.Fatalf("Match(%q) = %v, the list says %v", origin, got, want)
		}
	})
}
