//go:build !race

package edge_test

import (
	"net"
	"runtime"
	"strings"
	"testing"

	"intake.dev/intake/edge"
	"intake.dev/intake/edge/ratelimit"
	"intake.dev/intake/internal/edgetest"
)

// The whole request for valid events, hasty and sync: routing, body checks, parse, the contract,
// enrichment, serialization, enqueue, (for sync) the acknowledgement and the 201.
func TestValidRequestsDoNotAllocate(t *testing.T) {
	t.Run("validation stubbed", func(t *testing.T) { testValidRequestsDoNotAllocate(t, discardEdge(t, false, nil)) })
	t.Run("compiled validator", func(t *testing.T) { testValidRequestsDoNotAllocate(t, discardEdge(t, true, nil)) })
	// --spool-dir with Kafka up and the spool empty: fire-and-forget events take the ring as
	// without a spool, one atomic load later.
	t.Run("spool configured", func(t *testing.T) {
		testValidRequestsDoNotAllocate(t, edgetest.Start(t, edgetest.Options{Discard: true, Listener: edgetest.NoListener, SpoolDir: t.TempDir()}))
	})
}

func testValidRequestsDoNotAllocate(t *testing.T, e *edgetest.Edge) {
	h := e.Server.Handler()
	body := []byte("[" + click("example.click") + "," + click("example.click.mobile") + "," + click("example.click") + "]")
	f := func(uri string, wantCode int) {
		t.Helper()
		ctx := newEventsCtx(uri, body, "X-Request-Id", "rid", "User-Agent", "test")
		run := func() {
			ctx.Response.Reset()
			h(ctx)
			if ctx.Response.StatusCode() != wantCode {
				t.Fatalf("%s: got %d %s", uri, ctx.Response.StatusCode(), ctx.Response.Body())
			}
			// Hasty records drain in the background; let them, so that each run meets the
			// records of the last one back in the free list, as in a server's steady state.
			for e.Producer.Queued() > 0 {
				runtime.Gosched()
			}
		}
		for range 10 {
			run() // warm up pools, regex stream cache, schema aliases
		}
		if n := testing.AllocsPerRun(500, run); n != 0 {
			t.Fatalf("%s: %.2f allocations per request, want 0", uri, n)
		}
	}
	f("/v1/events?hasty=true", 202)
	f("/v1/events", 201)
}

// Browser reports on the production config: the stream and schema from the query, http.client_ip
// from a trusted proxy's X-Client-IP or X-Forwarded-For (found once per request), the configured
// headers filled, a long User-Agent cut.
func TestValidReportsDoNotAllocate(t *testing.T) {
	opts := edgetest.RealData()
	opts.Discard, opts.Listener = true, edgetest.NoListener
	opts.Edge = func(c *edge.Config) {
		c.StreamQueryParam, c.SchemaURIQueryParam = "stream", "schema_uri"
		c.TrustedProxies = []string{"10.0.0.0/8"}
	}
	e := edgetest.Start(t, opts)
	h := e.Server.Handler()
	report := `{"type":"network-error","age":0,"url":"https://www.example.com/","body":{"type":"tcp.refused","elapsed_time":108,"method":"GET","phase":"connection","protocol":"http/1.1","referrer":"","sampling_fraction":1,"server_ip":"","status_code":0}}`
	body := []byte("[" + report + "," + report + "]")
	uri := "/v1/events?stream=w3c.reportingapi.network_error&schema_uri=/w3c/reportingapi/network_error/1.0.0"
	proxy := &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 40000}
	f := func(name string, wantIP string, headers ...string) {
		t.Helper()
		ctx := newEventsCtx(uri, body, append([]string{"Content-Type", "application/reports+json",
			"User-Agent", strings.Repeat("Mozilla/5.0 ", 100), "X-GeoIP-Country", "NZ"}, headers...)...)
		ctx.SetRemoteAddr(proxy)
		run := func() {
			ctx.Response.Reset()
			h(ctx)
			if ctx.Response.StatusCode() != 201 {
				t.Fatalf("%s: got %d %s", name, ctx.Response.StatusCode(), ctx.Response.Body())
			}
		}
		for range 10 {
			run()
		}
		if n := testing.AllocsPerRun(500, run); n != 0 {
			t.Fatalf("%s: %.2f allocations per request, want 0", name, n)
		}
		// The guard must have run with the values on: a dry run shows what was produced.
		dry := newEventsCtx(uri+"&dry_run=true", body, append([]string{"Content-Type", "application/reports+json"}, headers...)...)
		dry.SetRemoteAddr(proxy)
		h(dry)
		if !strings.Contains(string(dry.Response.Body()), `"client_ip":"`+wantIP+`"`) {
			t.Fatalf("%s: no http.client_ip %s in %s", name, wantIP, dry.Response.Body())
		}
	}
	f("X-Client-IP", "198.51.100.8", "X-Client-IP", "198.51.100.8")
	f("X-Forwarded-For", "203.0.113.9", "X-Forwarded-For", "203.0.113.9, 10.0.0.7")
	f("the proxy itself", "10.1.2.3")
}

// The same with the access layer on: an API key authenticated, each event authorized against its
// stream's policy (default_auth required), an allowed browser origin checked per event, CORS
// headers on the answer, and rate limits per address, per caller and per stream.
func TestValidAuthorizedRequestsDoNotAllocate(t *testing.T) {
	fx := newAccessFixture(t)
	fx.cfg.RateLimits = ratelimit.Config{
		IP:        ratelimit.Scope{Rate: 1e6, Burst: 1e6},
		Principal: ratelimit.Scope{Rate: 1e6, Burst: 1e6},
		Stream:    ratelimit.Scope{Rate: 1e6, Burst: 1e6},
	}
	e := discardEdge(t, true, &fx.cfg)
	h := e.Server.Handler()
	body := []byte("[" + click("example.click") + "," + click("example.click") + "]")
	for _, uri := range []string{"/v1/events", "/v1/events?hasty=true"} {
		ctx := newEventsCtx(uri, body, "X-API-Key", keyA, "Origin", "https://www.example.org")
		want := 201
		if uri != "/v1/events" {
			want = 202
		}
		run := func() {
			ctx.Response.Reset()
			h(ctx)
			if ctx.Response.StatusCode() != want || len(ctx.Response.Header.Peek("Access-Control-Allow-Origin")) == 0 {
				t.Fatalf("%s: got %d %s", uri, ctx.Response.StatusCode(), ctx.Response.Body())
			}
			for e.Producer.Queued() > 0 {
				runtime.Gosched()
			}
		}
		for range 10 {
			run()
		}
		if n := testing.AllocsPerRun(500, run); n != 0 {
			t.Fatalf("%s with an API key: %.2f allocations per request, want 0", uri, n)
		}
	}
}
