package canary_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"intake.dev/intake/canary"
	"intake.dev/intake/internal/edgetest"
)

// canaryEnabledStreams are the production config's streams with canary_events_enabled.
func canaryEnabledStreams(t *testing.T) map[string]bool {
	t.Helper()
	var cfg struct {
		Streams map[string]struct {
			Canary bool `json:"canary_events_enabled"`
		} `json:"streams"`
	}
	b, err := os.ReadFile(edgetest.SharedData("streamconfig.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for name, s := range cfg.Streams {
		if s.Canary {
			names[name] = true
		}
	}
	return names
}

func newProber(t *testing.T, url string, streams ...string) *canary.Prober {
	t.Helper()
	cfg := canary.DefaultConfig()
	cfg.URL = url
	cfg.Streams = streams
	cfg.Cache = edgetest.CacheConfig(edgetest.RealData())
	p, err := canary.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// Every canary-enabled production stream whose schema is in ../shared/data gets a canary through
// an edge on the production config into Kafka, where it is read back marked meta.domain
// "canary". The streams that cannot get one are counted by reason; each must be one the canary
// could not build (no schema, no example) or whose example fails the edge's checks, never one
// the edge refused or lost.
func TestEveryProductionStreamGetsItsCanary(t *testing.T) {
	e := edgetest.Start(t, edgetest.RealData())
	enabled := canaryEnabledStreams(t)
	p := newProber(t, e.URL)
	results := p.Round(context.Background())

	if len(results) != len(enabled) {
		t.Fatalf("%d results, want one per canary-enabled stream (%d)", len(results), len(enabled))
	}
	byOutcome := map[canary.Outcome][]string{}
	ok := map[string]canary.Result{} // by meta.id
	snap := e.Cache.Current()
	topics := map[string]bool{}
	for _, r := range results {
		if !enabled[r.Stream] {
			t.Errorf("stream %s got a canary but is not canary-enabled", r.Stream)
		}
		byOutcome[r.Outcome] = append(byOutcome[r.Outcome], r.Stream)
		switch r.Outcome {
		case canary.OK:
			ok[r.ID] = r
			topics[snap.Stream([]byte(r.Stream)).Topic] = true
		case canary.NoSchema:
			// Only a schema that is really missing from the repositories.
			title := snap.Stream([]byte(r.Stream)).SchemaTitle
			for _, repo := range []string{"primary", "secondary"} {
				if _, err := os.Stat(edgetest.SharedData("schemas", repo, "jsonschema", title)); err == nil {
					t.Errorf("%s: no_schema, but %s has %s: %s", r.Stream, repo, title, r.Reason)
				}
			}
			t.Logf("%s: %s: %s", r.Stream, r.Outcome, r.Reason)
		case canary.NoExample, canary.ExampleInvalid:
			t.Logf("%s: %s: %s", r.Stream, r.Outcome, r.Reason)
		default:
			t.Errorf("%s: %s (%d): %s", r.Stream, r.Outcome, r.Status, r.Reason)
		}
	}
	var summary []string
	for o, names := range byOutcome {
		summary = append(summary, fmt.Sprintf("%s %d", o, len(names)))
	}
	sort.Strings(summary)
	t.Logf("%d canary-enabled streams: %s; %d could not get a canary", len(enabled), strings.Join(summary, ", "),
		len(enabled)-len(byOutcome[canary.OK]))
	// Streams whose schema is in the repositories all have examples today: a stream that loses its
	// canary to a change in the data or the edge shows up here first.
	if len(byOutcome[canary.OK]) == 0 {
		t.Fatal("no stream got its canary")
	}

	// Read every topic back until every accepted canary is found.
	var names []string
	for tp := range topics {
		names = append(names, tp)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.Brokers...), kgo.ConsumeTopics(names...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	found := map[string]bool{}
	deadline := time.Now().Add(60 * time.Second)
	for len(found) < len(ok) && time.Now().Before(deadline) {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		cl.PollFetches(ctx).EachRecord(func(rec *kgo.Record) {
			ev := edgetest.MustJSON(t, rec.Value)
			id, _ := edgetest.Field(ev, "meta.id").(string)
			r, mine := ok[id]
			if !mine {
				t.Errorf("topic %s: a record that is no canary of this test: %s", rec.Topic, rec.Value)
				return
			}
			if got := edgetest.Field(ev, "meta.domain"); got != canary.Domain {
				t.Errorf("%s: meta.domain %v, want %q", r.Stream, got, canary.Domain)
			}
			if got := edgetest.Field(ev, "meta.stream"); got != r.Stream {
				t.Errorf("%s: meta.stream %v", r.Stream, got)
			}
			if want := snap.Stream([]byte(r.Stream)).Topic; rec.Topic != want {
				t.Errorf("%s: in topic %s, want %s", r.Stream, rec.Topic, want)
			}
			if found[id] {
				t.Errorf("%s: canary %s read twice", r.Stream, id)
			}
			found[id] = true
		})
		cancel()
	}
	for id, r := range ok {
		if !found[id] {
			t.Errorf("%s: the edge answered 201 but its canary %s is not in Kafka", r.Stream, id)
		}
	}
	t.Logf("%d canaries read back from %d topics", len(found), len(names))
}

// A canary is the schema's first example with the canary's own meta, dt and $schema; fields the
// schema does not declare are not added.
func TestBuild(t *testing.T) {
	p := newProber(t, "http://127.0.0.1:1")
	f := func(stream string, wantDT bool) {
		t.Helper()
		var res canary.Result
		st := p.Stream(stream)
		if st == nil {
			t.Fatalf("no stream %s", stream)
		}
		now := time.Date(2026, 12, 6, 5, 0, 0, 123e6, time.UTC)
		body, err := p.Build(st, now, &res)
		if err != nil {
			t.Fatalf("%s: %v", stream, err)
		}
		ev := edgetest.MustJSON(t, body)
		for path, want := range map[string]any{
			"meta.domain": "canary", "meta.stream": stream, "meta.dt": "2026-12-06T05:00:00.123Z",
			"meta.id": res.ID, "$schema": res.Schema,
		} {
			if got := edgetest.Field(ev, path); got != want {
				t.Errorf("%s: %s = %v, want %v", stream, path, got, want)
			}
		}
		if !edgetest.UUIDv4.MatchString(res.ID) {
			t.Errorf("%s: meta.id %q is no UUID v4", stream, res.ID)
		}
		dt, hasDT := ev["dt"]
		if hasDT != wantDT || (wantDT && dt != "2026-12-06T05:00:00.123Z") {
			t.Errorf("%s: dt %v (present %v), want present %v and now", stream, dt, hasDT, wantDT)
		}
	}
	f("mediawiki.revision-create", true)
	f("mediawiki.client.error", false) // its schema declares no dt
}

// Named streams: a /regex/ one is skipped, an unknown one fails, a name the regex matches gets its
// canary; the edge's refusal and an edge that is gone are reported with their reason.
func TestNamedStreamsAndAnswers(t *testing.T) {
	e := edgetest.Start(t, edgetest.RealData())
	f := func(url, stream string, want canary.Outcome, reason string) {
		t.Helper()
		rs := newProber(t, url, stream).Round(context.Background())
		if len(rs) != 1 || rs[0].Outcome != want || !strings.Contains(rs[0].Reason, reason) {
			t.Fatalf("%s: got %+v, want %s with %q", stream, rs, want, reason)
		}
	}
	f(e.URL, "/^mediawiki\\.job\\..+/", canary.Skipped, "regex")
	f(e.URL, "no.such.stream", canary.UnknownStream, "configures no stream")
	f(e.URL, "mediawiki.revision-create", canary.OK, "")
	f("http://127.0.0.1:1", "mediawiki.revision-create", canary.PostFailed, "connection refused")

	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(403)
		w.Write([]byte(`{"invalid":[{"status":"invalid","event":null,"context":{"message":"stream is not allowed here"}}],"error":[]}`))
	}))
	defer refusing.Close()
	f(refusing.URL, "mediawiki.revision-create", canary.Refused, "stream is not allowed here")
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(503)
		w.Write([]byte(`{"invalid":[],"error":[{"status":"error","event":null,"context":{"message":"Kafka did not acknowledge"}}]}`))
	}))
	defer down.Close()
	f(down.URL, "mediawiki.revision-create", canary.Unavailable, "Kafka did not acknowledge")
}

// An edge run with --service-name refuses the streams of the other services: their canaries are
// refused with the edge's reason (403), and a canary run with the same service name sends only
// to the edge's own streams, all accepted but those whose schema is missing.
func TestServiceName(t *testing.T) {
	const service = "eventgate-main"
	o := edgetest.RealData()
	o.ServiceName = service
	e := edgetest.Start(t, o)

	all := newProber(t, e.URL).Round(context.Background())
	refused := 0
	for _, r := range all {
		st := e.Cache.Current().Stream([]byte(r.Stream))
		switch {
		case r.Outcome == canary.NoSchema:
		case st.DestinationService == service && r.Outcome != canary.OK:
			t.Errorf("%s: %s (%d) %s, want ok", r.Stream, r.Outcome, r.Status, r.Reason)
		case st.DestinationService != service:
			if r.Outcome != canary.Refused || r.Status != 403 || !strings.Contains(r.Reason, service) {
				t.Errorf("%s (destination %q): %s (%d) %q, want refused 403 naming %s", r.Stream, st.DestinationService, r.Outcome, r.Status, r.Reason, service)
			}
			refused++
		}
	}
	if refused == 0 {
		t.Fatal("no stream was refused")
	}

	cfg := canary.DefaultConfig()
	cfg.URL = e.URL
	cfg.ServiceName = service
	cfg.Cache = edgetest.CacheConfig(edgetest.RealData())
	p, err := canary.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	mine := p.Round(context.Background())
	ok := 0
	for _, r := range mine {
		if st := e.Cache.Current().Stream([]byte(r.Stream)); st.DestinationService != service {
			t.Errorf("%s: destination %q, not %s", r.Stream, st.DestinationService, service)
		}
		switch r.Outcome {
		case canary.OK:
			ok++
		case canary.NoSchema:
		default:
			t.Errorf("%s: %s (%d) %s", r.Stream, r.Outcome, r.Status, r.Reason)
		}
	}
	t.Logf("edge --service-name %s: %d canary-enabled streams refused; with the same --service-name, %d streams, %d ok",
		service, refused, len(mine), ok)
}

// writeSchema writes a schema as <title>/1.0.0.yaml and <title>/latest.yaml under dir (JSON is
// YAML), with the properties and examples given.
func writeSchema(t *testing.T, dir, title, properties, examples string) {
	t.Helper()
	doc := `{"$schema":"http://json-schema.org/draft-07/schema#","$id":"/` + title + `/1.0.0","title":"` + title + `",
"type":"object","required":["$schema","meta"],"properties":{"$schema":{"type":"string"},
"meta":{"type":"object","properties":{"stream":{"type":"string"},"domain":{"type":"string"},"id":{"type":"string"},"dt":{"type":"string","format":"date-time"}}}` +
		properties + `}` + examples + `}`
	if err := os.MkdirAll(filepath.Join(dir, title), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"1.0.0.yaml", "latest.yaml"} {
		if err := os.WriteFile(filepath.Join(dir, title, name), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// A schema without an example, an example that is no object and an example the schema refuses
// are reported, and nothing is posted for them; a stream without canary_events_enabled gets none.
func TestExamplesThatMakeNoCanary(t *testing.T) {
	dir := t.TempDir()
	schemas := filepath.Join(dir, "schemas")
	writeSchema(t, schemas, "test/good", `,"n":{"type":"integer"}`, `,"examples":[{"$schema":"/test/good/1.0.0","meta":{"stream":"x"},"n":1}]`)
	writeSchema(t, schemas, "test/none", ``, ``)
	writeSchema(t, schemas, "test/number", ``, `,"examples":[1]`)
	writeSchema(t, schemas, "test/invalid", `,"n":{"type":"integer"}`, `,"examples":[{"$schema":"/test/invalid/1.0.0","meta":{"stream":"x"},"n":"one"}]`)
	streams := filepath.Join(dir, "streams.json")
	if err := os.WriteFile(streams, []byte(`{"streams":{
"s.good":{"schema_title":"test/good","canary_events_enabled":true},
"s.none":{"schema_title":"test/none","canary_events_enabled":true},
"s.number":{"schema_title":"test/number","canary_events_enabled":true},
"s.invalid":{"schema_title":"test/invalid","canary_events_enabled":true},
"s.off":{"schema_title":"test/good","canary_events_enabled":false},
"/^s\\.re\\..+$/":{"schema_title":"test/good","canary_events_enabled":true}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		posted []string
	)
	edge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		posted = append(posted, string(b))
		mu.Unlock()
		w.WriteHeader(201)
	}))
	defer edge.Close()
	cfg := canary.DefaultConfig()
	cfg.URL = edge.URL
	cfg.Concurrency = 1
	cfg.Cache.SchemaBaseURIs = []string{schemas}
	cfg.Cache.StreamConfig = streams
	cfg.Cache.RefreshInterval = 0
	p, err := canary.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	got := map[string]canary.Result{}
	for _, r := range p.Round(context.Background()) {
		got[r.Stream] = r
	}
	f := func(stream string, want canary.Outcome, reason string) {
		t.Helper()
		r, ok := got[stream]
		if !ok || r.Outcome != want || !strings.Contains(r.Reason, reason) {
			t.Errorf("%s: got %+v, want %s with %q", stream, r, want, reason)
		}
	}
	f("s.good", canary.OK, "")
	f("s.none", canary.NoExample, "has no examples")
	f("s.number", canary.NoExample, "not an object")
	f("s.invalid", canary.ExampleInvalid, "should be integer")
	f(`/^s\.re\..+$/`, canary.Skipped, "regex")
	if _, ok := got["s.off"]; ok || len(got) != 5 {
		t.Errorf("round of %d streams %v: want the 5 canary-enabled ones", len(got), got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(posted) != 1 || !strings.Contains(posted[0], `"domain":"canary"`) || !strings.Contains(posted[0], `"stream":"s.good"`) {
		t.Errorf("posted %q, want s.good's canary alone", posted)
	}
}
