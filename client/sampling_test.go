package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Every shared sampling vector (the browser client runs the same file): the unit id at a rate,
// and the whole rule on an event by a stream configuration, in and out of developer mode.
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
		Decisions struct {
			Units   map[string]string          `json:"units"`
			Configs map[string]json.RawMessage `json:"configs"` // raw: /regex/ names keep their order
			Cases   []struct {
				Config    string            `json:"config"`
				Stream    string            `json:"stream"`
				Units     map[string]string `json:"units"`
				Verdict   string            `json:"verdict"`
				Developer string            `json:"developer"`
			} `json:"cases"`
		} `json:"decisions"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Cases) < 100 || len(doc.Decisions.Cases) < 40 {
		t.Fatalf("only %d vectors and %d decisions", len(doc.Cases), len(doc.Decisions.Cases))
	}
	for _, c := range doc.Cases {
		if got := InSample(c.ID, c.Rate); got != c.In {
			t.Errorf("InSample(%q, %v) = %v, want %v", c.ID, c.Rate, got, c.In)
		}
	}

	names := map[sampleVerdict]string{sampleSend: "send", sampleOut: "out", sampleInvalid: "invalid",
		sampleUnconfigured: "unconfigured", sampleNoConfig: "no-config"}
	configs := map[string]*streamConfig{}
	for name, raw := range doc.Decisions.Configs {
		sc, err := parseStreamConfig([]byte(`{"streams":`+string(raw)+`}`), "")
		if err != nil {
			t.Fatalf("config %s: %s", name, err)
		}
		configs[name] = sc
	}
	u := doc.Decisions.Units
	seen := map[string]bool{}
	for _, dc := range doc.Decisions.Cases {
		for _, dev := range []bool{false, true} {
			c := &Client{}
			c.cfg.devMode = dev
			c.units.Store(&Units{Session: u["session"], Pageview: u["pageview"], Device: u["device"]})
			switch dc.Config {
			case "off":
				c.cfg.streamsRefresh = -1
			case "unloaded":
			default:
				if configs[dc.Config] == nil {
					t.Fatalf("no config %q", dc.Config)
				}
				c.streams.Store(configs[dc.Config])
			}
			var ev *Units // the case's units, as a UnitEvent's: the others fall back to the client's
			if dc.Units != nil {
				ev = &Units{Session: dc.Units["session"], Pageview: dc.Units["pageview"], Device: dc.Units["device"]}
			}
			want := dc.Verdict
			if dev {
				want = dc.Developer
			}
			v, err := c.sample(dc.Stream, ev)
			got := names[v]
			seen[got] = true
			if got != want {
				t.Errorf("%s %q %v (developer mode %v): %s, want %s", dc.Config, dc.Stream, dc.Units, dev, got, want)
			}
			var sce *SampleConfigError
			var nce *StreamNotConfiguredError
			switch {
			case v == sampleInvalid && !errors.As(err, &sce),
				v == sampleUnconfigured && (!errors.As(err, &nce) || nce.Stream != dc.Stream),
				v != sampleInvalid && v != sampleUnconfigured && err != nil:
				t.Errorf("%s %q: verdict %s with error %v", dc.Config, dc.Stream, got, err)
			}
		}
	}
	if len(seen) != len(names) {
		t.Fatalf("the decisions cover verdicts %v, not all of %v", seen, names)
	}
	t.Logf("%d vectors, %d decisions", len(doc.Cases), len(doc.Decisions.Cases))
}

// What the vectors cannot show: the regex lookup cache, the words of the errors.
func TestSampleDecision(t *testing.T) {
	const config = `{"streams": {
		"half-session": {"sample": {"rate": 0.5, "unit": "session"}},
		"unit-bad": {"sample": {"rate": 0.5, "unit": "user"}},
		"rate-bad": {"sample": {"rate": "0.5", "unit": "session"}},
		"/^re\\.none\\..+$/": {"sample": {"rate": 0, "unit": "device"}},
		"/^re\\..+$/": {"sample": {"rate": 1, "unit": "device"}}
	}}`
	sc, err := parseStreamConfig([]byte(config), `"e1"`)
	if err != nil {
		t.Fatal(err)
	}
	c := &Client{}
	c.units.Store(&Units{Session: "ffffffffaaaa", Device: "00000000"})
	c.streams.Store(sc)
	f := func(stream string, units *Units, want sampleVerdict) {
		t.Helper()
		if got, _ := c.sample(stream, units); got != want {
			t.Fatalf("sample(%q, %+v) = %v, want %v", stream, units, got, want)
		}
	}
	f("half-session", nil, sampleOut)
	f("half-session", &Units{Session: "00000000"}, sampleSend)
	f("half-session", &Units{Device: "00000000"}, sampleOut) // the event's empty session falls back to the client's
	for range 2 {                                            // the second time from the lookup cache
		f("re.none.x", nil, sampleOut)
		f("re.other", nil, sampleSend)
		f("other", nil, sampleUnconfigured)
	}
	if _, ok := sc.resolved.Load("other"); !ok {
		t.Fatal("a name no pattern matches is remembered too")
	}

	_, err = c.sample("unit-bad", nil)
	if err == nil || !strings.Contains(err.Error(), `"user"`) || !strings.Contains(err.Error(), `stream "unit-bad"`) {
		t.Fatalf("the error names the stream and the bad value: %v", err)
	}
	_, err = c.sample("rate-bad", nil)
	if err == nil || !strings.Contains(err.Error(), `sample.rate "0.5" is not a number in [0, 1]`) {
		t.Fatalf("the error names the bad rate: %v", err)
	}
	_, err = c.sample("missing", nil)
	if err == nil || err.Error() != `intake client: stream "missing" is not in the stream configuration (GET /v1/streams); its events are not sent` {
		t.Fatalf("the error of a stream not configured: %v", err)
	}
}

// Sent or not, by the stream configuration, through Send and Enqueue: events out of sample, of a
// stream with an invalid sample setting, and of a stream the configuration does not list are not
// sent, and are counted and reported.
func TestSamplingSendAndEnqueue(t *testing.T) {
	fe := newFakeEdge(t, nil)
	fe.streams = func(r *http.Request) (int, map[string]string, string) {
		return 200, map[string]string{"ETag": `"v1"`}, `{"streams":{"in":{"sample":{"rate":1,"unit":"session"}},"out":{"sample":{"rate":0,"unit":"session"}},"bad":{"sample":{"rate":"x","unit":"session"}},"plain":{}}}`
	}
	var mu sync.Mutex
	var errs []Result
	var logs syncBuffer
	c, _ := newTestClient(t, fe.URL, WithOnError(func(r Result) { mu.Lock(); errs = append(errs, r); mu.Unlock() }),
		WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err := c.RefreshStreamConfig(context.Background()); err != nil {
		t.Fatal(err)
	}
	res, err := c.Send(context.Background(), click("in", 1), click("out", 2), click("bad", 3), click("unconfigured", 4), click("plain", 5))
	if err != nil {
		t.Fatal(err)
	}
	want := []Status{StatusAccepted, StatusSampledOut, StatusSampledOut, StatusSampledOut, StatusAccepted}
	for i, r := range res {
		if r.Status != want[i] {
			t.Fatalf("result %d: %s, want %s", i, r.Status, want[i])
		}
	}
	var sce *SampleConfigError
	var nce *StreamNotConfiguredError
	if res[1].Err != nil || !errors.As(res[2].Err, &sce) || sce.Stream != "bad" || !errors.As(res[3].Err, &nce) || nce.Stream != "unconfigured" {
		t.Fatalf("errors: %v, %v, %v", res[1].Err, res[2].Err, res[3].Err)
	}
	for _, ev := range []any{click("in", 1), click("out", 2), click("bad", 3), click("unconfigured", 4)} {
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
	if fmt.Sprint(sent) != "[in plain in]" {
		t.Fatalf("sent streams %v", sent)
	}
	s := c.Stats()
	if s.SampledOut != 6 || s.SampleInvalid != 2 || s.NotConfigured != 2 || s.Accepted != 3 || s.Enqueued != 1 {
		t.Fatalf("stats %+v", s)
	}
	if len(errs) != 2 || errs[0].Stream != "bad" || errs[1].Stream != "unconfigured" {
		t.Fatalf("OnError saw %+v, want the enqueued events of the invalid sample setting and of the stream not configured", errs)
	}
	if l := logs.String(); !strings.Contains(l, "its stream is not in the stream configuration") || !strings.Contains(l, "stream=unconfigured") {
		t.Fatalf("the stream not configured is logged: %s", l)
	}
}

// Events handed to the client before the stream configuration arrives wait for it and are then
// decided by it, as Metrics Platform's clients queue them: Send waits, Enqueue queues them (in
// memory and in a spool) and the sender decides. Before, the client sent them all unsampled.
func TestSamplingWaitsForTheConfig(t *testing.T) {
	for _, spool := range []bool{false, true} {
		t.Run(fmt.Sprintf("spool=%v", spool), func(t *testing.T) {
			release := make(chan struct{})
			asked := make(chan struct{}, 10)
			fe := newFakeEdge(t, nil)
			fe.streams = func(r *http.Request) (int, map[string]string, string) {
				asked <- struct{}{}
				<-release
				return 200, nil, `{"streams":{"in":{"sample":{"rate":1,"unit":"session"}},"out":{"sample":{"rate":0,"unit":"session"}},"half":{"sample":{"rate":0.5,"unit":"device"}}}}`
			}
			var mu sync.Mutex
			got := map[string]Status{}
			opts := []Option{WithStreamConfigRefresh(time.Hour), WithBatch(1, 1<<20, time.Millisecond), WithDeviceID("ffffffff"),
				WithOnResult(func(r Result) { mu.Lock(); got[r.ID] = r.Status; mu.Unlock() })}
			if spool {
				opts = append(opts, WithSpool(t.TempDir()))
			}
			c, _ := newTestClient(t, fe.URL, opts...)
			<-asked // the poller's fetch is on its way, and waits
			ids := map[string]string{}
			for _, s := range []string{"in", "out", "unknown", "half"} {
				ev, id := clickWithID(s, 1)
				if err := c.Enqueue(ev); err != nil {
					t.Fatal(err)
				}
				ids[s] = id
			}
			evIn, idIn := clickWithID("half", 2)
			if err := c.Enqueue(UnitEvent{Event: evIn, Units: Units{Device: "00000000"}}); err != nil {
				t.Fatal(err)
			}
			sent := make(chan []Result)
			go func() {
				res, _ := c.Send(context.Background(), click("in", 3), click("out", 4), click("unknown", 5))
				sent <- res
			}()
			close(release)
			res := <-sent
			if res[0].Status != StatusAccepted || res[1].Status != StatusSampledOut || res[2].Status != StatusSampledOut {
				t.Fatalf("Send before the config: %s %s %s, want accepted, sampled-out, sampled-out", res[0].Status, res[1].Status, res[2].Status)
			}
			if err := c.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			want := map[string]Status{ids["in"]: StatusAccepted, ids["out"]: StatusSampledOut, ids["unknown"]: StatusSampledOut,
				ids["half"]: StatusSampledOut, idIn: StatusAccepted}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("results %v, want %v", got, want)
			}
			var posted []string
			for _, r := range fe.requests() {
				posted = append(posted, r.ids()...)
			}
			if len(posted) != 3 || !slices.Contains(posted, ids["in"]) || !slices.Contains(posted, idIn) {
				t.Fatalf("posted %v, want the in-sample events only", posted)
			}
			if s := c.Stats(); s.NotConfigured != 2 || s.SampledOut != 5 || s.Accepted != 3 {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

// An edge without GET /v1/streams (404): nothing to sample by, so nothing is sent. Send fails at
// once; an enqueued event fails when its batch is due; with a spool it stays on disk, and a later
// client that gets the configuration decides it. WithStreamConfigRefresh(-1) sends unsampled.
func TestSamplingWithoutConfig(t *testing.T) {
	var streams atomic.Int32
	fe := newFakeEdge(t, nil)
	fe.streams = func(r *http.Request) (int, map[string]string, string) {
		if streams.Load() == 0 {
			return 404, nil, `{"status":404,"message":"not found"}`
		}
		return 200, nil, `{"streams":{"in":{},"out":{"sample":{"rate":0,"unit":"session"}}}}`
	}
	c, _ := newTestClient(t, fe.URL, WithStreamConfigRefresh(time.Hour))
	res, err := c.Send(context.Background(), click("in", 1))
	var se *SendError
	var he *HTTPError
	if !errors.As(err, &se) || se.Failed != 1 || res[0].Status != StatusFailed || !errors.Is(res[0].Err, ErrNoStreamConfig) ||
		!errors.As(res[0].Err, &he) || he.Code != 404 {
		t.Fatalf("Send without a config: %v, %+v", err, res)
	}
	if !strings.Contains(res[0].Err.Error(), "WithStreamConfigRefresh(-1)") {
		t.Fatalf("the error names the option that sends without a config: %s", res[0].Err)
	}
	var failed atomic.Int32
	c2, _ := newTestClient(t, fe.URL, WithStreamConfigRefresh(time.Hour), WithOnError(func(r Result) {
		if r.Status == StatusFailed && errors.Is(r.Err, ErrNoStreamConfig) {
			failed.Add(1)
		}
	}))
	if err := c2.Enqueue(click("in", 2)); err != nil {
		t.Fatal(err)
	}
	mustClose(t, c2)
	if failed.Load() != 1 || len(fe.requests()) != 0 {
		t.Fatalf("%d enqueued events failed for want of a config, %d requests", failed.Load(), len(fe.requests()))
	}

	dir := t.TempDir()
	c3, _ := newTestClient(t, fe.URL, WithStreamConfigRefresh(time.Hour), WithSpool(dir))
	inEv, inID := clickWithID("in", 3)
	for _, ev := range []any{inEv, click("out", 4)} {
		if err := c3.Enqueue(ev); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := c3.Close(ctx); err == nil || !strings.Contains(err.Error(), "2 events stay in the spool") {
		t.Fatalf("Close with the events waiting for a config: %v", err)
	}
	streams.Store(1)
	c4, _ := newTestClient(t, fe.URL, WithStreamConfigRefresh(time.Hour), WithSpool(dir))
	mustClose(t, c4)
	if s := c4.Stats(); s.Recovered != 2 || s.Accepted != 1 || s.SampledOut != 1 {
		t.Fatalf("the next client's stats %+v: the spooled events decided by its config", s)
	}
	if reqs := fe.requests(); len(reqs) != 1 || fmt.Sprint(reqs[0].ids()) != "["+inID+"]" {
		t.Fatalf("requests %+v", reqs)
	}

	off, _ := newTestClient(t, fe.URL) // WithStreamConfigRefresh(-1)
	if res, err := off.Send(context.Background(), click("anything", 5)); err != nil || res[0].Status != StatusAccepted {
		t.Fatalf("without sampling: %v %+v", err, res)
	}
}

// Developer mode sends an event out of sample, and says why it does not send the others: a stream
// not in the stream configuration, an invalid sample setting.
func TestSamplingDeveloperMode(t *testing.T) {
	fe := newFakeEdge(t, func(n int, r fakeReq) (int, map[string]string, string) {
		return 200, nil, `{"events":[{"index":0,"status":"accepted","topic":"dev.out","event":{}}]}`
	})
	fe.streams = func(r *http.Request) (int, map[string]string, string) {
		return 200, nil, `{"streams":{"out":{"sample":{"rate":0,"unit":"session"}},"bad":{"sample":{"rate":2,"unit":"session"}}}}`
	}
	var logs syncBuffer
	c, _ := newTestClient(t, fe.URL, WithDeveloperMode(true), WithStreamConfigRefresh(time.Hour),
		WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err := c.Enqueue(click("out", 1)); err != nil {
		t.Fatalf("developer mode sends an event out of sample: %v", err)
	}
	err := c.Enqueue(click("missing", 2))
	var nce *StreamNotConfiguredError
	if !errors.As(err, &nce) || nce.Stream != "missing" || !strings.Contains(err.Error(), "not in the stream configuration") {
		t.Fatalf("Enqueue of a stream not configured: %v", err)
	}
	err = c.Enqueue(click("bad", 3))
	var sce *SampleConfigError
	if !errors.As(err, &sce) || !strings.Contains(err.Error(), "sample.rate 2 is not a number in [0, 1]") {
		t.Fatalf("Enqueue of a stream with an invalid sample: %v", err)
	}
	reqs := fe.requests()
	if len(reqs) != 1 || reqs[0].query != "debug=true" || reqs[0].events[0]["meta"].(map[string]any)["stream"] != "out" {
		t.Fatalf("requests %+v, want the out-of-sample event alone", reqs)
	}
	l := logs.String()
	for _, want := range []string{`"intake client: event not sent: its stream is not in the stream configuration" stream=missing`,
		`"intake client: event not sent: its stream's sample setting is invalid" stream=bad`} {
		if !strings.Contains(l, want) {
			t.Fatalf("developer mode logs %q; got\n%s", want, l)
		}
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
