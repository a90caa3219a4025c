package fastpath

import "github.com/valyala/fastjson"

// ErrorEvent describes an event that was not accepted, for the error stream. Its JSON has the shape
// of the error/2.1.0 schema in the primary schema repository.
type ErrorEvent struct {
	SchemaURI        string // "/error/2.1.0"
	Stream           string // the error stream
	EmitterID        string // who rejected it: the service name
	ErrorType        string // Result.ErrorType
	Message          []byte // the errorsText
	ErroredStream    []byte // the event's stream name, when it had one
	ErroredSchemaURI []byte // the event's $schema, when it had one
	RawEvent         []byte // the event as received, JSON
}

// AppendErrorEvent appends e as JSON, with dt, meta.dt, a new meta.id and the request id from req.
func (req *Request) AppendErrorEvent(dst []byte, e *ErrorEvent) []byte {
	dst = req.appendEventHead(dst, e.SchemaURI, e.Stream, e.EmitterID)
	if e.ErrorType != "" {
		dst = append(dst, `,"error_type":`...)
		dst = AppendJSONString(dst, e.ErrorType)
	}
	if len(e.ErroredSchemaURI) > 0 {
		dst = append(dst, `,"errored_schema_uri":`...)
		dst = AppendJSONString(dst, b2s(e.ErroredSchemaURI))
	}
	if len(e.ErroredStream) > 0 {
		dst = append(dst, `,"errored_stream_name":`...)
		dst = AppendJSONString(dst, b2s(e.ErroredStream))
	}
	dst = append(dst, `,"message":`...)
	dst = AppendJSONString(dst, b2s(e.Message))
	dst = append(dst, `,"raw_event":`...)
	dst = AppendJSONString(dst, b2s(e.RawEvent))
	return append(dst, '}')
}

// AlarmEvent describes a violation of a flag rule, for the quality alarm stream. Its JSON has the
// shape of the intake/quality_alarm/1.0.0 schema (examples/schemas).
type AlarmEvent struct {
	SchemaURI string // "/intake/quality_alarm/1.0.0"
	Stream    string // the alarm stream
	EmitterID string // the service name
	Rule      *Rule
	Source    string // the stream of the event that violated the rule
	Values    []byte // Rule.AppendValues: {"field.path": "JSON text of its value", ...}
	RawEvent  []byte // the event as produced, JSON
}

// AppendAlarmEvent appends a as JSON, with dt, meta.dt, a new meta.id and the request id from req;
// event_id is ev's meta.id.
func (req *Request) AppendAlarmEvent(dst []byte, a *AlarmEvent, ev *fastjson.Value) []byte {
	dst = req.appendEventHead(dst, a.SchemaURI, a.Stream, a.EmitterID)
	dst = append(dst, `,"rule":`...)
	dst = AppendJSONString(dst, a.Rule.Name)
	dst = append(dst, `,"action":"`...)
	dst = append(dst, a.Rule.Action.String()...)
	dst = append(dst, `","rule_text":`...)
	dst = AppendJSONString(dst, a.Rule.Text)
	dst = append(dst, `,"stream":`...)
	dst = AppendJSONString(dst, a.Source)
	if id := ev.GetStringBytes("meta", "id"); len(id) > 0 {
		dst = append(dst, `,"event_id":`...)
		dst = AppendJSONString(dst, b2s(id))
	}
	dst = append(dst, `,"values":`...)
	dst = append(dst, a.Values...)
	dst = append(dst, `,"raw_event":`...)
	dst = AppendJSONString(dst, b2s(a.RawEvent))
	return append(dst, '}')
}

// appendEventHead opens an event intake writes itself: $schema, meta (stream, dt, a new id, the
// request id), dt and emitter_id.
func (req *Request) appendEventHead(dst []byte, schemaURI, stream, emitterID string) []byte {
	dst = append(dst, `{"$schema":`...)
	dst = AppendJSONString(dst, schemaURI)
	dst = append(dst, `,"meta":{"stream":`...)
	dst = AppendJSONString(dst, stream)
	dst = append(dst, `,"dt":"`...)
	dst = append(dst, req.DT...)
	dst = append(dst, `","id":"`...)
	dst = append(dst, req.newUUID()...)
	dst = append(dst, '"')
	if len(req.RequestID) > 0 {
		dst = append(dst, `,"request_id":`...)
		dst = AppendJSONString(dst, b2s(req.RequestID))
	}
	dst = append(dst, `},"dt":"`...)
	dst = append(dst, req.DT...)
	dst = append(dst, `","emitter_id":`...)
	return AppendJSONString(dst, emitterID)
}
