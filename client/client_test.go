package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewID()
		if !uuidV4.MatchString(id) {
			t.Fatalf("NewID() = %q, not a version 4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("NewID() returned %q twice", id)
		}
		seen[id] = true
	}
}

// prepare adds meta.id (and the defaults) to the JSON as given, keeping its keys' order, and
// never touches the caller's value.
func TestPrepare(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 123456789, time.UTC)
	const dt = `"dt":"2026-11-23T12:00:00.123Z"`
	f := func(opts []Option, in any, want string) {
		t.Helper()
		c := &Client{cfg: defaultConfig()}
		for _, o := range opts {
			o(&c.cfg)
		}
		rec, _, err := c.prepare(in, now)
		if err != nil {
			t.Fatalf("prepare(%v): %s", in, err)
		}
		if !json.Valid(rec.raw) {
			t.Fatalf("prepare(%v) = %s: not JSON", in, rec.raw)
		}
		got := string(rec.raw)
		if uuidV4.MatchString(rec.id) {
			got = strings.ReplaceAll(got, rec.id, "ID")
		}
		if got != want {
			t.Fatalf("prepare(%v)\n got %s\nwant %s", in, got, want)
		}
		var back struct {
			Meta struct{ ID, Stream string }
		}
		json.Unmarshal(rec.raw, &back)
		if back.Meta.ID != rec.id || back.Meta.Stream != rec.stream {
			t.Fatalf("prepare(%v): record says id %q stream %q, the JSON %q %q", in, rec.id, rec.stream, back.Meta.ID, back.Meta.Stream)
		}
	}
	noDT := []Option{WithFillDT(false)}
	f(noDT, json.RawMessage(`{"b":1,"meta":{"stream":"s"},"a":2}`), `{"b":1,"meta":{"id":"ID","stream":"s"},"a":2}`)
	f(noDT, json.RawMessage(` { "meta" : { } } `), ` { "meta" : {"id":"ID" } } `)
	f(noDT, []byte(`{}`), `{"meta":{"id":"ID"}}`)
	f(noDT, []byte(`{"x":[1,{"meta":2}],"y":"}\""}`), `{"x":[1,{"meta":2}],"y":"}\"","meta":{"id":"ID"}}`)
	f(noDT, []byte(`{"meta":{"id":"kept","stream":"s"}}`), `{"meta":{"id":"kept","stream":"s"}}`)
	f(noDT, []byte(`{"meta":{"id":"k\u00e9"}}`), `{"meta":{"id":"k\u00e9"}}`)
	f(noDT, []byte(`{"m\u0065ta":{"stream":"s"}}`), `{"m\u0065ta":{"id":"ID","stream":"s"}}`)
	f(noDT, []byte(`{"meta":"not an object"}`), `{"meta":"not an object"}`)
	f(nil, []byte(`{"meta":{"id":"i"}}`), `{"meta":{"id":"i"},`+dt+`}`)
	f(nil, []byte(`{"dt":"x","meta":{"id":"i"}}`), `{"dt":"x","meta":{"id":"i"}}`)
	f([]Option{WithDefaults("st", "/s/1")}, []byte(`{"a":1}`), `{"a":1,"meta":{"id":"ID","stream":"st"},"$schema":"/s/1",`+dt+`}`)
	f([]Option{WithDefaults("st", "/s/1")}, []byte(`{"$schema":"/t/2","meta":{"a":1}}`), `{"$schema":"/t/2","meta":{"id":"ID","stream":"st","a":1},`+dt+`}`)
	f([]Option{WithDefaults("st", "")}, []byte(`{"meta":{"stream":"own","id":"i"}}`), `{"meta":{"stream":"own","id":"i"},`+dt+`}`)
	f(noDT, map[string]any{"b": 1, "a": "x"}, `{"a":"x","b":1,"meta":{"id":"ID"}}`)
	f(noDT, struct {
		Meta struct {
			Stream string `json:"stream"`
		} `json:"meta"`
	}{}, `{"meta":{"id":"ID","stream":""}}`)
	f(noDT, UnitEvent{Event: []byte(`{"meta":{"id":"u"}}`)}, `{"meta":{"id":"u"}}`)

	bad := func(in any, want error) {
		t.Helper()
		c := &Client{cfg: defaultConfig()}
		c.cfg.maxEventBytes = 100
		_, _, err := c.prepare(in, now)
		if err == nil || want != nil && !errors.Is(err, want) {
			t.Fatalf("prepare(%v) = %v, want %v", in, err, want)
		}
	}
	bad(nil, ErrNotObject)
	bad([]byte(`[1]`), ErrNotObject)
	bad(json.RawMessage(`"s"`), ErrNotObject)
	bad(42, ErrNotObject)
	bad([]byte(`{"a":`), nil)
	bad(make(chan int), nil)
	bad([]byte(`{"a":"`+strings.Repeat("x", 100)+`"}`), ErrEventTooLarge)
}

// The caller's map, and the maps inside it, are never modified.
func TestPrepareDoesNotMutate(t *testing.T) {
	ev := click("s", 1)
	delete(ev, "dt")
	c := &Client{cfg: defaultConfig()}
	c.cfg.defaultSchema = "/x/1"
	rec, _, err := c.prepare(ev, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ev["dt"]; ok || len(ev["meta"].(map[string]any)) != 1 {
		t.Fatalf("prepare changed the caller's map: %v", ev)
	}
	if !strings.Contains(string(rec.raw), rec.id) {
		t.Fatalf("no id in %s", rec.raw)
	}
	fields := map[string]any{"meta": map[string]any{"domain": "d"}, "x": 1}
	e := NewEvent("st", "/s/1.0.0", fields)
	if len(fields) != 2 || len(fields["meta"].(map[string]any)) != 1 {
		t.Fatalf("NewEvent changed its fields: %v", fields)
	}
	m := e["meta"].(map[string]any)
	if e["$schema"] != "/s/1.0.0" || m["stream"] != "st" || m["domain"] != "d" || e["x"] != 1 {
		t.Fatalf("NewEvent = %v", e)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", e["dt"].(string)); err != nil {
		t.Fatalf("NewEvent dt %q: %s", e["dt"], err)
	}
	if e2 := NewEvent("st", "/s", map[string]any{"dt": "given"}); e2["dt"] != "given" {
		t.Fatalf("NewEvent replaced dt: %v", e2["dt"])
	}
}

// Backoff: full jitter below the exponential bound, capped by WithBackoff's max.
func TestBackoffBounds(t *testing.T) {
	c := &Client{cfg: defaultConfig()}
	c.cfg.backoffBase, c.cfg.backoffMax = 100*time.Millisecond, 2*time.Second
	for attempt := 1; attempt <= 50; attempt++ {
		bound := min(2*time.Second, 100*time.Millisecond<<min(attempt-1, 30))
		var top time.Duration
		for range 200 {
			d := c.backoff(attempt)
			if d < 0 || d >= bound {
				t.Fatalf("backoff(%d) = %s, want in [0, %s)", attempt, d, bound)
			}
			top = max(top, d)
		}
		if top < bound/2 {
			t.Fatalf("backoff(%d): largest of 200 draws %s, want most of [0, %s) covered", attempt, top, bound)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	f := func(v string, want time.Duration) {
		t.Helper()
		if got := parseRetryAfter(v, now); got != want {
			t.Fatalf("parseRetryAfter(%q) = %s, want %s", v, got, want)
		}
	}
	f("", 0)
	f("3", 3*time.Second)
	f(" 120 ", 2*time.Minute)
	f("0", 0)
	f("-5", 0)
	f("soon", 0)
	f("Mon, 23 Nov 2026 12:00:07 GMT", 7*time.Second)
	f("Mon, 23 Nov 2026 11:00:00 GMT", 0)
}

// Retryable answers (503, 429, other 5xx, 408, connection errors) are retried with backoff, never
// less than their Retry-After (seconds or an HTTP date); the event keeps its meta.id.
func TestRetryHonoursRetryAfter(t *testing.T) {
	date := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	answers := []struct {
		code  int
		after string
	}{{503, "3"}, {429, date}, {500, ""}, {502, ""}, {408, ""}, {201, ""}}
	fe := newFakeEdge(t, func(n int, r fakeReq) (int, map[string]string, string) {
		a := answers[n]
		h := map[string]string{}
		if a.after != "" {
			h["Retry-After"] = a.after
		}
		return a.code, h, `{"status":` + fmt.Sprint(a.code) + `,"message":"busy"}`
	})
	c, sl := newTestClient(t, fe.URL, WithBackoff(time.Millisecond, time.Millisecond), WithRetry(10, 0))
	res, err := c.Send(context.Background(), click("example.click", 1))
	if err != nil || res[0].Status != StatusAccepted || res[0].Attempts != len(answers) || res[0].Code != 201 {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	reqs := fe.requests()
	for _, r := range reqs {
		if got := r.ids(); len(got) != 1 || got[0] != res[0].ID {
			t.Fatalf("attempt carried ids %v, want [%s] every time", got, res[0].ID)
		}
	}
	waits := sl.all()
	if len(waits) != len(answers)-1 {
		t.Fatalf("waits %v, want %d", waits, len(answers)-1)
	}
	if waits[0] < 3*time.Second || waits[1] < 80*time.Second || waits[1] > 90*time.Second {
		t.Fatalf("waits %v: the first must honour Retry-After: 3, the second the HTTP date 90s away", waits)
	}
	for _, w := range waits[2:] {
		if w >= time.Millisecond {
			t.Fatalf("waits %v: without Retry-After, the backoff (max 1ms) applies", waits)
		}
	}
	if s := c.Stats(); s.Requests != 6 || s.Sent != 6 || s.Retried != 5 || s.Accepted != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// A connection error is retried: the edge is not there, then it is.
func TestRetryConnectionError(t *testing.T) {
	var fail atomic.Int32
	fail.Store(2)
	fe := newFakeEdge(t, nil)
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if fail.Add(-1) >= 0 {
			return nil, errors.New("connection refused (simulated)")
		}
		return http.DefaultTransport.RoundTrip(r)
	})}
	c, sl := newTestClient(t, fe.URL, WithHTTPClient(hc))
	res, err := c.Send(context.Background(), click("s", 1))
	if err != nil || res[0].Attempts != 3 || len(fe.requests()) != 1 || len(sl.all()) != 2 {
		t.Fatalf("Send = %+v, %v; %d requests reached the edge, waits %v", res, err, len(fe.requests()), sl.all())
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// 207: the "invalid" events are never sent again, the "error" ones are, alone; the unlisted
// ones were accepted.
func Test207RetriesOnlyErrorList(t *testing.T) {
	fe := newFakeEdge(t, func(n int, r fakeReq) (int, map[string]string, string) {
		if n == 0 {
			return 207, nil, lists([]any{listEntry(r.events[1], "invalid", "'.page.id' should be integer")},
				[]any{listEntry(r.events[2], "error", "Kafka did not acknowledge the event")})
		}
		return 201, nil, ""
	})
	c, _ := newTestClient(t, fe.URL)
	res, err := c.Send(context.Background(), click("s", 1), click("s", 2), click("s", 3), click("s", 4))
	var se *SendError
	if !errors.As(err, &se) || se.Invalid != 1 || se.Failed != 0 {
		t.Fatalf("Send error %v, want a *SendError with one invalid event", err)
	}
	var ie *InvalidError
	if !errors.As(err, &ie) || ie.ID != res[1].ID || len(ie.Errors) != 1 || ie.Errors[0].Keyword != "type" {
		t.Fatalf("errors.As InvalidError: %+v", ie)
	}
	want := []Status{StatusAccepted, StatusInvalid, StatusAccepted, StatusAccepted}
	for i, r := range res {
		if r.Status != want[i] {
			t.Fatalf("result %d: %s, want %s (%v)", i, r.Status, want[i], r.Err)
		}
	}
	if res[1].Code != 207 || res[1].Errors[0].InstancePath != "/page/id" || !strings.Contains(res[1].Err.Error(), "should be integer") || res[1].Event == nil {
		t.Fatalf("invalid result %+v", res[1])
	}
	reqs := fe.requests()
	if len(reqs) != 2 || len(reqs[1].events) != 1 || reqs[1].ids()[0] != res[2].ID || res[2].Attempts != 2 {
		t.Fatalf("retry carried %v, want only event 2 (%s)", reqs[len(reqs)-1].ids(), res[2].ID)
	}
}

// 400: every event invalid, none retried. A request-level 400 (over a JSON limit) or 413 is split
// to find the culprit; its siblings get through.
func TestInvalidNeverRetried(t *testing.T) {
	fe := newFakeEdge(t, func(n int, r fakeReq) (int, map[string]string, string) {
		var inv []any
		for _, ev := range r.events {
			inv = append(inv, listEntry(ev, "invalid", "bad"))
		}
		return 400, nil, lists(inv, nil)
	})
	c, sl := newTestClient(t, fe.URL)
	res, err := c.Send(context.Background(), click("s", 1), click("s", 2))
	if err == nil || res[0].Status != StatusInvalid || res[1].Status != StatusInvalid || len(fe.requests()) != 1 || len(sl.all()) != 0 {
		t.Fatalf("Send = %+v, %v; %d requests", res, err, len(fe.requests()))
	}

	split := newFakeEdge(t, func(n int, r fakeReq) (int, map[string]string, string) {
		for _, ev := range r.events {
			if ev["page"].(map[string]any)["title"] == "huge" {
				if len(r.events) > 2 {
					return 413, nil, `{"status":413,"message":"request has too many events"}`
				}
				return 400, nil, `{"status":400,"message":"cannot parse the request body as JSON: string too long (--max-string-bytes)"}`
			}
		}
		return 201, nil, ""
	})
	c2, _ := newTestClient(t, split.URL)
	evs := []any{click("s", 1), click("s", 2), click("s", 3), click("s", 4), click("s", 5)}
	evs[3].(map[string]any)["page"] = map[string]any{"id": 4, "title": "huge"}
	res, err = c2.Send(context.Background(), evs...)
	if err == nil || res[3].Status != StatusInvalid || !strings.Contains(res[3].Err.Error(), "max-string-bytes") {
		t.Fatalf("Send = %v; result 3: %+v", err, res[3])
	}
	for i, r := range res {
		if i != 3 && r.Status != StatusAccepted {
			t.Fatalf("result %d: %s (%v)", i, r.Status, r.Err)
		}
	}
}

// Retries are bounded by WithRetry: then the events fail with the last error; a 401 is not
// retried at all.
func TestRetryBounds(t *testing.T) {
	fe := newFakeEdge(t, func(n int, r fakeReq) (int, map[string]string, string) {
		return 503, map[string]string{"Retry-After": "1"}, `{"status":503,"message":"intake's queue to Kafka is full; retry later"}`
	})
	c, _ := newTestClient(t, fe.URL, WithRetry(4, 0))
	res, err := c.Send(context.Background(), click("s", 1))
	var he *HTTPError
	if !errors.As(err, &he) || he.Code != 503 || res[0].Status != StatusFailed || res[0].Attempts != 4 || len(fe.requests()) != 4 {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	if !strings.Contains(err.Error(), "4 attempts") || !strings.Contains(err.Error(), "queue to Kafka is full") {
		t.Fatalf("error %q should say why and after how many attempts", err)
	}

	// The time bound: Retry-After 30s does not fit in 10s.
	c2, sl := newTestClient(t, newFakeEdge(t, func(int, fakeReq) (int, map[string]string, string) {
		return 503, map[string]string{"Retry-After": "30"}, ""
	}).URL, WithRetry(100, 10*time.Second))
	if res, _ := c2.Send(context.Background(), click("s", 1)); res[0].Status != StatusFailed || res[0].Attempts != 1 || len(sl.all()) != 0 {
		t.Fatalf("Send with a 30s Retry-After and 10s to go: %+v, waits %v", res[0], sl.all())
	}

	unauthorized := newFakeEdge(t, func(int, fakeReq) (int, map[string]string, string) {
		return 401, nil, `{"status":401,"message":"unknown API key"}`
	})
	c3, _ := newTestClient(t, unauthorized.URL)
	res, err = c3.Send(context.Background(), click("s", 1))
	if !errors.As(err, &he) || he.Code != 401 || res[0].Attempts != 1 || len(unauthorized.requests()) != 1 {
		t.Fatalf("401: %+v, %v", res, err)
	}
}

// Cancelling the context stops the retries; the error says so.
func TestSendContextCancel(t *testing.T) {
	fe := newFakeEdge(t, func(int, fakeReq) (int, map[string]string, string) { return 503, nil, "" })
	c, err := New(fe.URL, WithStreamConfigRefresh(-1), WithLogger(discardLogger()), WithBackoff(time.Hour, time.Hour), WithRetry(10, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer mustClose(t, c)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for len(fe.requests()) == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	res, err := c.Send(ctx, click("s", 1))
	if !errors.Is(err, context.Canceled) || res[0].Status != StatusFailed {
		t.Fatalf("Send = %+v, %v; want a failure wrapping context.Canceled", res, err)
	}
}

// Send splits by WithBatch; the client's headers are on every request.
func TestSendBatchesAndHeaders(t *testing.T) {
	fe := newFakeEdge(t, nil)
	var tokens atomic.Int32
	c, _ := newTestClient(t, fe.URL+"/v1/events", WithBatch(3, 1<<20, time.Second), WithHeader("X-Extra", "1"),
		WithUserAgent("test/2"), WithAPIKey("ignored-with-a-token-source"),
		WithTokenSource(func(context.Context) (string, error) { return fmt.Sprintf("tok%d", tokens.Add(1)), nil }))
	var evs []any
	for i := range 7 {
		evs = append(evs, click("s", i+1))
	}
	if _, err := c.Send(context.Background(), evs...); err != nil {
		t.Fatal(err)
	}
	reqs := fe.requests()
	if len(reqs) != 3 || len(reqs[0].events) != 3 || len(reqs[2].events) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	for i, r := range reqs {
		if r.header.Get("Authorization") != fmt.Sprintf("Bearer tok%d", i+1) || r.header.Get("X-Extra") != "1" ||
			r.header.Get("User-Agent") != "test/2 intake-go-client/"+Version || r.header.Get("Content-Type") != "application/json" || r.query != "" {
			t.Fatalf("request %d headers %v, query %q", i, r.header, r.query)
		}
	}
	c2, _ := newTestClient(t, fe.URL, WithAPIKey("k1"))
	c2.Send(context.Background(), click("s", 1))
	if r := fe.requests()[3]; r.header.Get("Authorization") != "Bearer k1" {
		t.Fatalf("API key header %q", r.header.Get("Authorization"))
	}
}

// Bodies of at least WithGzip's size are gzipped; smaller ones are not.
func TestGzip(t *testing.T) {
	fe := newFakeEdge(t, nil)
	c, _ := newTestClient(t, fe.URL, WithGzip(1000))
	c.Send(context.Background(), click("s", 1))
	var evs []any
	for i := range 20 {
		evs = append(evs, click("s", i+1))
	}
	if _, err := c.Send(context.Background(), evs...); err != nil {
		t.Fatal(err)
	}
	reqs := fe.requests()
	if len(reqs) != 2 || reqs[0].gzip || !reqs[1].gzip || len(reqs[1].events) != 20 {
		t.Fatalf("gzip: %v %v", reqs[0].gzip, reqs[1].gzip)
	}
}

// Enqueue batches by count, and Close sends the rest; callbacks see every result.
func TestEnqueueBatchesAndCallbacks(t *testing.T) {
	fe := newFakeEdge(t, func(n int, r fakeReq) (int, map[string]string, string) {
		for _, ev := range r.events {
			if ev["button"] == "delete" {
				return 207, nil, lists([]any{listEntry(ev, "invalid", "'.button' should be equal to one of the allowed values")}, nil)
			}
		}
		return 201, nil, ""
	})
	var mu sync.Mutex
	var results, errs []Result
	c, _ := newTestClient(t, fe.URL, WithBatch(10, 1<<20, time.Hour),
		WithOnResult(func(r Result) { mu.Lock(); results = append(results, r); mu.Unlock() }),
		WithOnError(func(r Result) { mu.Lock(); errs = append(errs, r); mu.Unlock() }))
	for i := range 25 {
		ev := click("s", i+1)
		if i == 7 {
			ev["button"] = "delete"
		}
		if err := c.Enqueue(ev); err != nil {
			t.Fatal(err)
		}
	}
	mustClose(t, c)
	var sizes []int
	for _, r := range fe.requests() {
		sizes = append(sizes, len(r.events))
	}
	if fmt.Sprint(sizes) != "[10 10 5]" {
		t.Fatalf("batches %v, want [10 10 5]", sizes)
	}
	if len(results) != 25 || len(errs) != 1 || errs[0].Status != StatusInvalid || errs[0].Err == nil {
		t.Fatalf("%d results, errors %+v", len(results), errs)
	}
	s := c.Stats()
	if s.Enqueued != 25 || s.Accepted != 24 || s.Invalid != 1 || s.Queued != 0 || s.Requests != 3 {
		t.Fatalf("stats %+v", s)
	}
	if err := c.Enqueue(click("s", 1)); err != ErrClosed {
		t.Fatalf("Enqueue after Close: %v", err)
	}
	if _, err := c.Send(context.Background(), click("s", 1)); err != ErrClosed {
		t.Fatalf("Send after Close: %v", err)
	}
}

// The queue is bounded in events and bytes, batches in flight included: a full queue is
// ErrQueueFull at once, counted, and nothing queued is lost.
func TestQueueBound(t *testing.T) {
	release := make(chan struct{})
	fe := newFakeEdge(t, func(n int, r fakeReq) (int, map[string]string, string) {
		<-release
		return 201, nil, ""
	})
	c, _ := newTestClient(t, fe.URL, WithQueue(10, 1<<20), WithBatch(4, 1<<20, time.Millisecond))
	queued := 0
	for i := range 50 {
		err := c.Enqueue(click("s", i+1))
		if errors.Is(err, ErrQueueFull) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		queued++
	}
	if queued != 10 {
		t.Fatalf("%d events queued, want 10 (the bound)", queued)
	}
	if s := c.Stats(); s.DroppedFull != 40 || s.Queued != 10 {
		t.Fatalf("stats %+v", s)
	}
	close(release)
	mustClose(t, c)
	if s := c.Stats(); s.Accepted != 10 || s.Queued != 0 {
		t.Fatalf("stats %+v", s)
	}

	// Bytes: each event is about 200 bytes of JSON.
	release2 := make(chan struct{})
	blocked := newFakeEdge(t, func(n int, r fakeReq) (int, map[string]string, string) {
		<-release2
		return 201, nil, ""
	})
	defer close(release2)
	c2, _ := newTestClient(t, blocked.URL, WithQueue(1000, 1000))
	n := 0
	for c2.Enqueue(click("s", 1)) == nil {
		n++
	}
	if n < 3 || n > 8 {
		t.Fatalf("%d events fit in 1000 bytes", n)
	}
}

// Close gives up when its context ends: the events not delivered fail (callbacks) and Close says
// how many.
func TestCloseTimeout(t *testing.T) {
	fe := newFakeEdge(t, func(int, fakeReq) (int, map[string]string, string) { return 503, nil, "" })
	var failed atomic.Int32
	c, err := New(fe.URL, WithStreamConfigRefresh(-1), WithLogger(discardLogger()), WithBackoff(time.Hour, time.Hour), WithRetry(10, 0),
		WithBatch(2, 1<<20, time.Millisecond), WithOnError(func(r Result) { failed.Add(1) }))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		c.Enqueue(click("s", i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err = c.Close(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "5 events not delivered") || failed.Load() != 5 {
		t.Fatalf("Close = %v; %d failures reported", err, failed.Load())
	}
	if s := c.Stats(); s.Failed != 5 || s.Queued != 0 {
		t.Fatalf("stats %+v", s)
	}
	if err2 := c.Close(context.Background()); err2 != err {
		t.Fatalf("second Close = %v, want the first's %v", err2, err)
	}
}

// Flush sends partial batches at once and waits for them.
func TestFlush(t *testing.T) {
	fe := newFakeEdge(t, nil)
	c, _ := newTestClient(t, fe.URL, WithBatch(100, 1<<20, time.Hour))
	for i := range 3 {
		c.Enqueue(click("s", i+1))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.Accepted != 3 || len(fe.requests()) != 1 {
		t.Fatalf("after Flush: %+v", s)
	}
}

// Flush returned as soon as the sender released the batch from the queue, before it counted the
// results and ran the callbacks: a caller reading Stats after Flush could see Accepted 0.
func TestFlushWaitsForResults(t *testing.T) {
	fe := newFakeEdge(t, nil)
	flushed := make(chan struct{})
	var early atomic.Bool
	var reported sync.WaitGroup
	reported.Add(3)
	onResult := func(Result) {
		defer reported.Done()
		select {
		case <-flushed:
			early.Store(true) // Flush returned while a result was still being reported
		case <-time.After(100 * time.Millisecond):
		}
	}
	c, _ := newTestClient(t, fe.URL, WithBatch(100, 1<<20, time.Hour), WithOnResult(onResult))
	for i := range 3 {
		c.Enqueue(click("s", i+1))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.Flush(ctx)
	close(flushed)
	if err != nil {
		t.Fatal(err)
	}
	reported.Wait()
	if early.Load() {
		t.Fatal("Flush returned before the flushed events' callbacks ran")
	}
	if s := c.Stats(); s.Accepted != 3 {
		t.Fatalf("after Flush: %+v", s)
	}
}

func TestNewRejectsBadSettings(t *testing.T) {
	f := func(url string, opts ...Option) {
		t.Helper()
		if c, err := New(url, opts...); err == nil {
			c.Close(context.Background())
			t.Fatalf("New(%q) accepted", url)
		}
	}
	f("intake.example.org")
	f("ftp://intake.example.org")
	f("http://x", WithRetry(0, 0))
	f("http://x", WithBatch(0, 1, time.Second))
	f("http://x", WithQueue(1, 0))
	f("http://x", WithBackoff(time.Second, time.Millisecond))
	c, err := New("https://intake.example.org/base/v1/events/?x=1", WithStreamConfigRefresh(-1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if c.eventsURL != "https://intake.example.org/base/v1/events" || c.debugURL != c.eventsURL+"?debug=true" {
		t.Fatalf("URLs %q %q", c.eventsURL, c.debugURL)
	}
	u := c.Units()
	for _, id := range []string{u.Session, u.Pageview, u.Device} {
		if !regexp.MustCompile(`^[0-9a-f]{20}$`).MatchString(id) {
			t.Fatalf("default unit id %q, want 20 hex digits", id)
		}
	}
	if u.Session == u.Pageview || u.Session == u.Device {
		t.Fatalf("default unit ids are not independent: %+v", u)
	}
}

// WithConcurrency posts that many batches at once; every event is acknowledged exactly once, and
// a retried event keeps its meta.id and waits at least the answer's Retry-After.
func TestEnqueueConcurrency(t *testing.T) {
	gate := make(chan struct{})
	var inflight atomic.Int32
	var mu sync.Mutex
	accepted := map[string]int{}
	answered := map[string]bool{} // batches the edge has answered, by their first event's meta.id
	refusedRequests, refusedEvents := 0, 0
	fe := newFakeEdge(t, func(n int, r fakeReq) (int, map[string]string, string) {
		inflight.Add(1)
		<-gate
		inflight.Add(-1)
		ids := r.ids()
		mu.Lock()
		defer mu.Unlock()
		// Every third batch is refused once, its first time. Refusing by request number instead
		// (n%3 == 0) let a batch retried in step with two other senders come back on every
		// third request and fail after WithRetry's 10 attempts, as the client promises it does.
		first := !answered[ids[0]]
		answered[ids[0]] = true
		if first && len(answered)%3 == 1 {
			refusedRequests++
			refusedEvents += len(ids)
			return 503, map[string]string{"Retry-After": "1"}, `{"status":503,"message":"busy"}`
		}
		for _, id := range ids {
			accepted[id]++
		}
		return 201, nil, ""
	})
	c, sl := newTestClient(t, fe.URL, WithConcurrency(4), WithBatch(10, 1<<20, time.Millisecond))
	var ids []string
	for i := range 500 {
		ev, id := clickWithID("s", i+1)
		ids = append(ids, id)
		if err := c.Enqueue(ev); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); inflight.Load() < 4; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests in flight at once, want 4 (WithConcurrency(4))", inflight.Load())
		}
	}
	close(gate)
	mustClose(t, c)
	for _, id := range ids {
		if accepted[id] != 1 {
			t.Fatalf("event %s acknowledged %d times, want once", id, accepted[id])
		}
	}
	if s := c.Stats(); s.Accepted != 500 || refusedEvents == 0 || s.Retried != int64(refusedEvents) || s.Failed != 0 {
		t.Fatalf("stats %+v; %d events refused once each, want each retried once", s, refusedEvents)
	}
	waits := sl.all()
	if len(waits) != refusedRequests {
		t.Fatalf("%d waits, want one per refused request (%d)", len(waits), refusedRequests)
	}
	for _, w := range waits {
		if w < time.Second {
			t.Fatalf("waits %v: each must honour Retry-After: 1", waits)
		}
	}
}
