//go:build !race

package edge

import (
	"runtime"
	"testing"
)

// The whole request for valid events, hasty and sync: routing, body checks, parse, the contract,
// enrichment, serialization, enqueue, (for sync) the acknowledgement and the 201.
func TestValidRequestsDoNotAllocate(t *testing.T) {
	t.Run("validation stubbed", func(t *testing.T) { testValidRequestsDoNotAllocate(t, newDiscardServer(t)) })
	t.Run("compiled validator", func(t *testing.T) { testValidRequestsDoNotAllocate(t, newDiscardServerValidating(t, true)) })
}

func testValidRequestsDoNotAllocate(t *testing.T, s *Server) {
	h := s.Handler()
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
			for s.prod.Queued() > 0 {
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
