//go:build !race

package cors

import (
	"testing"

	"github.com/valyala/fasthttp"
)

// Matching and setting headers run on every browser request: no allocation once the response
// header's buffers are warm.
func TestCORSDoesNotAllocate(t *testing.T) {
	tb := mustTable(t, []string{"https://www.example.org", "https://*.wikipedia.org"}, testStreams, Options{AllowCredentials: true})
	star := mustTable(t, []string{"*"}, nil, Options{})
	exact := []byte("https://www.example.org")
	wild := []byte("https://en.m.wikipedia.org")
	miss := []byte("https://evil.example")
	method, reqHeaders := []byte("POST"), []byte("Content-Type, X-Request-Id")
	var h fasthttp.ResponseHeader
	f := func(name string, fn func()) {
		t.Helper()
		fn() // warm h
		if n := testing.AllocsPerRun(1000, fn); n != 0 {
			t.Fatalf("%s: %.2f allocations per call, want 0", name, n)
		}
	}
	f("Match", func() {
		if !tb.Allowed(exact) || !tb.Allowed(wild) || tb.Allowed(miss) {
			t.Fatal("wrong match")
		}
	})
	f("AllowedFor", func() {
		if !tb.AllowedFor(wild, 1) || tb.AllowedFor([]byte("https://app.example.net"), 0) {
			t.Fatal("wrong match")
		}
	})
	f("Apply", func() {
		h.Reset()
		tb.Apply(wild, &h, true)
		star.Apply(exact, &h, false)
	})
	f("Apply with Vary merge", func() {
		h.Reset()
		h.SetCanonical(hVary, []byte("Accept-Encoding"))
		tb.Apply(exact, &h, false)
	})
	f("Preflight", func() {
		h.Reset()
		if !tb.Preflight(exact, method, reqHeaders, &h) {
			t.Fatal("refused")
		}
		tb.Preflight(miss, method, reqHeaders, &h)
	})
}
