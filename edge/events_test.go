package edge_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"intake.dev/intake/edge"
	"intake.dev/intake/internal/edgetest"
	"intake.dev/intake/kafkaout"
)

func click(stream string, extra ...string) string {
	fields := `"$schema":"/example/click/1.0.0","dt":"2026-11-23T12:00:00.000Z","meta":{"stream":"` + stream +
		`"},"page":{"id":42,"title":"Main Page"},"button":"save"`
	for _, e := range extra {
		fields += "," + e
	}
	return "{" + fields + "}"
}

func TestSingleEventIsEnrichedKeyedAndProduced(t *testing.T) {
	h := edgetest.Start(t, edgetest.Options{})
	r := h.Post("/v1/events", []byte(click("example.click")), "X-Request-Id", "req-123", "User-Agent", "intake-test/1")
	if r.Code != 201 || len(r.Body) != 0 {
		t.Fatalf("got %d %s, want 201 and no body", r.Code, r.Body)
	}
	recs := h.Consume("dev.example.click", 1)
	if len(recs) != 1 {
		t.Fatalf("got %d records, want 1", len(recs))
	}
	rec := recs[0]
	if got, want := string(rec.Key), `{"page_id":42}`; got != want {
		t.Fatalf("key: got %s, want %s", got, want)
	}
	ev := edgetest.MustJSON(t, rec.Value)
	if dt, _ := edgetest.Field(ev, "meta.dt").(string); !edgetest.RFC3339Millis.MatchString(dt) {
		t.Fatalf("meta.dt %q is not RFC 3339 UTC with milliseconds", dt)
	}
	if id, _ := edgetest.Field(ev, "meta.id").(string); !edgetest.UUIDv4.MatchString(id) {
		t.Fatalf("meta.id %q is not a UUID", id)
	}
	f := func(path string, want any) {
		t.Helper()
		if got := fmt.Sprint(edgetest.Field(ev, path)); got != fmt.Sprint(want) {
			t.Fatalf("%s: got %v, want %v in %s", path, got, want, rec.Value)
		}
	}
	f("meta.request_id", "req-123")
	f("http.request_headers.user-agent", "intake-test/1")
	f("count", 1) // the schema's default
	f("dt", "2026-11-23T12:00:00.000Z")
	f("page.title", "Main Page")
}

func TestBatchMixedInvalidAndHasty(t *testing.T) {
	h := edgetest.Start(t, edgetest.Options{})

	// A batch of valid events: 201, each produced (a regex stream included).
	r := h.Post("/v1/events", []byte("["+click("example.click")+","+click("example.click.mobile")+"]"))
	if r.Code != 201 {
		t.Fatalf("batch: got %d %s", r.Code, r.Body)
	}
	h.Consume("dev.example.click.mobile", 1)

	// One valid, one invalid: 207, the invalid one reported in EventGate's shape.
	r = h.Post("/v1/events", []byte("["+click("example.click", `"count":0`)+","+click("example.click")+"]"))
	if r.Code != 207 {
		t.Fatalf("mixed: got %d %s", r.Code, r.Body)
	}
	m := r.JSON(t)
	inv := m["invalid"].([]any)
	if len(inv) != 1 || len(m["error"].([]any)) != 0 {
		t.Fatalf("mixed: want one invalid and no error entries: %s", r.Body)
	}
	entry := inv[0].(map[string]any)
	if entry["status"] != "invalid" || edgetest.Field(entry, "event.count") == nil {
		t.Fatalf("invalid entry lacks status or event: %s", r.Body)
	}
	if got := edgetest.Field(entry, "context.errorsText"); got != "'.count' should be >= 1" {
		t.Fatalf("errorsText: got %q", got)
	}
	e0 := edgetest.Field(entry, "context.errors").([]any)[0].(map[string]any)
	for k, want := range map[string]string{"keyword": "minimum", "instancePath": "/count", "dataPath": ".count", "schemaPath": "#/properties/count/minimum"} {
		if e0[k] != want {
			t.Fatalf("error %s: got %v, want %v (%s)", k, e0[k], want, r.Body)
		}
	}

	// All invalid: 400 with only the invalid list.
	r = h.Post("/v1/events", []byte("["+click("example.click", `"count":0`)+","+click("example.click", `"button":"nope"`)+"]"))
	if r.Code != 400 {
		t.Fatalf("all invalid: got %d %s", r.Code, r.Body)
	}
	if m := r.JSON(t); len(m["invalid"].([]any)) != 2 || m["error"] != nil {
		t.Fatalf("all invalid: %s", r.Body)
	}

	// Hasty: 202 at once, with no body, even for invalid events (as EventGate).
	r = h.Post("/v1/events?hasty=true", []byte("["+click("example.click", `"count":0`)+","+click("example.click")+"]"))
	if r.Code != 202 || len(r.Body) != 0 {
		t.Fatalf("hasty: got %d %q", r.Code, r.Body)
	}
	// 1 (single batch) + 1 (mixed) + 1 (hasty) valid events on example.click.
	if recs := h.Consume("dev.example.click", 3); len(recs) != 3 {
		t.Fatalf("got %d records on dev.example.click, want exactly 3", len(recs))
	}
}

func TestContractFailures(t *testing.T) {
	h := edgetest.Start(t, edgetest.Options{})
	f := func(name, event, wantText string) {
		t.Helper()
		r := h.Post("/v1/events", []byte(event))
		if r.Code != 400 {
			t.Fatalf("%s: got %d %s, want 400", name, r.Code, r.Body)
		}
		inv := r.JSON(t)["invalid"].([]any)
		text, _ := edgetest.Field(inv[0].(map[string]any), "context.errorsText").(string)
		if !strings.Contains(text, wantText) {
			t.Fatalf("%s: errorsText %q lacks %q", name, text, wantText)
		}
	}
	f("unknown stream", click("no.such.stream"), "'no.such.stream' is not in the stream configuration")
	f("no stream", `{"$schema":"/example/click/1.0.0","meta":{}}`, "'.meta.stream' should have a string meta.stream")
	f("missing $schema", `{"meta":{"stream":"example.click"}}`, "'.$schema' should have a string $schema")
	f("unknown schema", strings.Replace(click("example.click"), "/example/click/1.0.0", "/example/nope/1.0.0", 1), "/example/nope/1.0.0")
	f("schema outside the bases", strings.Replace(click("example.click"), "/example/click/1.0.0", "http://203.0.113.1/click/1.0.0", 1), "'.$schema' should name a schema")
	f("title mismatch", click("intake.error"), "should name a schema titled 'error'")
	f("missing dt", strings.Replace(click("example.click"), `"dt":"2026-11-23T12:00:00.000Z",`, "", 1), "should have required property 'dt'")
	f("wrong type", click("example.click", `"count":"two"`), "'.count' should be integer")
	f("not an object", `[1]`, "should be object")
	f("duplicate key", click("example.click", `"button":"cancel"`), "'' should not have the key 'button' twice")

	// A bad event never costs its valid sibling: the sibling is produced, the request is 207.
	r := h.Post("/v1/events", []byte("["+click("example.click", `"button":"cancel"`)+","+click("example.click.dup")+"]"))
	if r.Code != 207 {
		t.Fatalf("got %d %s, want 207", r.Code, r.Body)
	}
	h.Consume("dev.example.click.dup", 1)
}

func TestErrorEventsOnTheErrorStream(t *testing.T) {
	h := edgetest.Start(t, edgetest.Options{})
	r := h.Post("/v1/events", []byte(click("example.click", `"count":0`)), "X-Request-Id", "rid-err")
	if r.Code != 400 {
		t.Fatalf("got %d %s", r.Code, r.Body)
	}
	recs := h.Consume("dev.intake.error", 1)
	ev := edgetest.MustJSON(t, recs[0].Value)
	f := func(path, want string) {
		t.Helper()
		if got, _ := edgetest.Field(ev, path).(string); got != want {
			t.Fatalf("error event %s: got %q, want %q\n%s", path, got, want, recs[0].Value)
		}
	}
	f("$schema", "/error/2.1.0")
	f("meta.stream", "intake.error")
	f("meta.request_id", "rid-err")
	f("emitter_id", "intake")
	f("error_type", "ValidationError")
	f("errored_stream_name", "example.click")
	f("errored_schema_uri", "/example/click/1.0.0")
	f("message", "'.count' should be >= 1")
	raw := edgetest.MustJSON(t, []byte(edgetest.Field(ev, "raw_event").(string)))
	if edgetest.Field(raw, "page.title") != "Main Page" {
		t.Fatalf("raw_event is not the event: %s", edgetest.Field(ev, "raw_event"))
	}
	if dt, _ := edgetest.Field(ev, "dt").(string); !edgetest.RFC3339Millis.MatchString(dt) {
		t.Fatalf("error event dt %q", dt)
	}
}

func TestBadRequests(t *testing.T) {
	h := edgetest.Start(t, edgetest.Options{Edge: func(c *edge.Config) {
		c.MaxBodyBytes = 64 << 10
		c.MaxDecompressedBytes = 128 << 10
		c.MaxEvents = 50
		c.MaxDepth = 16
	}})
	f := func(name string, body []byte, wantCode int, wantMsg string, hdr ...string) {
		t.Helper()
		r := h.Post("/v1/events", body, hdr...)
		if r.Code != wantCode {
			t.Fatalf("%s: got %d %s, want %d", name, r.Code, r.Body, wantCode)
		}
		if msg, _ := r.JSON(t)["message"].(string); !strings.Contains(msg, wantMsg) {
			t.Fatalf("%s: message %q lacks %q", name, msg, wantMsg)
		}
	}
	f("empty body", nil, 400, "Request body was empty")
	f("empty array", []byte("[]"), 400, "Request body was empty")
	f("malformed JSON", []byte(`{"meta": {"stream": "x"`), 400, "at offset")
	f("trailing garbage", []byte(`{} x`), 400, "cannot parse")
	f("a string", []byte(`"hello"`), 400, "not a JSON string")
	f("invalid UTF-8", []byte("{\"a\":\"\xff\"}"), 400, "not valid UTF-8")
	f("number out of range", []byte(`{"n":1e400}`), 400, "out of range of a 64-bit float")
	f("deep nesting", []byte(strings.Repeat("[", 17)+strings.Repeat("]", 17)), 400, "deeper than 16")
	f("oversize body", bytes.Repeat([]byte(" "), 65<<10), 413, "larger than 65536 bytes")
	f("too many events", []byte("["+strings.TrimSuffix(strings.Repeat("{},", 51), ",")+"]"), 413, "more than 50")
	f("wrong content type", []byte(click("example.click")), 415, "Content-Type", "Content-Type", "application/xml")
	f("unknown encoding", []byte(click("example.click")), 415, "Content-Encoding", "Content-Encoding", "br")
	f("bad gzip", []byte("not gzip"), 400, "gzip", "Content-Encoding", "gzip")
	f("gzip bomb", gz(bytes.Repeat([]byte(" "), 1<<20)), 413, "decompressed request body is larger", "Content-Encoding", "gzip")

	// Beacons and reports are read as JSON too; a valid event beside bad ones still lands.
	for _, ct := range []string{"text/plain;charset=UTF-8", "application/reports+json"} {
		if r := h.Post("/v1/events", []byte(click("example.click")), "Content-Type", ct); r.Code != 201 {
			t.Fatalf("%s: got %d %s", ct, r.Code, r.Body)
		}
	}
	if r := h.Post("/v1/events", gz([]byte(click("example.click"))), "Content-Encoding", "gzip"); r.Code != 201 {
		t.Fatalf("gzip: got %d %s", r.Code, r.Body)
	}
	if r := h.Get("/v1/events"); r.Code != 405 {
		t.Fatalf("GET /v1/events: got %d", r.Code)
	}
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestServiceNameRefusesOtherStreams(t *testing.T) {
	h := edgetest.Start(t, edgetest.Options{ServiceName: "another-service"})
	r := h.Post("/v1/events", []byte(click("example.click")))
	if r.Code != 403 {
		t.Fatalf("got %d %s, want 403", r.Code, r.Body)
	}
	if text := fmt.Sprint(edgetest.Field(r.JSON(t)["invalid"].([]any)[0].(map[string]any), "context.errorsText")); !strings.Contains(text, "--service-name") {
		t.Fatalf("refusal does not say which setting decides: %s", text)
	}
}

func TestUnavailableKafkaAnswers503(t *testing.T) {
	// A broker address nothing listens on: records cannot be delivered.
	h := edgetest.Start(t, edgetest.Options{Brokers: []string{"127.0.0.1:1"}, Kafka: func(c *kafkaout.Config) {
		c.DeliveryTimeout = time.Second // franz-go's least
		c.RingSize = 16
	}, Edge: func(c *edge.Config) { c.AckTimeout = 3 * time.Second }})
	defer h.StopNow(2 * time.Second) // nothing can be flushed; don't wait for it

	start := time.Now()
	r := h.Post("/v1/events", []byte(click("example.click")))
	if r.Code != 503 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("sync to a dead broker: got %d %s, want 503 with Retry-After", r.Code, r.Body)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("the request hung for %s", d)
	}
	if m := r.JSON(t); len(m["error"].([]any)) != 1 {
		t.Fatalf("503 body should list the event: %s", r.Body)
	}

	// Hasty requests fill the bounded buffers, then get 503 too, never an unbounded queue.
	batch := "[" + strings.TrimSuffix(strings.Repeat(click("example.click")+",", 100), ",") + "]"
	got503 := false
	for i := 0; i < 2000 && !got503; i++ {
		r := h.Post("/v1/events?hasty=true", []byte(batch))
		switch r.Code {
		case 202:
		case 503:
			got503 = r.Header.Get("Retry-After") != ""
		default:
			t.Fatalf("hasty: got %d %s", r.Code, r.Body)
		}
	}
	if !got503 {
		t.Fatalf("200000 hasty events to a dead broker never met a full queue")
	}
}

// httpGet returns the status of a GET with a fresh connection, or the error.
func httpGet(url string) (int, error) {
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func TestShutdownLosesNothingAccepted(t *testing.T) {
	h := edgetest.Start(t, edgetest.Options{})
	const requests, perRequest = 40, 50
	batch := "[" + strings.TrimSuffix(strings.Repeat(click("example.click")+",", perRequest), ",") + "]"
	for i := 0; i < requests; i++ {
		if r := h.Post("/v1/events?hasty=true", []byte(batch)); r.Code != 202 {
			t.Fatalf("got %d %s", r.Code, r.Body)
		}
	}
	h.Stop() // Shutdown, then drain the rings and flush, as on SIGTERM
	if r, err := httpGet(h.URL + "/healthz"); err == nil {
		t.Fatalf("the edge still answers after shutdown: %d", r)
	}
	if recs := h.Consume("dev.example.click", requests*perRequest); len(recs) != requests*perRequest {
		t.Fatalf("got %d records, want %d", len(recs), requests*perRequest)
	}
}

func TestKeyedEventsLandOnKafkasPartition(t *testing.T) {
	h := edgetest.Start(t, edgetest.Options{})
	var events []string
	for id := 1; id <= 30; id++ {
		events = append(events, strings.Replace(click("example.click"), `"id":42`, fmt.Sprintf(`"id":%d`, id), 1))
	}
	if r := h.Post("/v1/events", []byte("["+strings.Join(events, ",")+"]")); r.Code != 201 {
		t.Fatalf("got %d %s", r.Code, r.Body)
	}
	p := kgo.StickyKeyPartitioner(nil).ForTopic("dev.example.click")
	for _, rec := range h.Consume("dev.example.click", 30) {
		want := p.Partition(rec, 3)
		if int(rec.Partition) != want {
			t.Fatalf("key %s on partition %d, murmur2 says %d", rec.Key, rec.Partition, want)
		}
	}
}

func TestMetricsAndInfoEndpoints(t *testing.T) {
	h := edgetest.Start(t, edgetest.Options{})
	metric := func(name string) float64 {
		t.Helper()
		r := h.Get("/metrics")
		for _, line := range strings.Split(string(r.Body), "\n") {
			if strings.HasPrefix(line, name+" ") {
				var v float64
				fmt.Sscan(strings.TrimPrefix(line, name+" "), &v)
				return v
			}
		}
		return 0
	}
	accepted := `intake_events_total{stream="example.click",outcome="accepted"}`
	invalid := `intake_events_total{stream="example.click",outcome="invalid"}`
	unknown := `intake_events_total{stream="unknown",outcome="invalid"}`
	created := `intake_http_requests_total{route="events",code="207"}`
	a0, i0, u0, c0 := metric(accepted), metric(invalid), metric(unknown), metric(created)
	r := h.Post("/v1/events", []byte("["+click("example.click")+","+click("example.click", `"count":0`)+","+click("nope")+"]"))
	if r.Code != 207 {
		t.Fatalf("got %d %s", r.Code, r.Body)
	}
	if d := metric(accepted) - a0; d != 1 {
		t.Fatalf("accepted grew by %v, want 1", d)
	}
	if d := metric(invalid) - i0; d != 1 {
		t.Fatalf("invalid grew by %v, want 1", d)
	}
	if d := metric(unknown) - u0; d != 1 {
		t.Fatalf("unknown grew by %v, want 1", d)
	}
	if d := metric(created) - c0; d != 1 {
		t.Fatalf("207 responses grew by %v, want 1", d)
	}
	if r := h.Get("/metrics"); strings.Contains(string(r.Body), `stream="nope"`) {
		t.Fatal("an unknown stream name from a client became a metric label")
	}
	if metric("intake_ready") != 1 {
		t.Fatal("intake_ready is not 1 on a ready edge")
	}
	if metric(`intake_http_request_duration_seconds_bucket{route="events",le="+Inf"}`) == 0 {
		t.Fatal("no le buckets of intake_http_request_duration_seconds for histogram_quantile")
	}

	f := func(path string, wantCode int, wantIn string) {
		t.Helper()
		r := h.Get(path)
		if r.Code != wantCode || !strings.Contains(string(r.Body), wantIn) {
			t.Fatalf("GET %s: got %d %s, want %d with %q", path, r.Code, r.Body, wantCode, wantIn)
		}
	}
	f("/healthz", 200, "ok")
	f("/readyz", 200, "ready")
	f("/v1/info", 200, `"name":"intake"`)
	f("/v1/streams", 200, `"example.click":{`)
	f("/v1/streams?streams=intake.error", 200, `{"streams":{"intake.error":{`)
	f("/v1/schemas/example/click/1.0.0", 200, `"title":"example/click"`)
	f("/v1/schemas/example/click/latest", 200, `"$id":"/example/click/1.0.0"`)
	f("/v1/schemas/example/nope/1.0.0", 404, "not found")
	f("/?spec", 200, `"openapi"`)
	f("/nope", 404, "no such endpoint")
}

// GET /?spec is valid JSON, and its /v1/events names every status the route answers (the codes
// intake_http_requests_total counts for it; 405 belongs to no operation) and no other, plus 408,
// which a request not read in time gets before any route is known.
func TestSpecNamesEveryAnswerOfEvents(t *testing.T) {
	h := edgetest.Start(t, edgetest.Options{})
	r := h.Get("/?spec")
	var spec struct {
		Paths map[string]map[string]struct {
			Responses map[string]any `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(r.Body, &spec); err != nil {
		t.Fatalf("the spec is not JSON: %v\n%s", err, r.Body)
	}
	got := map[string]bool{}
	for _, op := range spec.Paths["/v1/events"] {
		for code := range op.Responses {
			got[code] = true
		}
	}
	want := map[string]bool{"408": true}
	for _, c := range edge.EventsCodes {
		if c != 405 {
			want[strconv.Itoa(c)] = true
		}
	}
	for c := range want {
		if !got[c] {
			t.Errorf("the spec's /v1/events does not name %s, which the route answers", c)
		}
	}
	for c := range got {
		if !want[c] {
			t.Errorf("the spec's /v1/events names %s, which the route never answers", c)
		}
	}
}
