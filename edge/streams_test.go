package edge

import (
	"encoding/json"
	"net/http"
	"testing"
)

// GET /v1/streams: the client fields by default, everything and the topic with ?all=true,
// ?streams= filters, and an ETag that a client can poll with If-None-Match (304); the same for
// GET /v1/schemas.
func TestStreamsEndpoint(t *testing.T) {
	h := startEdge(t, setup{})
	decode := func(path string) (map[string]map[string]any, string) {
		t.Helper()
		r := h.get(path)
		if r.code != 200 {
			t.Fatalf("GET %s: %d %s", path, r.code, r.body)
		}
		var doc struct {
			Streams map[string]map[string]any `json:"streams"`
		}
		if err := json.Unmarshal(r.body, &doc); err != nil {
			t.Fatalf("GET %s: %s: %s", path, err, r.body)
		}
		if r.header.Get("Cache-Control") == "" || r.header.Get("ETag") == "" {
			t.Fatalf("GET %s: no Cache-Control or ETag", path)
		}
		return doc.Streams, r.header.Get("ETag")
	}
	all, etag := decode("/v1/streams")
	click := all["example.click"]
	if click["schema_title"] != "example/click" || click["sample"] == nil || click["message_key_fields"] == nil {
		t.Fatalf("example.click lacks client fields: %v", click)
	}
	if _, ok := click["producers"]; ok {
		t.Fatalf("the client view has producer settings: %v", click)
	}
	if _, ok := click["topic"]; ok {
		t.Fatalf("the client view has the topic: %v", click)
	}
	full, fullTag := decode("/v1/streams?all=true")
	if full["example.click"]["topic"] != "dev.example.click" || full["example.click"]["producers"] == nil {
		t.Fatalf("?all=true: %v", full["example.click"])
	}
	if fullTag == etag {
		t.Fatal("the full and client views share an ETag")
	}
	one, oneTag := decode("/v1/streams?streams=intake.error,nope")
	if len(one) != 1 || one["intake.error"] == nil || oneTag == etag {
		t.Fatalf("?streams=intake.error,nope: %v (etag %s)", one, oneTag)
	}
	cond := func(path, tag string, want int) {
		t.Helper()
		req, _ := http.NewRequest("GET", h.url+path, nil)
		req.Header.Set("If-None-Match", tag)
		if r := h.do(req); r.code != want {
			t.Fatalf("GET %s If-None-Match %s: %d, want %d", path, tag, r.code, want)
		}
	}
	cond("/v1/streams", etag, 304)
	cond("/v1/streams", `"stale"`, 200)
	cond("/v1/streams?all=true", etag, 200)
	r := h.get("/v1/schemas/example/click/1.0.0")
	if r.code != 200 || r.header.Get("ETag") == "" {
		t.Fatalf("schema: %d, ETag %q", r.code, r.header.Get("ETag"))
	}
	cond("/v1/schemas/example/click/1.0.0", r.header.Get("ETag"), 304)
}
