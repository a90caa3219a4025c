package edge

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fastjson"

	"intake.dev/intake/edge/ratelimit"
	"intake.dev/intake/fastpath"
	"intake.dev/intake/kafkaout"
	"intake.dev/intake/schemacache"
)

// eventStatus is what became of one event of a request.
type eventStatus uint8

const (
	statusPending     eventStatus = iota // queued for Kafka, result not known yet
	statusInvalid                        // broke the contract or its schema
	statusRefused                        // its stream is not open to this service or caller
	statusLimited                        // its stream's rate limit refused it (429)
	statusUnavailable                    // could not be queued (back-pressure) or Kafka did not answer in time
	statusFailed                         // Kafka refused it
	statusAccepted                       // acknowledged by Kafka, or queued by a hasty request
)

// requestState is the reusable per-request memory of POST /v1/events. Pooled.
type requestState struct {
	parser   fastjson.Parser
	res      fastpath.Result
	status   []eventStatus
	streams  []*fastpath.Stream // per event: its stream, for the counters once Kafka answers
	messages []string           // per event: why it was unavailable or failed
	single   [1]*fastjson.Value
	body     []byte // decompressed body
	invalid  []byte // the "invalid" entries of the response, JSON
	failed   []byte // the "error" entries of the response, JSON
	scratch  []byte
	errEvent []byte
	caller   caller // the request's fastpath.Caller when an access layer is configured
	// Developer mode and dry runs: per event, the event as it would be produced, or its errors.
	debugEntries [][]byte
	debugBuf     []byte
}

var requestStatePool sync.Pool

func getRequestState() *requestState {
	if v := requestStatePool.Get(); v != nil {
		return v.(*requestState)
	}
	return &requestState{}
}

func putRequestState(st *requestState) {
	st.reset()
	requestStatePool.Put(st)
}

// maxKeepBytes caps what a pooled buffer keeps: one huge request must not pin its memory.
const maxKeepBytes = 256 << 10

func (st *requestState) reset() {
	st.res.Reset()
	st.status = st.status[:0]
	clear(st.streams)
	st.streams = st.streams[:0]
	clear(st.messages)
	st.messages = st.messages[:0]
	st.single[0] = nil
	st.caller = caller{}
	clear(st.debugEntries)
	st.debugEntries = st.debugEntries[:0]
	if cap(st.debugBuf) > maxKeepBytes {
		st.debugBuf = nil
	}
	st.debugBuf = st.debugBuf[:0]
	for _, b := range []*[]byte{&st.body, &st.invalid, &st.failed, &st.scratch, &st.errEvent} {
		if cap(*b) > maxKeepBytes {
			*b = nil
		}
		*b = (*b)[:0]
	}
}

// handleEvents is POST /v1/events.
func (s *Server) handleEvents(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	code := s.serveEvents(ctx, start)
	eventsResponses.inc(code)
	eventsRequestDuration.UpdateDuration(start)
}

func (s *Server) serveEvents(ctx *fasthttp.RequestCtx, now time.Time) int {
	if s.draining.Load() {
		return s.respondUnavailable(ctx, "intake is shutting down; retry against another instance")
	}
	h := &ctx.Request.Header
	if !mediaTypeOK(h.ContentType()) {
		return s.respondError(ctx, fasthttp.StatusUnsupportedMediaType,
			"Content-Type must be application/json, text/plain or application/reports+json, not "+strconv.Quote(string(h.ContentType())))
	}

	st := getRequestState()
	defer putRequestState(st)

	// Developer mode: handled synchronously whatever hasty says, every event's verdict in the
	// answer. A dry run reports the same and produces nothing, error events included.
	args := ctx.QueryArgs()
	dryRun := queryFlag(args, "dry_run")
	devMode := queryFlag(args, "debug") || string(h.Peek("X-Intake-Debug")) == "1"
	debug := dryRun || devMode

	// Who is calling, before any work on the body: 401, 429.
	if acc := s.access; acc != nil {
		if code := s.admit(ctx, acc, st, now, devMode); code != 0 {
			return code
		}
	}

	body := ctx.Request.Body()
	switch enc := contentEncoding(h); {
	case len(enc) == 0 || bytes.EqualFold(enc, []byte("identity")):
	case bytes.EqualFold(enc, []byte("gzip")) || bytes.EqualFold(enc, []byte("x-gzip")):
		limit := s.gunzipLimit(len(body))
		var err error
		st.body, err = Gunzip(st.body[:0], body, limit)
		if errors.Is(err, errTooLarge) {
			if limit < s.cfg.MaxDecompressedBytes {
				return s.respondError(ctx, fasthttp.StatusRequestEntityTooLarge,
					"gzip request body of "+itoa(len(body))+" bytes expands more than "+itoa(s.cfg.MaxGzipRatio)+" times (--max-gzip-ratio)")
			}
			return s.respondError(ctx, fasthttp.StatusRequestEntityTooLarge,
				"decompressed request body is larger than "+itoa(s.cfg.MaxDecompressedBytes)+" bytes (--max-decompressed-bytes)")
		}
		if err != nil {
			return s.respondError(ctx, fasthttp.StatusBadRequest, "cannot decompress the gzip request body: "+err.Error())
		}
		body = st.body
	default:
		return s.respondError(ctx, fasthttp.StatusUnsupportedMediaType,
			"Content-Encoding must be gzip or identity, not "+strconv.Quote(string(enc)))
	}
	// A UTF-8 byte order mark is ignored, as RFC 8259 allows and EventGate's body parser does.
	body = bytes.TrimPrefix(body, utf8BOM)
	eventsBodyBytes.Update(float64(len(body)))

	// Guards before parsing: fastjson accepts invalid UTF-8, and deep nesting makes parse errors costly.
	if len(body) == 0 {
		return s.respondError(ctx, fasthttp.StatusBadRequest, "Request body was empty. Must provide JSON encoded events.")
	}
	if !utf8.Valid(body) {
		return s.respondError(ctx, fasthttp.StatusBadRequest, "request body is not valid UTF-8")
	}
	if problem := fastpath.CheckJSON(body, s.jsonLimits); problem != "" {
		return s.respondError(ctx, fasthttp.StatusBadRequest, "cannot parse the request body as JSON: "+problem)
	}
	root, err := st.parser.ParseBytes(body)
	if err != nil {
		return s.respondError(ctx, fasthttp.StatusBadRequest, parseErrorMessage(body, err))
	}
	var events []*fastjson.Value
	switch root.Type() {
	case fastjson.TypeArray:
		events, _ = root.Array()
	case fastjson.TypeObject:
		st.single[0] = root
		events = st.single[:]
	default:
		return s.respondError(ctx, fasthttp.StatusBadRequest,
			"request body must be one JSON event object or an array of them, not a JSON "+root.Type().String())
	}
	if len(events) == 0 {
		return s.respondError(ctx, fasthttp.StatusBadRequest, "Request body was empty. Must provide JSON encoded events.")
	}
	if len(events) > s.cfg.MaxEvents {
		return s.respondError(ctx, fasthttp.StatusRequestEntityTooLarge,
			"request has "+itoa(len(events))+" events, more than "+itoa(s.cfg.MaxEvents)+" (--max-events)")
	}
	eventsPerRequest.Update(float64(len(events)))

	hasty := queryFlag(args, "hasty") && !debug
	var batch *kafkaout.Batch
	if !hasty {
		batch = kafkaout.AcquireBatch()
		defer kafkaout.ReleaseBatch(batch)
	}
	req := fastpath.AcquireRequest()
	defer fastpath.ReleaseRequest(req)
	req.Start(now, h.Peek("X-Request-Id"), h)
	if s.access != nil {
		req.Caller = &st.caller
	}

	snap := s.cache.Current()
	if cap(st.status) < len(events) {
		st.status = make([]eventStatus, len(events))
		st.streams = make([]*fastpath.Stream, len(events))
		st.messages = make([]string, len(events))
	}
	st.status = st.status[:len(events)]
	st.streams = st.streams[:len(events)]
	st.messages = st.messages[:len(events)]

	if batch != nil {
		batch.Add(len(events)) // a result slot per event, by event index
	}
	pending := 0
	for i, ev := range events {
		fastpath.Process(snap, &s.cfg.Fields, ev, req, &st.res)
		r := &st.res
		st.streams[i] = r.Stream
		switch r.Outcome {
		case fastpath.Accepted:
			if debug {
				st.debugEntry(i, r, ev)
			}
			if dryRun {
				st.status[i] = statusAccepted
				continue
			}
			if st.caller.limits != nil {
				if ok, d := st.caller.allowEvent(r.Stream, now); !ok {
					st.status[i] = statusLimited
					st.messages[i] = "the stream's rate limit is exhausted; retry after " + itoa(ratelimit.RetryAfterSeconds(d)) + "s"
					st.caller.retryAfter = max(st.caller.retryAfter, d)
					continue
				}
			}
			// Fast path: queue the event; TryProduce copies key and value.
			if err := s.prod.TryProduce(r.Topic, r.Key, r.Value, batch, i); err != nil {
				st.status[i] = statusUnavailable
				st.messages[i] = unavailableMessage(err)
				continue
			}
			if batch == nil {
				st.status[i] = statusAccepted
				count(snap, r.Stream, fastpath.Accepted)
			} else {
				st.status[i] = statusPending
				pending++
			}
		default:
			// Slow path: report the event and send an error event in the background.
			if r.Outcome == fastpath.Refused {
				st.status[i] = statusRefused
			} else {
				st.status[i] = statusInvalid
			}
			if debug {
				st.debugEntry(i, r, ev)
			}
			if dryRun {
				continue
			}
			count(snap, r.Stream, r.Outcome)
			if !hasty {
				st.invalid = s.appendInvalid(st.invalid, ev, r, st, i)
			}
			s.produceErrorEvent(snap, st, req, ev, r)
		}
	}

	if batch != nil && pending > 0 {
		done := batch.Wait(s.cfg.AckTimeout)
		for i := range events {
			if st.status[i] != statusPending {
				continue
			}
			err := batch.Err(i)
			switch {
			case err == nil:
				st.status[i] = statusAccepted
				count(snap, st.streams[i], fastpath.Accepted)
			case !done || kafkaout.IsUnavailable(err):
				st.status[i] = statusUnavailable
				st.messages[i] = "Kafka did not acknowledge the event within " + s.cfg.AckTimeout.String() + ": " + err.Error()
			default:
				st.status[i] = statusFailed
				st.messages[i] = "Kafka refused the event: " + err.Error()
				countErrored(snap, st.streams[i])
			}
		}
	}
	if debug {
		return s.respondDebug(ctx, st, dryRun)
	}
	return s.respondEvents(ctx, st, events, hasty)
}

// debugEntry records event i's verdict for developer mode: the event as it would be produced
// (after enrichment and defaults), its topic and key, or its errors.
func (st *requestState) debugEntry(i int, r *fastpath.Result, ev *fastjson.Value) {
	for len(st.debugEntries) <= i {
		st.debugEntries = append(st.debugEntries, nil)
	}
	start := len(st.debugBuf)
	b := st.debugBuf
	if r.Outcome == fastpath.Accepted {
		b = append(b, `"event":`...)
		b = append(b, r.Value...)
		b = append(b, `,"topic":`...)
		b = fastpath.AppendJSONString(b, r.Topic)
		if r.Key != nil {
			b = append(b, `,"key":`...)
			b = append(b, r.Key...)
		}
	} else {
		b = append(b, `"event":`...)
		b = fastpath.AppendJSON(b, ev)
		b = append(b, `,"errors":`...)
		b = r.Errors.AppendJSON(b)
		b = append(b, `,"errorsText":`...)
		st.scratch = r.Errors.AppendText(st.scratch[:0])
		b = fastpath.AppendJSONString(b, string(st.scratch))
	}
	st.debugBuf = b
	st.debugEntries[i] = b[start:len(b):len(b)]
}

// respondDebug answers developer mode and dry runs: 200 when every event is accepted (or, dry,
// would be), else the status the request would have had (207, 400, 403, 429, 503), with every
// event's verdict:
// {"dry_run":bool,"events":[{"index":0,"status":"accepted","event":{...},"topic":"...","key":{...}},
// {"index":1,"status":"invalid","event":{...},"errors":[...],"errorsText":"..."}]}.
func (s *Server) respondDebug(ctx *fasthttp.RequestCtx, st *requestState, dryRun bool) int {
	code := s.statusOf(ctx, st, st.verdicts(), fasthttp.StatusOK)
	b := st.scratch[:0]
	b = append(b, `{"dry_run":`...)
	b = strconv.AppendBool(b, dryRun)
	b = append(b, `,"events":[`...)
	for i, stt := range st.status {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"index":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `,"status":"`...)
		b = append(b, debugStatus[stt]...)
		b = append(b, '"')
		if stt == statusUnavailable || stt == statusFailed || stt == statusLimited {
			b = append(b, `,"message":`...)
			b = fastpath.AppendJSONString(b, st.messages[i])
		}
		if i < len(st.debugEntries) && st.debugEntries[i] != nil {
			b = append(b, ',')
			b = append(b, st.debugEntries[i]...)
		}
		b = append(b, '}')
	}
	b = append(b, "]}"...)
	st.scratch = b
	ctx.SetStatusCode(code)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
	return code
}

var debugStatus = [...]string{
	statusPending:     "pending",
	statusInvalid:     "invalid",
	statusRefused:     "refused",
	statusLimited:     "rate_limited",
	statusAccepted:    "accepted",
	statusUnavailable: "unavailable",
	statusFailed:      "error",
}

// count counts an event's outcome on its stream's counters; an event without a configured stream
// counts as stream="unknown", so client input never creates series.
func count(snap *schemacache.Snapshot, st *fastpath.Stream, o fastpath.Outcome) {
	c := snap.UnknownCounters()
	if st != nil {
		c = st.Counters
	}
	if c == nil {
		return
	}
	switch o {
	case fastpath.Accepted:
		c.Accepted.Inc()
	case fastpath.Invalid:
		c.Invalid.Inc()
	case fastpath.Refused:
		c.Refused.Inc()
	}
}

func countErrored(snap *schemacache.Snapshot, st *fastpath.Stream) {
	c := snap.UnknownCounters()
	if st != nil {
		c = st.Counters
	}
	if c != nil {
		c.Errored.Inc()
	}
}

func unavailableMessage(err error) string {
	switch {
	case errors.Is(err, kafkaout.ErrFull):
		return "intake's queue to Kafka is full; retry later"
	case errors.Is(err, kafkaout.ErrClosed):
		return "intake is shutting down; retry against another instance"
	case errors.Is(err, kafkaout.ErrDown):
		return "Kafka is failing: fire-and-forget events are not queued until it recovers; retry later"
	}
	return "cannot queue the event for Kafka: " + err.Error()
}

// respondEvents picks the status from the events' fates, as EventGate does, with 503 when any event
// could not reach Kafka (queue full, Kafka unavailable): the client must retry those.
func (s *Server) respondEvents(ctx *fasthttp.RequestCtx, st *requestState, events []*fastjson.Value, hasty bool) int {
	for i, stt := range st.status {
		if stt == statusLimited || stt == statusFailed || stt == statusUnavailable && !hasty {
			st.failed = st.appendErrorEntry(st.failed, events[i], st.messages[i], i)
		}
	}
	v := st.verdicts()
	if hasty && v.unavailable > 0 {
		ctx.Response.Header.Set("Retry-After", s.retryAfter)
		return s.respondError(ctx, fasthttp.StatusServiceUnavailable,
			itoa(v.unavailable)+" of "+itoa(v.n)+" events could not be queued for Kafka; retry later")
	}
	if hasty && v.limited == 0 {
		ctx.SetStatusCode(fasthttp.StatusAccepted)
		return fasthttp.StatusAccepted
	}
	switch code := s.statusOf(ctx, st, v, fasthttp.StatusCreated); code {
	case fasthttp.StatusCreated:
		ctx.SetStatusCode(code)
		return code
	case fasthttp.StatusForbidden, fasthttp.StatusBadRequest:
		return s.respondLists(ctx, code, st, true, false)
	default:
		return s.respondLists(ctx, code, st, true, true)
	}
}

// verdicts counts a request's events by fate.
type verdicts struct{ n, accepted, invalid, refused, limited, unavailable int }

func (st *requestState) verdicts() verdicts {
	v := verdicts{n: len(st.status)}
	for _, stt := range st.status {
		switch stt {
		case statusAccepted:
			v.accepted++
		case statusInvalid:
			v.invalid++
		case statusRefused:
			v.refused++
		case statusLimited:
			v.limited++
		case statusUnavailable:
			v.unavailable++
		}
	}
	return v
}

// statusOf is the status of a sync answer, as EventGate picks it, with 503 when any event could
// not reach Kafka (the client must retry those) and 429 when a stream limit refused some; allOK
// when every event was accepted. It sets Retry-After for those two.
func (s *Server) statusOf(ctx *fasthttp.RequestCtx, st *requestState, v verdicts, allOK int) int {
	switch {
	case v.unavailable > 0:
		ctx.Response.Header.Set("Retry-After", s.retryAfter)
		return fasthttp.StatusServiceUnavailable
	case v.limited > 0:
		retryAfterHeader(ctx, st.caller.retryAfter)
		return fasthttp.StatusTooManyRequests
	case v.accepted == v.n:
		return allOK
	case v.refused == v.n:
		return fasthttp.StatusForbidden
	case v.invalid+v.refused == v.n:
		return fasthttp.StatusBadRequest
	case v.accepted > 0:
		return fasthttp.StatusMultiStatus
	}
	return fasthttp.StatusInternalServerError // every valid event refused by Kafka
}

func (s *Server) respondLists(ctx *fasthttp.RequestCtx, code int, st *requestState, withInvalid, withError bool) int {
	ctx.SetStatusCode(code)
	ctx.SetContentType("application/json")
	b := st.scratch[:0]
	b = append(b, '{')
	if withInvalid {
		b = append(b, `"invalid":[`...)
		b = append(b, st.invalid...)
		b = append(b, ']')
	}
	if withError {
		if withInvalid {
			b = append(b, ',')
		}
		b = append(b, `"error":[`...)
		b = append(b, st.failed...)
		b = append(b, ']')
	}
	b = append(b, '}')
	ctx.SetBody(b)
	st.scratch = b
	return code
}

// appendEvent appends an entry's "event" member: the event as processed (EventGate's shape), or,
// for a browser (an Origin header), null and the event's index in the request: a page gets back
// nothing beyond what it sent (enrichment copies headers a proxy may have added).
func (st *requestState) appendEvent(dst []byte, ev *fastjson.Value, i int) []byte {
	if len(st.caller.origin) > 0 {
		dst = append(dst, `"event":null,"index":`...)
		return strconv.AppendInt(dst, int64(i), 10)
	}
	dst = append(dst, `"event":`...)
	return fastpath.AppendJSON(dst, ev)
}

// appendInvalid appends the response entry of an invalid or refused event, in EventGate's shape.
func (s *Server) appendInvalid(dst []byte, ev *fastjson.Value, r *fastpath.Result, st *requestState, i int) []byte {
	if len(dst) > 0 {
		dst = append(dst, ',')
	}
	status := "invalid"
	dst = append(dst, `{"status":"`...)
	dst = append(dst, status...)
	dst = append(dst, `",`...)
	dst = st.appendEvent(dst, ev, i)
	dst = append(dst, `,"context":{"errors":`...)
	dst = r.Errors.AppendJSON(dst)
	dst = append(dst, `,"errorsText":`...)
	st.scratch = r.Errors.AppendText(st.scratch[:0])
	dst = fastpath.AppendJSONString(dst, string(st.scratch))
	return append(dst, `}}`...)
}

func (st *requestState) appendErrorEntry(dst []byte, ev *fastjson.Value, message string, i int) []byte {
	if len(dst) > 0 {
		dst = append(dst, ',')
	}
	dst = append(dst, `{"status":"error",`...)
	dst = st.appendEvent(dst, ev, i)
	dst = append(dst, `,"context":{"message":`...)
	dst = fastpath.AppendJSONString(dst, message)
	return append(dst, `}}`...)
}

// maxRawErrorEvent bounds the raw_event of an error event for a refused event: a caller that may
// not write a stream must not get its payload into Kafka through the error stream.
const maxRawErrorEvent = 1024

// produceErrorEvent queues the error event for an event that was not accepted. Best effort: when the
// queue is full it is dropped and counted, never blocking the request.
func (s *Server) produceErrorEvent(snap *schemacache.Snapshot, st *requestState, req *fastpath.Request, ev *fastjson.Value, r *fastpath.Result) {
	if s.cfg.ErrorStream == "" {
		return
	}
	st.scratch = r.Errors.AppendText(st.scratch[:0])
	msgEnd := len(st.scratch)
	st.scratch = fastpath.AppendJSON(st.scratch, ev)
	raw := st.scratch[msgEnd:]
	if r.Outcome == fastpath.Refused && len(raw) > maxRawErrorEvent {
		raw = append(raw[:maxRawErrorEvent:maxRawErrorEvent], "...(truncated)"...)
	}
	e := fastpath.ErrorEvent{
		SchemaURI:        s.cfg.ErrorSchemaURI,
		Stream:           s.cfg.ErrorStream,
		EmitterID:        s.cfg.EmitterID,
		ErrorType:        r.ErrorType,
		Message:          st.scratch[:msgEnd],
		ErroredStream:    r.StreamName,
		ErroredSchemaURI: r.SchemaURI,
		RawEvent:         raw,
	}
	st.errEvent = req.AppendErrorEvent(st.errEvent[:0], &e)
	topic := s.errorTopic
	if es := snap.Stream(s.errorStreamName); es != nil {
		topic = es.Topic
	}
	if err := s.prod.TryProduce(topic, nil, st.errEvent, nil, 0); err != nil {
		errorEventsDropped.Inc()
		return
	}
	errorEventsQueued.Inc()
}

// parseErrorMessage says why a body is not JSON and where (slow path: encoding/json finds the offset).
func parseErrorMessage(body []byte, err error) string {
	var syn *json.SyntaxError
	var v any
	if jerr := json.Unmarshal(body, &v); errors.As(jerr, &syn) {
		return "cannot parse the request body as JSON at offset " + strconv.FormatInt(syn.Offset, 10) + ": " + syn.Error()
	}
	return "cannot parse the request body as JSON: " + err.Error()
}

// queryFlag reads a query flag: true when present, with no value or any value but 0/false/no.
func queryFlag(args *fasthttp.Args, name string) bool {
	if !args.Has(name) {
		return false
	}
	switch string(args.Peek(name)) {
	case "0", "false", "no", "False", "FALSE":
		return false
	}
	return true
}
