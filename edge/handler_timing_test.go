package edge_test

import (
	"testing"

	"github.com/valyala/fasthttp"

	"intake.dev/intake/edge"
	"intake.dev/intake/internal/edgetest"
)

// discardEdge is an edge over the examples' config that serves no listener (tests call its
// handler) and whose producer completes every record at once without Kafka; its schemas validate
// with the compiled validator, or with the compiled no-op when validate is false: what is left is
// intake's own work on the valid path. access, when not nil, turns the access layer on.
func discardEdge(tb testing.TB, validate bool, access *edge.AccessConfig) *edgetest.Edge {
	return edgetest.Start(tb, edgetest.Options{Discard: true, NoValidation: !validate, Access: access, Listener: edgetest.NoListener})
}

// newEventsCtx is an in-process POST of body to uri, for the handler without a listener.
func newEventsCtx(uri string, body []byte, headers ...string) *fasthttp.RequestCtx {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("POST")
	ctx.Request.SetRequestURI(uri)
	ctx.Request.Header.SetContentType("application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		ctx.Request.Header.Set(headers[i], headers[i+1])
	}
	ctx.Request.SetBody(body)
	return &ctx
}

// BenchmarkHandlerDiscard is the whole handler for a 3-event body with validation and Kafka
// stubbed out (compiled no-op, discarding producer): the edge's own cost per request.
func BenchmarkHandlerDiscard(b *testing.B) {
	b.Run("novalidation", func(b *testing.B) { benchmarkHandler(b, discardEdge(b, false, nil).Server) })
	b.Run("compiled", func(b *testing.B) { benchmarkHandler(b, discardEdge(b, true, nil).Server) })
}

func benchmarkHandler(b *testing.B, s *edge.Server) {
	h := s.Handler()
	body := []byte("[" + click("example.click") + "," + click("example.click.mobile") + "," + click("example.click") + "]")
	for _, uri := range []string{"/v1/events?hasty=true", "/v1/events"} {
		b.Run(uri, func(b *testing.B) {
			ctx := newEventsCtx(uri, body)
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				ctx.Response.Reset()
				h(ctx)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*3), "ns/event")
		})
	}
}
