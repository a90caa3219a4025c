package edge_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"intake.dev/intake/edge"
	"intake.dev/intake/internal/edgetest"
)

// GET /v1/streams: the client fields by default, everything and the topic with ?all=true,
// ?streams= filters, and an ETag that a client can poll with If-None-Match (304); the same for
// GET /v1/schemas.
func TestStreamsEndpoint(t *testing.T) {
	h := edgetest.Start(t, edgetest.Options{})
	decode := func(path string) (map[string]map[string]any, string) {
		t.Helper()
		r := h.Get(path)
		if r.Code != 200 {
			t.Fatalf("GET %s: %d %s", path, r.Code, r.Body)
		}
		var doc struct {
			Streams map[string]map[string]any `json:"streams"`
		}
		if err := json.Unmarshal(r.Body, &doc); err != nil {
			t.Fatalf("GET %s: %s: %s", path, err, r.Body)
		}
		if r.Header.Get("Cache-Control") == "" || r.Header.Get("ETag") == "" {
			t.Fatalf("GET %s: no Cache-Control or ETag", path)
		}
		return doc.Streams, r.Header.Get("ETag")
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
		req, _ := http.NewRequest("GET", h.URL+path, nil)
		req.Header.Set("If-None-Match", tag)
		if r := h.Do(req); r.Code != want {
			t.Fatalf("GET %s If-None-Match %s: %d, want %d", path, tag, r.Code, want)
		}
	}
	cond("/v1/streams", etag, 304)
	cond("/v1/streams", `"stale"`, 200)
	cond("/v1/streams?all=true", etag, 200)
	r := h.Get("/v1/schemas/example/click/1.0.0")
	if r.Code != 200 || r.Header.Get("ETag") == "" {
		t.Fatalf("schema: %d, ETag %q", r.Code, r.Header.Get("ETag"))
	}
	cond("/v1/schemas/example/click/1.0.0", r.Header.Get("ETag"), 304)
}

// A page on any origin may read the stream configuration and the schemas, and revalidate them:
// the preflight of a GET with If-None-Match is answered, and the ETag is exposed to the page.
func TestPublicDocumentsCORS(t *testing.T) {
	for _, acc := range []*edge.AccessConfig{nil, {AllowedOrigins: []string{"https://app.example.org"}}} {
		h := edgetest.Start(t, edgetest.Options{Access: acc})
		for _, path := range []string{"/v1/streams?streams=example.click", "/v1/schemas/example/click/1.0.0"} {
			req, _ := http.NewRequest("OPTIONS", h.URL+path, nil)
			req.Header.Set("Origin", "https://elsewhere.example.com")
			req.Header.Set("Access-Control-Request-Method", "GET")
			req.Header.Set("Access-Control-Request-Headers", "if-none-match")
			r := h.Do(req)
			if r.Code != 204 || r.Header.Get("Access-Control-Allow-Origin") != "*" ||
				!strings.Contains(strings.ToLower(r.Header.Get("Access-Control-Allow-Headers")), "if-none-match") ||
				!strings.Contains(r.Header.Get("Access-Control-Allow-Methods"), "GET") {
				t.Fatalf("access %v: preflight of GET %s: %d %v", acc != nil, path, r.Code, r.Header)
			}
			req, _ = http.NewRequest("GET", h.URL+path, nil)
			req.Header.Set("Origin", "https://elsewhere.example.com")
			r = h.Do(req)
			if r.Code != 200 || r.Header.Get("Access-Control-Allow-Origin") != "*" ||
				r.Header.Get("Access-Control-Expose-Headers") != "ETag" || r.Header.Get("ETag") == "" {
				t.Fatalf("access %v: GET %s from another origin: %d %v", acc != nil, path, r.Code, r.Header)
			}
		}
		// Only those documents: the events endpoint keeps its own CORS rules, the rest none.
		req, _ := http.NewRequest("GET", h.URL+"/v1/info", nil)
		req.Header.Set("Origin", "https://elsewhere.example.com")
		if r := h.Do(req); r.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("GET /v1/info answered a page: %v", r.Header)
		}
		h.Stop()
	}
}
