package client

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Option configures a Client (New).
type Option func(*config)

// config is what the options set; defaultConfig spells out the defaults.
type config struct {
	httpClient     *http.Client
	apiKey         string
	tokenSource    func(context.Context) (string, error)
	headers        http.Header
	userAgent      string
	logger         *slog.Logger
	requestTimeout time.Duration

	maxAttempts             int
	maxElapsed              time.Duration
	backoffBase, backoffMax time.Duration

	batchEvents   int
	batchBytes    int
	flushInterval time.Duration
	queueEvents   int
	queueBytes    int
	maxEventBytes int
	gzipAbove     int
	concurrency   int

	spoolDir          string
	spoolFsync        time.Duration
	spoolMaxBytes     int64
	spoolSegmentBytes int64

	devMode        bool
	streamsRefresh time.Duration
	sampleStreams  []string
	units          Units

	defaultStream, defaultSchema string
	fillDT                       bool

	onResult, onError func(Result)

	// sleep replaces the waits between attempts (tests: see them without waiting); nil: a timer.
	sleep func(context.Context, time.Duration) error
}

func defaultConfig() config {
	return config{
		headers:           http.Header{},
		requestTimeout:    30 * time.Second,
		maxAttempts:       10,
		maxElapsed:        time.Minute,
		backoffBase:       100 * time.Millisecond,
		backoffMax:        10 * time.Second,
		batchEvents:       500,
		batchBytes:        512 << 10,
		flushInterval:     500 * time.Millisecond,
		queueEvents:       20000,
		queueBytes:        32 << 20,
		maxEventBytes:     4 << 20,
		gzipAbove:         8 << 10,
		concurrency:       1,
		spoolFsync:        time.Second,
		spoolMaxBytes:     1 << 30,
		spoolSegmentBytes: 16 << 20,
		streamsRefresh:    time.Minute,
		fillDT:            true,
	}
}

func (c *config) check() error {
	switch {
	case c.maxAttempts < 1:
		return fmt.Errorf("intake client: WithRetry: maxAttempts %d, want at least 1", c.maxAttempts)
	case c.backoffBase <= 0 || c.backoffMax < c.backoffBase:
		return fmt.Errorf("intake client: WithBackoff: base %s and max %s, want 0 < base <= max", c.backoffBase, c.backoffMax)
	case c.batchEvents < 1 || c.batchBytes < 1 || c.flushInterval <= 0:
		return fmt.Errorf("intake client: WithBatch: %d events, %d bytes, interval %s: each must be positive", c.batchEvents, c.batchBytes, c.flushInterval)
	case c.queueEvents < 1 || c.queueBytes < 1:
		return fmt.Errorf("intake client: WithQueue: %d events, %d bytes: each must be positive", c.queueEvents, c.queueBytes)
	case c.maxEventBytes < 1:
		return fmt.Errorf("intake client: WithMaxEventBytes: %d, want a positive size", c.maxEventBytes)
	case c.concurrency < 1:
		return fmt.Errorf("intake client: WithConcurrency: %d, want at least 1", c.concurrency)
	case c.spoolMaxBytes < 1 || c.spoolSegmentBytes < 1:
		return fmt.Errorf("intake client: WithSpoolLimits: %d max bytes, %d segment bytes: each must be positive", c.spoolMaxBytes, c.spoolSegmentBytes)
	case c.requestTimeout <= 0:
		return fmt.Errorf("intake client: WithRequestTimeout: %s, want a positive duration", c.requestTimeout)
	}
	return nil
}

// WithHTTPClient sets the HTTP client (default: one with its own keep-alive pool). Its Timeout,
// if any, applies on top of WithRequestTimeout.
func WithHTTPClient(hc *http.Client) Option { return func(c *config) { c.httpClient = hc } }

// WithAPIKey sends the key as "Authorization: Bearer <key>" with every request.
func WithAPIKey(key string) Option { return func(c *config) { c.apiKey = key } }

// WithTokenSource calls f before every request (event posts and stream config fetches) and sends
// its token as "Authorization: Bearer <token>" (a JWT, say). Caching is f's job. An error from f
// fails that attempt, which is retried like a connection error. It wins over WithAPIKey.
func WithTokenSource(f func(ctx context.Context) (string, error)) Option {
	return func(c *config) { c.tokenSource = f }
}

// WithHeader adds a header to every request (repeatable).
func WithHeader(name, value string) Option { return func(c *config) { c.headers.Add(name, value) } }

// WithUserAgent puts product (e.g. "my-service/1.2") before "intake-go-client/<version>" in the
// User-Agent header.
func WithUserAgent(product string) Option { return func(c *config) { c.userAgent = product } }

// WithLogger sets where the client logs (default slog.Default()): failed deliveries and invalid
// events (throttled, except in developer mode), spool recovery, stream config problems.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithRequestTimeout bounds one POST, answer included (default 30s).
func WithRequestTimeout(d time.Duration) Option { return func(c *config) { c.requestTimeout = d } }

// WithRetry bounds the attempts (default 10) and the total time from the first attempt (default
// 1m; 0: no bound) a batch of events gets before its unacknowledged events fail. With a spool,
// failed events are not dropped: they stay spooled and are tried again after a pause.
func WithRetry(maxAttempts int, maxElapsed time.Duration) Option {
	return func(c *config) { c.maxAttempts, c.maxElapsed = maxAttempts, maxElapsed }
}

// WithBackoff sets the exponential backoff between attempts (defaults 100ms and 10s): the wait
// before attempt n+1 is a uniformly random duration in [0, min(max, base*2^(n-1))) ("full
// jitter"), and never less than a Retry-After the edge sent.
func WithBackoff(base, max time.Duration) Option {
	return func(c *config) { c.backoffBase, c.backoffMax = base, max }
}

// WithBatch sets when the background sender posts: when events (default 500) or bytes (default
// 512 KiB, uncompressed JSON) are waiting, or when the oldest waiting event has waited interval
// (default 500ms). Send splits its events into requests by the same counts.
func WithBatch(events, bytes int, interval time.Duration) Option {
	return func(c *config) { c.batchEvents, c.batchBytes, c.flushInterval = events, bytes, interval }
}

// WithQueue bounds the in-memory queue of Enqueue, in events (default 20000) and bytes of JSON
// (default 32 MiB), the batches being sent included. A full queue makes Enqueue return
// ErrQueueFull. With a spool, WithSpoolLimits bounds it instead.
func WithQueue(events, bytes int) Option {
	return func(c *config) { c.queueEvents, c.queueBytes = events, bytes }
}

// WithMaxEventBytes refuses events whose JSON is larger (default 4 MiB, the edge's default
// --max-body-bytes) with ErrEventTooLarge.
func WithMaxEventBytes(n int) Option { return func(c *config) { c.maxEventBytes = n } }

// WithGzip gzips request bodies of at least minBytes (default 8 KiB; negative: never).
func WithGzip(minBytes int) Option { return func(c *config) { c.gzipAbove = minBytes } }

// WithConcurrency sets how many batches the background sender posts at once (default 1). Above 1,
// enqueued events may reach Kafka out of order. A spool always sends one batch at a time, in order.
func WithConcurrency(n int) Option { return func(c *config) { c.concurrency = n } }

// WithSpool keeps enqueued events in an on-disk spool in dir (created if needed) instead of
// memory: each event is written before Enqueue returns and removed only once the edge acknowledged
// it or rejected it as invalid. A client that stops, crashes or is killed leaves its backlog
// there; the next client on the same dir sends it first, in order. Events the edge does not
// acknowledge, whatever the reason (retries exhausted, 401, ...), are not dropped: they stay, and
// the batch is tried again after a pause of WithBackoff's max, in order, until Close gives up.
// One client at a time may use a dir (a lock file says so). Send and developer mode do not use
// the spool. See WithSpoolFsync for what survives a machine crash.
func WithSpool(dir string) Option { return func(c *config) { c.spoolDir = dir } }

// WithSpoolFsync sets when spooled data is fsynced. Every event is written to the spool file
// (the operating system's page cache) before Enqueue returns, so a crash or kill of the process
// loses nothing; fsync is about the machine crashing or losing power. every > 0 (default 1s):
// a background fsync at most every interval, so a machine crash loses at most that much; 0: an
// fsync before every Enqueue returns (durable, and much slower); < 0: never (the OS writes back).
func WithSpoolFsync(every time.Duration) Option { return func(c *config) { c.spoolFsync = every } }

// WithSpoolLimits bounds the spool's bytes on disk (default 1 GiB; past it Enqueue returns
// ErrQueueFull) and sets the size of its segment files (default 16 MiB).
func WithSpoolLimits(maxBytes, segmentBytes int64) Option {
	return func(c *config) { c.spoolMaxBytes, c.spoolSegmentBytes = maxBytes, segmentBytes }
}

// WithDeveloperMode (for development, not production traffic): every event is sent at once with
// ?debug=true, Enqueue included (it returns the edge's verdict as an error, see Send), the Results
// carry the event as produced and every problem is logged. An event out of its stream's sample is
// sent anyway; one the stream configuration keeps out for another reason (its stream not in it, an
// invalid sample setting) is not, and Enqueue returns why.
func WithDeveloperMode(on bool) Option { return func(c *config) { c.devMode = on } }

// WithStreamConfigRefresh sets how often the stream configuration (GET /v1/streams, for sampling)
// is fetched again, with its ETag (default 1m). Negative: the client fetches none by itself, and
// without one (until RefreshStreamConfig loads it) every event is sent unsampled, whatever its
// stream: for an edge without GET /v1/streams (Metrics Platform's clients do the same when stream
// configuration is off).
func WithStreamConfigRefresh(every time.Duration) Option {
	return func(c *config) { c.streamsRefresh = every }
}

// WithStreamConfigStreams fetches only these streams' configuration (?streams=); events of other
// streams are then not sent (not in the configuration). Name a /regex/ stream by its /regex/ key.
func WithStreamConfigStreams(names ...string) Option {
	return func(c *config) { c.sampleStreams = append([]string(nil), names...) }
}

// WithUnits sets the sampling unit ids of this process's events (default: a random 20 hex digit
// id each, made by New). Empty fields keep their default. See UnitEvent for per-event ids.
func WithUnits(u Units) Option {
	return func(c *config) {
		if u.Session != "" {
			c.units.Session = u.Session
		}
		if u.Pageview != "" {
			c.units.Pageview = u.Pageview
		}
		if u.Device != "" {
			c.units.Device = u.Device
		}
	}
}

// WithSessionID sets the session unit id (WithUnits).
func WithSessionID(id string) Option { return WithUnits(Units{Session: id}) }

// WithPageviewID sets the pageview unit id (WithUnits).
func WithPageviewID(id string) Option { return WithUnits(Units{Pageview: id}) }

// WithDeviceID sets the device unit id (WithUnits).
func WithDeviceID(id string) Option { return WithUnits(Units{Device: id}) }

// WithDefaults sets meta.stream and $schema on events that lack them ("" leaves that one alone).
func WithDefaults(stream, schemaURI string) Option {
	return func(c *config) { c.defaultStream, c.defaultSchema = stream, schemaURI }
}

// WithFillDT sets whether an event without a top-level dt gets one (the time it was handed to
// Send or Enqueue, RFC 3339 UTC with milliseconds): the producer requirements say every event
// must carry dt. Default true; turn it off for schemas without dt.
func WithFillDT(on bool) Option { return func(c *config) { c.fillDT = on } }

// WithOnResult calls f with the result of every enqueued event once it is known (accepted,
// invalid, failed, sampled out): from the sender goroutine (several at once with WithConcurrency
// above 1), or, for sampled-out events and in developer mode, from Enqueue. f must not block for
// long nor call Close or Flush. Results of Send are its return value, not callbacks.
func WithOnResult(f func(Result)) Option { return func(c *config) { c.onResult = f } }

// WithOnError is WithOnResult for the events that were not accepted and not sampled out by their
// rate: invalid, failed, and those of streams with an invalid sample setting or not in the stream
// configuration.
func WithOnError(f func(Result)) Option { return func(c *config) { c.onError = f } }
