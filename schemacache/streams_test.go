package schemacache

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"intake.dev/intake/fastpath"
)

// configOrder reads the stream names of a MediaWiki-shaped config in file order, independently of
// the code under test.
func configOrder(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var top struct{ Streams json.RawMessage }
	if err := json.Unmarshal(data, &top); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(top.Streams))
	dec.Token() // {
	var names []string
	for dec.More() {
		tok, _ := dec.Token()
		names = append(names, tok.(string))
		var skip json.RawMessage
		dec.Decode(&skip)
	}
	return names
}

func TestProductionStreamConfig(t *testing.T) {
	c := newCache(t, Config{SchemaBaseURIs: []string{primaryRepo}, TopicPrefix: "eqiad."})
	snap := c.Current()
	var got []string
	for _, st := range snap.Streams() {
		got = append(got, st.Name)
	}
	want := configOrder(t, prodStreams)
	if len(want) != 244 || !reflect.DeepEqual(got, want) {
		t.Fatalf("Streams() gives %d names, want the %d of the file in order", len(got), len(want))
	}

	st := snap.Stream([]byte("mediawiki.page_change.v1"))
	if st == nil {
		t.Fatal("mediawiki.page_change.v1 not found")
	}
	wantKeys := []fastpath.KeyField{{Name: "wiki_id", Path: []string{"wiki_id"}}, {Name: "page_id", Path: []string{"page", "page_id"}}}
	if !reflect.DeepEqual(st.KeyFields, wantKeys) {
		t.Fatalf("KeyFields = %+v", st.KeyFields)
	}
	if st.Topic != "eqiad.mediawiki.page_change.v1" || st.SchemaTitle != "mediawiki/page/change" || st.DestinationService != "eventgate-main" || st.Refusal != "" {
		t.Fatalf("stream = %+v", st)
	}
	var settings map[string]any
	if err := json.Unmarshal(st.Config, &settings); err != nil || settings["schema_title"] != "mediawiki/page/change" || bytes.ContainsAny(st.Config, "\n ") {
		t.Fatalf("Config = %s (%v)", st.Config, err)
	}
	if st.Counters == nil || st.Counters.Accepted == nil || st.Counters.Errored == nil {
		t.Fatal("no counters")
	}

	// topic_prefixes: null, as the legacy eventlogging_* streams have.
	el := snap.Stream([]byte("eventlogging_CentralNoticeImpression"))
	if el == nil || el.Topic != "eventlogging_CentralNoticeImpression" {
		t.Fatalf("eventlogging stream: %+v", el)
	}
	if snap.Stream([]byte("no.such.stream")) != nil {
		t.Fatal("an unknown stream was found")
	}
}

func TestRegexStreams(t *testing.T) {
	c := newCache(t, Config{SchemaBaseURIs: []string{primaryRepo}, TopicPrefix: "eqiad."})
	snap := c.Current()
	st := snap.Stream([]byte("mediawiki.job.refreshLinks"))
	if st == nil || st.Name != "mediawiki.job.refreshLinks" || st.Topic != "eqiad.mediawiki.job.refreshLinks" || st.SchemaTitle != "mediawiki/job" {
		t.Fatalf("regex stream: %+v", st)
	}
	if again := snap.Stream([]byte("mediawiki.job.refreshLinks")); again != st {
		t.Fatal("a matched name was not cached")
	}
	if s := snap.Stream([]byte("codfw.swift.x.upload-complete")); s != nil {
		t.Fatal("an anchored regex matched in the middle")
	}
	if s := snap.Stream([]byte("swift.commons.upload-complete")); s == nil || s.SchemaTitle != "swift/upload/complete" {
		t.Fatalf("swift regex stream: %+v", s)
	}
	var configured *fastpath.Stream
	for _, s := range snap.Streams() {
		if s.Name == `/^mediawiki\.job\..+/` {
			configured = s
		}
	}
	if configured == nil || configured.Counters != st.Counters {
		t.Fatal("the configured regex stream is missing from Streams(), or its counters differ")
	}
	var out bytes.Buffer
	metrics.WritePrometheus(&out, false)
	if !strings.Contains(out.String(), `intake_events_total{stream="/^mediawiki\\.job\\..+/",outcome="accepted"}`) {
		t.Fatal("the regex stream's counter label is not escaped as Prometheus wants")
	}

	// Concurrent first lookups of matching names agree.
	var wg sync.WaitGroup
	res := make([]*fastpath.Stream, 16)
	for i := range res {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i] = snap.Stream([]byte("mediawiki.job.cirrusSearch"))
		}()
	}
	wg.Wait()
	for _, r := range res {
		if r != res[0] || r == nil {
			t.Fatal("concurrent lookups of one name gave different streams")
		}
	}
}

func TestEventGateStreamConfig(t *testing.T) {
	c := newCache(t, Config{SchemaBaseURIs: []string{egSchemas}, StreamConfig: egStreamConfig, TopicPrefix: "test."})
	snap := c.Current()
	if n := len(snap.Streams()); n != 2 {
		t.Fatalf("%d streams, want 2", n)
	}
	st := snap.Stream([]byte("test.event"))
	if st == nil || st.SchemaTitle != "test" || st.Topic != "test.test.event" {
		t.Fatalf("test.event: %+v", st)
	}
	d4 := snap.Stream([]byte("test_draft4.event"))
	if d4 == nil || d4.SchemaTitle != "test_draft4" || d4.Topic != "test.test_draft4.event" {
		t.Fatalf("test_draft4.event: %+v", d4)
	}
}

func TestServiceNameAndHeaders(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/streams.yaml", `
own.stream:
  schema_title: test
  destination_event_service: svc
  producers:
    svc:
      enrich_fields_from_http_headers:
        meta.request_id: x-request-id
    eventgate:
      enrich_fields_from_http_headers:
        ignored.field: user-agent
fallback.stream:
  schema_title: test
  destination_event_service: svc
  producers:
    eventgate:
      enrich_fields_from_http_headers:
        http.request_headers.user-agent: false
        meta.request_id: x-request-id
        http.client_ip: x-client-ip
other.stream:
  schema_title: test
  destination_event_service: eventgate-analytics
nowhere.stream:
  schema_title: test
'/^bad(?!regex)/':
  schema_title: test
`)
	c := newCache(t, Config{SchemaBaseURIs: []string{egSchemas}, StreamConfig: dir + "/streams.yaml", ServiceName: "svc"})
	snap := c.Current()
	f := func(name, refusal string, headers ...string) {
		t.Helper()
		st := snap.Stream([]byte(name))
		if st == nil {
			t.Fatalf("%s: not found", name)
		}
		if refusal == "" && st.Refusal != "" || refusal != "" && !strings.Contains(st.Refusal, refusal) {
			t.Fatalf("%s: Refusal = %q, want %q", name, st.Refusal, refusal)
		}
		var got []string
		for _, h := range st.HeaderFields {
			got = append(got, h.Dotted+"<-"+h.Header)
			if !reflect.DeepEqual(h.Path, strings.Split(h.Dotted, ".")) {
				t.Fatalf("%s: path %v for %s", name, h.Path, h.Dotted)
			}
		}
		if !reflect.DeepEqual(got, headers) {
			t.Fatalf("%s: HeaderFields %v, want %v", name, got, headers)
		}
	}
	f("own.stream", "", "meta.request_id<-x-request-id")
	f("fallback.stream", "", "meta.request_id<-x-request-id", "http.client_ip<-x-client-ip")
	f("other.stream", `stream "other.stream" is destined for "eventgate-analytics", not for this service (--service-name=svc)`)
	f("nowhere.stream", `stream "nowhere.stream" has no destination_event_service`)
	if n := len(snap.Streams()); n != 4 {
		t.Fatalf("%d streams; the regex RE2 cannot compile should be skipped, the rest kept", n)
	}

	// Without --service-name every stream is accepted and producers.eventgate applies.
	c2 := newCache(t, Config{SchemaBaseURIs: []string{egSchemas}, StreamConfig: dir + "/streams.yaml"})
	st := c2.Current().Stream([]byte("own.stream"))
	if st.Refusal != "" || len(st.HeaderFields) != 1 || st.HeaderFields[0].Dotted != "ignored.field" {
		t.Fatalf("no service name: %+v", st)
	}
	if c2.Current().Stream([]byte("other.stream")).Refusal != "" {
		t.Fatal("no service name, yet a stream is refused")
	}
}

// The production config with a service name: the regex job streams and the eventgate fallback.
func TestProductionHeaderFields(t *testing.T) {
	c := newCache(t, Config{SchemaBaseURIs: []string{primaryRepo}, ServiceName: "eventgate-main"})
	snap := c.Current()
	job := snap.Stream([]byte("mediawiki.job.foo"))
	if job == nil || job.Refusal != "" || len(job.HeaderFields) != 1 || job.HeaderFields[0].Header != "x-request-id" {
		t.Fatalf("job stream: %+v", job)
	}
	swift := snap.Stream([]byte("swift.commons.upload-complete"))
	if want := `stream "swift.commons.upload-complete" (configured as /^swift\.(.+\.)?upload-complete$/) is destined for "eventgate-analytics", not for this service (--service-name=eventgate-main)`; swift == nil || swift.Refusal != want {
		t.Fatalf("regex stream refusal: %q", swift.Refusal)
	}
	ext := snap.Stream([]byte("eventlogging_CentralNoticeImpression"))
	if ext == nil || !strings.Contains(ext.Refusal, "eventgate-analytics-external") || len(ext.HeaderFields) != 2 {
		t.Fatalf("external stream: %+v", ext)
	}
}

// A stream config that changes makes a new snapshot on refresh; schemas are shared.
func TestStreamConfigRefresh(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/s.json", `{"streams":{"a":{"schema_title":"test"}}}`)
	c := newCache(t, Config{SchemaBaseURIs: []string{egSchemas}, StreamConfig: dir + "/s.json"})
	old := c.Current()
	s, err := old.Schema([]byte("test/0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir+"/s.json", `{"streams":{"a":{"schema_title":"test"},"b":{"schema_title":"test"}}}`)
	if err := c.Refresh(); err != nil {
		t.Fatal(err)
	}
	cur := c.Current()
	if cur == old || cur.Stream([]byte("b")) == nil || old.Stream([]byte("b")) != nil {
		t.Fatal("the new stream config was not published as a new snapshot")
	}
	if s2, _ := cur.Schema([]byte("test/0.0.1")); s2 != s {
		t.Fatal("snapshots do not share the schema store")
	}
	writeFile(t, dir+"/s.json", `{"streams":`)
	if err := c.Refresh(); err == nil || c.Current() != cur {
		t.Fatalf("a broken config: %v", err)
	}
}

// The background refresher publishes a changed stream config, and Close stops it.
func TestRefresher(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/s.yaml", "a:\n  schema_title: test\n")
	c := newCache(t, Config{SchemaBaseURIs: []string{egSchemas}, StreamConfig: dir + "/s.yaml", RefreshInterval: time.Millisecond})
	c.Start()
	c.Start() // again: no second refresher
	writeFile(t, dir+"/s.yaml", "a:\n  schema_title: test\nb:\n  schema_title: test\n")
	deadline := time.Now().Add(30 * time.Second)
	for c.Current().Stream([]byte("b")) == nil {
		if time.Now().After(deadline) {
			t.Fatal("the refresher did not publish the changed stream config")
		}
		time.Sleep(time.Millisecond)
	}
	c.Close()
	c.Close()
}

// producers.<service> access settings: auth none/required/list (an unreadable value counts as
// required), allowed_origins and allow_debug; OnStream sees every stream, and a /regex/ stream's
// resolved names share what it set.
func TestStreamAccess(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/streams.yaml", `
open.stream:
  schema_title: test
  producers:
    svc:
      auth: none
      allowed_origins: [https://www.example.org, "https://*.example.net", 7]
required.stream:
  schema_title: test
  producers:
    svc:
      auth: required
      allow_debug: true
listed.stream:
  schema_title: test
  producers:
    svc:
      auth: [backend-a, 3, backend-b]
typo.stream:
  schema_title: test
  producers:
    svc:
      auth: requried
silent.stream:
  schema_title: test
fallback.stream:
  schema_title: test
  producers:
    eventgate:
      auth: none
'/^regex\..+$/':
  schema_title: test
  producers:
    svc:
      auth: [browser-app]
`)
	var seen []string
	c := newCache(t, Config{SchemaBaseURIs: []string{egSchemas}, StreamConfig: dir + "/streams.yaml", ServiceName: "svc",
		OnStream: func(st *fastpath.Stream) { seen = append(seen, st.Name); st.Ext = "ext of " + st.Name }})
	snap := c.Current()
	f := func(name, auth string, principals, origins []string, debug bool) {
		t.Helper()
		st := snap.Stream([]byte(name))
		if st == nil {
			t.Fatalf("%s: not found", name)
		}
		a := st.Access
		if a.Auth != auth || !reflect.DeepEqual(a.Principals, principals) || !reflect.DeepEqual(a.AllowedOrigins, origins) || a.AllowDebug != debug {
			t.Fatalf("%s: Access = %+v, want auth %q principals %v origins %v debug %t", name, a, auth, principals, origins, debug)
		}
	}
	f("open.stream", "none", nil, []string{"https://www.example.org", "https://*.example.net"}, false)
	f("required.stream", "required", nil, nil, true)
	f("listed.stream", "list", []string{"backend-a", "backend-b"}, nil, false)
	f("typo.stream", "required", nil, nil, false)
	f("silent.stream", "", nil, nil, false)
	f("fallback.stream", "none", nil, nil, false)
	f("regex.anything", "list", []string{"browser-app"}, nil, false)
	if got := snap.Stream([]byte("regex.anything")).Ext; got != `ext of /^regex\..+$/` {
		t.Fatalf("a resolved regex stream's Ext = %v, want its configured stream's", got)
	}
	if len(seen) != 7 {
		t.Fatalf("OnStream saw %v, want the 7 configured streams", seen)
	}
}

// A /regex/ stream admits names Kafka refuses as topics ("a/b", spaces, 300 characters): such a
// name is refused, not produced to fail (or, hasty, to be dropped unseen).
func TestRegexNamesMustBeTopics(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/streams.yaml", `
'/^any\..+$/':
  schema_title: test
`)
	c := newCache(t, Config{SchemaBaseURIs: []string{egSchemas}, StreamConfig: dir + "/streams.yaml", TopicPrefix: "eqiad."})
	f := func(name string, ok bool) {
		t.Helper()
		st := c.Current().Stream([]byte(name))
		if st == nil {
			t.Fatalf("%q: not matched", name)
		}
		if (st.Refusal == "") != ok {
			t.Fatalf("%q: Refusal %q, want refused %t", name, st.Refusal, !ok)
		}
	}
	f("any.good-name_1", true)
	f("any.a/b", false)
	f("any.a b", false)
	f("any.ünïcode", false)
	f("any."+strings.Repeat("x", 240), false) // 249 with the prefix and "any." is over
	f("any."+strings.Repeat("x", 200), true)
}
