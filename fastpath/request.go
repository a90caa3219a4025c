package fastpath

import (
	crand "crypto/rand"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
	"unsafe"

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
	// ClientIP is the client's address as text ("192.0.2.1", "2001:db8::1"), written into
	// http.client_ip where the schema declares it and the event lacks it; empty: none. Set after
	// Start, borrowed like RequestID.
	ClientIP []byte
	// Raw is the bytes of the event Process is given, as received, when they are compact JSON
	// (Span.Bytes; set per event by the caller), else nil. With it Process splices the Kafka
	// value from them (AppendSpliced) instead of writing the tree (AppendJSON).
	Raw []byte
	// RawParsed is the same event's bytes in fastpath.Parser's copy of the body when the event
	// was read by a Parser (Parser.Copy), else nil: the splice then takes its positions from the
	// tree.
	RawParsed []byte
	// KeysUnique: the caller's reading found no object of the event with a key twice
	// (Span.KeysUnique), so Process skips its own walk for them.
	KeysUnique bool
	// QueryStream and QuerySchemaURI are the stream name and schema URI the request's query
	// gives (--stream-query-param, --schema-uri-query-param), written into the stream and schema
	// fields of the events lacking them before anything else is checked; empty: none. Set after
	// Start, borrowed like RequestID. Values that are not UTF-8 are written with U+FFFD in place
	// of the bad bytes, so they name nothing and the event is invalid, worded like a body field.
	QueryStream, QuerySchemaURI []byte

	arena    fastjson.Arena
	dtValue  *fastjson.Value // DT as a value, built once per request and shared by its events
	ridValue *fastjson.Value
	ipValue  *fastjson.Value
	qStream  *fastjson.Value
	qSchema  *fastjson.Value
	rng      *rand.ChaCha8
	uuid     [36]byte
	keys     []string // scratch for the duplicate-key check
	path     []byte
	ridBuf   []byte // RequestID when it had to be cut or mended (headerText)
	textBuf  []byte // scratch for headerText

	// Memos: the events of one request mostly share a stream and a schema, and always its headers.
	declared     []bool // declaredHeaderFields' scratch, for a schema its stream keeps none for
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
	r.ClientIP, r.QueryStream, r.QuerySchemaURI, r.Raw, r.RawParsed, r.KeysUnique = nil, nil, nil, nil, nil, false
	for _, b := range []*[]byte{&r.ridBuf, &r.textBuf} {
		if cap(*b) > maxKeepBytes {
			*b = nil
		}
		*b = (*b)[:0]
	}
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
// borrowed: they must stay valid until the request's events are processed. The request id is
// kept as headerText makes it, as every header value enrichment copies.
func (r *Request) Start(now time.Time, requestID []byte, headers HeaderSource) {
	r.Time = now.Truncate(time.Millisecond)
	r.DT = AppendDT(r.DT[:0], r.Time)
	r.ridBuf = r.ridBuf[:0]
	r.RequestID = headerText(&r.ridBuf, requestID)
	r.Headers = headers
	r.clearMemos()
}

// clearMemos forgets what was worked out for the previous request's events.
func (r *Request) clearMemos() {
	r.dtValue = nil
	r.ridValue = nil
	r.ipValue, r.qStream, r.qSchema = nil, nil, nil
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

// declaredHeaderFields reports, per header field of st, whether sc declares its path: kept with the
// stream for the first maxDeclaredKept schemas its events come with (an allocation for each), and
// otherwise computed for the event.
func (r *Request) declaredHeaderFields(st *Stream, sc *Schema) []bool {
	var kept []declaredFields
	if p := (*[]declaredFields)(atomic.LoadPointer(&st.declared)); p != nil {
		kept = *p
	}
	for i := range kept {
		if kept[i].schema == sc {
			return kept[i].fields
		}
	}
	r.declared = r.declared[:0]
	for i := range st.HeaderFields {
		r.declared = append(r.declared, sc.Declares(st.HeaderFields[i].Dotted))
	}
	if len(kept) < maxDeclaredKept {
		// Slow path, once per stream and schema: keep it for the stream's next events. A
		// concurrent request may replace the list meanwhile and one of the two entries be lost:
		// it is computed and kept again by a later event.
		more := append(slices.Clip(kept), declaredFields{schema: sc, fields: slices.Clone(r.declared)})
		atomic.StorePointer(&st.declared, unsafe.Pointer(&more))
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
		r.textBuf = r.textBuf[:0]
		v = r.arena.NewStringBytes(headerText(&r.textBuf, h))
	}
	r.headerNames = append(r.headerNames, name)
	r.headerValues = append(r.headerValues, v)
	return v
}

// clientIP returns ClientIP as a string value shared by the request's events.
func (r *Request) clientIP() *fastjson.Value {
	if r.ipValue == nil {
		r.ipValue = r.arena.NewStringBytes(r.ClientIP)
	}
	return r.ipValue
}

// queryValue returns a query default (QueryStream, QuerySchemaURI) as a string value shared by the
// request's events, memoized in *memo; invalid UTF-8 is mended as headerText mends it, without
// the cut.
func (r *Request) queryValue(memo **fastjson.Value, b []byte) *fastjson.Value {
	if *memo == nil {
		if !utf8.Valid(b) {
			r.textBuf = appendMended(r.textBuf[:0], b, len(b)*3)
			b = r.textBuf
		}
		*memo = r.arena.NewStringBytes(b)
	}
	return *memo
}

// MaxHeaderValueBytes is the most of a request header's value enrichment copies into an event
// (enrich_fields_from_http_headers, meta.request_id). eventgate-wikimedia keeps the first 400
// characters of a header as Node reads it, one character per byte; so does intake, except that
// it never cuts a UTF-8 sequence in two.
const MaxHeaderValueBytes = 400

// headerText is a header value as events may carry it: at most MaxHeaderValueBytes, cut before a
// UTF-8 sequence that would not fit whole, and valid UTF-8, each run of bytes that is not UTF-8
// written as U+FFFD (a header is bytes; an event's strings are UTF-8, and Kafka must get JSON).
// Fast path: a short, valid value is h itself. Otherwise the text is built in *buf.
func headerText(buf *[]byte, h []byte) []byte {
	if len(h) <= MaxHeaderValueBytes && utf8.Valid(h) {
		return h
	}
	// Slow path: a long header (a 16 KiB User-Agent must not be copied into every event), or one
	// that is not UTF-8.
	*buf = appendMended((*buf)[:0], h, MaxHeaderValueBytes)
	return *buf
}

// appendMended appends the runes of b to dst, U+FFFD for each run of bytes that is not UTF-8,
// until the next one would take dst's growth beyond max bytes.
func appendMended(dst, b []byte, max int) []byte {
	start := len(dst)
	bad := false
	for len(b) > 0 {
		c, size := utf8.DecodeRune(b)
		next := b[:size]
		if c == utf8.RuneError && size == 1 {
			if bad {
				b = b[1:]
				continue // one U+FFFD for the whole run
			}
			next = replacementChar
		}
		bad = c == utf8.RuneError && size == 1
		if len(dst)-start+len(next) > max {
			break
		}
		dst = append(dst, next...)
		b = b[size:]
	}
	return dst
}

var replacementChar = []byte(string(utf8.RuneError))

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
