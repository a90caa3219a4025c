package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // served only on --debug-listen
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"intake.dev/intake/edge"
	"intake.dev/intake/fastpath"
	"intake.dev/intake/kafkaout"
	"intake.dev/intake/schemacache"
)

// serveConfig is what intake serve runs with: each stage's Config, starting from the stage's own
// defaults, and serve's own settings.
type serveConfig struct {
	File            string // --config
	Listen          string
	AccessConfig    string
	Cache           schemacache.Config
	Embedded        kafkaout.EmbeddedConfig
	Kafka           kafkaout.Config
	Edge            edge.Config
	ShutdownTimeout time.Duration
	LogLevel        string
	LogFormat       string
	DebugListen     string
}

// defaultServeConfig is the configuration of serve with no flag, variable or file: the stages'
// defaults are theirs.
func defaultServeConfig() *serveConfig {
	return &serveConfig{
		Listen:          "127.0.0.1:8192",
		Cache:           schemacache.DefaultConfig(),
		Embedded:        kafkaout.DefaultEmbeddedConfig(),
		Kafka:           kafkaout.DefaultConfig(),
		Edge:            edge.DefaultConfig(),
		ShutdownTimeout: 30 * time.Second,
		LogLevel:        "info",
		LogFormat:       "text",
	}
}

// settings binds serve's flags to c's fields. A new serve setting is one line here, plus its row
// in README's configuration reference (TestREADMEListsEveryFlag checks that row).
func (c *serveConfig) settings() []setting {
	s := []setting{
		str("config", &c.File, "YAML file with any of the flags below as keys (dashes written as underscores)"),
		str("listen", &c.Listen, "address the HTTP edge listens on"),
		list("schema-base-uri", &c.Cache.SchemaBaseURIs, "schema repository base: a directory, file:///dir or http(s)://host/path; tried in order"),
		str("stream-config", &c.Cache.StreamConfig, "stream configuration: a file or an http(s) URL, in action=streamconfigs' shape"),
		str("access-config", &c.AccessConfig, "YAML file of API keys, JWT settings, allowed origins and rate limits (README \"Who may produce where\"); empty: everyone may write every stream"),
		dur("config-refresh", &c.Cache.RefreshInterval, "how often stream config and loaded schemas are reloaded in the background (0 disables)"),
		dur("schema-negative-ttl", &c.Cache.NegativeTTL, "how long a schema URI that failed to load is answered from the failure before it is tried again (0: the default)"),
		dur("schema-http-timeout", &c.Cache.HTTPTimeout, "timeout of one http(s) fetch from a schema repository or stream config URL (0: the default)"),
		str("format-mode", &c.Cache.FormatMode, "JSON Schema format checks: fast (Ajv 6's, as EventGate) or full (strict RFC 3339 and friends)"),
		str("service-name", &c.Cache.ServiceName, "this service's name: streams whose destination_event_service differs are refused, and producers.<name> holds its stream settings (producers.eventgate when absent)"),
		str("topic-prefix", &c.Cache.TopicPrefix, "prefix of every topic, e.g. a datacenter's \"eqiad.\" (streams with topic_prefixes: null get none)"),
		str("error-stream", &c.Edge.ErrorStream, "stream that receives an error event for every invalid event (\"\" disables)"),
		str("error-schema-uri", &c.Edge.ErrorSchemaURI, "$schema of error events"),
		str("quality-alarm-stream", &c.Edge.QualityAlarmStream, "stream that receives an alarm event for every violation of a flag quality rule (\"\" disables; the violations are still counted)"),
		str("quality-alarm-schema-uri", &c.Edge.QualityAlarmSchemaURI, "$schema of quality alarm events"),
		path("stream-field", &c.Edge.Fields.StreamField, "event field that names its stream"),
		path("schema-field", &c.Edge.Fields.SchemaField, "event field that names its schema"),
		str("stream-query-param", &c.Edge.StreamQueryParam, "query parameter whose value is the stream of events that name none, e.g. stream for browsers' Reporting API (\"\": off)"),
		str("schema-uri-query-param", &c.Edge.SchemaURIQueryParam, "query parameter whose value is the $schema of events that name none, e.g. schema_uri (\"\": off)"),
		list("trusted-proxies", &c.Edge.TrustedProxies, "addresses and CIDRs of the proxies in front of intake: only their X-Client-IP and X-Forwarded-For name the client, for rate limits and http.client_ip (none: the connection's address is the client)"),
		list("kafka-brokers", &c.Kafka.Brokers, "Kafka seed brokers host:port; empty starts the embedded development broker"),
		str("embedded-broker-addr", &c.Embedded.Addr, "address of the embedded development broker"),
		num("embedded-broker-partitions", &c.Embedded.Partitions, "partitions of topics the embedded broker creates (0: the default)"),
		num64("embedded-broker-retention-bytes", &c.Embedded.RetentionBytes, "bytes the embedded broker keeps per partition (0: the default)"),
		num("kafka-shards", &c.Kafka.Shards, "ring shards in front of the producers (0: one per CPU)"),
		num("kafka-ring-size", &c.Kafka.RingSize, "records each ring shard holds, rounded up to a power of two; a full ring answers 503 (0: the default)"),
		num("kafka-clients", &c.Kafka.Clients, "franz-go producer clients the shards are spread over, at most one per shard (0: the default)"),
		str("kafka-compression", &c.Kafka.Compression, "batch compression: auto (lz4 for record batches under 16 KiB, zstd's fastest level above), zstd, zstd-fastest, lz4, snappy, gzip or none"),
		dur("kafka-linger", &c.Kafka.Linger, "the most a record waits for others to fill its batch (0: not at all; at most 1m); see --kafka-linger-policy"),
		str("kafka-linger-policy", &c.Kafka.LingerPolicy, "when records linger: busy (a sync event goes at once after a quiet spell of a linger, or when no other request is being read; otherwise it lingers until those have queued their events) or always"),
		num32("kafka-batch-max-bytes", &c.Kafka.BatchMaxBytes, "largest producer batch, bytes: 512 up to 1 GiB (0: the default)"),
		str("kafka-acks", &c.Kafka.Acks, "acknowledgements a produce waits for: all, leader or none (all keeps idempotence)"),
		dur("kafka-delivery-timeout", &c.Kafka.DeliveryTimeout, "how long a record may take to reach Kafka before it fails (sync requests answer 503); at least 1s (0: the default)"),
		str("spool-dir", &c.Kafka.SpoolDir, "directory of the on-disk spool that keeps fire-and-forget events Kafka cannot take now, replayed when it answers (\"\": off, such events answer 503); one edge per directory"),
		str("spool-fsync", &c.Kafka.SpoolSync, "when spooled events are fsynced: always (before the 202) or an interval; a process crash loses nothing written either way"),
		num64("spool-max-bytes", &c.Kafka.SpoolMaxBytes, "bound of the spool's files; when full, fire-and-forget events answer 503 (at least 65536)"),
	}
	// Security of --kafka-brokers; the embedded broker speaks plaintext only, serve refuses these
	// without --kafka-brokers.
	s = append(s, securitySettings(&c.Kafka)...)
	return append(s,
		limit("max-body-bytes", &c.Edge.MaxBodyBytes, "largest request body as received (413 above; 0: fasthttp's own 4 MiB)"),
		limit("max-decompressed-bytes", &c.Edge.MaxDecompressedBytes, "largest gzip request body once decompressed (413 above; 0 refuses every gzip body)"),
		limit("max-events", &c.Edge.MaxEvents, "most events in one request (413 above; 0 refuses every event)"),
		limit("max-depth", &c.Edge.MaxDepth, "deepest JSON nesting accepted (400 above; 0: no limit, which --max-members does not allow)"),
		limit("max-string-bytes", &c.Edge.MaxStringBytes, "longest JSON string in a body, bytes as written (400 above; 0: no limit)"),
		limit("max-key-bytes", &c.Edge.MaxKeyBytes, "longest JSON object key in a body, bytes as written (400 above; 0: no limit)"),
		limit("max-members", &c.Edge.MaxMembers, "most keys of one object or items of one array inside an event (400 above; 0: no limit)"),
		limit("max-event-bytes", &c.Edge.MaxEventBytes, "largest event as produced, enriched and serialized: a larger one is invalid, and an error event that would be larger quotes only the event's first KiB (0: no limit)"),
		limit("max-gzip-ratio", &c.Edge.MaxGzipRatio, "most times its received size a gzip body may expand, checked past 64 KiB decompressed (413 above; 0: no limit)"),
		limit("max-header-bytes", &c.Edge.MaxHeaderBytes, "largest request line and headers together, a buffer each connection holds (431 above; 0: fasthttp's own 4096)"),
		limit("max-headers", &c.Edge.MaxHeaders, "most request header lines (431 above; 0: no limit)"),
		limit("max-url-bytes", &c.Edge.MaxURLBytes, "longest request URI (414 above; 0: only --max-header-bytes)"),
		limit("max-conns-per-ip", &c.Edge.MaxConnsPerIP, "most open connections from one client IP, 429 and closed above (0: no limit; clients behind one NAT or proxy share an IP)"),
		limit("max-connections", &c.Edge.MaxConnections, "most open connections, 503 and closed above (0: only fasthttp's own 262144)"),
		dur("read-timeout", &c.Edge.ReadTimeout, "time to read a whole request, headers and body, from its first byte (408 above): slow clients are cut off (0: no limit)"),
		dur("write-timeout", &c.Edge.WriteTimeout, "time to write a response (0: no limit)"),
		dur("idle-timeout", &c.Edge.IdleTimeout, "keep-alive connections idle longer are closed (0: --read-timeout)"),
		dur("retry-after", &c.Edge.RetryAfter, "Retry-After sent with 503 answers, rounded up to whole seconds (0: 1s)"),
		dur("shutdown-timeout", &c.ShutdownTimeout, "on SIGTERM, how long to finish requests and flush Kafka before giving up"),
		str("log-level", &c.LogLevel, "debug, info, warn or error"),
		str("log-format", &c.LogFormat, "text or json"),
		str("debug-listen", &c.DebugListen, "address for Go's /debug/pprof profiles (\"\" disables; keep it on loopback)"),
	)
}

// serveOptions are serve's flags, bound to a fresh default configuration.
func serveOptions() (*options, *serveConfig) {
	c := defaultServeConfig()
	o := newOptions("serve", "Usage: intake serve [--config FILE] [flags]\n\nRuns the HTTP edge: POST /v1/events into Kafka.", "config")
	o.add(c.settings()...)
	return o, c
}

func newLogger(level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("cannot use --log-level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("cannot use --log-format %q: want text or json", format)
}

func serve(args []string) error {
	o, c := serveOptions()
	if err := o.parse(args); err != nil {
		return err
	}
	log, err := newLogger(c.LogLevel, c.LogFormat)
	if err != nil {
		return err
	}
	slog.SetDefault(log)
	if err := c.checkLimits(o); err != nil {
		return err
	}
	if len(c.Cache.SchemaBaseURIs) == 0 {
		return fmt.Errorf("no schema repository: set --schema-base-uri (a directory, file:// or http(s):// URL)")
	}
	if c.Cache.StreamConfig == "" {
		return fmt.Errorf("no stream configuration: set --stream-config (a file or http(s) URL)")
	}

	// Kafka: the configured brokers, or the embedded development broker.
	// Any TLS setting asks for TLS (kafkaout does the same); /v1/info and the log say which.
	kafkaTLS := usesTLS(&c.Kafka)
	if len(c.Kafka.Brokers) == 0 && securitySet(&c.Kafka) {
		// Ignoring them would run a plaintext development broker where a secured cluster was meant.
		return fmt.Errorf("the --kafka-tls* and --kafka-sasl-* settings need --kafka-brokers: the embedded development broker " +
			"(started when --kafka-brokers is empty) speaks plaintext only")
	}
	var embedded *kafkaout.Embedded
	if len(c.Kafka.Brokers) == 0 {
		c.Embedded.Logger = log
		embedded, err = kafkaout.StartEmbedded(c.Embedded)
		if ce := (*kafkaout.ConfigError)(nil); errors.As(err, &ce) {
			return o.flagError(err, &c.Embedded)
		} else if err != nil {
			return fmt.Errorf("cannot start the embedded broker on %s (--embedded-broker-addr, or set --kafka-brokers): %w", c.Embedded.Addr, err)
		}
		defer embedded.Close()
		c.Kafka.Brokers = embedded.Addrs()
	}

	var access *edge.Access
	if c.AccessConfig != "" {
		acfg, err := loadAccessConfig(c.AccessConfig, log)
		if err != nil {
			return err
		}
		if access, err = edge.NewAccess(acfg); err != nil {
			return fmt.Errorf("--access-config %s: %w", c.AccessConfig, err)
		}
		defer access.Close()
		c.Cache.OnStream = access.StreamHook()
		if r := c.Cache.RefreshInterval; r > 0 {
			stop := make(chan struct{})
			defer close(stop)
			go reloadAccess(access, c.AccessConfig, r, log, stop)
		}
	}

	c.Cache.Logger = log
	cache, err := schemacache.New(c.Cache)
	if err != nil {
		return o.flagError(err, &c.Cache)
	}
	cache.Start()
	defer cache.Close()

	c.Kafka.Logger = log
	prod, err := kafkaout.New(c.Kafka)
	if err != nil {
		return o.flagError(err, &c.Kafka)
	}

	// A sync request outlives the producer's delivery timeout a little, so Kafka's own verdict
	// (usually a timeout error) arrives before the request gives up on it.
	c.Edge.AckTimeout = prod.DeliveryTimeout() + time.Second
	c.Edge.TopicPrefix = c.Cache.TopicPrefix
	if c.Cache.ServiceName != "" {
		c.Edge.EmitterID = c.Cache.ServiceName
	}
	c.Edge.Version = version
	c.Edge.Logger = log
	c.Edge.Access = access
	c.Edge.Info = map[string]any{
		"service_name":         c.Cache.ServiceName,
		"schema_base_uris":     c.Cache.SchemaBaseURIs,
		"stream_config":        c.Cache.StreamConfig,
		"topic_prefix":         c.Cache.TopicPrefix,
		"error_stream":         c.Edge.ErrorStream,
		"quality_alarm_stream": c.Edge.QualityAlarmStream,
		"kafka_brokers":        c.Kafka.Brokers,
		"embedded_broker":      embedded != nil,
		// Whether and how intake authenticates, never the credentials.
		"kafka_tls":            kafkaTLS,
		"kafka_sasl_mechanism": strings.ToLower(c.Kafka.SASLMechanism),
	}
	srv, err := edge.New(c.Edge, cache, prod)
	if err != nil {
		_ = prod.Close(context.Background()) // nothing was produced: it closes at once
		return o.flagError(err, &c.Edge)
	}

	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		// Nothing was accepted, but the producer may be replaying a spool an earlier run left:
		// what it has handed to Kafka is flushed, the rest stays spooled for the next start.
		ctx, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
		defer cancel()
		_ = prod.Close(ctx)
		return fmt.Errorf("cannot listen on %s (--listen): %w", c.Listen, err)
	}
	if c.DebugListen != "" {
		go func() {
			log.Info("serving /debug/pprof", "listen", c.DebugListen)
			if err := http.ListenAndServe(c.DebugListen, nil); err != nil {
				log.Error("cannot serve /debug/pprof (--debug-listen)", "err", err)
			}
		}()
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("intake is serving", "listen", ln.Addr().String(), "kafka", strings.Join(c.Kafka.Brokers, ","),
		"kafka_tls", kafkaTLS, "kafka_sasl_mechanism", strings.ToLower(c.Kafka.SASLMechanism),
		"schema_base_uris", strings.Join(c.Cache.SchemaBaseURIs, ","), "stream_config", c.Cache.StreamConfig)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case s := <-sig:
		log.Info("stopping: finishing requests, then flushing Kafka", "signal", s.String())
	case err := <-serveErr:
		log.Error("the HTTP server stopped", "err", err)
	}
	signal.Stop(sig)

	// Stop in reverse: no new requests, requests in flight answered, rings drained and flushed.
	ctx, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		log.Error("cannot finish every request before --shutdown-timeout", "err", err)
	}
	if err := prod.Close(ctx); err != nil {
		log.Error("cannot flush every accepted event to Kafka before --shutdown-timeout", "err", err)
		return err
	}
	log.Info("stopped; every accepted event was flushed to Kafka")
	return nil
}

// checkLimits refuses limits that cannot work, naming the flag: a negative one (every setting
// bound with limit), and --max-members with a depth it cannot count in.
func (c *serveConfig) checkLimits(o *options) error {
	if err := o.checkLimits(); err != nil {
		return err
	}
	if c.Edge.MaxMembers > 0 && (c.Edge.MaxDepth == 0 || c.Edge.MaxDepth > fastpath.MaxCountedDepth) {
		return fmt.Errorf("cannot use --max-depth %d with --max-members: members are counted in %d levels at most; "+
			"set --max-depth to at most %d, or --max-members 0", c.Edge.MaxDepth, fastpath.MaxCountedDepth, fastpath.MaxCountedDepth)
	}
	return nil
}
