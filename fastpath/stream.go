package fastpath

import (
	"strings"
	"unsafe"

	"github.com/VictoriaMetrics/metrics"
)

// Stream is one configured stream, resolved for this service: everything the per-event checks need,
// computed once per stream config snapshot. Immutable once built, but for a cache kept atomically
// (declared).
type Stream struct {
	// Name is the stream's name. For a stream configured by /regex/, it is the event's stream name
	// that matched.
	Name string
	// SchemaTitle is the title every event of the stream must have ("schema_title").
	SchemaTitle string
	// Topic is the Kafka topic its events go to: the configured prefix + Name, or Name alone when the
	// stream's config says "topic_prefixes: null".
	Topic string
	// DestinationService is the stream's "destination_event_service".
	DestinationService string
	// Refusal is "" when this service may produce to the stream, else the reason it may not.
	Refusal string
	// KeyFields build the Kafka message key ("message_key_fields"), in configured order.
	KeyFields []KeyField
	// HeaderFields are the fields filled from HTTP headers
	// ("producers.<service>.enrich_fields_from_http_headers").
	HeaderFields []HeaderField
	// Config is the stream's configuration as JSON, as served by GET /v1/streams.
	Config []byte
	// Counters count the stream's events by outcome; nil counters are allowed (nothing counted).
	Counters *StreamCounters
	// Access is who may produce to the stream, as configured for this service.
	Access StreamAccess
	// Rules are the stream's data-quality rules ("quality_rules") that compiled, run in order on
	// every valid event; RuleErrors the ones that did not, left out.
	Rules      []Rule
	RuleErrors []RuleError
	// Canary counts the stream's canary events (meta.domain "canary"), apart from Counters'
	// accepted; nil counts nothing.
	Canary *CanaryCounters
	// Ext is what the service derives from the stream's config once per snapshot (the edge's
	// compiled access policy), set by schemacache's Config.OnStream; fastpath never reads it. The
	// streams a /regex/ name resolves to share their configured stream's.
	Ext any

	// declared is a *[]declaredFields: which HeaderFields each of the first schemas its events
	// came with declares (Request.declaredHeaderFields), replaced whole and atomically. Not an
	// atomic.Pointer: a Stream is copied for each name a /regex/ resolves to (before any event
	// reaches the copy).
	declared unsafe.Pointer
}

// declaredFields is, for one schema, whether it declares each header field of a stream.
type declaredFields struct {
	schema *Schema
	fields []bool
}

// maxDeclaredKept bounds the schemas a stream keeps declaredFields for: the versions of its schema
// that its producers send at one time.
const maxDeclaredKept = 8

// StreamAccess is a stream's producers.<service> access settings.
type StreamAccess struct {
	// Auth is "none" (anyone, anonymous callers included), "required" (any authenticated caller
	// allowed the stream), "list" (only Principals), or "" (not configured: the service's default).
	Auth string
	// Principals are the callers allowed when Auth is "list" ("auth": [names...]).
	Principals []string
	// AllowedOrigins are browser origins allowed besides the service's global ones
	// ("allowed_origins": exact origins and https://*.example.org wildcards).
	AllowedOrigins []string
	// AllowDebug lets callers allowed developer mode use it on this stream ("allow_debug").
	AllowDebug bool
}

// KeyField is one entry of a stream's message_key_fields: Name in the key object, Path in the event.
type KeyField struct {
	Name string
	Path []string
}

// HeaderField fills the event field Path (dotted form in Dotted) from the request header Header.
type HeaderField struct {
	Dotted string
	Path   []string
	Header string
}

// StreamCounters are the per-stream event counters, registered once per snapshot.
type StreamCounters struct {
	Accepted *metrics.Counter
	Invalid  *metrics.Counter
	Refused  *metrics.Counter
	Errored  *metrics.Counter
}

// CanaryCounters count a stream's canary events (intake_canary_events_total and
// intake_canary_last_seen_timestamp_seconds).
type CanaryCounters struct {
	Events   *metrics.Counter
	LastSeen *metrics.Gauge // Unix seconds of the last one accepted
}

// SplitPath splits a dotted field path ("meta.stream") into its segments.
func SplitPath(dotted string) []string {
	if dotted == "" {
		return nil
	}
	return strings.Split(dotted, ".")
}
