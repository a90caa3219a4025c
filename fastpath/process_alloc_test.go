//go:build !race

package fastpath

import (
	"bytes"
	"testing"
	"time"

	"github.com/valyala/fastjson"
)

// The valid path, parse to serialized bytes, must not allocate once warm (validation is the
// compiled no-op here; the compiled validator guards its own allocations).
func TestProcessValidEventDoesNotAllocate(t *testing.T) {
	l := newFakeLookup(t, AcceptAll)
	o := DefaultOptions()
	o.MaxEventBytes = 1 << 20
	body := []byte(`[{"$schema":"/test/event/1.0.0","meta":{"stream":"test.event"},"test":"x"},` +
		`{"$schema":"/test/event/1.0.0","meta":{"stream":"keyed"},"page":{"page_id":12},"wiki_id":"enwiki"},` +
		`{"$schema":"/test/event/1.0.0","meta":{"stream":"test.event","dt":"2020-07-01 12:30:45.5+02:00"}}]`)
	hdr := byteHeaders{"User-Agent": []byte("curl/8")}
	rid := []byte("rid-1")
	var p fastjson.Parser
	var r Result
	now := time.Now()
	n := testing.AllocsPerRun(1000, func() {
		req := AcquireRequest()
		req.Start(now, rid, hdr)
		v, err := p.ParseBytes(body)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range v.GetArray() {
			Process(l, &o, ev, req, &r)
			if r.Outcome != Accepted {
				t.Fatalf("not accepted: %s", r.Errors.Text())
			}
		}
		ReleaseRequest(req)
	})
	if n != 0 {
		t.Fatalf("valid path allocates %.2f times per request, want 0", n)
	}
}

// The same with the request's own values on: the stream and schema from the query (events lacking
// them, meta created), the client address into http.client_ip, and a User-Agent cut to 400 bytes.
func TestProcessRequestValuesDoNotAllocate(t *testing.T) {
	l := newFakeLookup(t, AcceptAll)
	o := DefaultOptions()
	body := []byte(`[{"test":"x"},{"meta":{},"test":"y"},{"$schema":"/test/event/1.0.0","meta":{"stream":"keyed"},"page":{"page_id":12},"wiki_id":"enwiki"}]`)
	hdr := byteHeaders{"User-Agent": bytes.Repeat([]byte("ua"), 8<<10)}
	stream, schema, ip := []byte("test.event"), []byte("/test/event/1.0.0"), []byte("2001:db8::1")
	var p fastjson.Parser
	var r Result
	now := time.Now()
	n := testing.AllocsPerRun(1000, func() {
		req := AcquireRequest()
		req.Start(now, nil, hdr)
		req.QueryStream, req.QuerySchemaURI, req.ClientIP = stream, schema, ip
		v, err := p.ParseBytes(body)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range v.GetArray() {
			Process(l, &o, ev, req, &r)
			if r.Outcome != Accepted {
				t.Fatalf("not accepted: %s", r.Errors.Text())
			}
		}
		ReleaseRequest(req)
	})
	if n != 0 {
		t.Fatalf("valid path with query values and a client address allocates %.2f times per request, want 0", n)
	}
}

type byteHeaders map[string][]byte

func (h byteHeaders) Peek(k string) []byte { return h[k] }
