package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"intake.dev/intake/edge/clientip"
	"intake.dev/intake/fastpath"
	"intake.dev/intake/internal/configerr"
	"intake.dev/intake/kafkaout"
	"intake.dev/intake/schemacache"
)

// Config is the edge's part of the service configuration.
type Config struct {
	// MaxBodyBytes bounds a request body as received (413 above it); 0 (or less): fasthttp's
	// default, 4 MiB.
	MaxBodyBytes int
	// MaxDecompressedBytes bounds a gzip body once decompressed (413 above it); 0: every gzip body
	// that holds anything is refused.
	MaxDecompressedBytes int
	// MaxEvents bounds the events of one request (413 above it); 0: every request that carries an
	// event is refused.
	MaxEvents int
	// MaxDepth bounds JSON nesting (400 above it); 0: no bound (fastpath.JSONLimits).
	MaxDepth int
	// MaxStringBytes bounds a JSON string in the body, MaxKeyBytes an object key, both in bytes as
	// written; MaxMembers the keys of one object or the items of one array inside an event (400
	// above them). 0: no bound (fastpath.JSONLimits).
	MaxStringBytes, MaxKeyBytes, MaxMembers int
	// MaxGzipRatio bounds how many times its received size a gzip body may grow once it passes
	// gzipRatioFloor (413 above it): a bomb guard within MaxDecompressedBytes. 0: no bound.
	MaxGzipRatio int
	// MaxHeaderBytes bounds the request line and headers together (431 above it). It is fasthttp's
	// ReadBufferSize, a buffer every connection holds; 0: fasthttp's 4096.
	MaxHeaderBytes int
	// MaxHeaders bounds the number of request header lines (431 above it); 0: no bound.
	MaxHeaders int
	// MaxURLBytes bounds the request URI (414 above it); 0: no bound but MaxHeaderBytes.
	MaxURLBytes int
	// MaxEventBytes bounds an event as produced, enriched and serialized: a larger one is invalid
	// (fastpath.Options.MaxEventBytes), and an error event that would be larger carries only the
	// first KiB of its event. 0: no bound.
	MaxEventBytes int
	// MaxConnsPerIP bounds the open connections from one client IP address: one more is answered
	// 429 and closed. 0: no bound, the default, since many clients share an address behind a NAT
	// or a proxy.
	MaxConnsPerIP int
	// MaxConnections bounds the open connections: one more is answered 503 and closed. 0: only
	// fasthttp's 262144.
	MaxConnections int
	// ReadTimeout bounds the reading of a whole request, headers and body, from its first byte
	// (from the connection's opening for its first request): a client that trickles is cut off
	// with 408. WriteTimeout bounds writing a response; IdleTimeout closes idle keep-alive
	// connections. 0: no bound, except that an IdleTimeout of 0 is ReadTimeout (fasthttp's rules).
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// AckTimeout is how long a sync request waits for Kafka before answering 503: a little more than
	// the producer's delivery timeout, so that a stuck produce never hangs a request. 0: no wait,
	// every event Kafka has not acknowledged yet answers 503.
	AckTimeout time.Duration
	// RetryAfter is the Retry-After sent with 503 answers, rounded up to whole seconds; 0 (or
	// less): 1s.
	RetryAfter time.Duration
	// ErrorStream receives an error event for every invalid event; "" disables error events.
	ErrorStream string
	// ErrorSchemaURI is the $schema of error events.
	ErrorSchemaURI string
	// QualityAlarmStream receives an alarm event for every violation of a flag quality rule;
	// "" disables them (the violations are still counted).
	QualityAlarmStream string
	// QualityAlarmSchemaURI is the $schema of alarm events.
	QualityAlarmSchemaURI string
	// TopicPrefix makes the error stream's topic when the stream config does not list it.
	TopicPrefix string
	// EmitterID names this service in error events.
	EmitterID string
	// Fields are the event field paths of stream name and schema URI; either one empty:
	// fastpath.DefaultOptions.
	Fields fastpath.Options
	// StreamQueryParam and SchemaURIQueryParam name the query parameters whose values become the
	// stream name and schema URI of the events lacking them (eventgate-wikimedia's
	// stream_query_param and schema_uri_query_param); "" turns either off.
	StreamQueryParam, SchemaURIQueryParam string
	// TrustedProxies are the addresses and CIDRs of the proxies in front of the edge: only their
	// X-Client-IP and X-Forwarded-For headers name the client (for rate limits and the events'
	// http.client_ip); from any other peer the connection's address is the client.
	TrustedProxies []string
	// Info is what GET /v1/info reports besides the version.
	Info map[string]any
	// Version is the build's version string.
	Version string
	Logger  *slog.Logger
	// Access authenticates callers and applies per-stream policies, CORS and rate limits; nil
	// lets everyone write every stream (EventGate's behaviour). Its StreamHook must be the
	// schema cache's Config.OnStream.
	Access *Access
}

// DefaultMaxEventBytes is MaxEventBytes' default. Kafka takes record batches of up to 1048588
// bytes by default (message.max.bytes, 1 MiB + 12), and the producer builds them up to 1 MiB
// (kafkaout.Config.BatchMaxBytes): an event of a million bytes leaves 48 KiB of that for the
// batch's header (61 bytes), the record's framing (at most 30), its key and headers.
const DefaultMaxEventBytes = 1_000_000

// DefaultConfig returns the defaults documented in the README.
func DefaultConfig() Config {
	return Config{
		MaxBodyBytes:          4 << 20,
		MaxDecompressedBytes:  16 << 20,
		MaxEvents:             10000,
		MaxDepth:              64,
		MaxStringBytes:        1 << 20,
		MaxKeyBytes:           1024,
		MaxMembers:            10000,
		MaxGzipRatio:          250,
		MaxHeaderBytes:        16 << 10,
		MaxHeaders:            100,
		MaxURLBytes:           8 << 10,
		MaxEventBytes:         DefaultMaxEventBytes,
		MaxConnsPerIP:         0,
		MaxConnections:        fasthttp.DefaultConcurrency,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           120 * time.Second,
		AckTimeout:            6 * time.Second,
		RetryAfter:            1 * time.Second,
		ErrorStream:           "intake.error",
		ErrorSchemaURI:        "/error/2.1.0",
		QualityAlarmStream:    "intake.quality_alarm",
		QualityAlarmSchemaURI: "/intake/quality_alarm/1.0.0",
		EmitterID:             "intake",
		Fields:                fastpath.DefaultOptions(),
		Version:               "dev",
	}
}

// Server is the HTTP edge.
type Server struct {
	cfg   Config
	cache *schemacache.Cache
	prod  *kafkaout.Producer
	log   *slog.Logger
	srv   *fasthttp.Server

	jsonLimits      fastpath.JSONLimits
	trusted         *clientip.Proxies
	errorTopic      string
	errorStreamName []byte
	alarmTopic      string // the quality alarm stream's, when the stream config does not list it
	alarmStreamName []byte
	retryAfter      string
	draining        atomic.Bool
	access          *Access
	views           perSnapshot[streamsView] // GET /v1/streams
	brokerOK        atomic.Bool
	stopPing        chan struct{}
	pingOnce        sync.Once
}

// ownQueryParams are the query parameters the edge reads itself: no event field may take them.
var ownQueryParams = []string{"hasty", "debug", "dry_run", "api_key"}

// readyServer is the last Server made: intake_ready reports its readiness.
var readyServer atomic.Pointer[Server]

// New builds the edge over a schema cache and a producer. It refuses a Config it cannot use with
// a *configerr.Error naming the field.
func New(cfg Config, cache *schemacache.Cache, prod *kafkaout.Producer) (*Server, error) {
	trusted, err := clientip.ParseProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, &configerr.Error{Pkg: "edge", Field: "TrustedProxies", Value: strings.Join(cfg.TrustedProxies, ","), Err: err}
	}
	for _, q := range []struct{ field, name string }{
		{"StreamQueryParam", cfg.StreamQueryParam}, {"SchemaURIQueryParam", cfg.SchemaURIQueryParam},
	} {
		if slices.Contains(ownQueryParams, q.name) {
			return nil, &configerr.Error{Pkg: "edge", Field: q.field, Value: q.name,
				Reason: "intake reads that query parameter itself (" + strings.Join(ownQueryParams, ", ") + ")"}
		}
	}
	if cfg.StreamQueryParam != "" && cfg.StreamQueryParam == cfg.SchemaURIQueryParam {
		return nil, &configerr.Error{Pkg: "edge", Field: "SchemaURIQueryParam", Value: cfg.SchemaURIQueryParam,
			Reason: "the stream's query parameter has that name"}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	// fasthttp's defaults, spelled out for the 413 and 431 messages.
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = fasthttp.DefaultMaxRequestBodySize
	}
	if cfg.MaxHeaderBytes <= 0 {
		cfg.MaxHeaderBytes = 4096
	}
	if len(cfg.Fields.StreamField) == 0 || len(cfg.Fields.SchemaField) == 0 {
		cfg.Fields = fastpath.DefaultOptions()
	}
	cfg.Fields.MaxEventBytes = max(cfg.MaxEventBytes, 0)
	s := &Server{
		cfg:    cfg,
		cache:  cache,
		prod:   prod,
		log:    cfg.Logger,
		access: cfg.Access,
		jsonLimits: fastpath.JSONLimits{
			MaxDepth:       cfg.MaxDepth,
			MaxStringBytes: cfg.MaxStringBytes,
			MaxKeyBytes:    cfg.MaxKeyBytes,
			MaxMembers:     cfg.MaxMembers,
		},
		trusted:         trusted,
		errorTopic:      cfg.TopicPrefix + cfg.ErrorStream,
		errorStreamName: []byte(cfg.ErrorStream),
		alarmTopic:      cfg.TopicPrefix + cfg.QualityAlarmStream,
		alarmStreamName: []byte(cfg.QualityAlarmStream),
		retryAfter:      retryAfterValue(cfg.RetryAfter),
		stopPing:        make(chan struct{}),
	}
	s.views.build = buildStreamsView
	s.srv = &fasthttp.Server{
		Handler:            s.handle,
		ErrorHandler:       s.handleServerError,
		Name:               "intake",
		MaxRequestBodySize: cfg.MaxBodyBytes,
		ReadBufferSize:     cfg.MaxHeaderBytes,
		// limitListener holds MaxConnections and MaxConnsPerIP, answering in intake's words.
		Concurrency:                  max(cfg.MaxConnections, fasthttp.DefaultConcurrency),
		ReadTimeout:                  cfg.ReadTimeout,
		WriteTimeout:                 cfg.WriteTimeout,
		IdleTimeout:                  cfg.IdleTimeout,
		DisablePreParseMultipartForm: true,
		CloseOnShutdown:              true,
		NoDefaultContentType:         true,
		// fasthttp's errors would otherwise quote the request's bytes, cookies and credentials
		// included, into the debug log and the 400 answer.
		SecureErrorLogMessage: true,
		Logger:                fasthttpLogger{s.log},
	}
	readyServer.Store(s)
	return s, nil
}

func retryAfterValue(d time.Duration) string {
	secs := int((d + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	return itoa(secs)
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for n >= 10 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	i--
	b[i] = byte('0' + n)
	return string(b[i:])
}

// Serve answers requests on ln until Shutdown. It also starts the broker health probe for /readyz.
func (s *Server) Serve(ln net.Listener) error {
	s.pingOnce.Do(func() { go s.probeBroker() })
	return s.srv.Serve(s.limitListener(ln))
}

// Handler returns the request handler, for in-process tests and benchmarks.
func (s *Server) Handler() fasthttp.RequestHandler { return s.srv.Handler }

// Shutdown stops accepting requests, answers new ones on open connections with 503, and waits for the
// requests in flight (sync ones wait for their acknowledgements) until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	select {
	case <-s.stopPing:
	default:
		close(s.stopPing)
	}
	return s.srv.ShutdownWithContext(ctx)
}

// probeBroker keeps /readyz's view of Kafka fresh without a broker round-trip per probe request.
func (s *Server) probeBroker() {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err := s.prod.Ping(ctx)
		cancel()
		if s.brokerOK.Swap(err == nil) != (err == nil) {
			if err != nil {
				s.log.Warn("kafka is not reachable", "err", err)
			} else {
				s.log.Info("kafka is reachable")
			}
		}
		select {
		case <-t.C:
		case <-s.stopPing:
			return
		}
	}
}

// handleServerError answers a request fasthttp could not read; fasthttp then closes the connection,
// gently (limitConn.drainOnClose): the client may still be sending the request.
// The answer counts under route "other" whatever the path: fasthttp may have dropped the request
// read so far.
func (s *Server) handleServerError(ctx *fasthttp.RequestCtx, err error) {
	var netErr net.Error
	var small *fasthttp.ErrSmallBuffer
	var code int
	switch {
	case errors.As(err, &small):
		code = s.respondError(ctx, fasthttp.StatusRequestHeaderFieldsTooLarge,
			"the request line and headers are larger than "+itoa(s.cfg.MaxHeaderBytes)+" bytes (--max-header-bytes)")
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		code = s.respondError(ctx, fasthttp.StatusRequestEntityTooLarge,
			"request body is larger than "+itoa(s.cfg.MaxBodyBytes)+" bytes (--max-body-bytes)")
	case errors.As(err, &netErr) && netErr.Timeout():
		code = s.respondError(ctx, fasthttp.StatusRequestTimeout,
			"the request was not received within "+s.cfg.ReadTimeout.String()+" (--read-timeout)")
	default:
		code = s.respondError(ctx, fasthttp.StatusBadRequest, "cannot read the HTTP request: "+err.Error())
	}
	if lc, ok := ctx.Conn().(*limitConn); ok && code != fasthttp.StatusRequestTimeout {
		lc.drainOnClose.Store(true)
	}
	otherResponses.inc(code)
}

type fasthttpLogger struct{ l *slog.Logger }

func (f fasthttpLogger) Printf(format string, args ...any) {
	f.l.Debug("fasthttp", "detail", fmt.Sprintf(format, args...))
}
