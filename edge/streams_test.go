package edge_test

import (
	"encoding/json"
	"net/http"
	"os"
	"reflect"
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
	// ?streams= with a name that only a /regex/ stream matches answered nothing, so a client asking
	// for its stream by name found it missing, and sampling sends nothing for a missing stream.
	byRegex, _ := decode("/v1/streams?streams=example.click.checkout")
	if len(byRegex) != 1 || byRegex["example.click.checkout"]["schema_title"] != "example/click" {
		t.Fatalf("?streams=example.click.checkout: %v", byRegex)
	}
	byRegexAll, _ := decode("/v1/streams?all=true&streams=example.click.checkout,example.click")
	if len(byRegexAll) != 2 || byRegexAll["example.click.checkout"]["topic"] != "dev.example.click.checkout" ||
		byRegexAll["example.click"]["topic"] != "dev.example.click" {
		t.Fatalf("?all=true&streams=example.click.checkout,example.click: %v", byRegexAll)
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
		for _, path := range []string{"/v1/streams?streams=example.click", "/v1/schemas/example/click/1.0.0", "/v1/schemas", "/v1/schemas/example/click"} {
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

// GET /v1/stream-configs/{streams} answers as eventgate-wikimedia's route does, on the production
// stream config: one object keyed by stream name, each config as loaded; names separated by "," or
// "|"; a name a /regex/ stream matches under the name asked for; unknown names left out; every
// stream without names. Like the other public documents it has an ETag, Cache-Control and CORS.
func TestStreamConfigsEndpoint(t *testing.T) {
	h := edgetest.Start(t, edgetest.RealData())
	b, err := os.ReadFile(edgetest.SharedData("streamconfig.json"))
	if err != nil {
		t.Fatal(err)
	}
	var prod struct {
		Streams map[string]json.RawMessage `json:"streams"`
	}
	if err := json.Unmarshal(b, &prod); err != nil {
		t.Fatal(err)
	}
	same := func(a, b []byte) bool {
		var x, y any
		return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
	}
	get := func(path string, wantNames ...string) (map[string]json.RawMessage, edgetest.Response) {
		t.Helper()
		r := h.Get(path)
		if r.Code != 200 || r.Header.Get("ETag") == "" || r.Header.Get("Cache-Control") == "" ||
			r.Header.Get("Access-Control-Allow-Origin") != "*" || r.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("GET %s: %d %v %.200s", path, r.Code, r.Header, r.Body)
		}
		var got map[string]json.RawMessage
		if err := json.Unmarshal(r.Body, &got); err != nil {
			t.Fatalf("GET %s: %s: %.200s", path, err, r.Body)
		}
		if wantNames != nil && len(got) != len(wantNames) {
			t.Fatalf("GET %s: %d streams, want %v", path, len(got), wantNames)
		}
		for _, n := range wantNames {
			if got[n] == nil {
				t.Fatalf("GET %s: no %s in %.200s", path, n, r.Body)
			}
		}
		return got, r
	}

	two, r := get("/v1/stream-configs/w3c.reportingapi.network_error|mediawiki.page-create,no.such.stream,w3c.reportingapi.network_error",
		"w3c.reportingapi.network_error", "mediawiki.page-create")
	for n, cfg := range two {
		if !same(cfg, prod.Streams[n]) {
			t.Errorf("%s: %s, want the config as loaded: %s", n, cfg, prod.Streams[n])
		}
	}
	if !strings.HasPrefix(string(r.Body), `{"w3c.reportingapi.network_error":`) {
		t.Errorf("not in the order asked: %.80s", r.Body)
	}
	regex, _ := get("/v1/stream-configs/mediawiki.job.refreshLinks", "mediawiki.job.refreshLinks")
	if !same(regex["mediawiki.job.refreshLinks"], prod.Streams[`/^mediawiki\.job\..+/`]) {
		t.Errorf("a /regex/ match: %s", regex["mediawiki.job.refreshLinks"])
	}
	get("/v1/stream-configs/no.such.stream")
	all, allResp := get("/v1/stream-configs")
	if len(all) != len(prod.Streams) {
		t.Fatalf("all: %d streams, want %d", len(all), len(prod.Streams))
	}
	for n, cfg := range prod.Streams {
		if !same(all[n], cfg) {
			t.Fatalf("all: %s is %s, want %s", n, all[n], cfg)
		}
	}
	if _, slash := get("/v1/stream-configs/"); allResp.Header.Get("ETag") != slash.Header.Get("ETag") {
		t.Errorf("/v1/stream-configs/ and /v1/stream-configs differ")
	}

	cond := func(path, tag string, want int) {
		t.Helper()
		req, _ := http.NewRequest("GET", h.URL+path, nil)
		req.Header.Set("If-None-Match", tag)
		if r := h.Do(req); r.Code != want {
			t.Fatalf("GET %s If-None-Match %s: %d, want %d", path, tag, r.Code, want)
		}
	}
	cond("/v1/stream-configs", allResp.Header.Get("ETag"), 304)
	cond("/v1/stream-configs/mediawiki.page-create", allResp.Header.Get("ETag"), 200)
	req, _ := http.NewRequest("OPTIONS", h.URL+"/v1/stream-configs/mediawiki.page-create", nil)
	req.Header.Set("Origin", "https://elsewhere.example.com")
	req.Header.Set("Access-Control-Request-Method", "GET")
	if r := h.Do(req); r.Code != 204 || r.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("preflight: %d %v", r.Code, r.Header)
	}
}

// A path that is no route answers 404 whatever the method (it answered 405 to anything but GET
// and HEAD, so a POST to a mistyped URL read as a wrong method); a route asked with another
// method answers 405 with Allow.
func TestUnknownPathsAre404(t *testing.T) {
	h := edgetest.Start(t, edgetest.RealData())
	f := func(method, path string, want int, allow string) {
		t.Helper()
		req, _ := http.NewRequest(method, h.URL+path, strings.NewReader("{}"))
		r := h.Do(req)
		if r.Code != want || r.Header.Get("Allow") != allow {
			t.Fatalf("%s %s: %d (Allow %q) %s, want %d (Allow %q)", method, path, r.Code, r.Header.Get("Allow"), r.Body, want, allow)
		}
	}
	f("POST", "/v1/event", 404, "")
	f("POST", "/v2/events", 404, "")
	f("PUT", "/nope", 404, "")
	f("POST", "/", 404, "")
	f("GET", "/", 404, "")
	f("POST", "/v1/stream-configs/a/b", 404, "")
	f("POST", "/v1/streams", 405, "GET, HEAD")
	f("DELETE", "/v1/stream-configs/mediawiki.page-create", 405, "GET, HEAD")
	f("POST", "/v1/schemas/w3c/reportingapi/network_error/1.0.0", 405, "GET, HEAD")
	f("POST", "/v1/schemas", 405, "GET, HEAD")
	f("PUT", "/v1/schemas/w3c/reportingapi/network_error", 405, "GET, HEAD")
	f("POST", "/?spec", 405, "GET, HEAD")
	f("GET", "/v1/events", 405, "POST")
}
