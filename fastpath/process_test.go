package fastpath

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fastjson"
)

const testSchemaDoc = `{
 "title": "test/event", "$id": "/test/event/1.0.0",
 "$schema": "https://json-schema.org/draft-07/schema#",
 "type": "object", "required": ["$schema", "meta"],
 "properties": {
  "$schema": {"type": "string"},
  "meta": {"type": "object", "required": ["dt", "stream"], "properties": {
    "dt": {"type": "string"}, "id": {"type": "string"}, "request_id": {"type": "string"},
    "stream": {"type": "string"}}},
  "test": {"type": "string", "default": "default value"},
  "nested": {"type": "object", "properties": {"inner": {"type": "integer", "default": 7}}},
  "http": {"type": "object", "properties": {"client_ip": {"type": "string"},
    "request_headers": {"type": "object", "additionalProperties": {"type": "string"}}}},
  "page": {"type": "object", "properties": {"page_id": {"type": "integer"}}},
  "wiki_id": {"type": "string"}
 }
}`

const legacySchemaDoc = `{"title": "legacy", "type": "object", "properties": {
 "$schema": {"type": "string"}, "dt": {"type": "string"}, "client_dt": {"type": "string"},
 "meta": {"type": "object", "properties": {"stream": {"type": "string"}, "dt": {"type": "string"}}}}}`

type fakeLookup struct {
	streams map[string]*Stream
	schemas map[string]*Schema
}

func (f *fakeLookup) Stream(name []byte) *Stream { return f.streams[string(name)] }

func (f *fakeLookup) Schema(uri []byte) (*Schema, error) {
	if s := f.schemas[string(uri)]; s != nil {
		return s, nil
	}
	return nil, errString("no schema at " + string(uri))
}

type errString string

func (e errString) Error() string { return string(e) }

type headers map[string]string

func (h headers) Peek(k string) []byte {
	if v, ok := h[k]; ok {
		return []byte(v)
	}
	return nil
}

func mustSchema(t testing.TB, uri, doc string, v Validator) *Schema {
	t.Helper()
	s, err := NewSchema(uri, []byte(doc), v)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newFakeLookup(t testing.TB, v Validator) *fakeLookup {
	s := mustSchema(t, "/test/event/1.0.0", testSchemaDoc, v)
	legacy := mustSchema(t, "/legacy/1.0.0", legacySchemaDoc, AcceptAll)
	return &fakeLookup{
		streams: map[string]*Stream{
			"test.event": {Name: "test.event", SchemaTitle: "test/event", Topic: "eqiad.test.event",
				HeaderFields: []HeaderField{
					{Dotted: "http.request_headers.user-agent", Path: SplitPath("http.request_headers.user-agent"), Header: "User-Agent"},
					{Dotted: "not.declared", Path: SplitPath("not.declared"), Header: "User-Agent"},
				}},
			"keyed": {Name: "keyed", SchemaTitle: "test/event", Topic: "keyed",
				KeyFields: []KeyField{{Name: "wiki_id", Path: []string{"wiki_id"}}, {Name: "page_id", Path: SplitPath("page.page_id")}}},
			"other.service": {Name: "other.service", SchemaTitle: "test/event", Topic: "other.service",
				Refusal: "stream 'other.service' is produced through 'eventgate-main'"},
			"legacy": {Name: "legacy", SchemaTitle: "legacy", Topic: "legacy"},
		},
		schemas: map[string]*Schema{"/test/event/1.0.0": s, "/legacy/1.0.0": legacy},
	}
}

func TestProcess(t *testing.T) {
	l := newFakeLookup(t, AcceptAll)
	o := DefaultOptions()
	now := time.Date(2026, 11, 23, 18, 42, 0, 123456789, time.UTC)

	f := func(event string, hdr headers, wantOutcome Outcome, wantTopic, wantKey string, wantInValue, wantErr []string) {
		t.Helper()
		var p fastjson.Parser
		ev, err := p.Parse(event)
		if err != nil {
			t.Fatalf("bad test event: %s", err)
		}
		req := AcquireRequest()
		defer ReleaseRequest(req)
		req.Start(now, []byte(hdr["X-Request-Id"]), hdr)
		var r Result
		Process(l, &o, ev, req, &r)
		if r.Outcome != wantOutcome {
			t.Fatalf("outcome: got %d, want %d; errors: %s", r.Outcome, wantOutcome, r.Errors.Text())
		}
		if r.Topic != wantTopic {
			t.Fatalf("topic: got %q, want %q", r.Topic, wantTopic)
		}
		if string(r.Key) != wantKey {
			t.Fatalf("key: got %q, want %q", r.Key, wantKey)
		}
		for _, s := range wantInValue {
			if !strings.Contains(string(r.Value), s) {
				t.Fatalf("value %s lacks %s", r.Value, s)
			}
		}
		text := r.Errors.Text()
		for _, s := range wantErr {
			if !strings.Contains(text, s) {
				t.Fatalf("errors %q lack %q", text, s)
			}
		}
		if wantOutcome == Accepted && !fastjson.Exists(r.Value, "meta", "dt") {
			t.Fatalf("accepted value has no meta.dt: %s", r.Value)
		}
	}

	// Enrichment: meta.dt, meta.id, meta.request_id, a header field through a map; the default.
	f(`{"$schema":"/test/event/1.0.0","meta":{"stream":"test.event"}}`,
		headers{"X-Request-Id": "rid-1", "User-Agent": "curl/8"}, Accepted, "eqiad.test.event", "",
		[]string{`"dt":"2026-11-23T18:42:00.123Z"`, `"id":"`, `"request_id":"rid-1"`,
			`"http":{"request_headers":{"user-agent":"curl/8"}}`, `"test":"default value"`}, nil)
	// Fields the event has are kept; a field the schema does not declare is not added.
	f(`{"$schema":"/test/event/1.0.0","meta":{"stream":"test.event","dt":"2020-01-01T00:00:00Z","id":"x"},"test":"mine"}`,
		headers{"User-Agent": "ua"}, Accepted, "eqiad.test.event", "",
		[]string{`"dt":"2020-01-01T00:00:00Z"`, `"id":"x"`, `"test":"mine"`}, nil)
	// Nested defaults fill into present objects.
	f(`{"$schema":"/test/event/1.0.0","meta":{"stream":"test.event"},"nested":{}}`, nil, Accepted,
		"eqiad.test.event", "", []string{`"nested":{"inner":7}`}, nil)
	// Key from message_key_fields, in configured order.
	f(`{"$schema":"/test/event/1.0.0","meta":{"stream":"keyed"},"page":{"page_id":12},"wiki_id":"enwiki"}`, nil,
		Accepted, "keyed", `{"wiki_id":"enwiki","page_id":12}`, nil, nil)
	f(`{"$schema":"/test/event/1.0.0","meta":{"stream":"keyed"},"wiki_id":"enwiki"}`, nil,
		Invalid, "", "", nil, []string{"page.page_id is missing"})
	// Legacy schemas get dt.
	f(`{"$schema":"/legacy/1.0.0","meta":{"stream":"legacy"},"client_dt":"2020-01-01T00:00:00Z"}`, nil, Accepted,
		"legacy", "", []string{`"dt":"2026-11-23T18:42:00.123Z","client_dt"`[:30]}, nil)
	// The contract, step by step.
	f(`[1]`, nil, Invalid, "", "", nil, []string{"should be object"})
	f(`{"$schema":"/test/event/1.0.0"}`, nil, Invalid, "", "", nil, []string{"'.meta.stream' should have a string meta.stream"})
	f(`{"$schema":"/test/event/1.0.0","meta":{"stream":12}}`, nil, Invalid, "", "", nil, []string{"meta.stream"})
	f(`{"$schema":"/test/event/1.0.0","meta":{"stream":"nope"}}`, nil, Invalid, "", "", nil, []string{"'nope' is not in the stream configuration"})
	f(`{"$schema":"/test/event/1.0.0","meta":{"stream":"other.service"}}`, nil, Refused, "", "", nil, []string{"eventgate-main"})
	f(`{"meta":{"stream":"test.event"}}`, nil, Invalid, "", "", nil, []string{"'.$schema' should have a string $schema"})
	f(`{"$schema":"/nope/1.0.0","meta":{"stream":"test.event"}}`, nil, Invalid, "", "", nil, []string{"no schema at /nope/1.0.0"})
	f(`{"$schema":"/legacy/1.0.0","meta":{"stream":"test.event"}}`, nil, Invalid, "", "", nil, []string{"titled 'test/event'", "is titled 'legacy'"})
}

// The request's own values: the stream and schema its query names, for events lacking them, and
// the client address, where the schema declares http.client_ip.
func TestProcessRequestValues(t *testing.T) {
	l := newFakeLookup(t, AcceptAll)
	o := DefaultOptions()
	f := func(event, queryStream, querySchema, clientIP string, want Outcome, wantIn ...string) {
		t.Helper()
		ev := fastjson.MustParse(event)
		req := AcquireRequest()
		defer ReleaseRequest(req)
		req.Start(time.Now(), nil, headers{"User-Agent": "ua/1"})
		req.QueryStream, req.QuerySchemaURI, req.ClientIP = []byte(queryStream), []byte(querySchema), []byte(clientIP)
		var r Result
		Process(l, &o, ev, req, &r)
		if r.Outcome != want {
			t.Fatalf("%s: outcome %d, want %d: %s", event, r.Outcome, want, r.Errors.Text())
		}
		got := string(r.Value) + r.Errors.Text()
		for _, s := range wantIn {
			if !strings.Contains(got, s) {
				t.Fatalf("%s: %s lacks %s", event, got, s)
			}
		}
	}
	// The query fills what the event lacks, meta created; the event's own values win.
	f(`{"test":"x"}`, "test.event", "/test/event/1.0.0", "", Accepted,
		`"$schema":"/test/event/1.0.0"`, `"meta":{"stream":"test.event","dt":"`)
	f(`{"meta":{"stream":"keyed"},"$schema":"/test/event/1.0.0","page":{"page_id":1},"wiki_id":"w"}`,
		"test.event", "/nope/1.0.0", "", Accepted, `"stream":"keyed"`)
	f(`{"meta":{"stream":null}}`, "test.event", "/test/event/1.0.0", "", Invalid, "should have a string meta.stream")
	f(`{"meta":"x"}`, "test.event", "/test/event/1.0.0", "", Invalid, "should have a string meta.stream")
	// A query value naming nothing is worded as the same field of the body would be.
	f(`{}`, "nope", "/test/event/1.0.0", "", Invalid, "'nope' is not in the stream configuration")
	f(`{}`, "test.event", "/nope/1.0.0", "", Invalid, "no schema at /nope/1.0.0")
	f(`{}`, "test.\xff", "/test/event/1.0.0", "", Invalid, "is not in the stream configuration")
	f(`{}`, "", "/test/event/1.0.0", "", Invalid, "should have a string meta.stream")
	// http.client_ip beside the header fields, unless the event has one or the schema lacks it.
	f(`{"$schema":"/test/event/1.0.0","meta":{"stream":"test.event"}}`, "", "", "2001:db8::1", Accepted,
		`"http":{"client_ip":"2001:db8::1","request_headers":{"user-agent":"ua/1"}}`)
	f(`{"$schema":"/test/event/1.0.0","meta":{"stream":"test.event"},"http":{"client_ip":"mine"}}`, "", "", "192.0.2.1", Accepted,
		`"client_ip":"mine"`)
	f(`{"$schema":"/legacy/1.0.0","meta":{"stream":"legacy"}}`, "", "", "192.0.2.1", Accepted, `{"$schema":"/legacy/1.0.0","meta":{"stream":"legacy","dt":"`)

	// A query value that is not UTF-8 reaches the event, and so its error event, as UTF-8.
	ev := fastjson.MustParse(`{}`)
	req := AcquireRequest()
	defer ReleaseRequest(req)
	req.Start(time.Now(), nil, nil)
	req.QueryStream = []byte("bad\xff\xfename")
	var r Result
	Process(l, &o, ev, req, &r)
	if got := string(r.StreamName); got != "bad�name" {
		t.Fatalf("stream name %q, want %q", got, "bad�name")
	}
}

// A header value used to be copied into events as it came: a 16 KiB User-Agent into every event,
// and bytes that are not UTF-8 into Kafka, where they are not JSON text. Values are now cut to 400
// bytes, never inside a UTF-8 sequence, and mended to UTF-8.
func TestHeaderText(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		var buf []byte
		if got := string(headerText(&buf, []byte(in))); got != want {
			t.Fatalf("%.40q (%d bytes): got %.40q (%d bytes), want %.40q (%d bytes)", in, len(in), got, len(got), want, len(want))
		}
	}
	f("", "")
	f("curl/8", "curl/8")
	f(strings.Repeat("a", 400), strings.Repeat("a", 400))
	f(strings.Repeat("a", 16<<10), strings.Repeat("a", 400))
	f(strings.Repeat("é", 300), strings.Repeat("é", 200))          // 2 bytes each: 400 exactly
	f("a"+strings.Repeat("é", 200), "a"+strings.Repeat("é", 199))  // the 200th would end at byte 401
	f("ab"+strings.Repeat("😀", 100), "ab"+strings.Repeat("😀", 99)) // 4 bytes each: 398 bytes
	f("Mozilla\xff", "Mozilla\uFFFD")
	f("Mozilla\xff\xfe/5.0", "Mozilla\uFFFD/5.0") // one U+FFFD for a run
	f("\xe2\x82", "\uFFFD")                       // a sequence cut short
	f("ok�", "ok�")
	f(strings.Repeat("a", 399)+"\xff", strings.Repeat("a", 399)) // U+FFFD would not fit
}

// A 16 KiB User-Agent and X-Request-Id reach the event cut to 400 bytes.
func TestProcessLongHeaders(t *testing.T) {
	l := newFakeLookup(t, AcceptAll)
	o := DefaultOptions()
	ev := fastjson.MustParse(`{"$schema":"/test/event/1.0.0","meta":{"stream":"test.event"}}`)
	req := AcquireRequest()
	defer ReleaseRequest(req)
	long := strings.Repeat("x", 16<<10)
	req.Start(time.Now(), []byte(long), headers{"User-Agent": long})
	var r Result
	Process(l, &o, ev, req, &r)
	if r.Outcome != Accepted {
		t.Fatal(r.Errors.Text())
	}
	v := fastjson.MustParseBytes(r.Value)
	if n := len(v.GetStringBytes("http", "request_headers", "user-agent")); n != MaxHeaderValueBytes {
		t.Fatalf("user-agent of %d bytes, want %d", n, MaxHeaderValueBytes)
	}
	if n := len(v.GetStringBytes("meta", "request_id")); n != MaxHeaderValueBytes {
		t.Fatalf("meta.request_id of %d bytes, want %d", n, MaxHeaderValueBytes)
	}
}

func TestProcessValidationErrors(t *testing.T) {
	v := ValidatorFunc(func(ev *fastjson.Value, errs *Errors) bool {
		if ev.Get("test").Type() == fastjson.TypeString {
			return true
		}
		errs.Add("type", "/test", "#/properties/test/type", `{"type":"string"}`, "should be string")
		return false
	})
	l := newFakeLookup(t, v)
	o := DefaultOptions()
	var p fastjson.Parser
	ev := fastjson.MustParse(`{"$schema":"/test/event/1.0.0","meta":{"stream":"test.event"},"test":0.01}`)
	_ = p
	req := AcquireRequest()
	defer ReleaseRequest(req)
	req.Start(time.Now(), nil, nil)
	var r Result
	Process(l, &o, ev, req, &r)
	if r.Outcome != Invalid || r.ErrorType != "ValidationError" {
		t.Fatalf("got outcome %d type %q", r.Outcome, r.ErrorType)
	}
	if got, want := r.Errors.Text(), "'.test' should be string"; got != want {
		t.Fatalf("errorsText: got %q, want %q", got, want)
	}
	got := string(r.Errors.AppendJSON(nil))
	want := `[{"keyword":"type","instancePath":"/test","dataPath":".test","schemaPath":"#/properties/test/type","params":{"type":"string"},"message":"should be string"}]`
	if got != want {
		t.Fatalf("errors JSON:\n got %s\nwant %s", got, want)
	}
	if !fastjson.Exists([]byte(`{"a":`+got+`}`), "a") {
		t.Fatalf("errors JSON does not parse: %s", got)
	}
}

func TestAppendDataPath(t *testing.T) {
	f := func(pointer, want string) {
		t.Helper()
		if got := string(AppendDataPath(nil, pointer)); got != want {
			t.Fatalf("AppendDataPath(%q) = %q, want %q", pointer, got, want)
		}
	}
	f("", "")
	f("/test", ".test")
	f("/meta/id", ".meta.id")
	f("/items/0/name", ".items[0].name")
	f("/http/request_headers/user-agent", ".http.request_headers['user-agent']")
	f("/a~1b/it's", "['a/b']['it\\'s']")
	f("/$schema", ".$schema")
}

func TestNewUUIDIsVersion4AndUnique(t *testing.T) {
	req := AcquireRequest()
	defer ReleaseRequest(req)
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		u := string(req.newUUID())
		if len(u) != 36 || u[14] != '4' || !strings.ContainsRune("89ab", rune(u[19])) || u[8] != '-' || u[23] != '-' {
			t.Fatalf("not a version 4 UUID: %s", u)
		}
		if seen[u] {
			t.Fatalf("UUID repeated: %s", u)
		}
		seen[u] = true
	}
}

func TestErrorEventShape(t *testing.T) {
	req := AcquireRequest()
	defer ReleaseRequest(req)
	req.Start(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), []byte("rid"), nil)
	b := req.AppendErrorEvent(nil, &ErrorEvent{
		SchemaURI: "/error/2.1.0", Stream: "intake.error", EmitterID: "intake", ErrorType: "ValidationError",
		Message: []byte("'.test' should be string"), ErroredStream: []byte("test.event"),
		ErroredSchemaURI: []byte("/test/event/1.0.0"), RawEvent: []byte(`{"test":"a\"b\n"}`),
	})
	v, err := fastjson.ParseBytes(b)
	if err != nil {
		t.Fatalf("error event is not JSON: %s\n%s", err, b)
	}
	f := func(want string, path ...string) {
		t.Helper()
		if got := string(v.GetStringBytes(path...)); got != want {
			t.Fatalf("%v: got %q, want %q", path, got, want)
		}
	}
	f("/error/2.1.0", "$schema")
	f("intake.error", "meta", "stream")
	f("2026-01-02T03:04:05.000Z", "meta", "dt")
	f("2026-01-02T03:04:05.000Z", "dt")
	f("rid", "meta", "request_id")
	f("intake", "emitter_id")
	f("test.event", "errored_stream_name")
	f(`{"test":"a\"b\n"}`, "raw_event")
	if len(v.GetStringBytes("meta", "id")) != 36 {
		t.Fatalf("meta.id is not a UUID: %s", b)
	}
}

// Default values are shared by every event they are filled into. fastjson unescapes strings and keys
// on first read, in place; before NewSchema settled the document, two requests serializing the same
// default raced on that write (seen with -race).
func TestSharedDefaultsAreSafeConcurrently(t *testing.T) {
	doc := `{"title":"d","type":"object","properties":{"$schema":{"type":"string"},
	  "meta":{"type":"object","properties":{"stream":{"type":"string"}}},
	  "obj":{"type":"object","default":{"k\u0041":"line\nbreak","n":[1,{"x\"y":"z"}]}},
	  "s":{"type":"string","default":"tab\there"}}}`
	sc := mustSchema(t, "/d/1.0.0", doc, AcceptAll)
	l := &fakeLookup{streams: map[string]*Stream{"d": {Name: "d", SchemaTitle: "d", Topic: "d"}},
		schemas: map[string]*Schema{"/d/1.0.0": sc}}
	o := DefaultOptions()
	want := `{"$schema":"/d/1.0.0","meta":{"stream":"d"},"obj":{"kA":"line\nbreak","n":[1,{"x\"y":"z"}]},"s":"tab\there"}`
	done := make(chan string, 8)
	for g := 0; g < 8; g++ {
		go func() {
			var p fastjson.Parser
			var r Result
			req := AcquireRequest()
			defer ReleaseRequest(req)
			got := ""
			for i := 0; i < 200; i++ {
				ev, _ := p.Parse(`{"$schema":"/d/1.0.0","meta":{"stream":"d"}}`)
				Process(l, &o, ev, req, &r)
				got = string(r.Value)
				if got != want {
					break
				}
			}
			done <- got
		}()
	}
	for g := 0; g < 8; g++ {
		if got := <-done; got != want {
			t.Fatalf("got  %s\nwant %s", got, want)
		}
	}
}

func TestDuplicateKeys(t *testing.T) {
	l := newFakeLookup(t, AcceptAll)
	o := DefaultOptions()
	f := func(event, wantText string) {
		t.Helper()
		var p fastjson.Parser
		ev, err := p.Parse(event)
		if err != nil {
			t.Fatal(err)
		}
		req := AcquireRequest()
		defer ReleaseRequest(req)
		req.Start(time.Now(), nil, nil)
		var r Result
		Process(l, &o, ev, req, &r)
		if wantText == "" {
			if r.Outcome != Accepted {
				t.Fatalf("%s: %s", event, r.Errors.Text())
			}
			return
		}
		if r.Outcome != Invalid || r.Errors.Text() != wantText {
			t.Fatalf("%s: got %d %q, want %q", event, r.Outcome, r.Errors.Text(), wantText)
		}
	}
	base := `"$schema":"/test/event/1.0.0","meta":{"stream":"test.event"}`
	f(`{`+base+`,"test":"a"}`, "")
	f(`{`+base+`,"test":"a","test":"b"}`, "'' should not have the key 'test' twice")
	f(`{"$schema":"/test/event/1.0.0","meta":{"stream":"test.event","stream":"x"}}`, "'.meta' should not have the key 'stream' twice")
	f(`{`+base+`,"nested":{"a":[{"b":1},{"c":{"d":1,"d":2}}]}}`, "'.nested.a[1].c' should not have the key 'd' twice")
	f(`{`+base+`,"http":{"request_headers":{"x\u0041":"1","xA":"2"}}}`, "'.http.request_headers' should not have the key 'xA' twice")
	many := ""
	for i := 0; i < 40; i++ {
		many += fmt.Sprintf(`"k%d":%d,`, i, i)
	}
	f(`{`+base+`,"m":{`+many+`"k7":0}}`, "'.m' should not have the key 'k7' twice")
	f(`{`+base+`,"m":{`+strings.TrimSuffix(many, ",")+`}}`, "")
}

func TestParseDT(t *testing.T) {
	f := func(s string, want time.Time) {
		t.Helper()
		got, ok := parseDT(s)
		if want.IsZero() {
			if ok {
				t.Fatalf("parseDT(%q) = %s, want no time", s, got)
			}
			return
		}
		if !ok || !got.Equal(want) {
			t.Fatalf("parseDT(%q) = %s, %v; want %s", s, got, ok, want)
		}
	}
	utc := func(y, mo, d, h, mi, s, ns int) time.Time {
		return time.Date(y, time.Month(mo), d, h, mi, s, ns, time.UTC)
	}
	f("2020-07-01T12:30:45Z", utc(2020, 7, 1, 12, 30, 45, 0))
	f("2020-07-01T12:30:45.123Z", utc(2020, 7, 1, 12, 30, 45, 123_000_000))
	f("2020-07-01T12:30:45.123456789123z", utc(2020, 7, 1, 12, 30, 45, 123_456_789))
	f("2020-07-01t12:30:45.5Z", utc(2020, 7, 1, 12, 30, 45, 500_000_000))
	f("2020-07-01 12:30:45Z", utc(2020, 7, 1, 12, 30, 45, 0))
	f("2020-07-01\u00a012:30:45Z", utc(2020, 7, 1, 12, 30, 45, 0)) // a JavaScript space: Ajv's \s
	f("2020-07-01T12:30:45+02:00", utc(2020, 7, 1, 10, 30, 45, 0))
	f("2020-07-01T12:30:45-0130", utc(2020, 7, 1, 14, 0, 45, 0))
	f("2020-07-01T00:30:45+05", utc(2020, 6, 30, 19, 30, 45, 0))
	f("2016-12-31T23:59:60Z", utc(2017, 1, 1, 0, 0, 0, 0)) // a leap second rolls over
	f("2020-07-01T12:30:45", time.Time{})                  // no zone
	f("2020-07-01", time.Time{})
	f("yesterday", time.Time{})
	f("2020-07-01T12:30:45+2:00", time.Time{})
}

func TestEventTimestamp(t *testing.T) {
	l := newFakeLookup(t, AcceptAll)
	o := DefaultOptions()
	now := time.Date(2026, 11, 23, 18, 42, 0, 123456789, time.UTC)
	ingested := now.Truncate(time.Millisecond)
	f := func(event string, want time.Time) {
		t.Helper()
		ev := fastjson.MustParse(event)
		req := AcquireRequest()
		defer ReleaseRequest(req)
		req.Start(now, nil, nil)
		var r Result
		Process(l, &o, ev, req, &r)
		if r.Outcome != Accepted {
			t.Fatalf("not accepted: %s", r.Errors.Text())
		}
		if !r.Timestamp.Equal(want) {
			t.Fatalf("timestamp %s, want %s", r.Timestamp, want)
		}
	}
	// meta.dt written by enrichment: the ingestion time, as meta.dt says it (milliseconds).
	f(`{"$schema":"/test/event/1.0.0","meta":{"stream":"test.event"}}`, ingested)
	// The event's own meta.dt, as eventgate-wikimedia takes it.
	f(`{"$schema":"/test/event/1.0.0","meta":{"stream":"test.event","dt":"2020-07-01T12:30:45.678+02:00"}}`,
		time.Date(2020, 7, 1, 10, 30, 45, 678_000_000, time.UTC))
	// One that is not a date-time (the schema does not say it must be): the ingestion time.
	f(`{"$schema":"/test/event/1.0.0","meta":{"stream":"test.event","dt":"last tuesday"}}`, ingested)
	// A schema without meta.dt: the ingestion time.
	f(`{"$schema":"/legacy/1.0.0","meta":{"stream":"legacy"}}`, ingested)
}

func TestMaxEventBytes(t *testing.T) {
	l := newFakeLookup(t, AcceptAll)
	o := DefaultOptions()
	now := time.Date(2026, 11, 23, 18, 42, 0, 0, time.UTC)
	const event = `{"$schema":"/test/event/1.0.0","meta":{"stream":"test.event","dt":"2026-11-23T18:42:00Z","id":"x"},"test":"%s"}`
	process := func(limit int, test string) *Result {
		t.Helper()
		o.MaxEventBytes = limit
		ev := fastjson.MustParse(fmt.Sprintf(event, test))
		req := AcquireRequest()
		defer ReleaseRequest(req)
		req.Start(now, nil, nil)
		r := &Result{}
		Process(l, &o, ev, req, r)
		return r
	}
	// As produced: the defaults filled in count ("nested" has none to fill here).
	size := len(process(0, "abc").Value)
	if r := process(size, "abc"); r.Outcome != Accepted {
		t.Fatalf("an event of exactly --max-event-bytes: %s", r.Errors.Text())
	}
	r := process(size, "abcd")
	if r.Outcome != Invalid || r.ErrorType != "ValidationError" {
		t.Fatalf("an event one byte over --max-event-bytes: outcome %d (%s), want invalid", r.Outcome, r.ErrorType)
	}
	want := fmt.Sprintf("should be at most %d bytes as produced (--max-event-bytes), but is %d", size, size+1)
	if text := r.Errors.Text(); !strings.Contains(text, want) {
		t.Fatalf("errors %q lack %q", text, want)
	}
	if js := string(r.Errors.AppendJSON(nil)); !strings.Contains(js, `"keyword":"maxEventBytes"`) || !strings.Contains(js, fmt.Sprintf(`"params":{"limit":%d}`, size)) {
		t.Fatalf("error JSON %s lacks the keyword or the limit", js)
	}
}

// A stream keeps which header fields the first schema its events come with declares; an event of
// another version of the schema, which does not declare them, gets none, before and after.
func TestHeaderFieldsFollowTheEventsSchema(t *testing.T) {
	without := strings.Replace(strings.Replace(testSchemaDoc, `"/test/event/1.0.0"`, `"/test/event/1.1.0"`, 1),
		`"http": {"type": "object", "properties": {"client_ip": {"type": "string"},
    "request_headers": {"type": "object", "additionalProperties": {"type": "string"}}}},`, "", 1)
	if without == testSchemaDoc || strings.Contains(without, "request_headers") {
		t.Fatal("the test schema changed: cannot derive a version without http")
	}
	for _, order := range [][]string{{"1.0.0", "1.1.0", "1.0.0", "1.1.0"}, {"1.1.0", "1.0.0", "1.1.0", "1.0.0"}} {
		l := newFakeLookup(t, AcceptAll)
		l.schemas["/test/event/1.1.0"] = mustSchema(t, "/test/event/1.1.0", without, AcceptAll)
		o := DefaultOptions()
		for _, version := range order {
			var p fastjson.Parser
			ev, err := p.Parse(`{"$schema":"/test/event/` + version + `","meta":{"stream":"test.event"}}`)
			if err != nil {
				t.Fatal(err)
			}
			req := AcquireRequest()
			req.Start(time.Now(), nil, headers{"User-Agent": "curl/8"})
			var r Result
			Process(l, &o, ev, req, &r)
			if r.Outcome != Accepted {
				t.Fatalf("%s: outcome %d: %s", version, r.Outcome, r.Errors.Text())
			}
			got := strings.Contains(string(r.Value), `"user-agent":"curl/8"`)
			ReleaseRequest(req)
			if want := version == "1.0.0"; got != want {
				t.Fatalf("order %v, %s: user-agent enriched %v, want %v", order, version, got, want)
			}
		}
	}
}
