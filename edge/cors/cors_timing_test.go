package cors

import (
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// A Wikimedia-sized list: a few exact origins, wildcards for the project domains. The baseline
// sets the same headers the obvious way, strings built per request through fasthttp's Set.

var benchOrigins = []string{
	"https://www.wikimedia.org", "https://meta.wikimedia.org", "https://commons.wikimedia.org",
	"https://*.wikipedia.org", "https://*.wiktionary.org", "https://*.wikibooks.org",
	"https://*.wikinews.org", "https://*.wikiquote.org", "https://*.wikisource.org",
	"https://*.wikiversity.org", "https://*.wikivoyage.org", "https://*.wikidata.org",
	"https://*.mediawiki.org", "https://*.wikimedia.org",
}

func BenchmarkMatch(b *testing.B) {
	m := mustMatcher(b, benchOrigins...)
	f := func(name, origin string, want bool) {
		o := []byte(origin)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(o)))
			for b.Loop() {
				if m.Match(o) != want {
					b.Fatal("wrong")
				}
			}
		})
	}
	f("exact", "https://commons.wikimedia.org", true)
	f("wildcard-first", "https://en.m.wikipedia.org", true)
	f("wildcard-last", "https://foundation.wikimedia.org", true)
	f("miss", "https://evil.example.com", false)
	b.Run("baseline-linear-strings", func(b *testing.B) {
		o := []byte("https://foundation.wikimedia.org")
		b.ReportAllocs()
		b.SetBytes(int64(len(o)))
		for b.Loop() {
			s := string(o)
			ok := false
			for _, p := range benchOrigins {
				if p == s || (strings.HasPrefix(p, "https://*.") && strings.HasSuffix(s, p[len("https://*"):])) {
					ok = true
					break
				}
			}
			if !ok {
				b.Fatal("wrong")
			}
		}
	})
}

func BenchmarkHeaders(b *testing.B) {
	tb := mustTable(b, benchOrigins, nil, Options{AllowCredentials: true})
	origin := []byte("https://en.m.wikipedia.org")
	method, reqHeaders := []byte("POST"), []byte("content-type,x-request-id")
	var h fasthttp.ResponseHeader
	b.Run("Apply", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h.Reset()
			tb.Apply(origin, &h, true)
		}
	})
	b.Run("Preflight", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h.Reset()
			tb.Preflight(origin, method, reqHeaders, &h)
		}
	})
	b.Run("baseline-fasthttp-Set/Apply", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h.Reset()
			h.Set("Vary", "Origin")
			h.Set("Access-Control-Allow-Origin", string(origin))
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Expose-Headers", "Retry-After, X-Request-Id")
		}
	})
}
