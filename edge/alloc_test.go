//go:build !race

package edge_test

import (
	"runtime"
	"testing"

	"intake.dev/intake/edge/ratelimit"
	"intake.dev/intake/internal/edgetest"
)

// The whole request for valid events, hasty and sync: routing, body checks, parse, the contract,
// enrichment, serialization, enqueue, (for sync) the acknowledgement and the 201.
func TestValidRequestsDoNotAllocate(t *testing.T) {
	t.Run("validation stubbed", func(t *testing.T) { testValidRequestsDoNotAllocate(t, discardEdge(t, false, nil)) })
	t.Run("compiled validator", func(t *testing.T) { testValidRequestsDoNotAllocate(t, discardEdge(t, true, nil)) })
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
