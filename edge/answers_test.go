package edge_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/valyala/fasthttp"

	"intake.dev/intake/edge"
	"intake.dev/intake/edge/ratelimit"
	"intake.dev/intake/internal/edgetest"
	"intake.dev/intake/kafkaout"
)

// TestEveryAnswerIsCounted walks every answer the edge gives, route by route and status by
// status (the handler's own, the access layer's, fasthttp's read errors), and checks each is
// counted once, under its route and its own code label, never as code="other". Then the codes
// registered for each route must be exactly those the walk reached: a status without a label, or
// a label no answer uses, fails here.
func TestEveryAnswerIsCounted(t *testing.T) {
	fx := newAccessFixture(t)
	fx.cfg.RateLimits = ratelimit.Config{Streams: map[string]ratelimit.Limit{"listed.click": {Rate: 0.001, Burst: 1}}}
	// A broker of the test's own, which can refuse a record for good: the 500.
	broker, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(3))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(broker.Close)
	h := edgetest.Start(t, edgetest.Options{StreamConfig: fx.streamConfig, ServiceName: "intake", Access: &fx.cfg,
		Brokers: broker.ListenAddrs(),
		// A record over the producer's batches is larger than its topic takes: the 400 of a big
		// event (a 500 before the producer told it from other refusals).
		Kafka: func(c *kafkaout.Config) { c.BatchMaxBytes = 512 },
		Edge: func(c *edge.Config) {
			c.MaxEvents = 3
			c.MaxBodyBytes = 64 << 10
			c.MaxHeaderBytes = 4096
			c.MaxHeaders = 30
			c.MaxURLBytes = 1024
			c.ReadTimeout = time.Second
		}})
	addr := h.Addr
	// /readyz answers 503 until the first broker probe; the walk starts once it is ready.
	for deadline := time.Now().Add(10 * time.Second); h.Get("/readyz").Code != 200; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the edge did not become ready")
		}
	}

	reached := map[string][]string{} // route: codes
	last := requestCounts(t)
	// f checks that the answer just given, got, is want and was counted once, under route and
	// code label want, and nothing else was.
	f := func(route string, want, got int) {
		t.Helper()
		now := requestCounts(t)
		defer func() { last = now }()
		if got != want {
			t.Errorf("%s: got status %d, want %d", route, got, want)
			return
		}
		key := requestsSeries(route, strconv.Itoa(want))
		if _, ok := now[key]; !ok {
			t.Errorf("%s answered %d, which has no code label of its own", route, want)
		}
		for k, v := range now {
			d := v - last[k]
			switch {
			case k == key && d != 1:
				t.Errorf("%s %d: %s grew by %v, want 1", route, want, k, d)
			case k != key && d != 0:
				t.Errorf("%s %d: %s grew by %v, want 0", route, want, k, d)
			}
		}
		if !slices.Contains(reached[route], strconv.Itoa(want)) {
			reached[route] = append(reached[route], strconv.Itoa(want))
		}
	}
	post := func(path, body string, hdr ...string) int { return h.Post(path, []byte(body), hdr...).Code }
	method := func(m, path string, hdr ...string) int {
		req, err := http.NewRequest(m, h.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		return h.Do(req).Code
	}
	get := func(path string, hdr ...string) int { return method("GET", path, hdr...) }
	raw := func(req string) int { return rawStatus(t, addr, req) }
	headers := func(n int) []string {
		var hdr []string
		for i := range n {
			hdr = append(hdr, fmt.Sprintf("X-H%d", i), "v")
		}
		return hdr
	}

	valid, invalid := click("open.click"), click("open.click", `"button":"explode"`)
	// A valid event over the producer's 512-byte batches.
	big := click("open.click", `"http":{"request_headers":{"x-pad":"`+strings.Repeat("p", 600)+`"}}`)
	preflight := []string{"Origin", "https://www.example.org", "Access-Control-Request-Method", "POST"}

	// POST /v1/events: the events' fates.
	f("events", 201, post("/v1/events", valid))
	f("events", 202, post("/v1/events?hasty=true", valid))
	f("events", 207, post("/v1/events", "["+valid+","+invalid+"]"))
	f("events", 400, post("/v1/events", invalid))
	f("events", 403, post("/v1/events", click("required.click")))
	f("events", 429, post("/v1/events", "["+click("listed.click")+","+click("listed.click")+"]", "X-API-Key", keyA))
	f("events", 400, post("/v1/events", big))
	broker.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "dev.open.click", Err: kerr.InvalidRecord})
	f("events", 500, post("/v1/events", valid))
	f("events", 200, post("/v1/events", click("required.click"), "X-API-Key", keyA, "X-Intake-Debug", "1"))
	// POST /v1/events: the request's own faults.
	f("events", 400, post("/v1/events", `{"meta":`))
	f("events", 401, post("/v1/events", valid, "X-API-Key", "not-a-key"))
	f("events", 413, post("/v1/events", "["+valid+","+valid+","+valid+","+valid+"]"))
	f("events", 414, post("/v1/events?x="+strings.Repeat("a", 1024), valid))
	f("events", 415, post("/v1/events", valid, "Content-Type", "application/xml"))
	f("events", 431, post("/v1/events", valid, headers(31)...))
	// /v1/events, other methods.
	f("events", 204, method("OPTIONS", "/v1/events", preflight...))
	f("events", 405, get("/v1/events"))

	// Every other path.
	f("other", 200, get("/healthz"))
	f("other", 200, get("/readyz"))
	f("other", 200, get("/metrics"))
	f("other", 200, get("/v1/info"))
	f("other", 200, get("/robots.txt"))
	f("other", 200, get("/?spec"))
	f("other", 200, get("/?doc"))
	f("other", 200, method("HEAD", "/healthz"))
	streams := h.Get("/v1/streams")
	f("other", 200, streams.Code)
	f("other", 304, get("/v1/streams", "If-None-Match", streams.Header.Get("ETag")))
	schema := h.Get("/v1/schemas/example/click/1.0.0")
	f("other", 200, schema.Code)
	f("other", 304, get("/v1/schemas/example/click/1.0.0", "If-None-Match", schema.Header.Get("ETag")))
	listing := h.Get("/v1/schemas?limit=10")
	f("other", 200, listing.Code)
	f("other", 304, get("/v1/schemas?limit=10", "If-None-Match", listing.Header.Get("ETag")))
	f("other", 400, get("/v1/schemas?limit=0"))
	versions := h.Get("/v1/schemas/example/click")
	f("other", 200, versions.Code)
	f("other", 304, get("/v1/schemas/example/click", "If-None-Match", versions.Header.Get("ETag")))
	f("other", 204, method("OPTIONS", "/v1/schemas", preflight...))
	f("other", 405, post("/v1/schemas", ""))
	f("other", 204, method("OPTIONS", "/v1/streams", preflight...))
	configs := h.Get("/v1/stream-configs/open.click|listed.click")
	f("other", 200, configs.Code)
	f("other", 304, get("/v1/stream-configs/open.click|listed.click", "If-None-Match", configs.Header.Get("ETag")))
	f("other", 404, get("/nope"))
	f("other", 404, post("/nope", ""))
	f("other", 404, method("DELETE", "/v1/events/"))
	f("other", 404, get("/v1/schemas/example/nope/1.0.0"))
	f("other", 405, post("/healthz", ""))
	f("other", 405, post("/v1/stream-configs", ""))
	f("other", 414, get("/healthz?"+strings.Repeat("a", 1024)))
	f("other", 431, get("/healthz", headers(31)...))
	// Requests fasthttp could not read, whatever their path.
	f("other", 400, raw("POST /v1/events HTTP/1.1\r\nHost: intake.test\r\nContent-Length: two\r\n\r\n"))
	f("other", 400, raw("POST /v1/events HTTP/1.1\r\nHost: intake.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"))
	f("other", 408, raw(""))
	f("other", 408, raw("POST /v1/events HTTP/1.1\r\nHost: intake.test\r\nContent-Length: 100\r\n\r\n{"))
	f("other", 413, raw("POST /v1/events HTTP/1.1\r\nHost: intake.test\r\nContent-Length: 100000\r\n\r\n"))
	f("other", 431, raw("GET /healthz?"+strings.Repeat("a", 5000)+" HTTP/1.1\r\nHost: intake.test\r\n\r\n"))

	// Shutting down: requests still arriving are turned away.
	h.Stop()
	serve := func(m, uri string) int {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod(m)
		ctx.Request.SetRequestURI(uri)
		h.Server.Handler()(&ctx)
		return ctx.Response.StatusCode()
	}
	f("events", 503, serve("POST", "/v1/events"))
	f("other", 503, serve("GET", "/readyz"))

	// The codes registered for each route are exactly those reached.
	registered := map[string][]string{}
	for k := range last {
		m := requestsSeriesRE.FindStringSubmatch(k)
		if m == nil {
			t.Fatalf("cannot read the series %s", k)
		}
		if m[2] != "other" {
			registered[m[1]] = append(registered[m[1]], m[2])
		}
	}
	for _, route := range []string{"events", "other"} {
		slices.Sort(registered[route])
		slices.Sort(reached[route])
		if !slices.Equal(registered[route], reached[route]) {
			t.Errorf("route %s: codes registered %v, reached %v", route, registered[route], reached[route])
		}
	}
	if len(registered) != 2 {
		t.Errorf("routes registered: %v, want events and other", registered)
	}
}

var requestsSeriesRE = regexp.MustCompile(`^intake_http_requests_total\{route="([^"]*)",code="([^"]*)"\}$`)

func requestsSeries(route, code string) string {
	return `intake_http_requests_total{route="` + route + `",code="` + code + `"}`
}

// requestCounts are the intake_http_requests_total series as /metrics shows them, by name.
func requestCounts(t *testing.T) map[string]float64 {
	t.Helper()
	var b bytes.Buffer
	metrics.WritePrometheus(&b, false)
	counts := map[string]float64{}
	for _, line := range strings.Split(b.String(), "\n") {
		name, value, ok := strings.Cut(line, " ")
		if !ok || !strings.HasPrefix(name, "intake_http_requests_total{") {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("cannot read %q: %s", line, err)
		}
		counts[name] = v
	}
	return counts
}

// rawStatus writes req on a fresh connection and returns the status of the answer.
func rawStatus(t *testing.T, addr, req string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to %.40q: %s", req, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
