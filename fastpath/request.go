package fastpath

import (
	crand "crypto/rand"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/valyala/fastjson"
)

// HeaderSource gives the request headers by name (fasthttp's *RequestHeader is one). The returned
// slice must stay valid until the request's events are processed.
type HeaderSource interface {
	Peek(key string) []byte
}

// Request is the state shared by the events of one HTTP request: ingestion time, request id,
// headers, and the arena the enrichment values are built in. Pooled: AcquireRequest/ReleaseRequest.
type Request struct {
	// DT is the ingestion time as RFC 3339 UTC with milliseconds, set by Start.
	DT []byte
	// Time is the ingestion time DT writes, to the millisecond.
	Time time.Time
	// RequestID is the X-Request-Id header, empty when the client sent none.
	RequestID []byte
	// Headers gives the other request headers for enrich_fields_from_http_headers.
	Headers HeaderSource
	// Caller, when set, decides whether the request's caller may write a stream (Process's step
	// 3). The edge sets it for the request's lifetime; ReleaseRequest clears it.
	Caller Caller

	arena    fastjson.Arena
	dtValue  *fastjson.Value // DT as a value, built once per request and shared by its events
	ridValue *fastjson.Value
	rng      *rand.ChaCha8
	uuid     [36]byte
	keys     []string // scratch for the duplicate-key check
	path     []byte

	// Memos: the events of one request mostly share a stream and a schema, and always its headers.
	declStream   *Stream
	declSchema   *Schema
	declared     []bool // per declStream.HeaderFields: does declSchema declare it
	headerNames  []string
	headerValues []*fastjson.Value // nil: the request has no such header
}

var requestPool sync.Pool

// AcquireRequest returns a Request from the pool; call Start before processing events.
func AcquireRequest() *Request {
	if v := requestPool.Get(); v != nil {
		return v.(*Request)
	}
	var seed [32]byte
	_, _ = crand.Read(seed[:]) // crypto/rand.Read never fails on supported platforms
	return &Request{rng: rand.NewChaCha8(seed), path: make([]byte, 0, 256), keys: make([]string, 0, 64)}
}

// Caller is who sent a request, as far as producing goes.
type Caller interface {
	// MayWrite returns "" when the caller may write the stream's events, else the reason it may
	// not. It must not keep st beyond the call, and should not allocate when it allows.
	MayWrite(st *Stream) string
}

// ReleaseRequest returns r to the pool. Nothing built by r may be used afterwards.
func ReleaseRequest(r *Request) {
	r.reset()
	requestPool.Put(r)
}

func (r *Request) reset() {
	r.DT = r.DT[:0]
	r.Time = time.Time{}
	r.RequestID = nil
	r.Headers = nil
	r.Caller = nil
	r.arena.Reset()
	r.clearMemos()
	clear(r.keys)
	if cap(r.keys) > maxKeepBytes/8 {
		r.keys = nil
	}
	r.keys = r.keys[:0]
}

// maxKeepBytes caps the buffers a pooled object keeps: one huge request must not pin its memory.
const maxKeepBytes = 64 << 10

// Start sets the ingestion time and request id for the request's events. requestID and headers are
// borrowed: they must stay valid until the request's events are processed.
func (r *Request) Start(now time.Time, requestID []byte, headers HeaderSource) {
	r.Time = now.Truncate(time.Millisecond)
	r.DT = AppendDT(r.DT[:0], r.Time)
	r.RequestID = requestID
	r.Headers = headers
	r.clearMemos()
}

// clearMemos forgets what was worked out for the previous request's events.
func (r *Request) clearMemos() {
	r.dtValue = nil
	r.ridValue = nil
	r.declStream, r.declSchema = nil, nil
	clear(r.headerNames)
	r.headerNames = r.headerNames[:0]
	clear(r.headerValues)
	r.headerValues = r.headerValues[:0]
}

// AppendDT appends t as RFC 3339 in UTC with millisecond precision, the form of meta.dt.
func AppendDT(dst []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(dst, "2006-01-02T15:04:05.000Z")
}

func (r *Request) dt() *fastjson.Value {
	if r.dtValue == nil {
		r.dtValue = r.arena.NewStringBytes(r.DT)
	}
	return r.dtValue
}

func (r *Request) requestID() *fastjson.Value {
	if r.ridValue == nil {
		r.ridValue = r.arena.NewStringBytes(r.RequestID)
	}
	return r.ridValue
}

// declaredHeaderFields reports, per header field of st, whether sc declares its path, computed once
// per request for each new (stream, schema) pair.
func (r *Request) declaredHeaderFields(st *Stream, sc *Schema) []bool {
	if st != r.declStream || sc != r.declSchema {
		r.declared = r.declared[:0]
		for i := range st.HeaderFields {
			r.declared = append(r.declared, sc.Declares(st.HeaderFields[i].Dotted))
		}
		r.declStream, r.declSchema = st, sc
	}
	return r.declared
}

// headerValue returns the request header name as a string value shared by the request's events,
// or nil when the request has no such header (or an empty one).
func (r *Request) headerValue(name string) *fastjson.Value {
	for i, n := range r.headerNames {
		if n == name {
			return r.headerValues[i]
		}
	}
	var v *fastjson.Value
	if h := r.Headers.Peek(name); len(h) > 0 {
		v = r.arena.NewStringBytes(h)
	}
	r.headerNames = append(r.headerNames, name)
	r.headerValues = append(r.headerValues, v)
	return v
}

// newUUID returns a random (version 4) UUID in r's buffer, valid until the next call.
func (r *Request) newUUID() []byte {
	const hexDigits = "0123456789abcdef"
	var b [16]byte
	hi, lo := r.rng.Uint64(), r.rng.Uint64()
	for i := 0; i < 8; i++ {
		b[i] = byte(hi >> (56 - 8*i))
		b[8+i] = byte(lo >> (56 - 8*i))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	j := 0
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			r.uuid[j] = '-'
			j++
		}
		r.uuid[j] = hexDigits[c>>4]
		r.uuid[j+1] = hexDigits[c&0x0f]
		j += 2
	}
	return r.uuid[:]
}
