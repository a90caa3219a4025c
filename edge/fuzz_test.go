package edge_test

import (
	"encoding/json"
	"testing"
)

// FuzzEvents throws arbitrary bodies at POST /v1/events: the edge must answer every one with a
// status from the contract and a JSON body, and never panic.
func FuzzEvents(f *testing.F) {
	f.Add([]byte(click("example.click")))
	f.Add([]byte("[" + click("example.click") + "," + click("nope") + "]"))
	f.Add([]byte(`{"$schema":"/example/click/1.0.0","meta":{"stream":"example.click"},"page":{"id":1e400}}`))
	f.Add([]byte(`[[[[[[[[[[{}]]]]]]]]]]`))
	f.Add([]byte("{\"a\":\"\\ud800\"}"))
	f.Add([]byte(`{"meta":{"stream":"example.click\u0000"},"$schema":"../../etc/passwd"}`))
	h := discardEdge(f, false, nil).Server.Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		ctx := newEventsCtx("/v1/events", body)
		h(ctx)
		switch code := ctx.Response.StatusCode(); code {
		case 201:
			if len(ctx.Response.Body()) != 0 {
				t.Fatalf("201 with a body: %s", ctx.Response.Body())
			}
		case 207, 400, 403, 413:
			if !json.Valid(ctx.Response.Body()) {
				t.Fatalf("%d with a body that is not JSON: %s", code, ctx.Response.Body())
			}
		default:
			t.Fatalf("unexpected status %d: %s", code, ctx.Response.Body())
		}
	})
}
