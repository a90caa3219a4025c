package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// Every shared sampling vector (the browser client runs the same file).
func TestSamplingVectors(t *testing.T) {
	b, err := os.ReadFile("testdata/sampling-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cases []struct {
			ID   string  `json:"id"`
			Rate float64 `json:"rate"`
			In   bool    `json:"in"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Cases) < 100 {
		t.Fatalf("only %d vectors", len(doc.Cases))
	}
	for _, c := range doc.Cases {
		if got := InSample(c.ID, c.Rate); got != c.In {
			t.Errorf("InSample(%q, %v) = %v, want %v", c.ID, c.Rate, got, c.In)
		}
	}
	t.Logf("%d vectors", len(doc.Cases))
}

// The decision on an event from the stream config, f-test style.
func TestSampleDecision(t *testing.T) {
	const config = `{"streams": {
		"plain": {"schema_title": "t"},
		"all": {"sample": {"rate": 1, "unit": "session"}},
		"none": {"sample": {"rate": 0, "unit": "session"}},
		"half-session": {"sample": {"rate": 0.5, "unit": "session"}},
		"half-pageview": {"sample": {"rate": 0.5, "unit": "pageview"}},
		"half-device": {"sample": {"rate": 0.5, "unit": "device"}},
		"null-sample": {"sample": null},
		"rate-string": {"sample": {"rate": "0.5", "unit": "session"}},
		"rate-above-1": {"sample": {"rate": 1.5, "unit": "session"}},
		"rate-negative": {"sample": {"rate": -0.1, "unit": "session"}},
		"rate-missing": {"sample": {"unit": "session"}},
		"unit-bad": {"sample": {"rate": 0.5, "unit": "user"}},
		"unit-missing": {"sample": {"rate": 0.5}},
		"sample-array": {"sample": [1]},
		"/^re\\.none\\..+$/": {"sample": {"rate": 0, "unit": "device"}},
		"/^re\\..+$/": {"sample": {"rate": 1, "unit": "device"}},
		"re.none.exact": {"sample": {"rate": 1, "unit": "session"}},
		"/(unclosed/": {"sample": {"rate": 0, "unit": "session"}}
	}}`
	sc, err := parseStreamConfig([]byte(config), `"e1"`)
	if err != nil {
		t.Fatal(err)
	}
	c := &Client{}
	c.units.Store(&Units{Session: "00000000aaaa", Pageview: "ffffffffaaaa", Device: "zz"})
	f := func(stream string, units *Units, want sampleVerdict) {
		t.Helper()
		got, serr := c.sample(stream, units)
		if got != want || (got == sampleInvalid) != (serr != nil) {
			t.Fatalf("sample(%q, %+v) = %v, %v; want %v", stream, units, got, serr, want)
		}
	}
	// No config yet: everything goes, the edge answers for it.
	f("none", nil, sampleSend)
	c.streams.Store(sc)
	f("unknown", nil, sampleSend)
	f("", nil, sampleSend)
	f("plain", nil, sampleSend)
	f("null-sample", nil, sampleSend)
	f("all", nil, sampleSend)
	f("none", nil, sampleOut)
	f("half-session", nil, sampleSend) // 00000000 is in any sample above 0
	f("half-pageview", nil, sampleOut) // ffffffff is in no sample below 1
	f("half-device", nil, sampleOut)   // "zz" is not hex: out
	f("half-session", &Units{Session: "ffffffff"}, sampleOut)
	f("half-session", &Units{Device: "ffffffff"}, sampleSend) // the event's empty session falls back to the client's
	f("half-device", &Units{Device: "7fffffff"}, sampleSend)
	for _, s := range []string{"rate-string", "rate-above-1", "rate-negative", "rate-missing", "unit-bad", "unit-missing", "sample-array"} {
		f(s, nil, sampleInvalid)
	}
	// Exact names first, then regexes in config order.
	f("re.none.exact", nil, sampleSend)
	f("re.none.x", nil, sampleOut)
	f("re.other", nil, sampleSend)
	f("re.none.x", nil, sampleOut) // from the lookup cache
	f("(unclosed", nil, sampleSend)
	// Developer mode bypasses sampling.
	c.cfg.devMode = true
	f("none", nil, sampleSend)
	f("rate-string", nil, sampleSend)

	c.cfg.devMode = false
	_, serr := c.sample("unit-bad", nil)
	if serr == nil || !strings.Contains(serr.Error(), `"user"`) || serr.Stream != "unit-bad" {
		t.Fatalf("the error names the stream and the bad value: %v", serr)
	}
}

// Sampled-out events are not sent, and are counted and reported; so are the events of a stream
// whose sample setting is invalid.
func TestSamplingSendAndEnqueue(t *testing.T) {
	fe := newFakeEdge(t, nil)
	fe.streams = func(r *http.Request) (int, map[string]string, string) {
		return 200, map[string]string{"ETag": `"v1"`}, `{"streams":{"in":{"sample":{"rate":1,"unit":"session"}},"out":{"sample":{"rate":0,"unit":"session"}},"bad":{"sample":{"rate":"x","unit":"session"}}}}`
	}
	var mu sync.Mutex
	var errs []Result
	c, _ := newTestClient(t, fe.URL, WithOnError(func(r Result) { mu.Lock(); errs = append(errs, r); mu.Unlock() }))
	if err := c.RefreshStreamConfig(context.Background()); err != nil {
		t.Fatal(err)
	}
	res, err := c.Send(context.Background(), click("in", 1), click("out", 2), click("bad", 3), click("unconfigured", 4))
	if err != nil {
		t.Fatal(err)
	}
	want := []Status{StatusAccepted, StatusSampledOut, StatusSampledOut, StatusAccepted}
	for i, r := range res {
		if r.Status != want[i] {
			t.Fatalf("result %d: %s, want %s", i, r.Status, want[i])
		}
	}
	var sce *SampleConfigError
	if res[1].Err != nil || !errors.As(res[2].Err, &sce) || sce.Stream != "bad" {
		t.Fatalf("errors: %v, %v", res[1].Err, res[2].Err)
	}
	for _, ev := range []any{click("in", 1), click("out", 2), click("bad", 3)} {
		if err := c.Enqueue(ev); err != nil {
			t.Fatal(err)
		}
	}
	mustClose(t, c)
	var sent []string
	for _, r := range fe.requests() {
		for _, ev := range r.events {
			sent = append(sent, ev["meta"].(map[string]any)["stream"].(string))
		}
	}
	if fmt.Sprint(sent) != "[in unconfigured in]" {
		t.Fatalf("sent streams %v", sent)
	}
	s := c.Stats()
	if s.SampledOut != 4 || s.SampleInvalid != 2 || s.Accepted != 3 || s.Enqueued != 1 {
		t.Fatalf("stats %+v", s)
	}
	if len(errs) != 1 || errs[0].Stream != "bad" {
		t.Fatalf("OnError saw %+v, want the enqueued event of the invalid sample setting", errs)
	}
}

// The stream config is polled in the background with If-None-Match; a 304 keeps it, a new
// ETag replaces it; ?streams= filters.
func TestStreamConfigPolling(t *testing.T) {
	var mu sync.Mutex
	version := 1
	var seen []string
	fe := newFakeEdge(t, nil)
	fe.streams = func(r *http.Request) (int, map[string]string, string) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, r.URL.RawQuery+" "+r.Header.Get("If-None-Match"))
		etag := fmt.Sprintf(`"v%d"`, version)
		if r.Header.Get("If-None-Match") == etag {
			return 304, map[string]string{"ETag": etag}, ""
		}
		rate := 0
		if version > 1 {
			rate = 1
		}
		return 200, map[string]string{"ETag": etag}, fmt.Sprintf(`{"streams":{"s":{"sample":{"rate":%d,"unit":"session"}}}}`, rate)
	}
	c, err := New(fe.URL, WithStreamConfigRefresh(5*time.Millisecond), WithStreamConfigStreams("s", "t"), WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer mustClose(t, c)
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	count304 := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, s := range seen {
			if strings.HasSuffix(s, `"v1"`) {
				n++
			}
		}
		return n
	}
	waitFor("three polls answered 304", func() bool { return count304() >= 3 })
	if v, _ := c.sample("s", nil); v != sampleOut {
		t.Fatalf("rate 0 after 304s: %v", v)
	}
	mu.Lock()
	if seen[0] != "streams=s%2Ct " {
		t.Fatalf("first fetch %q, want ?streams=s,t without If-None-Match", seen[0])
	}
	version = 2
	mu.Unlock()
	waitFor("the new config", func() bool { v, _ := c.sample("s", nil); return v == sampleSend })
	if sc := c.streams.Load(); sc.etag != `"v2"` {
		t.Fatalf("etag %q", sc.etag)
	}
}
