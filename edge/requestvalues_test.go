package edge_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"intake.dev/intake/edge"
	"intake.dev/intake/internal/edgetest"
)

// What producers on Wikimedia's production configuration rely on the edge to fill from the request
// itself: http.client_ip, the configured headers (cut to 400 bytes), and, for browsers' reports,
// the stream and schema from the query. Each is read back from Kafka.

const (
	nelStream = "w3c.reportingapi.network_error"
	nelSchema = "/w3c/reportingapi/network_error/1.0.0"
	nelTopic  = "eqiad." + nelStream
)

// nelReports are the real example reports of the network_error schema, as the schema repository
// has them ($schema and meta included).
func nelReports(t *testing.T) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(edgetest.SharedData("examples", "w3c.reportingapi.network_error", "1.0.0.json"))
	if err != nil {
		t.Fatal(err)
	}
	var reports []map[string]any
	if err := json.Unmarshal(b, &reports); err != nil {
		t.Fatal(err)
	}
	if len(reports) < 4 {
		t.Fatalf("%d example reports, want 4", len(reports))
	}
	return reports
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// consumeByURL reads n records of topic and returns them by their event's url.
func consumeByURL(t *testing.T, h *edgetest.Edge, topic string, n int) map[string]map[string]any {
	t.Helper()
	got := map[string]map[string]any{}
	for _, rec := range h.Consume(topic, n) {
		ev := edgetest.MustJSON(t, rec.Value)
		got[edgetest.Field(ev, "url").(string)] = ev
	}
	if len(got) != n {
		t.Fatalf("%s: %d events by url, want %d", topic, len(got), n)
	}
	return got
}

// http.client_ip comes from X-Client-IP, else the leftmost untrusted X-Forwarded-For hop, else the
// connection's address: the headers only from a trusted proxy (here the test's loopback client),
// and the connection's address alone from anyone else.
func TestClientIPFromEachSource(t *testing.T) {
	for _, trusted := range []bool{true, false} {
		opts := edgetest.RealData()
		if trusted {
			opts.Edge = func(c *edge.Config) { c.TrustedProxies = []string{"127.0.0.0/8", "10.0.0.0/8"} }
		}
		h := edgetest.Start(t, opts)
		cases := []struct {
			hdr       []string
			own       string // the event's own http.client_ip
			want      string // trusted
			untrusted string // not trusted
		}{
			{hdr: []string{"X-Client-IP", "198.51.100.8"}, want: "198.51.100.8"},
			{hdr: []string{"X-Forwarded-For", "203.0.113.9, 198.51.100.7, 10.2.3.4"}, want: "203.0.113.9"},
			{hdr: []string{"X-Forwarded-For", "10.9.9.9, 2001:db8::7"}, want: "2001:db8::7"},
			{hdr: []string{"X-Client-IP", "198.51.100.8", "X-Forwarded-For", "203.0.113.9"}, want: "198.51.100.8"},
			{hdr: []string{"X-Client-IP", "not an address", "X-Forwarded-For", "203.0.113.9"}, want: "203.0.113.9"},
			{want: "127.0.0.1"},
			{hdr: []string{"X-Client-IP", "198.51.100.8"}, own: "192.0.2.77", want: "192.0.2.77", untrusted: "192.0.2.77"},
		}
		report := nelReports(t)[0]
		for i, c := range cases {
			ev := map[string]any{}
			for k, v := range report {
				ev[k] = v
			}
			ev["url"] = "https://case.example/" + string(rune('a'+i))
			if c.own != "" {
				ev["http"] = map[string]any{"client_ip": c.own}
			}
			if r := h.Post("/v1/events", mustMarshal(t, ev), c.hdr...); r.Code != 201 {
				t.Fatalf("trusted %v, case %d: %d %s", trusted, i, r.Code, r.Body)
			}
		}
		got := consumeByURL(t, h, nelTopic, len(cases))
		for i, c := range cases {
			want := c.want
			if !trusted {
				want = "127.0.0.1"
				if c.untrusted != "" {
					want = c.untrusted
				}
			}
			ev := got["https://case.example/"+string(rune('a'+i))]
			if ip := edgetest.Field(ev, "http.client_ip"); ip != want {
				t.Errorf("trusted %v, headers %q: http.client_ip %v, want %s", trusted, c.hdr, ip, want)
			}
		}
		h.Stop()
	}
}

// Browsers POST Reporting API reports (application/reports+json) with neither $schema nor meta:
// on the production config, with the query naming stream and schema as Wikimedia's edge is
// configured, the real example reports arrive in Kafka whole, with meta.dt, meta.id,
// meta.request_id, http.client_ip and the stream's configured headers filled.
func TestBrowserReportsThroughTheQuery(t *testing.T) {
	opts := edgetest.RealData()
	opts.Edge = func(c *edge.Config) {
		c.StreamQueryParam, c.SchemaURIQueryParam = "stream", "schema_uri"
		c.TrustedProxies = []string{"127.0.0.1"}
	}
	h := edgetest.Start(t, opts)
	reports := nelReports(t)
	for _, r := range reports {
		delete(r, "$schema")
		delete(r, "meta")
	}
	path := "/v1/events?stream=" + nelStream + "&schema_uri=" + nelSchema
	hdr := []string{"Content-Type", "application/reports+json", "User-Agent", "Mozilla/5.0 (test)",
		"X-Request-Id", "7c0e3f4e-0000-4000-8000-000000000001", "X-Client-IP", "198.51.100.8",
		"X-GeoIP-Country", "NZ", "X-Is-Browser", "1"}
	if r := h.Post(path, mustMarshal(t, reports), hdr...); r.Code != 201 {
		t.Fatalf("reports: %d %s", r.Code, r.Body)
	}
	got := consumeByURL(t, h, nelTopic, len(reports))
	for _, want := range reports {
		ev := got[want["url"].(string)]
		if ev == nil {
			t.Fatalf("report %v not in Kafka", want["url"])
		}
		for k, v := range want {
			if string(mustMarshal(t, ev[k])) != string(mustMarshal(t, v)) {
				t.Errorf("%s: %s is %v, want %v", want["url"], k, ev[k], v)
			}
		}
		for field, want := range map[string]string{
			"$schema":                              nelSchema,
			"meta.stream":                          nelStream,
			"meta.request_id":                      "7c0e3f4e-0000-4000-8000-000000000001",
			"http.client_ip":                       "198.51.100.8",
			"http.request_headers.user-agent":      "Mozilla/5.0 (test)",
			"http.request_headers.x-geoip-country": "NZ",
		} {
			if got := edgetest.Field(ev, field); got != want {
				t.Errorf("%s: %s is %v, want %s", want, field, got, want)
			}
		}
		if dt, _ := edgetest.Field(ev, "meta.dt").(string); !edgetest.RFC3339Millis.MatchString(dt) {
			t.Errorf("meta.dt %q", dt)
		}
		if id, _ := edgetest.Field(ev, "meta.id").(string); !edgetest.UUIDv4.MatchString(id) {
			t.Errorf("meta.id %q", id)
		}
		// x-is-browser is configured for another stream only.
		if v := edgetest.Field(ev, "http.request_headers.x-is-browser"); v != nil {
			t.Errorf("x-is-browser filled: %v", v)
		}
	}

	// A query value naming no configured stream, or a schema that does not load, is an invalid
	// event (400), worded as the same field in the body would be; an event naming its own valid
	// stream and schema still goes through (207).
	report := string(mustMarshal(t, reports[0]))
	f := func(query, body string, want int, wantIn string) {
		t.Helper()
		r := h.Post("/v1/events?"+query, []byte(body), hdr...)
		if r.Code != want || !strings.Contains(string(r.Body), wantIn) {
			t.Fatalf("%s: %d %s, want %d with %q", query, r.Code, r.Body, want, wantIn)
		}
	}
	f("stream=no.such.stream&schema_uri="+nelSchema, report, 400, `'no.such.stream' is not in the stream configuration`)
	f("stream="+nelStream+"&schema_uri=/w3c/reportingapi/network_error/9.9.9", report, 400, "should name a schema in the configured repositories")
	f("stream="+nelStream, report, 400, "should have a string $schema")
	f("stream=%FF&schema_uri="+nelSchema, report, 400, "'\ufffd' is not in the stream configuration")
	own := `{"$schema":"` + nelSchema + `","meta":{"stream":"` + nelStream + `"},"url":"https://own.example/"}`
	f("stream=no.such.stream&schema_uri="+nelSchema, "["+report+","+own+"]", 207, `'no.such.stream' is not in the stream configuration`)
	if got := consumeByURL(t, h, nelTopic, len(reports)+1); got["https://own.example/"] == nil {
		t.Fatal("the valid sibling of an invalid report is not in Kafka")
	}
}

// A 16 KiB header reaches events cut to 400 bytes, never inside a UTF-8 sequence; one that is not
// UTF-8 reaches them mended, so that Kafka gets JSON.
func TestLongHeadersAreCut(t *testing.T) {
	opts := edgetest.RealData()
	opts.Edge = func(c *edge.Config) { c.MaxHeaderBytes = 64 << 10 }
	h := edgetest.Start(t, opts)
	report := nelReports(t)[0]
	cases := []struct{ ua, rid, wantUA string }{
		{ua: strings.Repeat("u", 16<<10), rid: strings.Repeat("r", 16<<10), wantUA: strings.Repeat("u", 400)},
		{ua: "a" + strings.Repeat("é", 8<<10), rid: "x", wantUA: "a" + strings.Repeat("é", 199)},
		{ua: "Mozilla\xff\xfe/5.0", rid: "y", wantUA: "Mozilla\ufffd/5.0"},
	}
	for i, c := range cases {
		report["url"] = "https://case.example/" + string(rune('a'+i))
		if r := h.Post("/v1/events", mustMarshal(t, report), "User-Agent", c.ua, "X-Request-Id", c.rid); r.Code != 201 {
			t.Fatalf("case %d: %d %s", i, r.Code, r.Body)
		}
	}
	for _, rec := range h.Consume(nelTopic, len(cases)) {
		if !utf8.Valid(rec.Value) {
			t.Fatalf("not UTF-8 in Kafka: %q", rec.Value)
		}
	}
	got := consumeByURL(t, h, nelTopic, len(cases))
	for i, c := range cases {
		ev := got["https://case.example/"+string(rune('a'+i))]
		if ua := edgetest.Field(ev, "http.request_headers.user-agent"); ua != c.wantUA {
			t.Errorf("case %d: user-agent of %d bytes %.20q..., want %d bytes", i, len(ua.(string)), ua, len(c.wantUA))
		}
		if rid := edgetest.Field(ev, "meta.request_id").(string); len(rid) > 400 || !strings.HasPrefix(c.rid, rid) {
			t.Errorf("case %d: meta.request_id of %d bytes", i, len(rid))
		}
	}
}
