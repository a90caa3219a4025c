package edge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"intake.dev/intake/internal/edgetest"
	"intake.dev/intake/kafkaout"
)

// httpCase is one request/response example from EventGate's spec (eventgate-test/extracted).
type httpCase struct {
	Path    string `json:"path"`
	Method  string `json:"method"`
	Title   string `json:"title"`
	Request struct {
		Query   map[string]any    `json:"query"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body"`
	} `json:"request"`
	Response struct {
		Status int             `json:"status"`
		Body   json.RawMessage `json:"body"`
	} `json:"response"`
}

// Where intake deliberately answers differently from EventGate's test service.
var httpCaseDeviations = map[string]struct {
	status int
	why    string
}{
	// EventGate's test factory throws on these magic stream names; in intake they are simply streams
	// the stream config does not have, and an unconfigured stream is an invalid event (400).
	"Produce a single event that encounters an error that should not be produced as an event error": {400, "unconfigured stream is invalid"},
	"Produce a single event that encounters an error that should be produced as an event error":     {400, "unconfigured stream is invalid"},
	"Produce batch events, all errored":                       {400, "unconfigured streams are invalid"},
	"Produce batch events, one valid, one invalid, one error": {207, "the 'error' event is invalid (unconfigured stream)"},
	// A schema that cannot be loaded is something the client can fix: 400 invalid, not 500.
	"Produce a single event that encounters an EventSchemaLoadError": {400, "unknown schema is invalid, not a server error"},
	// EventGate's GET /v1/_test/events exists only when test_events are configured; intake has /readyz.
	"Produce a single valid test event": {404, "no test-event route; /readyz checks Kafka"},
}

func TestEventGateHTTPCases(t *testing.T) {
	b, err := os.ReadFile(edgetest.SharedData("eventgate-test/extracted/http-cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []httpCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	h := edgetest.Start(t, edgetest.Options{
		SchemaBaseURIs: []string{edgetest.SharedData("eventgate-test/test/schemas")},
		StreamConfig:   edgetest.SharedData("eventgate-test/test/schemas/stream-config.test.yaml"),
		TopicPrefix:    "test.",
		ErrorStream:    "eventgate.event-error",
	})
	if len(cases) < 18 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Title, func(t *testing.T) {
			q := url.Values{}
			for k, v := range c.Request.Query {
				q.Set(k, fmt.Sprint(v))
			}
			path := c.Path
			if len(q) > 0 {
				path += "?" + q.Encode()
			}
			var r edgetest.Response
			if c.Method == "POST" {
				var hdr []string
				for k, v := range c.Request.Headers {
					hdr = append(hdr, k, v)
				}
				r = h.Post(path, c.Request.Body, hdr...)
			} else {
				r = h.Get(path)
			}
			want := c.Response.Status
			dev, deviates := httpCaseDeviations[c.Title]
			if deviates {
				want = dev.status
			}
			if r.Code != want {
				t.Fatalf("%s %s: got %d %s, want %d", c.Method, path, r.Code, r.Body, want)
			}
			if deviates || len(c.Response.Body) == 0 || string(c.Response.Body) == `""` {
				if string(c.Response.Body) == `""` && len(r.Body) != 0 {
					t.Fatalf("want an empty body, got %s", r.Body)
				}
				return
			}
			// Every errorsText and message EventGate gives must be in ours, in order.
			var wantBody, gotBody map[string][]struct {
				Context struct {
					ErrorsText string `json:"errorsText"`
					Message    string `json:"message"`
				} `json:"context"`
			}
			if err := json.Unmarshal(c.Response.Body, &wantBody); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(r.Body, &gotBody); err != nil {
				t.Fatalf("response is not EventGate-shaped JSON: %s\n%s", err, r.Body)
			}
			for list, entries := range wantBody {
				for i, e := range entries {
					if len(gotBody[list]) <= i {
						t.Fatalf("%s[%d] missing in %s", list, i, r.Body)
					}
					if got := gotBody[list][i].Context; got.ErrorsText != e.Context.ErrorsText {
						t.Fatalf("%s[%d] errorsText: got %q, want %q", list, i, got.ErrorsText, e.Context.ErrorsText)
					}
				}
			}
		})
	}
}

// regexStreamNames names one stream for each /regex/ stream of the production stream config.
var regexStreamNames = map[string]string{
	`/^mediawiki\.job\..+/`:             "mediawiki.job.example",
	`/^swift\.(.+\.)?upload-complete$/`: "swift.upload-complete",
}

// realStream is what the tests read of a stream in the production stream config.
type realStream struct {
	SchemaTitle   string   `json:"schema_title"`
	TopicPrefixes []string `json:"topic_prefixes"`
}

// realStreams is the production stream config of ../shared/data: its streams by name.
func realStreams(t testing.TB) map[string]realStream {
	t.Helper()
	var sc struct {
		Streams map[string]realStream `json:"streams"`
	}
	b, err := os.ReadFile(edgetest.SharedData("streamconfig.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &sc); err != nil {
		t.Fatal(err)
	}
	return sc.Streams
}

// Every real example event whose schema title has a stream, posted to such a stream, is accepted and
// arrives in Kafka unchanged apart from enrichment.
func TestRealExampleEventsArriveUnchanged(t *testing.T) {
	streams := realStreams(t)
	streamsByTitle := map[string][]string{}
	names := make([]string, 0, len(streams))
	for name := range streams {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s := streams[name]
		if strings.HasPrefix(name, "/") {
			n, ok := regexStreamNames[name]
			if !ok {
				t.Fatalf("no example name for regex stream %s", name)
			}
			name = n
		}
		streamsByTitle[s.SchemaTitle] = append(streamsByTitle[s.SchemaTitle], name)
	}
	topicOf := func(stream string) string {
		for name, s := range streams {
			if (name == stream || regexStreamNames[name] == stream) && s.TopicPrefixes == nil {
				return stream
			}
		}
		return "eqiad." + stream
	}

	type sent struct {
		stream, topic string
		event         map[string]any
	}
	var all []sent
	files, _ := filepath.Glob(edgetest.SharedData("examples", "*", "*.json"))
	for _, f := range files {
		title := strings.ReplaceAll(filepath.Base(filepath.Dir(f)), ".", "/")
		streams := streamsByTitle[title]
		if len(streams) == 0 {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var events []map[string]any
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		if err := d.Decode(&events); err != nil {
			t.Fatalf("%s: %s", f, err)
		}
		for i, ev := range events {
			stream := streams[(len(all)+i)%len(streams)]
			meta, _ := ev["meta"].(map[string]any)
			if meta == nil {
				meta = map[string]any{}
				ev["meta"] = meta
			}
			meta["stream"] = stream
			all = append(all, sent{stream: stream, topic: topicOf(stream), event: ev})
		}
	}
	if len(all) != 395 {
		t.Fatalf("found %d example events with a stream, the data README says 395", len(all))
	}

	// make test-kafka runs this test against a real cluster too (INTAKE_KAFKA_BROKERS), where
	// earlier runs left records in the same topics: only those written from now on are read.
	var real []string
	if s := os.Getenv("INTAKE_KAFKA_BROKERS"); s != "" {
		real = strings.Split(s, ",")
	}
	from := kgo.NewOffset().AtStart()
	if real != nil {
		from = kgo.NewOffset().AfterMilli(time.Now().UnixMilli())
	}
	o := edgetest.RealData()
	o.Brokers = real
	o.Kafka = func(c *kafkaout.Config) {
		if real != nil {
			// A fresh cluster creates the examples' hundred-odd topics on first use, each with a
			// leader election: more than the default delivery timeout for the first batches.
			c.DeliveryTimeout = 30 * time.Second
		}
	}
	h := edgetest.Start(t, o)
	byTopic := map[string][]map[string]any{}
	for start := 0; start < len(all); start += 50 {
		end := min(start+50, len(all))
		var batch []map[string]any
		for _, s := range all[start:end] {
			batch = append(batch, s.event)
			byTopic[s.topic] = append(byTopic[s.topic], s.event)
		}
		body, _ := json.Marshal(batch)
		r := h.Post("/v1/events", body, "User-Agent", "intake-test")
		if r.Code != 201 {
			t.Fatalf("events %d-%d: got %d %s", start, end, r.Code, r.Body)
		}
	}

	// Read every topic back and match each record to the event sent, in order per topic (one
	// request's records keep their order; batches were sent one after another, sync).
	topics := make([]string, 0, len(byTopic))
	for tp := range byTopic {
		topics = append(topics, tp)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(h.Brokers...), kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(from))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := map[string][]*kgo.Record{}
	n := 0
	deadline := time.Now().Add(30 * time.Second)
	for n < len(all) && time.Now().Before(deadline) {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			got[r.Topic] = append(got[r.Topic], r)
			n++
		})
		cancel()
	}
	if n != len(all) {
		t.Fatalf("read %d records back, sent %d", n, len(all))
	}
	for topic, events := range byTopic {
		recs := got[topic]
		if len(recs) != len(events) {
			t.Fatalf("%s: %d records, want %d", topic, len(recs), len(events))
		}
		// Records of one topic may sit on different partitions: match them by content.
		for _, ev := range events {
			if !anyRecordMatches(t, recs, ev) {
				want, _ := json.Marshal(ev)
				t.Fatalf("%s: no record carries the event unchanged apart from enrichment:\n%s", topic, want)
			}
		}
	}
}

// enrichmentPaths are the fields intake may add to an event.
var enrichmentPaths = map[string]bool{
	"meta.dt": true, "meta.id": true, "meta.request_id": true, "dt": true,
	"http.request_headers.user-agent": true, "http.client_ip": true,
}

func anyRecordMatches(t *testing.T, recs []*kgo.Record, sent map[string]any) bool {
	for _, r := range recs {
		got := edgetest.MustJSON(t, r.Value)
		if subsetWithExtras(sent, got, "") {
			return true
		}
	}
	return false
}

// subsetWithExtras reports whether every field of want is in got unchanged, and every field got adds
// is an enrichment field or a schema default (defaults are not known here, so only enrichment paths
// and the fields the examples' schemas give defaults for are tolerated: test_default-like fields).
func subsetWithExtras(want, got map[string]any, prefix string) bool {
	for k, wv := range want {
		gv, ok := got[k]
		if !ok {
			return false
		}
		wm, wIsMap := wv.(map[string]any)
		gm, gIsMap := gv.(map[string]any)
		if wIsMap && gIsMap {
			if !subsetWithExtras(wm, gm, prefix+k+".") {
				return false
			}
			continue
		}
		if !reflect.DeepEqual(wv, gv) {
			return false
		}
	}
	for k, gv := range got {
		if _, ok := want[k]; ok {
			continue
		}
		if enrichmentPaths[prefix+k] {
			continue
		}
		if gm, isMap := gv.(map[string]any); isMap && onlyEnrichment(gm, prefix+k+".") {
			continue
		}
		return false
	}
	return true
}

func onlyEnrichment(m map[string]any, prefix string) bool {
	for k, v := range m {
		if enrichmentPaths[prefix+k] {
			continue
		}
		if mm, ok := v.(map[string]any); ok && onlyEnrichment(mm, prefix+k+".") {
			continue
		}
		return false
	}
	return true
}
