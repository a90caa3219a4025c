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

// requestState is the reusable per-request memory of POST /v1/events, and what its steps pass
// on to each other. Pooled.
type requestState struct {
	// The request's mode (readMode).
	dryRun  bool   // ?dry_run=true: every event's verdict, nothing produced
	devMode bool   // ?debug=true or X-Intake-Debug: 1: every event's verdict
	debug   bool   // dryRun or devMode: answered by respondDebug
	hasty   bool   // ?hasty=true (and not debug): 202 once queued, no waiting for Kafka
	caller  caller // the request's fastpath.Caller when an access layer is configured (admit)

	// The body (readBody, parseEvents). events are parser's values: valid until its next Parse,
	// that is while st is out of its pool.
	reader fastpath.Parser // the one-pass reading of the body
	parser fastjson.Parser // the two-pass one, for what the one pass leaves to it
	body   []byte          // the decompressed body
	single [1]*fastjson.Value
	events []*fastjson.Value
	read   []byte          // the body parseEvents read: spans are offsets into it
	parsed []byte          // the one-pass reading's copy of read (nil after the two-pass one)
	spans  []fastpath.Span // where each event's bytes are in read (CheckJSONSpans)

	// Per event, by index (processEvents, collectAcks).
	res      fastpath.Result
	status   []eventStatus
	streams  []*fastpath.Stream // its stream, for the counters once Kafka answers
	messages []string           // why it was rate limited, unavailable or failed
	canary   []bool             // a canary event (meta.domain "canary"), counted apart once accepted
	batch    *kafkaout.Batch    // sync requests: a result slot per event; nil for hasty and dry ones
	pending  int                // events queued in batch, their result not known yet

	clientIP []byte // the client address events record (appendEventsAddr)

	// The answer.
	invalid  []byte // the "invalid" entries of the response, JSON
	failed   []byte // the "error" entries of the response, JSON
	scratch  []byte
	errEvent []byte
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
	st.dryRun, st.devMode, st.debug, st.hasty = false, false, false, false
	st.caller = caller{}
	st.single[0] = nil
	st.events = nil
	st.read, st.parsed = nil, nil
	st.spans = st.spans[:0]
	st.reader.Release(maxKeepBytes)
	st.res.Reset()
	st.status = st.status[:0]
	clear(st.streams)
	st.streams = st.streams[:0]
	clear(st.messages)
	st.messages = st.messages[:0]
	st.canary = st.canary[:0]
	st.batch = nil
	st.pending = 0
	clear(st.debugEntries)
	st.debugEntries = st.debugEntries[:0]
	if cap(st.debugBuf) > maxKeepBytes {
		st.debugBuf = nil
	}
	st.debugBuf = st.debugBuf[:0]
	st.clientIP = st.clientIP[:0]
	for _, b := range []*[]byte{&st.body, &st.invalid, &st.failed, &st.scratch, &st.errEvent} {
		if cap(*b) > maxKeepBytes {
			*b = nil
		}
		*b = (*b)[:0]
	}
}

// handleEvents is POST /v1/events.
func (s *Server) handleEvents(ctx *fasthttp.RequestCtx) int {
	start := time.Now()
	code := s.serveEvents(ctx, start)
	eventsRequestDuration.UpdateDuration(start)
	return code
}

// serveEvents answers POST /v1/events and returns the status it answered. The steps, in order:
// the request's mode; who is calling (admit: 401, 429); the body, decoded (readBody) and parsed
// into events (parseEvents); each event through the producer contract, the valid ones queued for
// Kafka (processEvents); Kafka's acknowledgements (collectAcks); the answer (respondEvents, or
// respondDebug in developer mode).
func (s *Server) serveEvents(ctx *fasthttp.RequestCtx, now time.Time) int {
	if s.draining.Load() {
		return s.respondUnavailable(ctx, "intake is shutting down; retry against another instance")
	}
	h := &ctx.Request.Header
	if !mediaTypeOK(h.ContentType()) {
		return s.respondError(ctx, fasthttp.StatusUnsupportedMediaType,
			"Content-Type must be application/json, text/plain or application/reports+json, not "+strconv.Quote(string(h.ContentType())))
	}

	// A request on its way to the producer: the busy linger holds sync events back for it while
	// it is (kafkaout.Producer.Coming), until it has queued its events or returned.
	s.prod.Coming(1)
	coming := true
	defer func() {
		if coming {
			s.prod.Coming(-1)
		}
	}()

	st := getRequestState()
	defer putRequestState(st)
	st.readMode(ctx)
	// One snapshot for the whole request: the access check's CORS table and the events' streams
	// must come from the same configuration (a stream's index into the table is per snapshot).
	snap := s.cache.Current()
	if acc := s.access; acc != nil {
		if code := s.admit(ctx, acc, st, snap, now); code != 0 {
			return code
		}
	}

	body, code := s.readBody(ctx, st)
	if code != 0 {
		return code
	}
	if code := s.parseEvents(ctx, st, body); code != 0 {
		return code
	}

	req := fastpath.AcquireRequest()
	defer fastpath.ReleaseRequest(req)
	req.Start(now, h.Peek("X-Request-Id"), h)
	st.clientIP = s.appendEventsAddr(st.clientIP[:0], ctx)
	req.ClientIP = st.clientIP
	s.queryDefaults(ctx, req)
	if s.access != nil {
		req.Caller = &st.caller
	}
	if !st.hasty {
		st.batch = kafkaout.AcquireBatch()
		defer kafkaout.ReleaseBatch(st.batch)
	} else if !st.dryRun && !s.prod.SpoolAdmits(int64(len(body)+len(st.events)*spoolEventOverhead), len(st.events)) {
		// Slow path: Kafka down (or the spool replaying) and no room in the spool for the whole
		// request: refused before any of its events is spooled.
		return s.respondUnavailable(ctx, "Kafka cannot take events now and intake's spool has no room for them; retry later")
	}
	s.processEvents(st, snap, req, now)
	s.prod.Coming(-1)
	coming = false
	s.collectAcks(st, snap, req)

	if st.debug {
		return s.respondDebug(ctx, st)
	}
	return s.respondEvents(ctx, st)
}

// readMode reads how the request wants to be answered. Developer mode is handled synchronously
// whatever hasty says, every event's verdict in the answer; a dry run answers the same and
// produces nothing, error events included.
func (st *requestState) readMode(ctx *fasthttp.RequestCtx) {
	args := ctx.QueryArgs()
	st.dryRun = queryFlag(args, "dry_run")
	st.devMode = queryFlag(args, "debug") || string(ctx.Request.Header.Peek("X-Intake-Debug")) == "1"
	st.debug = st.dryRun || st.devMode
	st.hasty = queryFlag(args, "hasty") && !st.debug
}

// queryDefaults hands fastpath the stream name and schema URI the query gives for events lacking
// them (--stream-query-param, --schema-uri-query-param). They borrow fasthttp's query arguments,
// valid until the handler returns.
func (s *Server) queryDefaults(ctx *fasthttp.RequestCtx, req *fastpath.Request) {
	args := ctx.QueryArgs()
	if p := s.cfg.StreamQueryParam; p != "" {
		req.QueryStream = args.Peek(p)
	}
	if p := s.cfg.SchemaURIQueryParam; p != "" {
		req.QuerySchemaURI = args.Peek(p)
	}
}

// readBody returns the request body, decompressed into st.body when gzip, without a UTF-8 byte
// order mark; or the status it answered. The body is fasthttp's or st.body: valid until the
// handler returns.
func (s *Server) readBody(ctx *fasthttp.RequestCtx, st *requestState) ([]byte, int) {
	body := ctx.Request.Body()
	switch enc := contentEncoding(&ctx.Request.Header); {
	case len(enc) == 0 || bytes.EqualFold(enc, []byte("identity")):
	case bytes.EqualFold(enc, []byte("gzip")) || bytes.EqualFold(enc, []byte("x-gzip")):
		limit := s.gunzipLimit(len(body))
		var err error
		st.body, err = Gunzip(st.body[:0], body, limit)
		if errors.Is(err, errTooLarge) {
			if limit < s.cfg.MaxDecompressedBytes {
				return nil, s.respondError(ctx, fasthttp.StatusRequestEntityTooLarge,
					"gzip request body of "+itoa(len(body))+" bytes expands more than "+itoa(s.cfg.MaxGzipRatio)+" times (--max-gzip-ratio)")
			}
			return nil, s.respondError(ctx, fasthttp.StatusRequestEntityTooLarge,
				"decompressed request body is larger than "+itoa(s.cfg.MaxDecompressedBytes)+" bytes (--max-decompressed-bytes)")
		}
		if err != nil {
			return nil, s.respondError(ctx, fasthttp.StatusBadRequest, "cannot decompress the gzip request body: "+err.Error())
		}
		body = st.body
	default:
		return nil, s.respondError(ctx, fasthttp.StatusUnsupportedMediaType,
			"Content-Encoding must be gzip or identity, not "+strconv.Quote(string(enc)))
	}
	// A UTF-8 byte order mark is ignored, as RFC 8259 allows and EventGate's body parser does.
	body = bytes.TrimPrefix(body, utf8BOM)
	eventsBodyBytes.Update(float64(len(body)))
	return body, 0
}

const emptyBodyMessage = "Request body was empty. Must provide JSON encoded events."

// parseEvents checks the body and parses it into st.events, one event object or an array of them,
// or answers why not and returns the status. st.parser copies the body: the events outlive it.
func (s *Server) parseEvents(ctx *fasthttp.RequestCtx, st *requestState, body []byte) int {
	// Guards before parsing: fastjson accepts invalid UTF-8, and deep nesting makes parse errors costly.
	if len(body) == 0 {
		return s.respondError(ctx, fasthttp.StatusBadRequest, emptyBodyMessage)
	}
	// Fast path: one pass reads the body whole (fastpath.Parser: CheckJSON's checks, the
	// structure, the tree).
	root, spans, ok := st.reader.Parse(body, s.jsonLimits)
	if ok {
		st.spans = append(st.spans[:0], spans...)
		st.parsed = st.reader.Copy()
	} else {
		// Slow path: the body is refused, or holds what the one pass leaves to two (very deep
		// nesting): CheckJSON, then fastjson, whose verdicts and messages these are.
		// CheckJSON also checks UTF-8 (a body it passes is UTF-8); invalid UTF-8 anywhere is
		// named before any other problem, as when utf8.Valid ran first.
		var problem string
		if st.spans, problem = fastpath.CheckJSONSpans(body, s.jsonLimits, st.spans); problem != "" {
			if !utf8.Valid(body) {
				return s.respondError(ctx, fasthttp.StatusBadRequest, "request body is not valid UTF-8")
			}
			return s.respondError(ctx, fasthttp.StatusBadRequest, "cannot parse the request body as JSON: "+problem)
		}
		var err error
		if root, err = st.parser.ParseBytes(body); err != nil {
			return s.respondError(ctx, fasthttp.StatusBadRequest, parseErrorMessage(body, err))
		}
	}
	st.read = body
	switch root.Type() {
	case fastjson.TypeArray:
		st.events, _ = root.Array()
	case fastjson.TypeObject:
		st.single[0] = root
		st.events = st.single[:]
	default:
		return s.respondError(ctx, fasthttp.StatusBadRequest,
			"request body must be one JSON event object or an array of them, not a JSON "+root.Type().String())
	}
	if len(st.events) == 0 {
		return s.respondError(ctx, fasthttp.StatusBadRequest, emptyBodyMessage)
	}
	if len(st.events) > s.cfg.MaxEvents {
		return s.respondError(ctx, fasthttp.StatusRequestEntityTooLarge,
			"request has "+itoa(len(st.events))+" events, more than "+itoa(s.cfg.MaxEvents)+" (--max-events)")
	}
	eventsPerRequest.Update(float64(len(st.events)))
	return 0
}

// processEvents takes each event through the producer contract (fastpath.Process): a valid one
// is queued for Kafka (queueEvent), another is listed in the answer and becomes an error event
// (reportEvent).
func (s *Server) processEvents(st *requestState, snap *schemacache.Snapshot, req *fastpath.Request, now time.Time) {
	n := len(st.events)
	if cap(st.status) < n {
		st.status = make([]eventStatus, n)
		st.streams = make([]*fastpath.Stream, n)
		st.messages = make([]string, n)
		st.canary = make([]bool, n)
	}
	st.status, st.streams, st.messages, st.canary = st.status[:n], st.streams[:n], st.messages[:n], st.canary[:n]
	if st.batch != nil {
		st.batch.Add(n) // a result slot per event, by event index
	}
	r := &st.res
	spans := st.spans
	if len(spans) != n {
		spans = nil // Process serializes the tree (a body of scalars: every event refused anyway)
	}
	for i, ev := range st.events {
		// The event's bytes as received: Process splices its Kafka value from them.
		if spans != nil {
			req.Raw, req.KeysUnique = spans[i].Bytes(st.read), spans[i].KeysUnique
			if st.parsed != nil && req.Raw != nil {
				req.RawParsed = st.parsed[spans[i].Start:spans[i].End]
			}
		}
		fastpath.Process(snap, &s.cfg.Fields, ev, req, r)
		st.streams[i], st.canary[i] = r.Stream, r.Canary
		if st.debug {
			st.debugEntry(i, r, ev)
		}
		if r.Outcome == fastpath.Accepted {
			st.status[i] = s.queueEvent(st, snap, r, i, now)
			if len(r.Flagged) > 0 && !st.dryRun {
				s.produceAlarms(st, snap, req, r, ev)
			}
		} else {
			st.status[i] = s.reportEvent(st, snap, req, r, i, ev)
		}
	}
	req.Raw, req.RawParsed, req.KeysUnique = nil, nil, false
}

// queueEvent queues valid event i for Kafka, unless its stream's rate limit refuses it or the
// queue is full, and returns its status.
func (s *Server) queueEvent(st *requestState, snap *schemacache.Snapshot, r *fastpath.Result, i int, now time.Time) eventStatus {
	if st.dryRun {
		return statusAccepted
	}
	if st.caller.limits != nil {
		if ok, d := st.caller.allowEvent(r.Stream, now); !ok {
			st.messages[i] = "the stream's rate limit is exhausted; retry after " + itoa(ratelimit.RetryAfterSeconds(d)) + "s"
			st.caller.retryAfter = max(st.caller.retryAfter, d)
			return statusLimited
		}
	}
	// Fast path: queue the event; TryProduce copies key and value.
	if err := s.prod.TryProduce(r.Topic, r.Key, r.Value, r.Timestamp, st.batch, i); err != nil {
		st.messages[i] = unavailableMessage(err)
		return statusUnavailable
	}
	if st.batch == nil {
		countAccepted(snap, r.Stream, r.Canary)
		return statusAccepted
	}
	st.pending++
	return statusPending
}

// reportEvent is the slow path of an invalid or refused event: counted, listed in the answer of
// a sync request, and sent as an error event in the background. It returns the event's status.
func (s *Server) reportEvent(st *requestState, snap *schemacache.Snapshot, req *fastpath.Request, r *fastpath.Result, i int, ev *fastjson.Value) eventStatus {
	status := statusInvalid
	if r.Outcome == fastpath.Refused {
		status = statusRefused
	}
	if st.dryRun {
		return status
	}
	count(snap, r.Stream, r.Outcome)
	if !st.hasty {
		st.invalid = st.appendInvalidEntry(st.invalid, ev, r, i)
	}
	s.produceErrorEvent(st, snap, req, r, ev, r.Outcome == fastpath.Refused)
	return status
}

// maxRawErrorEvent bounds the raw_event of an error event for a refused event, and for one whose
// error event would be over --max-event-bytes: a caller that may not write a stream must not get
// its payload into Kafka through the error stream, and Kafka would refuse the error event.
const maxRawErrorEvent = 1024

// truncateRaw keeps at most the first maxRawErrorEvent bytes of raw, never half a character,
// marked "...(truncated)".
func truncateRaw(raw []byte) []byte {
	if len(raw) <= maxRawErrorEvent {
		return raw
	}
	n := maxRawErrorEvent
	for n > 0 && !utf8.RuneStart(raw[n]) {
		n--
	}
	return append(raw[:n:n], "...(truncated)"...)
}

// produceErrorEvent queues the error event for an event that was not accepted, with the event's
// first KiB only when truncate. Best effort: when the queue is full it is dropped and counted,
// never blocking the request.
func (s *Server) produceErrorEvent(st *requestState, snap *schemacache.Snapshot, req *fastpath.Request, r *fastpath.Result, ev *fastjson.Value, truncate bool) {
	if s.cfg.ErrorStream == "" {
		return
	}
	st.scratch = r.Errors.AppendText(st.scratch[:0])
	msgEnd := len(st.scratch)
	st.scratch = fastpath.AppendJSON(st.scratch, ev)
	e := fastpath.ErrorEvent{
		SchemaURI:        s.cfg.ErrorSchemaURI,
		Stream:           s.cfg.ErrorStream,
		EmitterID:        s.cfg.EmitterID,
		ErrorType:        r.ErrorType,
		Message:          st.scratch[:msgEnd],
		ErroredStream:    r.StreamName,
		ErroredSchemaURI: r.SchemaURI,
		RawEvent:         st.scratch[msgEnd:],
	}
	if truncate {
		e.RawEvent = truncateRaw(e.RawEvent)
	}
	st.errEvent = req.AppendErrorEvent(st.errEvent[:0], &e)
	if limit := s.cfg.MaxEventBytes; limit > 0 && len(st.errEvent) > limit && len(e.RawEvent) > maxRawErrorEvent {
		// Slow path: Kafka would refuse the error event (an event over --max-event-bytes, or
		// close to it): it carries the first KiB of the event.
		e.RawEvent = truncateRaw(e.RawEvent)
		st.errEvent = req.AppendErrorEvent(st.errEvent[:0], &e)
	}
	topic := s.errorTopic
	if es := snap.Stream(s.errorStreamName); es != nil {
		topic = es.Topic
	}
	// The error event's timestamp is its meta.dt: the request's ingestion time.
	if err := s.prod.TryProduce(topic, nil, st.errEvent, req.Time, nil, 0); err != nil {
		errorEventsDropped.Inc()
		return
	}
	errorEventsQueued.Inc()
}

// produceAlarms queues, for each flag rule the event violated, an alarm event to the quality
// alarm stream: the rule, the values of the fields it reads, the event as produced. Best effort,
// as error events: dropped and counted when the queue is full. Slow path: violations are rare.
func (s *Server) produceAlarms(st *requestState, snap *schemacache.Snapshot, req *fastpath.Request, r *fastpath.Result, ev *fastjson.Value) {
	if s.cfg.QualityAlarmStream == "" {
		return
	}
	topic := s.alarmTopic
	if as := snap.Stream(s.alarmStreamName); as != nil {
		topic = as.Topic
	}
	for _, ru := range r.Flagged {
		st.scratch = ru.AppendValues(st.scratch[:0], ev)
		a := fastpath.AlarmEvent{
			SchemaURI: s.cfg.QualityAlarmSchemaURI,
			Stream:    s.cfg.QualityAlarmStream,
			EmitterID: s.cfg.EmitterID,
			Rule:      ru,
			Source:    r.Stream.Name,
			Values:    st.scratch,
			RawEvent:  r.Value,
		}
		st.errEvent = req.AppendAlarmEvent(st.errEvent[:0], &a, ev)
		if err := s.prod.TryProduce(topic, nil, st.errEvent, req.Time, nil, 0); err != nil {
			alarmEventsDropped.Inc()
			continue
		}
		alarmEventsQueued.Inc()
	}
}

// collectAcks waits for Kafka's answers to the events a sync request queued, up to AckTimeout,
// and settles each: accepted, invalid (larger than its topic takes), failed (Kafka refused it
// otherwise), or unavailable (no answer in time, or Kafka unavailable).
func (s *Server) collectAcks(st *requestState, snap *schemacache.Snapshot, req *fastpath.Request) {
	if st.pending == 0 {
		return
	}
	done := st.batch.Wait(s.cfg.AckTimeout)
	for i, stt := range st.status {
		if stt != statusPending {
			continue
		}
		switch err := st.batch.Err(i); {
		case err == nil:
			st.status[i] = statusAccepted
			countAccepted(snap, st.streams[i], st.canary[i])
		case errors.Is(err, kafkaout.ErrTooLarge):
			// The event will never fit its topic: invalid, as one over --max-event-bytes is.
			st.status[i] = s.reportTooLarge(st, snap, req, i, err)
		case !done || kafkaout.IsUnavailable(err):
			st.status[i] = statusUnavailable
			if done && errors.Is(err, kafkaout.ErrBatchTooLarge) {
				// Its batch was refused for another record of it: the event fits alone.
				st.messages[i] = "cannot produce the event: " + err.Error()
				break
			}
			st.messages[i] = "Kafka did not acknowledge the event within " + s.cfg.AckTimeout.String() + ": " + err.Error()
		default:
			st.status[i] = statusFailed
			st.messages[i] = "Kafka refused the event: " + err.Error()
			countErrored(snap, st.streams[i])
		}
	}
}

// reportTooLarge reports event i of a sync request, which Kafka refused as larger than its topic
// takes, as an invalid event, with an error event carrying the event's first KiB, and returns its
// status.
func (s *Server) reportTooLarge(st *requestState, snap *schemacache.Snapshot, req *fastpath.Request, i int, refusal error) eventStatus {
	var err *kafkaout.TooLargeError
	if !errors.As(refusal, &err) {
		panic("BUG: a kafkaout.ErrTooLarge error that is not a *kafkaout.TooLargeError")
	}
	ev := st.events[i]
	r := &st.res
	r.Reset()
	r.Outcome = fastpath.Invalid
	r.Stream = st.streams[i]
	r.StreamName = ev.GetStringBytes(s.cfg.Fields.StreamField...)
	r.SchemaURI = ev.GetStringBytes(s.cfg.Fields.SchemaField...)
	r.ErrorType = "ValidationError"
	limit := strconv.Itoa(int(err.Limit))
	msg := "should be at most " + limit + " bytes as a Kafka record batch of topic '" + err.Topic +
		"' (its max.message.bytes, or --kafka-batch-max-bytes when lower), but is " + strconv.Itoa(err.Bytes)
	if err.Err != nil {
		msg += " (" + err.Err.Error() + ")"
	}
	r.Errors.Add("maxMessageBytes", "", "#", `{"limit":`+limit+`}`, msg)
	if st.debug {
		st.debugEntry(i, r, ev)
	}
	count(snap, r.Stream, fastpath.Invalid)
	st.invalid = st.appendInvalidEntry(st.invalid, ev, r, i)
	// Its topic's limit may be the error stream's too.
	s.produceErrorEvent(st, snap, req, r, ev, true)
	return statusInvalid
}

// spoolEventOverhead is about how many bytes an event's spooled record takes beyond its bytes in
// the request: enrichment (meta.dt, meta.id, the headers' fields), the topic and the frame.
const spoolEventOverhead = 384

// respondEvents picks the status from the events' fates, as EventGate does, with 503 when any event
// could not reach Kafka (queue full, Kafka unavailable): the client must retry those.
func (s *Server) respondEvents(ctx *fasthttp.RequestCtx, st *requestState) int {
	for i, stt := range st.status {
		if stt == statusLimited || stt == statusFailed || stt == statusUnavailable && !st.hasty {
			st.failed = st.appendErrorEntry(st.failed, st.events[i], st.messages[i], i)
		}
	}
	v := st.verdicts()
	if st.hasty && v.unavailable > 0 {
		return s.respondUnavailable(ctx, itoa(v.unavailable)+" of "+itoa(v.n)+" events could not be queued for Kafka; retry later")
	}
	if st.hasty && v.limited == 0 {
		ctx.SetStatusCode(fasthttp.StatusAccepted)
		return fasthttp.StatusAccepted
	}
	switch code := s.statusOf(ctx, st, v, fasthttp.StatusCreated); code {
	case fasthttp.StatusCreated:
		ctx.SetStatusCode(code)
		return code
	case fasthttp.StatusForbidden, fasthttp.StatusBadRequest:
		return st.respondLists(ctx, code, false)
	default:
		return st.respondLists(ctx, code, true)
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

// respondLists answers EventGate's {"invalid":[...]}, with the "error" list too when withError.
func (st *requestState) respondLists(ctx *fasthttp.RequestCtx, code int, withError bool) int {
	b := st.scratch[:0]
	b = append(b, `{"invalid":[`...)
	b = append(b, st.invalid...)
	b = append(b, ']')
	if withError {
		b = append(b, `,"error":[`...)
		b = append(b, st.failed...)
		b = append(b, ']')
	}
	b = append(b, '}')
	st.scratch = b
	ctx.SetStatusCode(code)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
	return code
}

// appendInvalidEntry appends the response entry of an invalid or refused event, in EventGate's
// shape.
func (st *requestState) appendInvalidEntry(dst []byte, ev *fastjson.Value, r *fastpath.Result, i int) []byte {
	dst = st.appendEntry(dst, "invalid", ev, i)
	dst = append(dst, `,"context":{`...)
	dst = st.appendErrors(dst, r)
	return append(dst, `}}`...)
}

// appendErrorEntry appends the response entry of an event that did not reach Kafka, in
// EventGate's shape.
func (st *requestState) appendErrorEntry(dst []byte, ev *fastjson.Value, message string, i int) []byte {
	dst = st.appendEntry(dst, "error", ev, i)
	dst = append(dst, `,"context":{"message":`...)
	dst = fastpath.AppendJSONString(dst, message)
	return append(dst, `}}`...)
}

// appendEntry opens a response entry: its "status" and "event" members, after a comma unless it
// is the list's first.
func (st *requestState) appendEntry(dst []byte, status string, ev *fastjson.Value, i int) []byte {
	if len(dst) > 0 {
		dst = append(dst, ',')
	}
	dst = append(dst, `{"status":"`...)
	dst = append(dst, status...)
	dst = append(dst, `",`...)
	return st.appendEvent(dst, ev, i)
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

// appendErrors appends the "errors" and "errorsText" members of an event's validation errors.
func (st *requestState) appendErrors(dst []byte, r *fastpath.Result) []byte {
	dst = append(dst, `"errors":`...)
	dst = r.Errors.AppendJSON(dst)
	dst = append(dst, `,"errorsText":`...)
	st.scratch = r.Errors.AppendText(st.scratch[:0])
	return fastpath.AppendJSONString(dst, string(st.scratch))
}

// debugEntry records event i's verdict for developer mode: the event as it would be produced
// (after enrichment and defaults), its topic and key, or its errors.
func (st *requestState) debugEntry(i int, r *fastpath.Result, ev *fastjson.Value) {
	for len(st.debugEntries) <= i {
		st.debugEntries = append(st.debugEntries, nil)
	}
	start := len(st.debugBuf)
	b := st.debugBuf
	if r.Stream != nil && len(r.Stream.Rules) > 0 && (r.Outcome == fastpath.Accepted || r.Errors.Len() > 0 && r.Errors.List[0].Keyword == "qualityRule") {
		// The rules ran: every one's verdict (on the event as validated).
		b = append(b, `"quality":`...)
		b = fastpath.AppendRuleVerdicts(b, r.Stream.Rules, ev)
		b = append(b, ',')
	}
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
		b = append(b, ',')
		b = st.appendErrors(b, r)
	}
	st.debugBuf = b
	st.debugEntries[i] = b[start:len(b):len(b)]
}

// respondDebug answers developer mode and dry runs: 200 when every event is accepted (or, dry,
// would be), else the status the request would have had (207, 400, 403, 429, 500, 503), with every
// event's verdict:
// {"dry_run":bool,"events":[{"index":0,"status":"accepted","event":{...},"topic":"...","key":{...}},
// {"index":1,"status":"invalid","event":{...},"errors":[...],"errorsText":"..."}]}.
func (s *Server) respondDebug(ctx *fasthttp.RequestCtx, st *requestState) int {
	code := s.statusOf(ctx, st, st.verdicts(), fasthttp.StatusOK)
	b := st.scratch[:0]
	b = append(b, `{"dry_run":`...)
	b = strconv.AppendBool(b, st.dryRun)
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

// countersOf are the counters of an event's stream; an event without a configured stream counts
// as stream="unknown", so client input never creates series. nil: nothing is counted.
func countersOf(snap *schemacache.Snapshot, st *fastpath.Stream) *fastpath.StreamCounters {
	if st != nil {
		return st.Counters
	}
	return snap.UnknownCounters()
}

// count counts an event's outcome on its stream's counters.
func count(snap *schemacache.Snapshot, st *fastpath.Stream, o fastpath.Outcome) {
	c := countersOf(snap, st)
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

// countAccepted counts an accepted event on its stream's counters: a canary apart from real traffic.
func countAccepted(snap *schemacache.Snapshot, st *fastpath.Stream, canary bool) {
	if canary && st != nil {
		// Slow path: one canary per stream and interval. A stream without
		// canary_events_enabled gets its counters at its first canary.
		c := st.Canary
		if c == nil {
			c = schemacache.CanaryCounters(st.Name)
		}
		c.Events.Inc()
		c.LastSeen.Set(float64(time.Now().Unix()))
		return
	}
	count(snap, st, fastpath.Accepted)
}

// countErrored counts an event Kafka refused on its stream's counters.
func countErrored(snap *schemacache.Snapshot, st *fastpath.Stream) {
	if c := countersOf(snap, st); c != nil {
		c.Errored.Inc()
	}
}

func unavailableMessage(err error) string {
	switch {
	case errors.Is(err, kafkaout.ErrFull):
		return "intake's queue to Kafka is full; retry later"
	case errors.Is(err, kafkaout.ErrClosed):
		return "intake is shutting down; retry against another instance"
	case errors.Is(err, kafkaout.ErrSpool):
		return "Kafka cannot take the event now and intake's spool is full; retry later"
	case errors.Is(err, kafkaout.ErrDown):
		return "Kafka is failing: fire-and-forget events are not queued until it recovers; retry later"
	}
	return "cannot queue the event for Kafka: " + err.Error()
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
