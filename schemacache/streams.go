package schemacache

import (
	"fmt"
	"maps"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fastjson"

	"intake.dev/intake/fastpath"
)

// maxResolvedStreams bounds the per-snapshot cache of event stream names matched by a /regex/
// stream: the names come from clients.
const maxResolvedStreams = 10000

// Snapshot is one immutable view of the stream config, with the schema store behind it. It
// implements fastpath.Lookup.
type Snapshot struct {
	store   *schemaStore
	literal map[string]*fastpath.Stream
	regexes []regexStream
	streams []*fastpath.Stream
	unknown *fastpath.StreamCounters
	loaded  time.Time
	// rules and brokenRules count the streams' quality rules, compiled and left out.
	rules, brokenRules int

	// resolved caches the streams made for event names that matched a regex stream. Readers load
	// the map without a lock (the hot path of every regex stream's events, on every core);
	// writers, one per new name, copy it under mu.
	resolved atomic.Pointer[map[string]*fastpath.Stream]
	mu       sync.Mutex
}

var _ fastpath.Lookup = (*Snapshot)(nil)

type regexStream struct {
	re      *regexp.Regexp
	proto   *fastpath.Stream // Name is the configured /regex/
	prefix  string           // topic prefix for matched names
	service string           // --service-name, to word a refusal with the matched name
}

// Stream returns the configured stream for an event's stream name, or nil. Literal names are
// looked up first, then /regex/ names in config order. It does not keep name, and does not
// allocate for a name seen before.
func (s *Snapshot) Stream(name []byte) *fastpath.Stream {
	// Fast path: a literal stream name; the map lookup does not allocate.
	if st := s.literal[string(name)]; st != nil {
		return st
	}
	if len(s.regexes) == 0 {
		return nil
	}
	if st := (*s.resolved.Load())[string(name)]; st != nil {
		return st
	}
	// Slow path: the first time this name is seen.
	for i := range s.regexes {
		rs := &s.regexes[i]
		if rs.re.Match(name) {
			return s.resolve(rs, name)
		}
	}
	return nil
}

func (s *Snapshot) resolve(rs *regexStream, name []byte) *fastpath.Stream {
	st := *rs.proto
	st.Name = string(name)
	st.Topic = rs.prefix + st.Name
	if st.Refusal != "" {
		st.Refusal = refusal(fmt.Sprintf("%q (configured as %s)", st.Name, rs.proto.Name), st.DestinationService, rs.service)
	}
	if !validTopic(st.Topic) {
		// A /regex/ admits names Kafka would refuse as topics (or, hasty, drop unseen).
		st.Refusal = fmt.Sprintf("stream %q (configured as %s) does not make a valid Kafka topic %q: letters, digits, '.', '_' and '-' only, at most %d characters",
			st.Name, rs.proto.Name, st.Topic, maxTopicLen)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := *s.resolved.Load()
	if prev := old[st.Name]; prev != nil {
		return prev
	}
	if len(old) < maxResolvedStreams {
		m := maps.Clone(old)
		m[st.Name] = &st
		s.resolved.Store(&m)
	}
	return &st
}

// Schema returns the compiled schema for an event's $schema URI, loading it on first use. The
// schema store is shared by all snapshots of a Cache.
func (s *Snapshot) Schema(uri []byte) (*fastpath.Schema, error) { return s.store.lookup(uri) }

// Streams returns the configured streams in config order; a /regex/ stream has the configured
// /regex/ as Name. The slice is shared: do not modify it.
func (s *Snapshot) Streams() []*fastpath.Stream { return s.streams }

// UnknownCounters are the counters for events whose stream is not configured
// (stream="unknown"): client input never creates series.
func (s *Snapshot) UnknownCounters() *fastpath.StreamCounters { return s.unknown }

// Loaded returns when the snapshot's stream config was loaded.
func (s *Snapshot) Loaded() time.Time { return s.loaded }

// LoadedSchemas returns the canonical URIs of the schemas loaded so far, sorted.
func (s *Snapshot) LoadedSchemas() []string { return s.store.loaded() }

// buildSnapshot builds a snapshot from the stream config as read.
func (c *Cache) buildSnapshot(data []byte) (*Snapshot, error) {
	doc, err := toJSON(data)
	if err != nil {
		return nil, err
	}
	var p fastjson.Parser
	root, err := p.ParseBytes(doc)
	if err != nil {
		return nil, fmt.Errorf("cannot parse: %w", err)
	}
	streams, err := streamsObject(root)
	if err != nil {
		return nil, err
	}
	snap := &Snapshot{
		store:   c.store,
		literal: make(map[string]*fastpath.Stream, streams.Len()),
		unknown: streamCounters("unknown"),
		loaded:  time.Now(),
	}
	snap.resolved.Store(&map[string]*fastpath.Stream{})
	streams.Visit(func(k []byte, v *fastjson.Value) {
		name := string(k)
		if v.Type() != fastjson.TypeObject {
			c.log.Error("skipping a stream whose settings are not an object", "stream", name, "type", v.Type().String())
			return
		}
		st, prefix := c.buildStream(name, v)
		if pattern, ok := regexName(name); ok {
			re, err := regexp.Compile(pattern)
			if err != nil {
				// A JavaScript regex RE2 cannot compile: skip this stream, keep the others.
				c.log.Error("skipping a /regex/ stream whose pattern Go cannot compile",
					"stream", name, "error", err)
				return
			}
			snap.regexes = append(snap.regexes, regexStream{re: re, proto: st, prefix: prefix, service: c.cfg.ServiceName})
		} else {
			snap.literal[name] = st
		}
		snap.streams = append(snap.streams, st)
	})
	if len(snap.streams) == 0 {
		c.log.Warn("the stream config configures no streams; every event will be refused", "source", c.cfg.StreamConfig)
	}
	active, broken := 0, 0
	for _, st := range snap.streams {
		active += len(st.Rules)
		broken += len(st.RuleErrors)
	}
	snap.rules, snap.brokenRules = active, broken
	return snap, nil
}

// streamsObject finds the map of stream name to settings: MediaWiki's {"streams": {...}} or a
// plain map (EventGate's stream-config.test.yaml).
func streamsObject(root *fastjson.Value) (*fastjson.Object, error) {
	o, err := root.Object()
	if err != nil {
		return nil, fmt.Errorf("want an object of streams, not a JSON %s", root.Type())
	}
	if sv := o.Get("streams"); sv != nil && sv.Type() == fastjson.TypeObject && (o.Len() == 1 || sv.Get("schema_title") == nil) {
		so, _ := sv.Object()
		return so, nil
	}
	return o, nil
}

// regexName reports whether a configured stream name is a /regex/, and returns the pattern.
func regexName(name string) (string, bool) {
	if len(name) >= 2 && name[0] == '/' && name[len(name)-1] == '/' {
		return name[1 : len(name)-1], true
	}
	return "", false
}

// buildStream resolves one stream's settings for this service. It returns the stream and the
// topic prefix its events get.
func (c *Cache) buildStream(name string, v *fastjson.Value) (*fastpath.Stream, string) {
	st := &fastpath.Stream{
		Name:               name,
		SchemaTitle:        string(v.GetStringBytes("schema_title")),
		DestinationService: string(v.GetStringBytes("destination_event_service")),
		Config:             fastpath.AppendJSON(nil, v),
		Counters:           streamCounters(name),
	}
	prefix := c.cfg.TopicPrefix
	if tp := v.Get("topic_prefixes"); tp != nil && tp.Type() == fastjson.TypeNull {
		// The legacy eventlogging_* streams: EventGate produces them unprefixed.
		prefix = ""
	}
	st.Topic = prefix + name
	if svc := c.cfg.ServiceName; svc != "" && st.DestinationService != svc {
		st.Refusal = refusal(strconv.Quote(name), st.DestinationService, svc)
	}
	if mk := v.GetObject("message_key_fields"); mk != nil {
		mk.Visit(func(k []byte, path *fastjson.Value) {
			if path.Type() != fastjson.TypeString {
				c.log.Warn("ignoring a message_key_fields entry that is not a field path", "stream", name, "key", string(k))
				return
			}
			st.KeyFields = append(st.KeyFields, fastpath.KeyField{
				Name: string(k),
				Path: fastpath.SplitPath(string(path.GetStringBytes())),
			})
		})
	}
	producer := producerSettings(v, c.cfg.ServiceName)
	st.Access = c.streamAccess(name, producer)
	if headers := producer.GetObject("enrich_fields_from_http_headers"); headers != nil {
		headers.Visit(func(k []byte, h *fastjson.Value) {
			switch h.Type() {
			case fastjson.TypeString:
				field := string(k)
				st.HeaderFields = append(st.HeaderFields, fastpath.HeaderField{
					Dotted: field,
					Path:   fastpath.SplitPath(field),
					Header: string(h.GetStringBytes()),
				})
			case fastjson.TypeFalse:
				// Disabled for this stream.
			default:
				c.log.Warn("ignoring an enrich_fields_from_http_headers entry that is neither a header name nor false",
					"stream", name, "field", string(k))
			}
		})
	}
	c.buildRules(st, v.Get("quality_rules"))
	if v.GetBool("canary_events_enabled") {
		// Registered for the streams that take canaries, so that a missing one shows (0: never).
		st.Canary = CanaryCounters(name)
	}
	if c.cfg.OnStream != nil {
		c.cfg.OnStream(st)
	}
	return st, prefix
}

// buildRules compiles the stream's quality_rules (fastpath.CompileRules), with a violation counter
// for each rule; a rule that does not compile is logged and left out (st.RuleErrors).
func (c *Cache) buildRules(st *fastpath.Stream, rules *fastjson.Value) {
	if rules == nil {
		return
	}
	st.Rules, st.RuleErrors = fastpath.CompileRules(st.Name, rules, fastpath.CompileOptions{
		FormatMode: c.cfg.FormatMode,
		Resolve:    c.resolveRef,
	})
	for i := range st.Rules {
		ru := &st.Rules[i]
		ru.Violations = metrics.GetOrCreateCounter(`intake_quality_violations_total{stream="` + escapeLabel(st.Name) +
			`",rule="` + escapeLabel(ru.Name) + `",action="` + ru.Action.String() + `"}`)
	}
	for _, e := range st.RuleErrors {
		c.log.Error("skipping a quality rule that does not compile; the stream works without it",
			"stream", st.Name, "rule", e.Name, "index", e.Index, "reason", e.Reason)
	}
}

// CanaryCounters returns a stream's canary counters, registered once per name.
func CanaryCounters(stream string) *fastpath.CanaryCounters {
	l := escapeLabel(stream)
	return &fastpath.CanaryCounters{
		Events:   metrics.GetOrCreateCounter(`intake_canary_events_total{stream="` + l + `"}`),
		LastSeen: metrics.GetOrCreateGauge(`intake_canary_last_seen_timestamp_seconds{stream="`+l+`"}`, nil),
	}
}

// streamAccess reads producers.<service>'s auth, allowed_origins and allow_debug. An auth value it
// cannot read counts as "required" (and is logged): a typo must not open a stream to everyone.
func (c *Cache) streamAccess(name string, producer *fastjson.Value) fastpath.StreamAccess {
	var a fastpath.StreamAccess
	if producer == nil {
		return a
	}
	switch av := producer.Get("auth"); {
	case av == nil:
	case av.Type() == fastjson.TypeString && (string(av.GetStringBytes()) == "none" || string(av.GetStringBytes()) == "required"):
		a.Auth = string(av.GetStringBytes())
	case av.Type() == fastjson.TypeArray:
		a.Auth = "list"
		for _, p := range av.GetArray() {
			if p.Type() != fastjson.TypeString {
				c.log.Warn("ignoring an auth entry that is not a principal name", "stream", name)
				continue
			}
			a.Principals = append(a.Principals, string(p.GetStringBytes()))
		}
	default:
		c.log.Warn(`stream auth is neither "none", "required" nor a list of principals; treating it as "required"`, "stream", name)
		a.Auth = "required"
	}
	for _, o := range producer.GetArray("allowed_origins") {
		if o.Type() == fastjson.TypeString {
			a.AllowedOrigins = append(a.AllowedOrigins, string(o.GetStringBytes()))
		} else {
			c.log.Warn("ignoring an allowed_origins entry that is not a string", "stream", name)
		}
	}
	a.AllowDebug = producer.GetBool("allow_debug")
	return a
}

// refusal says why this service may not produce to a stream (quoted is its quoted name).
func refusal(quoted, destination, service string) string {
	if destination == "" {
		return fmt.Sprintf("stream %s has no destination_event_service, and this service (--service-name=%s) accepts only streams destined for it", quoted, service)
	}
	return fmt.Sprintf("stream %s is destined for %q, not for this service (--service-name=%s)", quoted, destination, service)
}

// producerSettings returns producers.<service>, or producers.eventgate when the stream has no
// settings under the service's own name. nil when there are none.
func producerSettings(v *fastjson.Value, service string) *fastjson.Value {
	producers := v.Get("producers")
	if producers == nil || producers.Type() != fastjson.TypeObject {
		return nil
	}
	if service != "" {
		if p := producers.Get(service); p != nil && p.Type() == fastjson.TypeObject {
			return p
		}
	}
	if p := producers.Get("eventgate"); p != nil && p.Type() == fastjson.TypeObject {
		return p
	}
	return nil
}

// streamCounters returns the per-stream event counters, registered once per name (later
// snapshots get the same counters).
func streamCounters(label string) *fastpath.StreamCounters {
	l := escapeLabel(label)
	name := func(outcome string) string {
		return `intake_events_total{stream="` + l + `",outcome="` + outcome + `"}`
	}
	return &fastpath.StreamCounters{
		Accepted: metrics.GetOrCreateCounter(name("accepted")),
		Invalid:  metrics.GetOrCreateCounter(name("invalid")),
		Refused:  metrics.GetOrCreateCounter(name("refused")),
		Errored:  metrics.GetOrCreateCounter(name("errored")),
	}
}

// escapeLabel escapes a Prometheus label value.
func escapeLabel(s string) string {
	if !strings.ContainsAny(s, "\\\"\n") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// maxTopicLen is Kafka's limit on topic names.
const maxTopicLen = 249

// validTopic reports whether Kafka accepts t as a topic name.
func validTopic(t string) bool {
	if len(t) == 0 || len(t) > maxTopicLen || t == "." || t == ".." {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
