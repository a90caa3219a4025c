package edge

import (
	"testing"

	"github.com/valyala/fasthttp"
)

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
	b.Run("novalidation", func(b *testing.B) { benchmarkHandler(b, newDiscardServer(b)) })
	b.Run("compiled", func(b *testing.B) { benchmarkHandler(b, newDiscardServerValidating(b, true)) })
}

func benchmarkHandler(b *testing.B, s *Server) {
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
