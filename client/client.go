package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Client produces events to an intake edge. It is safe for concurrent use. Close it to send what
// is queued and stop its goroutines.
type Client struct {
	cfg                 config
	base                string // the edge's URL, without /v1/events
	eventsURL, debugURL string
	userAgent           string
	hc                  *http.Client
	log                 *slog.Logger

	units   atomic.Pointer[Units]
	streams atomic.Pointer[streamConfig] // nil until fetched
	fetchMu sync.Mutex

	q     *queue
	sp    *spool
	stats counters

	// sleep waits between attempts; tests replace it to see the waits without waiting.
	sleep func(context.Context, time.Duration) error

	runCtx    context.Context // cancelled when Close is done or gives up: in-flight posts abort
	cancelRun context.CancelFunc
	wg        sync.WaitGroup // the stream config poller
	senders   sync.WaitGroup
	closed    atomic.Bool
	closeDone chan struct{}
	closeErr  error

	throttleMu sync.Mutex
	throttled  map[string]*throttleState
}

type counters struct {
	enqueued, requests, sent, retried, accepted, invalid, failed atomic.Int64
	droppedFull, sampledOut, sampleInvalid, notConfigured        atomic.Int64
	spooled, recovered                                           atomic.Int64
	closeFailed                                                  atomic.Int64 // events failed because Close gave up
}

type throttleState struct {
	last       time.Time
	suppressed int
}

// New returns a client of the edge at rawURL (its base, e.g. "https://intake.example.org", or its
// ".../v1/events" URL). It starts the background sender and the stream config poller; with
// WithSpool it opens the spool and sends what an earlier client left there first.
func New(rawURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("intake client: %q is not the http(s) URL of an intake edge", rawURL)
	}
	u.RawQuery, u.Fragment, u.RawPath = "", "", ""
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/v1/events")
	base := strings.TrimSuffix(u.String(), "/")

	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	c := &Client{
		cfg:       cfg,
		base:      base,
		eventsURL: base + "/v1/events",
		debugURL:  base + "/v1/events?debug=true",
		userAgent: "intake-go-client/" + Version,
		hc:        cfg.httpClient,
		log:       cfg.logger,
		closeDone: make(chan struct{}),
		throttled: map[string]*throttleState{},
	}
	if cfg.userAgent != "" {
		c.userAgent = cfg.userAgent + " " + c.userAgent
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	c.sleep = cfg.sleep
	if c.sleep == nil {
		c.sleep = sleepCtx
	}
	if c.hc == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		c.hc = &http.Client{Transport: t}
	}
	units := Units{Session: newUnitID(), Pageview: newUnitID(), Device: newUnitID()}
	if cfg.units.Session != "" {
		units.Session = cfg.units.Session
	}
	if cfg.units.Pageview != "" {
		units.Pageview = cfg.units.Pageview
	}
	if cfg.units.Device != "" {
		units.Device = cfg.units.Device
	}
	c.units.Store(&units)

	senders := cfg.concurrency
	if cfg.spoolDir != "" {
		sp, err := openSpool(cfg.spoolDir, &c.cfg, c.log)
		if err != nil {
			return nil, err
		}
		c.sp = sp
		c.stats.recovered.Store(sp.recovered)
		senders = 1 // in order, and the cursor moves one batch at a time
	}
	c.q = newQueue(&c.cfg, c.sp)
	c.runCtx, c.cancelRun = context.WithCancel(context.Background())
	for range senders {
		c.senders.Add(1)
		go c.runSender()
	}
	if cfg.streamsRefresh >= 0 {
		c.wg.Add(1)
		go c.pollStreams()
	}
	return c, nil
}

// Send posts events and waits for the edge's verdicts, retrying what failed for a retryable
// reason (WithRetry) until ctx ends. Events may be maps, json.RawMessage or []byte holding a JSON
// object, any value encoding/json marshals to an object, or a UnitEvent; the caller's values are
// never modified. It returns one Result per event, in order, and a *SendError when any was not
// accepted (sampled-out events are not errors). More events than WithBatch allows go in several
// requests. Send does not use the queue nor the spool. Before the stream configuration is loaded,
// Send fetches it first (within WithRetry's bounds and ctx); when it cannot, the events fail with
// ErrNoStreamConfig.
func (c *Client) Send(ctx context.Context, events ...any) ([]Result, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	results := make([]Result, len(events))
	items := make([]*item, 0, len(events))
	now := time.Now()
	var sc *streamConfig
	var scErr error
	for i, ev := range events {
		r := &results[i]
		r.Index = i
		rec, units, err := c.prepare(ev, now)
		if err != nil {
			r.Status, r.Err = StatusInvalid, err
			continue
		}
		r.ID, r.Stream = rec.id, rec.stream
		v, serr := c.sample(rec.stream, units)
		if v == sampleNoConfig {
			if sc == nil && scErr == nil {
				sc, scErr = c.awaitStreams(ctx)
			}
			if scErr != nil {
				r.Status, r.Err = StatusFailed, scErr
				continue
			}
			v, serr = sc.decide(rec.stream, c.unitsOf(units), c.cfg.devMode)
		}
		if v == sampleSend {
			items = append(items, &item{rec: rec, res: r})
		} else {
			r.Status, r.Err = StatusSampledOut, serr
		}
	}
	for len(items) > 0 {
		n, bytes := 0, 0
		for n < len(items) && n < c.cfg.batchEvents {
			size := len(items[n].rec.raw)
			if n > 0 && bytes+size > c.cfg.batchBytes {
				break
			}
			bytes += size
			n++
		}
		c.deliver(ctx, items[:n], c.cfg.devMode)
		items = items[n:]
	}
	for i := range results {
		c.finish(&results[i], false)
	}
	return results, sendError(results)
}

// Enqueue queues an event for the background sender and returns at once: ErrQueueFull when the
// queue (or spool) is full, ErrClosed after Close, or an error when the event cannot be encoded
// as a JSON object. An event the stream configuration does not let out is dropped here (counted
// in Stats, reported to WithOnResult); one enqueued before the configuration is loaded is queued
// with its unit ids and decided by the sender once it is. With a spool, the event is on disk when
// Enqueue returns. Results come through WithOnResult and WithOnError, and Stats. In developer mode
// Enqueue is Send: it returns the edge's verdict as an error, or why the event was not sent.
func (c *Client) Enqueue(event any) error {
	if c.closed.Load() {
		return ErrClosed
	}
	if c.cfg.devMode {
		timeout := c.cfg.maxElapsed
		if timeout <= 0 {
			timeout = time.Duration(c.cfg.maxAttempts) * (c.cfg.requestTimeout + c.cfg.backoffMax)
		}
		ctx, cancel := context.WithTimeout(c.runCtx, timeout+c.cfg.requestTimeout)
		defer cancel()
		results, err := c.Send(ctx, event)
		if err != ErrClosed {
			c.stats.enqueued.Add(1)
		}
		for i := range results {
			c.callbacks(&results[i])
		}
		if err == nil && len(results) == 1 && results[0].Status == StatusSampledOut {
			err = results[0].Err // why it was not sent: a stream not configured, an invalid sample
		}
		return err
	}
	rec, units, err := c.prepare(event, time.Now())
	if err != nil {
		return err
	}
	switch v, serr := c.sample(rec.stream, units); v {
	case sampleOut, sampleInvalid, sampleUnconfigured:
		r := Result{ID: rec.id, Stream: rec.stream, Status: StatusSampledOut, Err: serr}
		c.finish(&r, true)
		return nil
	case sampleNoConfig:
		rec.units = c.unitsOf(units) // the sender decides once the configuration is loaded
	}
	if err := c.q.put(rec); err != nil {
		if err == ErrQueueFull {
			c.stats.droppedFull.Add(1)
		}
		return err
	}
	c.stats.enqueued.Add(1)
	if c.sp != nil {
		c.stats.spooled.Add(1)
	}
	return nil
}

// Flush makes the background sender post everything queued now and waits until the queue is
// empty (events enqueued meanwhile by other goroutines included) or ctx ends. When it returns nil,
// every flushed event has its final result: counted in Stats, and WithOnResult/WithOnError called.
func (c *Client) Flush(ctx context.Context) error {
	if c.closed.Load() {
		return ErrClosed
	}
	return c.q.flush(ctx)
}

// Close stops taking events, sends everything queued (with its retries) and stops the client's
// goroutines. When ctx ends first, the posts in flight are abandoned: without a spool the events
// not acknowledged fail (reported to the callbacks) and are lost; with a spool they stay in it for
// the next client. Close returns an error saying how many events were not delivered, wrapping
// ctx's error. Calling it again waits for the first call and returns its result.
func (c *Client) Close(ctx context.Context) error {
	if !c.closed.CompareAndSwap(false, true) {
		<-c.closeDone
		return c.closeErr
	}
	defer close(c.closeDone)
	c.q.close()
	sent := make(chan struct{})
	go func() {
		c.senders.Wait()
		close(sent)
	}()
	gaveUp := false
	select {
	case <-sent:
	case <-ctx.Done():
		gaveUp = true
		c.cancelRun()
		<-sent
	}
	c.cancelRun()
	c.wg.Wait()
	if c.sp != nil {
		left := c.q.queued()
		c.sp.close()
		if left > 0 {
			c.closeErr = fmt.Errorf("intake client: Close: %d events stay in the spool %s for the next client: %w", left, c.cfg.spoolDir, ctxErr(ctx, gaveUp))
		}
		return c.closeErr
	}
	left := c.q.drainMem()
	for _, rec := range left {
		r := Result{ID: rec.id, Stream: rec.stream, Status: StatusFailed,
			Err: fmt.Errorf("intake client: event %s not sent before Close gave up: %w", rec.id, ctxErr(ctx, gaveUp))}
		c.finish(&r, true)
	}
	if failed := c.stats.closeFailed.Load() + int64(len(left)); gaveUp && failed > 0 {
		c.closeErr = fmt.Errorf("intake client: Close: %d events not delivered: %w", failed, ctxErr(ctx, gaveUp))
	}
	return c.closeErr
}

func ctxErr(ctx context.Context, gaveUp bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if gaveUp {
		return context.Canceled
	}
	return fmt.Errorf("the sender stopped")
}

// runSender takes batches from the queue and delivers them until the queue is closed and empty.
func (c *Client) runSender() {
	defer c.senders.Done()
	for {
		b, ok, err := c.q.take(c.runCtx.Done())
		if err != nil {
			// The spool cannot be read: stop here rather than skip events; they stay on disk.
			c.log.Error("intake client: cannot read the spool; the sender stops (the events stay spooled)", "err", err)
			return
		}
		if !ok || !c.sendBatch(b) {
			return
		}
	}
}

// sendBatch delivers a batch and reports its results. Events enqueued before the stream
// configuration was loaded are sampled first (waiting for it). With a spool, events that failed
// stay there and are tried again after a pause; it returns false when Close gave up meanwhile
// (the batch stays spooled).
func (c *Client) sendBatch(b *batch) bool {
	results := make([]Result, len(b.recs))
	items := make([]*item, 0, len(b.recs))
	var sc *streamConfig
	var scErr error
	for i, rec := range b.recs {
		r := &results[i]
		*r = Result{ID: rec.id, Stream: rec.stream}
		if rec.units != nil {
			if sc == nil && scErr == nil {
				sc, scErr = c.batchStreams()
				if scErr != nil && c.sp != nil {
					return false // Close gave up: the batch waits in the spool for the next client
				}
			}
			if scErr != nil {
				r.Status, r.Err = StatusFailed, scErr
				continue
			}
			if v, serr := sc.decide(rec.stream, rec.units, false); v != sampleSend {
				r.Status, r.Err = StatusSampledOut, serr
				continue
			}
		}
		items = append(items, &item{rec: rec, res: r})
	}
	pending := items
	for len(pending) > 0 {
		c.deliver(c.runCtx, pending, false)
		if c.sp == nil {
			break
		}
		var left []*item
		for _, it := range pending {
			if it.res.Status == StatusFailed {
				left = append(left, it)
			}
		}
		if len(left) == 0 {
			break
		}
		if c.runCtx.Err() == nil {
			c.logThrottled("spool-retry", "intake client: events not acknowledged; they stay in the spool and are tried again",
				"events", len(left), "err", left[0].res.Err)
			c.sleep(c.runCtx, c.cfg.backoffMax)
		}
		if c.runCtx.Err() != nil {
			return false // Close gave up: the whole batch is sent again by the next client
		}
		for _, it := range left {
			it.res.Status, it.res.Err = 0, nil
		}
		pending = left
	}
	if c.sp != nil {
		if err := c.sp.commit(b.end); err != nil {
			c.log.Error("intake client: cannot move the spool cursor; acknowledged events may be sent again", "err", err)
		}
	}
	for i := range results {
		if results[i].Status == StatusFailed && c.runCtx.Err() != nil {
			c.stats.closeFailed.Add(1)
		}
		c.finish(&results[i], true)
	}
	// Released only now: releasing is what lets a waiting Flush return, and Flush promises the
	// events' results counted and their callbacks run.
	c.q.release(b)
	return true
}

// finish counts a final result, logs a problem, and calls the callbacks of enqueued events.
func (c *Client) finish(r *Result, queued bool) {
	switch r.Status {
	case StatusAccepted:
		c.stats.accepted.Add(1)
	case StatusInvalid:
		c.stats.invalid.Add(1)
		c.logResult("invalid", "intake client: event rejected as invalid", r)
	case StatusFailed:
		c.stats.failed.Add(1)
		c.logResult("failed", "intake client: event not delivered", r)
	case StatusSampledOut:
		c.stats.sampledOut.Add(1)
		var nc *StreamNotConfiguredError
		switch {
		case errors.As(r.Err, &nc):
			c.stats.notConfigured.Add(1)
			c.logResult("unconfigured", "intake client: event not sent: its stream is not in the stream configuration", r)
		case r.Err != nil:
			c.stats.sampleInvalid.Add(1)
			c.logResult("sample", "intake client: event not sent: its stream's sample setting is invalid", r)
		}
	}
	if queued {
		c.callbacks(r)
	}
}

func (c *Client) callbacks(r *Result) {
	if c.cfg.onResult != nil {
		c.cfg.onResult(*r)
	}
	if c.cfg.onError != nil && (r.Status == StatusInvalid || r.Status == StatusFailed || r.Err != nil && r.Status == StatusSampledOut) {
		c.cfg.onError(*r)
	}
}

// logResult logs a result that is a problem: every one in developer mode, else at most one a key
// every 10 seconds.
func (c *Client) logResult(key, msg string, r *Result) {
	args := []any{"stream", r.Stream, "id", r.ID, "code", r.Code, "err", r.Err}
	if c.cfg.devMode {
		if len(r.Errors) > 0 {
			args = append(args, "errors", r.Errors)
		}
		c.log.Warn(msg, args...)
		return
	}
	c.logThrottled(key, msg, args...)
}

const logEvery = 10 * time.Second

func (c *Client) logThrottled(key, msg string, args ...any) {
	now := time.Now()
	c.throttleMu.Lock()
	st := c.throttled[key]
	if st == nil {
		st = &throttleState{}
		c.throttled[key] = st
	}
	if !st.last.IsZero() && now.Sub(st.last) < logEvery {
		st.suppressed++
		c.throttleMu.Unlock()
		return
	}
	n := st.suppressed
	st.last, st.suppressed = now, 0
	c.throttleMu.Unlock()
	if n > 0 {
		args = append(args, "suppressed_since_last", n)
	}
	c.log.Warn(msg, args...)
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	s := &c.stats
	return Stats{
		Enqueued:      s.enqueued.Load(),
		Requests:      s.requests.Load(),
		Sent:          s.sent.Load(),
		Retried:       s.retried.Load(),
		Accepted:      s.accepted.Load(),
		Invalid:       s.invalid.Load(),
		Failed:        s.failed.Load(),
		DroppedFull:   s.droppedFull.Load(),
		SampledOut:    s.sampledOut.Load(),
		SampleInvalid: s.sampleInvalid.Load(),
		NotConfigured: s.notConfigured.Load(),
		Spooled:       s.spooled.Load(),
		Recovered:     s.recovered.Load(),
		Queued:        c.q.queued(),
	}
}
