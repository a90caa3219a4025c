package client

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"intake.dev/intake/client"
	"intake.dev/intake/internal/edgetest"
)

// Against a real edge and Kafka: Send's verdicts (accepted, invalid with the edge's errors, a
// /regex/ stream), and Enqueue's gzip batches, every meta.id in Kafka exactly once.
func TestEdgeSendAndEnqueue(t *testing.T) {
	e := startEdge(t, edgetest.Options{Partitions: 3})
	c := newTestClient(t, e.URL, client.WithGzip(1024), client.WithBatch(100, 1<<20, 10*time.Millisecond))

	bad := click("example.click", 3)
	bad["button"] = "delete"
	res, err := c.Send(context.Background(), click("example.click", 1), bad, click("example.click.mobile", 2))
	var se *client.SendError
	if !errors.As(err, &se) || se.Invalid != 1 || se.Failed != 0 {
		t.Fatalf("Send: %v", err)
	}
	if res[0].Status != client.StatusAccepted || res[2].Status != client.StatusAccepted || res[1].Status != client.StatusInvalid || res[1].Code != 207 {
		t.Fatalf("results %+v", res)
	}
	if len(res[1].Errors) == 0 || res[1].Errors[0].Keyword != "enum" || !strings.Contains(res[1].Err.Error(), "button") {
		t.Fatalf("the invalid event's errors: %+v, %v", res[1].Errors, res[1].Err)
	}

	want := map[string]bool{res[0].ID: true}
	for i := range 1000 {
		ev, id := clickWithID("example.click", i+10)
		if i%2 == 0 {
			delete(ev["meta"].(map[string]any), "id") // the client gives it one
			id = ""
		}
		b, _ := json.Marshal(ev)
		if err := c.Enqueue(json.RawMessage(b)); err != nil {
			t.Fatal(err)
		}
		if id != "" {
			want[id] = true
		}
	}
	mustClose(t, c)
	if s := c.Stats(); s.Accepted != 1002 || s.Invalid != 1 || s.Failed != 0 || s.Enqueued != 1000 {
		t.Fatalf("stats %+v", s)
	}
	got := consume(t, e.Brokers, "dev.example.click", want, 15*time.Second)
	ids := map[string]int{}
	for _, ev := range got {
		ids[ev.ID]++
		if !edgetest.UUIDv4.MatchString(ev.ID) || ev.DT == "" || ev.MetaDT == "" {
			t.Fatalf("event in Kafka: %+v", ev)
		}
	}
	if len(got) != 1001 || len(ids) != 1001 {
		t.Fatalf("%d events in Kafka (%d distinct ids), want 1001", len(got), len(ids))
	}
}

// The edge restarts while the client enqueues a steady stream: every event reaches Kafka, none is
// lost; duplicates (a request whose answer was lost) are counted and reported.
func TestEdgeRestartMidStream(t *testing.T) {
	const n = 6000
	e1 := startEdge(t, edgetest.Options{Partitions: 3})
	c := newTestClient(t, e1.URL, client.WithBatch(200, 1<<20, 20*time.Millisecond), client.WithRetry(50, 2*time.Minute),
		client.WithBackoff(50*time.Millisecond, time.Second))
	var enqueued atomic.Int32
	ids := make([]string, n)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			ev, id := clickWithID("example.click", i+1)
			ids[i] = id
			if err := c.Enqueue(ev); err != nil {
				t.Errorf("Enqueue %d: %s", i, err)
				return
			}
			enqueued.Add(1)
			if i%25 == 24 {
				time.Sleep(10 * time.Millisecond) // about 2000 events/s for 3 s
			}
		}
	}()
	for enqueued.Load() < n/5 {
		time.Sleep(time.Millisecond)
	}
	stoppedAt := enqueued.Load()
	t0 := time.Now()
	e1.Stop()
	t.Logf("edge stopped in %s", time.Since(t0))
	time.Sleep(1500 * time.Millisecond)
	restartedAt := enqueued.Load()
	e2 := startEdge(t, edgetest.Options{Brokers: e1.Brokers, Addr: e1.Addr})
	if e2.URL != e1.URL {
		t.Fatalf("the new edge is at %s, not %s", e2.URL, e1.URL)
	}
	t0 = time.Now()
	<-done
	t.Logf("enqueue done %s after restart", time.Since(t0))
	t0 = time.Now()
	mustClose(t, c)
	t.Logf("closed in %s", time.Since(t0))
	s := c.Stats()
	t.Logf("edge stopped after %d events enqueued, restarted after %d; stats %+v", stoppedAt, restartedAt, s)
	if s.Accepted != n || s.Failed != 0 || s.DroppedFull != 0 || s.Retried == 0 {
		t.Fatalf("stats %+v: want %d accepted, none failed or dropped, and retries", s, n)
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	got := consume(t, e1.Brokers, "dev.example.click", want, 30*time.Second)
	count := map[string]int{}
	for _, ev := range got {
		count[ev.ID]++
	}
	dups := 0
	for id, k := range count {
		if !want[id] {
			t.Fatalf("Kafka has an event the test never sent: %s", id)
		}
		dups += k - 1
	}
	t.Logf("%d events in Kafka for %d sent: %d distinct, %d duplicates, 0 lost", len(got), n, len(count), dups)
}

// Developer mode against the real edge: an invalid event's errors come back from Enqueue and go
// to the logger; an event out of sample is sent (a stream sampled at rate 0 gets its event, which
// a normal client drops), one of a stream with an invalid sample setting is not, and Enqueue says
// why; Send returns the event as produced.
func TestEdgeDeveloperMode(t *testing.T) {
	e := startEdge(t, edgetest.Options{StreamConfig: clientStreams(), Partitions: 1})
	var logs edgetest.SyncBuffer
	dev, err := client.New(e.URL, client.WithDeveloperMode(true), client.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer mustClose(t, dev)

	bad := click("example.click", 0)
	bad["button"] = "delete"
	err = dev.Enqueue(bad)
	var ie *client.InvalidError
	if !errors.As(err, &ie) || ie.Code != 400 || len(ie.Errors) < 2 {
		t.Fatalf("Enqueue of an invalid event in developer mode: %v", err)
	}
	text := err.Error()
	if !strings.Contains(text, "button") || !strings.Contains(text, "page") {
		t.Fatalf("the error should name both faults: %s", text)
	}
	if l := logs.String(); !strings.Contains(l, "rejected as invalid") || !strings.Contains(l, "button") {
		t.Fatalf("developer mode logs every invalid event with its errors; got %q", l)
	}

	res, err := dev.Send(context.Background(), click("example.click", 5))
	if err != nil || res[0].Topic != "dev.example.click" || !strings.Contains(string(res[0].Event), `"count":1`) ||
		!strings.Contains(string(res[0].Event), `"dt":"`) {
		t.Fatalf("developer mode Send: %v, %+v (want the event as produced: default count, meta.dt)", err, res)
	}

	never, devID := clickWithID("example.click.never", 7)
	if err := dev.Enqueue(never); err != nil {
		t.Fatalf("developer mode must bypass sampling: %v", err)
	}
	badSample, _ := clickWithID("example.click.badsample", 8)
	err = dev.Enqueue(badSample)
	var sce *client.SampleConfigError
	if !errors.As(err, &sce) || !strings.Contains(err.Error(), "sample.rate 2 is not a number in [0, 1]") {
		t.Fatalf("developer mode sends nothing for an invalid sample setting, and says why: %v", err)
	}

	normal := newTestClient(t, e.URL)
	if err := normal.RefreshStreamConfig(context.Background()); err != nil {
		t.Fatal(err)
	}
	sampled, sampledID := clickWithID("example.click.never", 9)
	if err := normal.Enqueue(sampled); err != nil {
		t.Fatal(err)
	}
	mustClose(t, normal)
	if s := normal.Stats(); s.SampledOut != 1 || s.Requests != 0 {
		t.Fatalf("a normal client's stats %+v: its event of a rate-0 stream must be sampled out", s)
	}
	got := consume(t, e.Brokers, "dev.example.click.never", map[string]bool{devID: true}, 15*time.Second)
	for _, ev := range got {
		if ev.ID == sampledID {
			t.Fatal("the sampled-out event reached Kafka")
		}
	}
	if len(got) != 1 {
		t.Fatalf("dev.example.click.never has %d events, want 1", len(got))
	}
	if s := dev.Stats(); s.SampleInvalid != 1 {
		t.Fatalf("developer mode's stats %+v: the event of the invalid sample setting is counted", s)
	}
}

// A stream the edge's configuration does not list: its events are not sent (Metrics Platform's
// clients send nothing for it; this client used to send everything), and developer mode says why.
// The edge's request counter shows that nothing was posted for them.
func TestEdgeStreamNotConfigured(t *testing.T) {
	e := startEdge(t, edgetest.Options{StreamConfig: clientStreams(), Partitions: 1})
	var mu sync.Mutex
	var notSent []client.Result
	// The background fetch only: the events below are enqueued right after New, loaded or not
	// (client/sampling_test.go holds the configuration back to show the wait).
	c := newTestClient(t, e.URL, client.WithStreamConfigRefresh(time.Minute), client.WithOnError(func(r client.Result) {
		mu.Lock()
		notSent = append(notSent, r)
		mu.Unlock()
	}))
	before := eventRequests(t, e)
	missing, missingID := clickWithID("example.missing", 1)
	kept, keptID := clickWithID("example.click", 2)
	for _, ev := range []any{missing, kept} {
		if err := c.Enqueue(ev); err != nil {
			t.Fatal(err)
		}
	}
	res, err := c.Send(context.Background(), click("example.missing", 3))
	var nce *client.StreamNotConfiguredError
	if err != nil || res[0].Status != client.StatusSampledOut || !errors.As(res[0].Err, &nce) || nce.Stream != "example.missing" {
		t.Fatalf("Send: %v %+v", err, res)
	}
	mustClose(t, c)
	if len(notSent) != 1 || notSent[0].ID != missingID || !errors.As(notSent[0].Err, &nce) {
		t.Fatalf("OnError saw %+v, want the enqueued event of example.missing", notSent)
	}
	if s := c.Stats(); s.NotConfigured != 2 || s.Sent != 1 || s.Accepted != 1 || s.Requests != 1 {
		t.Fatalf("stats %+v: want the example.click event alone sent", s)
	}
	if n := eventRequests(t, e) - before; n != 1 {
		t.Fatalf("the edge got %d POST /v1/events, want 1 (example.click's)", n)
	}
	consume(t, e.Brokers, "dev.example.click", map[string]bool{keptID: true}, 15*time.Second)

	var logs edgetest.SyncBuffer
	dev, err := client.New(e.URL, client.WithDeveloperMode(true), client.WithLogger(slogTo(&logs)))
	if err != nil {
		t.Fatal(err)
	}
	defer mustClose(t, dev)
	before = eventRequests(t, e)
	err = dev.Enqueue(click("example.missing", 4))
	if !errors.As(err, &nce) || err.Error() != `intake client: stream "example.missing" is not in the stream configuration (GET /v1/streams); its events are not sent` {
		t.Fatalf("developer mode's Enqueue says why the event was not sent: %v", err)
	}
	if l := logs.String(); !strings.Contains(l, "event not sent: its stream is not in the stream configuration") || !strings.Contains(l, "stream=example.missing") {
		t.Fatalf("developer mode logs why: %q", l)
	}
	if n := eventRequests(t, e) - before; n != 0 {
		t.Fatalf("the edge got %d POST /v1/events in developer mode, want none", n)
	}
}

// eventRequests is how many POST /v1/events the edge has answered, from its /metrics.
func eventRequests(t *testing.T, e *edgetest.Edge) int {
	t.Helper()
	r := e.Get("/metrics")
	if r.Code != 200 {
		t.Fatalf("GET /metrics: %d", r.Code)
	}
	n := 0
	for _, line := range strings.Split(string(r.Body), "\n") {
		name, value, ok := strings.Cut(line, " ")
		if !ok || !strings.HasPrefix(name, `intake_http_requests_total{route="events",`) {
			continue
		}
		v, err := strconv.Atoi(value)
		if err != nil {
			t.Fatalf("metrics line %q", line)
		}
		n += v
	}
	return n
}

// Sampling by the real edge's GET /v1/streams: a /regex/ stream sampled at 0.5 by device, the
// client's device id and a client.UnitEvent's.
func TestEdgeSampling(t *testing.T) {
	e := startEdge(t, edgetest.Options{StreamConfig: clientStreams(), Partitions: 1})
	var mu sync.Mutex
	var sampledOut []string
	c := newTestClient(t, e.URL, client.WithDeviceID("ffffffff0000"), client.WithStreamConfigRefresh(time.Minute),
		client.WithOnResult(func(r client.Result) {
			if r.Status == client.StatusSampledOut {
				mu.Lock()
				sampledOut = append(sampledOut, r.ID)
				mu.Unlock()
			}
		}))
	if err := c.RefreshStreamConfig(context.Background()); err != nil {
		t.Fatal(err)
	}
	out, outID := clickWithID("example.click.device.a", 1)
	in, inID := clickWithID("example.click.device.a", 2)
	c.Enqueue(out)
	c.Enqueue(client.UnitEvent{Event: in, Units: client.Units{Device: "00000001abcd"}})
	res, err := c.Send(context.Background(), client.UnitEvent{Event: click("example.click.device.a", 3), Units: client.Units{Device: "7fffffff"}},
		click("example.click.device.a", 4), click("example.click.badsample", 5))
	if err != nil || res[0].Status != client.StatusAccepted || res[1].Status != client.StatusSampledOut || res[2].Status != client.StatusSampledOut || res[2].Err == nil {
		t.Fatalf("Send: %v %+v", err, res)
	}
	mustClose(t, c)
	if len(sampledOut) != 1 || sampledOut[0] != outID {
		t.Fatalf("sampled out %v, want [%s]", sampledOut, outID)
	}
	got := consume(t, e.Brokers, "dev.example.click.device.a", map[string]bool{inID: true, res[0].ID: true}, 15*time.Second)
	if len(got) != 2 {
		t.Fatalf("%d events in Kafka, want the 2 in sample: %+v", len(got), got)
	}
}
