//go:build !race

package fastpath

import (
	"bytes"
	"testing"
	"time"

	"github.com/valyala/fastjson"
)

// allocsPerRequest is the allocations of processing body's events as one request (all must be
// accepted), with set filling the request's own values after Start.
func allocsPerRequest(t *testing.T, o *Options, body []byte, rid []byte, hdr HeaderSource, set func(*Request)) float64 {
	t.Helper()
	l := newFakeLookup(t, AcceptAll)
	var p fastjson.Parser
	var r Result
	now := time.Now()
	spans, problem := CheckJSONSpans(body, JSONLimits{}, nil)
	if problem != "" {
		t.Fatal(problem)
	}
	return testing.AllocsPerRun(1000, func() {
		req := AcquireRequest()
		req.Start(now, rid, hdr)
		if set != nil {
			set(req)
		}
		v, err := p.ParseBytes(body)
		if err != nil {
			t.Fatal(err)
		}
		for i, ev := range v.GetArray() {
			req.Raw = spans[i].Bytes(body) // the value spliced, as the edge does
			if req.Raw == nil {
				t.Fatalf("event %d has no compact bytes", i)
			}
			Process(l, o, ev, req, &r)
			if r.Outcome != Accepted {
				t.Fatalf("not accepted: %s", r.Errors.Text())
			}
		}
		ReleaseRequest(req)
	})
}

// The valid path, parse to serialized bytes, must not allocate once warm (validation is the
// compiled no-op here; the compiled validator guards its own allocations).
func TestProcessValidEventDoesNotAllocate(t *testing.T) {
	o := DefaultOptions()
	o.MaxEventBytes = 1 << 20
	body := []byte(`[{"$schema":"/test/event/1.0.0","meta":{"stream":"test.event"},"test":"x"},` +
		`{"$schema":"/test/event/1.0.0","meta":{"stream":"keyed"},"page":{"page_id":12},"wiki_id":"enwiki"},` +
		`{"$schema":"/test/event/1.0.0","meta":{"stream":"test.event","dt":"2020-07-01 12:30:45.5+02:00"}}]`)
	hdr := byteHeaders{"User-Agent": []byte("curl/8")}
	if n := allocsPerRequest(t, &o, body, []byte("rid-1"), hdr, nil); n != 0 {
		t.Fatalf("valid path allocates %.2f times per request, want 0", n)
	}
}

// The same with the request's own values on: the stream and schema from the query (events lacking
// them, meta created), the client address into http.client_ip, and a User-Agent cut to 400 bytes.
func TestProcessRequestValuesDoNotAllocate(t *testing.T) {
	o := DefaultOptions()
	body := []byte(`[{"test":"x"},{"meta":{},"test":"y"},{"$schema":"/test/event/1.0.0","meta":{"stream":"keyed"},"page":{"page_id":12},"wiki_id":"enwiki"}]`)
	hdr := byteHeaders{"User-Agent": bytes.Repeat([]byte("ua"), 8<<10)}
	stream, schema, ip := []byte("test.event"), []byte("/test/event/1.0.0"), []byte("2001:db8::1")
	set := func(req *Request) { req.QueryStream, req.QuerySchemaURI, req.ClientIP = stream, schema, ip }
	if n := allocsPerRequest(t, &o, body, nil, hdr, set); n != 0 {
		t.Fatalf("valid path with query values and a client address allocates %.2f times per request, want 0", n)
	}
}

type byteHeaders map[string][]byte

func (h byteHeaders) Peek(k string) []byte { return h[k] }

// Quality rules on the hot path: holding, and violated with count and flag (a flag's alarm is the
// edge's, a slow path), allocate nothing once warm.
func TestProcessRulesDoNotAllocate(t *testing.T) {
	l := newFakeLookup(t, AcceptAll)
	st := *l.streams["test.event"]
	st.Name = "ruled"
	st.Rules = mustRules(t, "ruled", `[
	  {"name": "holds", "if": {"test": "x"}, "then": {"nested.inner": {"greater_than": 6}}},
	  {"name": "counted", "if": {"test": {"in": ["x", "y"]}}, "then": {"nested.inner": {"greater_than": 7}}},
	  {"name": "flagged", "action": "flag", "then": {"wiki_id": {"exists": true}}},
	  {"name": "groups", "then": {"any": [{"page.page_id": {"less_than": 0}}, {"test": {"contains": "z"}}]}}]`)
	l.streams["ruled"] = &st
	o := DefaultOptions()
	body := []byte(`[{"$schema":"/test/event/1.0.0","meta":{"stream":"ruled"},"test":"x"},{"$schema":"/test/event/1.0.0","meta":{"stream":"ruled"},"test":"y","page":{"page_id":3}}]`)
	var p fastjson.Parser
	var r Result
	now := time.Now()
	n := testing.AllocsPerRun(1000, func() {
		req := AcquireRequest()
		req.Start(now, nil, nil)
		v, err := p.ParseBytes(body)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range v.GetArray() {
			Process(l, &o, ev, req, &r)
			if r.Outcome != Accepted || len(r.Flagged) != 1 {
				t.Fatalf("want accepted and flagged once: %v %v %s", r.Outcome, r.Flagged, r.Errors.Text())
			}
		}
		ReleaseRequest(req)
	})
	if n != 0 {
		t.Fatalf("the valid path with quality rules allocates %.2f times per request, want 0", n)
	}
}
