package client

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"time"
)

// Units are the ids sampling draws on: a stream's sample.unit names one of them.
type Units struct {
	Session  string
	Pageview string
	Device   string
}

func (u *Units) id(unit string) string {
	switch unit {
	case "session":
		return u.Session
	case "pageview":
		return u.Pageview
	case "device":
		return u.Device
	}
	return ""
}

// UnitEvent carries an event with the sampling unit ids of the user it is about, for backends
// that produce on behalf of many users: pass it to Send or Enqueue in place of the event. Empty
// fields fall back to the client's ids (WithUnits).
type UnitEvent struct {
	Event any
	Units Units
}

// NewEvent returns a new event of stream with schema schemaURI: a copy of fields (nil is fine;
// fields is not modified, nor is a map in fields["meta"]) with "$schema" and "meta.stream" set,
// and "dt" set to now (RFC 3339 UTC, milliseconds) unless fields has one.
func NewEvent(stream, schemaURI string, fields map[string]any) map[string]any {
	ev := make(map[string]any, len(fields)+3)
	maps.Copy(ev, fields)
	ev["$schema"] = schemaURI
	meta := map[string]any{}
	if m, ok := fields["meta"].(map[string]any); ok {
		maps.Copy(meta, m)
	}
	meta["stream"] = stream
	ev["meta"] = meta
	if _, ok := ev["dt"]; !ok {
		ev["dt"] = formatDT(time.Now())
	}
	return ev
}

// formatDT formats t as intake and EventGate do: RFC 3339, UTC, milliseconds.
func formatDT(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// NewID returns a random (version 4) UUID from crypto/rand, the form of meta.id.
func NewID() string {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		panic("BUG: crypto/rand failed: " + err.Error()) // it does not, since Go 1.24
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	return string(s[:])
}

// newUnitID returns 20 random hex digits: the default session, pageview and device ids.
func newUnitID() string {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("BUG: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// record is a prepared event: its JSON (with meta.id) and what the client needs to know of it.
type record struct {
	id, stream string
	raw        []byte
	units      *Units // enqueued before the stream configuration was loaded: the sender samples it by these ids; nil once decided
}

// prepare turns an event as given to Send or Enqueue into its JSON with a meta.id (and the
// WithDefaults and WithFillDT fields), without touching the caller's value. It returns the unit
// ids of a UnitEvent, nil for others.
func (c *Client) prepare(ev any, now time.Time) (record, *Units, error) {
	var units *Units
	switch u := ev.(type) {
	case UnitEvent:
		ev, units = u.Event, &u.Units
	case *UnitEvent:
		ev, units = u.Event, &u.Units
	}
	var raw []byte
	check := false // bytes from the caller; json.Marshal's output is valid
	switch v := ev.(type) {
	case nil:
		return record{}, nil, fmt.Errorf("%w, not nil", ErrNotObject)
	case json.RawMessage:
		raw, check = v, true
	case []byte:
		raw, check = v, true
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return record{}, nil, fmt.Errorf("intake client: cannot marshal the event (%T): %w", v, err)
		}
		raw = b
	}
	if len(raw) > c.cfg.maxEventBytes {
		return record{}, nil, fmt.Errorf("%w: %d bytes, more than %d", ErrEventTooLarge, len(raw), c.cfg.maxEventBytes)
	}
	if check && !json.Valid(raw) {
		return record{}, nil, fmt.Errorf("intake client: the event is not valid JSON (%d bytes)", len(raw))
	}
	rec, err := c.patch(raw, now)
	return rec, units, err
}

// patch returns a copy of raw (a valid JSON value) with meta.id added when absent, meta.stream
// and $schema from WithDefaults, and dt with WithFillDT; and the event's id and stream.
func (c *Client) patch(raw []byte, now time.Time) (record, error) {
	open := skipSpace(raw, 0)
	if open >= len(raw) || raw[open] != '{' {
		return record{}, ErrNotObject
	}
	var buf [16]member
	top, closing := objectMembers(raw, open, buf[:0])
	var meta, schema, dt *member
	for i := range top {
		m := &top[i]
		switch {
		case meta == nil && m.keyIs("meta"):
			meta = m
		case schema == nil && m.keyIs("$schema"):
			schema = m
		case dt == nil && m.keyIs("dt"):
			dt = m
		}
	}
	var rec record
	// What goes inside meta (at metaAt) and at the end of the event (at closing).
	var inMeta, atEnd []byte
	metaAt := -1
	switch {
	case meta == nil:
		rec.id = NewID()
		rec.stream = c.cfg.defaultStream
		atEnd = append(atEnd, `"meta":{"id":`...)
		atEnd = appendJSONString(atEnd, rec.id)
		if rec.stream != "" {
			atEnd = appendJSONString(append(atEnd, `,"stream":`...), rec.stream)
		}
		atEnd = append(atEnd, '}')
	case raw[meta.vStart] == '{':
		var mbuf [8]member
		mm, _ := objectMembers(raw, meta.vStart, mbuf[:0])
		var hasID, hasStream bool
		for i := range mm {
			m := &mm[i]
			switch {
			case !hasID && m.keyIs("id"):
				hasID = true
				rec.id, _ = stringValue(raw[m.vStart:m.vEnd])
			case !hasStream && m.keyIs("stream"):
				hasStream = true
				rec.stream, _ = stringValue(raw[m.vStart:m.vEnd])
			}
		}
		if !hasID {
			rec.id = NewID()
			inMeta = appendJSONString(append(inMeta, `"id":`...), rec.id)
		}
		if !hasStream && c.cfg.defaultStream != "" {
			rec.stream = c.cfg.defaultStream
			if len(inMeta) > 0 {
				inMeta = append(inMeta, ',')
			}
			inMeta = appendJSONString(append(inMeta, `"stream":`...), rec.stream)
		}
		if len(inMeta) > 0 {
			metaAt = meta.vStart + 1
			if len(mm) > 0 {
				inMeta = append(inMeta, ',')
			}
		}
	default:
		// meta is not an object: the edge will say so; there is no id to give it.
	}
	if schema == nil && c.cfg.defaultSchema != "" {
		if len(atEnd) > 0 {
			atEnd = append(atEnd, ',')
		}
		atEnd = appendJSONString(append(atEnd, `"$schema":`...), c.cfg.defaultSchema)
	}
	if dt == nil && c.cfg.fillDT {
		if len(atEnd) > 0 {
			atEnd = append(atEnd, ',')
		}
		atEnd = append(append(append(atEnd, `"dt":"`...), formatDT(now)...), '"')
	}
	if len(atEnd) > 0 && len(top) > 0 {
		atEnd = append([]byte{','}, atEnd...)
	}
	out := make([]byte, 0, len(raw)+len(inMeta)+len(atEnd))
	if metaAt >= 0 {
		out = append(out, raw[:metaAt]...)
		out = append(out, inMeta...)
		out = append(out, raw[metaAt:closing]...)
	} else {
		out = append(out, raw[:closing]...)
	}
	out = append(out, atEnd...)
	out = append(out, raw[closing:]...)
	rec.raw = out
	return rec, nil
}
