package fastpath

import (
	"strconv"
	"time"

	"github.com/valyala/fastjson"
)

// Options are the process-wide settings of the producer contract.
type Options struct {
	// StreamField is the path of the stream name in an event; default meta.stream.
	StreamField []string
	// SchemaField is the path of the schema URI in an event; default $schema.
	SchemaField []string
	// MaxEventBytes bounds an accepted event as produced (enriched, with defaults, serialized):
	// a larger one is Invalid (--max-event-bytes). 0: no bound.
	MaxEventBytes int
}

// DefaultOptions returns EventGate's field paths.
func DefaultOptions() Options {
	return Options{StreamField: []string{"meta", "stream"}, SchemaField: []string{"$schema"}}
}

// Outcome is what the contract decided for one event.
type Outcome uint8

const (
	// Accepted events are enriched and serialized into Result.Value, ready to produce.
	Accepted Outcome = iota
	// Invalid events broke the contract or their schema; Result.Errors says how.
	Invalid
	// Refused events name a stream this caller or service may not produce to.
	Refused
)

// Result is the decision for one event and, when accepted, what to produce. Reused from event to
// event: Key and Value are overwritten by the next Process, and StreamName and SchemaURI borrow
// from the event (valid until its parser parses again).
type Result struct {
	Outcome    Outcome
	Stream     *Stream
	Schema     *Schema
	StreamName []byte
	SchemaURI  []byte
	Topic      string
	Key        []byte // nil when the stream has no message_key_fields
	Value      []byte
	// Flagged are the stream's flag rules the event violated (see RuleFlag); the edge produces
	// an alarm event for each.
	Flagged []*Rule
	// Canary is true for an accepted event whose meta.domain is "canary".
	Canary bool
	// Timestamp is the event's meta.dt as a time, its Kafka timestamp: the ingestion time when
	// enrichment wrote it (Request.Time), the event's own when it brought one; Request.Time when
	// it has none that parses.
	Timestamp time.Time
	keyBuf    []byte
	// ErrorType names the failed contract step for error events: "ValidationError",
	// "StreamError", "SchemaError", "AuthorizationError".
	ErrorType string
	Errors    Errors
}

// Reset clears r for the next event, keeping its buffers (within a cap).
func (r *Result) Reset() {
	r.Outcome = Accepted
	r.Stream = nil
	r.Schema = nil
	r.StreamName = nil
	r.SchemaURI = nil
	r.Topic = ""
	if cap(r.Value) > maxKeepBytes {
		r.Value = nil
	}
	if cap(r.keyBuf) > maxKeepBytes {
		r.keyBuf = nil
	}
	r.Key = nil
	r.Value = r.Value[:0]
	r.Timestamp = time.Time{}
	clear(r.Flagged)
	r.Flagged = r.Flagged[:0]
	r.Canary = false
	r.ErrorType = ""
	r.Errors.reset()
}

func (r *Result) fail(outcome Outcome, errorType, keyword, instancePath, schemaPath, params, message string) {
	r.Outcome = outcome
	r.ErrorType = errorType
	r.Errors.Add(keyword, instancePath, schemaPath, params, message)
}

// eventNotObject words an event that is not a JSON object as Ajv 6 words a schema's "type":
// "object" (every event schema's).
var eventNotObject = AjvType([]string{"object"})

// Process runs the producer contract (DESIGN.md, steps 1 to 9) on one event, in order: stream name,
// stream configured, stream allowed, schema resolved, schema title, enrichment, defaults and
// validation, key, topic. ev is modified in place (enrichment and defaults). On the valid path it
// does not allocate once r, req and the lookups are warm.
func Process(l Lookup, o *Options, ev *fastjson.Value, req *Request, r *Result) {
	r.Reset()
	if ev.Type() != fastjson.TypeObject {
		e := &eventNotObject
		r.fail(Invalid, "ValidationError", e.Keyword, "", "#/type", e.Params, e.Message)
		return
	}
	// 0. One meaning per event: no key twice in an object.
	var dup []byte
	var key string
	var found bool
	if req.KeysUnique {
		// Fast path: the reading compared the keys (Parser).
	} else if dup, key, req.keys, found = duplicateKey(ev, req.keys[:0], req.path[:0]); found {
		req.path = dup
		// Slow path: build the error.
		params := string(AppendJSONString([]byte(`{"duplicateKey":`), key)) + "}"
		r.fail(Invalid, "ValidationError", "duplicateKey", string(dup), "#", params,
			"should not have the key '"+key+"' twice")
		return
	}

	// 0b. The request's query may name the stream and schema of events that lack them, for
	// producers that cannot write them (browsers' Reporting API): set before any check, so that
	// a value naming nothing fails as the same field in the body would.
	if len(req.QuerySchemaURI) > 0 {
		setIfMissing(ev, o.SchemaField, req.queryValue(&req.qSchema, req.QuerySchemaURI), &req.arena)
	}
	if len(req.QueryStream) > 0 {
		setIfMissing(ev, o.StreamField, req.queryValue(&req.qStream, req.QueryStream), &req.arena)
	}

	// 1. The stream named by the event.
	name := stringAt(ev, o.StreamField)
	if name == nil {
		r.fail(Invalid, "StreamError", "required", pointerOf(o.StreamField), "#/stream",
			`{"missingProperty":"`+pathString(o.StreamField)+`"}`,
			"should have a string "+pathString(o.StreamField)+" naming the event's stream")
		return
	}
	r.StreamName = name

	// 2. It must be configured.
	st := l.Stream(name)
	if st == nil {
		r.fail(Invalid, "StreamError", "stream", pointerOf(o.StreamField), "#/stream", "",
			"should name a configured stream: '"+string(name)+"' is not in the stream configuration")
		return
	}
	r.Stream = st

	// 3. This service and this caller must be allowed to produce to it.
	if st.Refusal != "" {
		r.fail(Refused, "AuthorizationError", "stream", pointerOf(o.StreamField), "#/stream", "", st.Refusal)
		return
	}
	if req.Caller != nil {
		if reason := req.Caller.MayWrite(st); reason != "" {
			r.fail(Refused, "AuthorizationError", "stream", pointerOf(o.StreamField), "#/stream", "", reason)
			return
		}
	}

	// 4. The schema named by the event, resolved against the configured repositories.
	uri := stringAt(ev, o.SchemaField)
	if uri == nil {
		r.fail(Invalid, "SchemaError", "required", pointerOf(o.SchemaField), "#/schema",
			`{"missingProperty":"`+pathString(o.SchemaField)+`"}`,
			"should have a string "+pathString(o.SchemaField)+" naming the event's schema")
		return
	}
	r.SchemaURI = uri
	sc, err := l.Schema(uri)
	if err != nil {
		r.fail(Invalid, "SchemaError", "schema", pointerOf(o.SchemaField), "#/schema", "",
			"should name a schema in the configured repositories: "+err.Error())
		return
	}
	r.Schema = sc

	// 5. The schema's title must be the stream's schema_title.
	if sc.Title != st.SchemaTitle {
		r.fail(Invalid, "SchemaError", "schema_title", pointerOf(o.SchemaField), "#/schema_title",
			`{"allowedTitle":"`+st.SchemaTitle+`"}`,
			"should name a schema titled '"+st.SchemaTitle+"' for stream '"+st.Name+"', but '"+
				string(uri)+"' is titled '"+sc.Title+"'")
		return
	}

	// 6. Enrichment, where the schema declares the field and the event lacks it.
	enrich(ev, sc, st, req)

	// 7. Defaults, then validation.
	sc.defaults.apply(ev)
	if !sc.validator.Validate(ev, &r.Errors) {
		r.Outcome = Invalid
		r.ErrorType = "ValidationError"
		if r.Errors.Len() == 0 {
			r.Errors.Add("schema", "", "#", "", "should be valid against "+sc.URI)
		}
		return
	}

	// 7b. The stream's data-quality rules, on the event as validated (see Rule).
	if len(st.Rules) > 0 && !checkRules(st.Rules, ev, r) {
		return
	}

	// 8. The Kafka key from message_key_fields.
	if len(st.KeyFields) > 0 {
		var ok bool
		r.keyBuf, ok = appendKey(r.keyBuf[:0], ev, st.KeyFields)
		if !ok {
			r.fail(Invalid, "ValidationError", "message_key", "", "#/message_key_fields",
				"", "should have every field of stream '"+st.Name+"' message_key_fields: "+missingKeyField(ev, st.KeyFields))
			return
		}
		r.Key = r.keyBuf
	}

	// 9. The topic, then the bytes to produce, within MaxEventBytes, and their timestamp.
	r.Topic = st.Topic
	ok := false
	if req.Raw != nil {
		// Fast path: the bytes as received, with what Process added spliced in.
		r.Value, ok = AppendSpliced(r.Value[:0], req.Raw, req.RawParsed, ev)
	}
	if !ok {
		r.Value = AppendJSON(r.Value[:0], ev)
	}
	if o.MaxEventBytes > 0 && len(r.Value) > o.MaxEventBytes {
		// Slow path: build the error.
		limit := strconv.Itoa(o.MaxEventBytes)
		r.fail(Invalid, "ValidationError", "maxEventBytes", "", "#", `{"limit":`+limit+`}`,
			"should be at most "+limit+" bytes as produced (--max-event-bytes), but is "+strconv.Itoa(len(r.Value)))
		return
	}
	r.Timestamp = eventTime(ev, req)
	r.Canary = isCanary(ev)
	r.Outcome = Accepted
}

// isCanary reports whether meta.domain is "canary": an event the canary command posts to prove
// the stream's pipeline works, counted apart from real traffic.
func isCanary(ev *fastjson.Value) bool {
	meta := ev.Get("meta")
	if meta == nil {
		return false
	}
	d := meta.Get("domain")
	if d == nil || d.Type() != fastjson.TypeString {
		return false
	}
	b, _ := d.StringBytes()
	return string(b) == "canary"
}

func enrich(ev *fastjson.Value, sc *Schema, st *Stream, req *Request) {
	meta := ev.Get("meta")
	if meta != nil && meta.Type() == fastjson.TypeObject {
		mo, _ := meta.Object()
		if sc.declaresMetaDT && mo.Get("dt") == nil {
			mo.Set("dt", req.dt())
		}
		if sc.declaresMetaID && mo.Get("id") == nil {
			mo.Set("id", req.arena.NewStringBytes(req.newUUID()))
		}
		if sc.declaresMetaRequestID && len(req.RequestID) > 0 && mo.Get("request_id") == nil {
			mo.Set("request_id", req.requestID())
		}
	}
	eo, _ := ev.Object()
	if sc.legacyDT && eo.Get("dt") == nil {
		eo.Set("dt", req.dt())
	}
	if sc.declaresClientIP && len(req.ClientIP) > 0 {
		setIfMissing(ev, clientIPPath, req.clientIP(), &req.arena)
	}
	if req.Headers == nil || len(st.HeaderFields) == 0 {
		return
	}
	declared := req.declaredHeaderFields(st, sc)
	for i := range st.HeaderFields {
		if !declared[i] {
			continue
		}
		if h := req.headerValue(st.HeaderFields[i].Header); h != nil {
			setIfMissing(ev, st.HeaderFields[i].Path, h, &req.arena)
		}
	}
}

var clientIPPath = []string{"http", "client_ip"}

// setIfMissing sets the value at path, creating the objects on the way, unless a value is there or
// something on the way is not an object.
func setIfMissing(ev *fastjson.Value, path []string, val *fastjson.Value, a *fastjson.Arena) {
	cur := ev
	for i, seg := range path {
		o, err := cur.Object()
		if err != nil {
			return
		}
		next := o.Get(seg)
		if i == len(path)-1 {
			if next == nil {
				o.Set(seg, val)
			}
			return
		}
		if next == nil {
			next = a.NewObject()
			o.Set(seg, next)
		}
		cur = next
	}
}

// stringAt returns the string at path, or nil when it is missing or not a string.
func stringAt(ev *fastjson.Value, path []string) []byte {
	v := ev.Get(path...)
	if v == nil || v.Type() != fastjson.TypeString {
		return nil
	}
	b, _ := v.StringBytes()
	return b
}

func appendKey(dst []byte, ev *fastjson.Value, fields []KeyField) ([]byte, bool) {
	dst = append(dst, '{')
	for i := range fields {
		v := ev.Get(fields[i].Path...)
		if v == nil {
			return dst, false
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendJSONString(dst, fields[i].Name)
		dst = append(dst, ':')
		dst = AppendJSON(dst, v)
	}
	return append(dst, '}'), true
}

func missingKeyField(ev *fastjson.Value, fields []KeyField) string {
	for i := range fields {
		if ev.Get(fields[i].Path...) == nil {
			return pathString(fields[i].Path) + " is missing"
		}
	}
	return "?"
}

func pathString(path []string) string {
	s := ""
	for i, p := range path {
		if i > 0 {
			s += "."
		}
		s += p
	}
	return s
}

func pointerOf(path []string) string {
	var b []byte
	for _, p := range path {
		b = AppendPointerToken(b, p)
	}
	return string(b)
}

// AppendJSONString appends s as a JSON string literal. Runs of bytes that need no escape (nearly
// all of them) are copied whole; only '"', '\\' and control characters are escaped.
func AppendJSONString(dst []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !jsonEscaped[c] {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// jsonEscaped marks the bytes a JSON string cannot hold as they are.
var jsonEscaped = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'] = true
	t['\\'] = true
	return t
}()
