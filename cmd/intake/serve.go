package main

import (
	"context"
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

// serveFlags are serve's settings; README's configuration reference lists them.
type serveFlags struct {
	listen          *string
	accessConfig    *string
	schemaBases     *[]string
	streamConfig    *string
	refresh         *time.Duration
	negativeTTL     *time.Duration
	schemaTimeout   *time.Duration
	formatMode      *string
	serviceName     *string
	topicPrefix     *string
	errorStream     *string
	errorSchemaURI  *string
	streamField     *string
	schemaField     *string
	brokers         *[]string
	embeddedAddr    *string
	embeddedParts   *int
	embeddedRetain  *int64
	shards          *int
	ringSize        *int
	clients         *int
	compression     *string
	linger          *time.Duration
	batchMaxBytes   *int
	acks            *string
	deliveryTimeout *time.Duration
	security        kafkaSecurity
	maxBody         *int
	maxDecompressed *int
	maxEvents       *int
	maxDepth        *int
	maxStringBytes  *int
	maxKeyBytes     *int
	maxMembers      *int
	maxGzipRatio    *int
	maxHeaderBytes  *int
	maxHeaders      *int
	maxURLBytes     *int
	maxConnsPerIP   *int
	maxConnections  *int
	readTimeout     *time.Duration
	writeTimeout    *time.Duration
	idleTimeout     *time.Duration
	retryAfter      *time.Duration
	shutdownTimeout *time.Duration
	logLevel        *string
	logFormat       *string
	debugListen     *string
}

func defineServeFlags(o *options) *serveFlags {
	kd := kafkaout.DefaultConfig()
	ed := edge.DefaultConfig()
	return &serveFlags{
		listen:          o.String("listen", "127.0.0.1:8192", "address the HTTP edge listens on"),
		schemaBases:     o.List("schema-base-uri", nil, "schema repository base: a directory, file:///dir or http(s)://host/path; tried in order"),
		streamConfig:    o.String("stream-config", "", "stream configuration: a file or an http(s) URL, in action=streamconfigs' shape"),
		accessConfig:    o.String("access-config", "", "YAML file of API keys, JWT settings, allowed origins, rate limits and trusted proxies (README \"Who may produce where\"); empty: everyone may write every stream"),
		refresh:         o.Duration("config-refresh", time.Minute, "how often stream config and loaded schemas are reloaded in the background (0 disables)"),
		negativeTTL:     o.Duration("schema-negative-ttl", 10*time.Second, "how long a schema URI that failed to load is answered from the failure before it is tried again"),
		schemaTimeout:   o.Duration("schema-http-timeout", 5*time.Second, "timeout of one http(s) fetch from a schema repository or stream config URL"),
		formatMode:      o.String("format-mode", "fast", "JSON Schema format checks: fast (Ajv 6's, as EventGate) or full (strict RFC 3339 and friends)"),
		serviceName:     o.String("service-name", "", "this service's name: streams whose destination_event_service differs are refused, and producers.<name> holds its stream settings (producers.eventgate when absent)"),
		topicPrefix:     o.String("topic-prefix", "", "prefix of every topic, e.g. a datacenter's \"eqiad.\" (streams with topic_prefixes: null get none)"),
		errorStream:     o.String("error-stream", ed.ErrorStream, "stream that receives an error event for every invalid event (\"\" disables)"),
		errorSchemaURI:  o.String("error-schema-uri", ed.ErrorSchemaURI, "$schema of error events"),
		streamField:     o.String("stream-field", "meta.stream", "event field that names its stream"),
		schemaField:     o.String("schema-field", "$schema", "event field that names its schema"),
		brokers:         o.List("kafka-brokers", nil, "Kafka seed brokers host:port; empty starts the embedded development broker"),
		embeddedAddr:    o.String("embedded-broker-addr", "127.0.0.1:9092", "address of the embedded development broker"),
		embeddedParts:   o.Int("embedded-broker-partitions", 1, "partitions of topics the embedded broker creates"),
		embeddedRetain:  o.Int64("embedded-broker-retention-bytes", 64<<20, "bytes the embedded broker keeps per partition"),
		shards:          o.Int("kafka-shards", 0, "ring shards in front of the producers (0: one per CPU)"),
		ringSize:        o.Int("kafka-ring-size", kd.RingSize, "records each ring shard holds; a full ring answers 503"),
		clients:         o.Int("kafka-clients", 1, "franz-go producer clients the shards are spread over"),
		compression:     o.String("kafka-compression", "auto", "batch compression: auto (lz4 for record batches under 16 KiB, zstd's fastest level above), zstd, zstd-fastest, lz4, snappy, gzip or none"),
		linger:          o.Duration("kafka-linger", kd.Linger, "how long a producer batch waits to fill"),
		batchMaxBytes:   o.Int("kafka-batch-max-bytes", int(kd.BatchMaxBytes), "largest producer batch, bytes"),
		acks:            o.String("kafka-acks", "all", "acknowledgements a produce waits for: all, leader or none (all keeps idempotence)"),
		deliveryTimeout: o.Duration("kafka-delivery-timeout", kd.DeliveryTimeout, "how long a record may take to reach Kafka before it fails (sync requests answer 503)"),
		// Security of --kafka-brokers; the embedded broker speaks plaintext only, serve refuses
		// these without --kafka-brokers.
		security:        securityFlags(o),
		maxBody:         o.Int("max-body-bytes", ed.MaxBodyBytes, "largest request body as received (413 above)"),
		maxDecompressed: o.Int("max-decompressed-bytes", ed.MaxDecompressedBytes, "largest gzip request body once decompressed (413 above)"),
		maxEvents:       o.Int("max-events", ed.MaxEvents, "most events in one request (413 above)"),
		maxDepth:        o.Int("max-depth", ed.MaxDepth, "deepest JSON nesting accepted (400 above)"),
		maxStringBytes:  o.Int("max-string-bytes", ed.MaxStringBytes, "longest JSON string in a body, bytes as written (400 above; 0: no limit)"),
		maxKeyBytes:     o.Int("max-key-bytes", ed.MaxKeyBytes, "longest JSON object key in a body, bytes as written (400 above; 0: no limit)"),
		maxMembers:      o.Int("max-members", ed.MaxMembers, "most keys of one object or items of one array inside an event (400 above; 0: no limit)"),
		maxGzipRatio:    o.Int("max-gzip-ratio", ed.MaxGzipRatio, "most times its received size a gzip body may expand, checked past 64 KiB decompressed (413 above; 0: no limit)"),
		maxHeaderBytes:  o.Int("max-header-bytes", ed.MaxHeaderBytes, "largest request line and headers together, a buffer each connection holds (431 above)"),
		maxHeaders:      o.Int("max-headers", ed.MaxHeaders, "most request header lines (431 above; 0: no limit)"),
		maxURLBytes:     o.Int("max-url-bytes", ed.MaxURLBytes, "longest request URI (414 above; 0: only --max-header-bytes)"),
		maxConnsPerIP:   o.Int("max-conns-per-ip", ed.MaxConnsPerIP, "most open connections from one client IP, 429 and closed above (0: no limit; clients behind one NAT or proxy share an IP)"),
		maxConnections:  o.Int("max-connections", ed.MaxConnections, "most open connections, 503 and closed above"),
		readTimeout:     o.Duration("read-timeout", ed.ReadTimeout, "time to read a whole request, headers and body, from its first byte (408 above): slow clients are cut off"),
		writeTimeout:    o.Duration("write-timeout", ed.WriteTimeout, "time to write a response"),
		idleTimeout:     o.Duration("idle-timeout", ed.IdleTimeout, "keep-alive connections idle longer are closed"),
		retryAfter:      o.Duration("retry-after", ed.RetryAfter, "Retry-After sent with 503 answers"),
		shutdownTimeout: o.Duration("shutdown-timeout", 30*time.Second, "on SIGTERM, how long to finish requests and flush Kafka before giving up"),
		logLevel:        o.String("log-level", "info", "debug, info, warn or error"),
		logFormat:       o.String("log-format", "text", "text or json"),
		debugListen:     o.String("debug-listen", "", "address for Go's /debug/pprof profiles (\"\" disables; keep it on loopback)"),
	}
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
	o := newOptions("serve", "Usage: intake serve [--config FILE] [flags]\n\nRuns the HTTP edge: POST /v1/events into Kafka.")
	config := o.String("config", "", "YAML file with any of the flags below as keys (dashes written as underscores)")
	f := defineServeFlags(o)
	if err := o.parse(args, "config"); err != nil {
		return err
	}
	_ = config
	log, err := newLogger(*f.logLevel, *f.logFormat)
	if err != nil {
		return err
	}
	slog.SetDefault(log)
	if err := f.checkLimits(); err != nil {
		return err
	}
	if len(*f.schemaBases) == 0 {
		return fmt.Errorf("no schema repository: set --schema-base-uri (a directory, file:// or http(s):// URL)")
	}
	if *f.streamConfig == "" {
		return fmt.Errorf("no stream configuration: set --stream-config (a file or http(s) URL)")
	}

	// Kafka: the configured brokers, or the embedded development broker.
	brokers := *f.brokers
	// Any TLS setting asks for TLS (kafkaout does the same); /v1/info and the log say which.
	kafkaTLS := f.security.usesTLS()
	if len(brokers) == 0 && f.security.set() {
		// Ignoring them would run a plaintext development broker where a secured cluster was meant.
		return fmt.Errorf("the --kafka-tls* and --kafka-sasl-* settings need --kafka-brokers: the embedded development broker " +
			"(started when --kafka-brokers is empty) speaks plaintext only")
	}
	var embedded *kafkaout.Embedded
	if len(brokers) == 0 {
		embedded, err = kafkaout.StartEmbedded(kafkaout.EmbeddedConfig{
			Addr:           *f.embeddedAddr,
			Partitions:     *f.embeddedParts,
			RetentionBytes: *f.embeddedRetain,
			Logger:         log,
		})
		if err != nil {
			return fmt.Errorf("cannot start the embedded broker on %s (--embedded-broker-addr, or set --kafka-brokers): %w", *f.embeddedAddr, err)
		}
		defer embedded.Close()
		brokers = embedded.Addrs()
	}

	var access *edge.Access
	var onStream func(*fastpath.Stream)
	if *f.accessConfig != "" {
		acfg, err := loadAccessConfig(*f.accessConfig, log)
		if err != nil {
			return err
		}
		if access, err = edge.NewAccess(acfg); err != nil {
			return fmt.Errorf("--access-config %s: %w", *f.accessConfig, err)
		}
		defer access.Close()
		onStream = access.StreamHook()
		if r := refreshInterval(*f.refresh); r > 0 {
			stop := make(chan struct{})
			defer close(stop)
			go reloadAccess(access, *f.accessConfig, r, log, stop)
		}
	}

	cache, err := schemacache.New(schemacache.Config{
		OnStream:        onStream,
		SchemaBaseURIs:  *f.schemaBases,
		StreamConfig:    *f.streamConfig,
		TopicPrefix:     *f.topicPrefix,
		ServiceName:     *f.serviceName,
		RefreshInterval: refreshInterval(*f.refresh),
		NegativeTTL:     *f.negativeTTL,
		HTTPTimeout:     *f.schemaTimeout,
		FormatMode:      *f.formatMode,
		Logger:          log,
	})
	if err != nil {
		return err
	}
	cache.Start()
	defer cache.Close()

	kcfg := kafkaout.DefaultConfig()
	kcfg.Brokers = brokers
	kcfg.Shards = *f.shards
	kcfg.RingSize = *f.ringSize
	kcfg.Clients = *f.clients
	kcfg.Compression = *f.compression
	kcfg.Linger = *f.linger
	kcfg.BatchMaxBytes = int32(*f.batchMaxBytes)
	kcfg.Acks = *f.acks
	kcfg.DeliveryTimeout = *f.deliveryTimeout
	f.security.apply(&kcfg)
	kcfg.Logger = log
	prod, err := kafkaout.New(kcfg)
	if err != nil {
		return err
	}

	ecfg := edge.DefaultConfig()
	ecfg.MaxBodyBytes = *f.maxBody
	ecfg.MaxDecompressedBytes = *f.maxDecompressed
	ecfg.MaxEvents = *f.maxEvents
	ecfg.MaxDepth = *f.maxDepth
	ecfg.MaxStringBytes = *f.maxStringBytes
	ecfg.MaxKeyBytes = *f.maxKeyBytes
	ecfg.MaxMembers = *f.maxMembers
	ecfg.MaxGzipRatio = *f.maxGzipRatio
	ecfg.MaxHeaderBytes = *f.maxHeaderBytes
	ecfg.MaxHeaders = *f.maxHeaders
	ecfg.MaxURLBytes = *f.maxURLBytes
	ecfg.MaxConnsPerIP = *f.maxConnsPerIP
	ecfg.MaxConnections = *f.maxConnections
	ecfg.ReadTimeout = *f.readTimeout
	ecfg.WriteTimeout = *f.writeTimeout
	ecfg.IdleTimeout = *f.idleTimeout
	ecfg.RetryAfter = *f.retryAfter
	// A sync request outlives the producer's delivery timeout a little, so Kafka's own verdict
	// (usually a timeout error) arrives before the request gives up on it.
	ecfg.AckTimeout = *f.deliveryTimeout + time.Second
	ecfg.ErrorStream = *f.errorStream
	ecfg.ErrorSchemaURI = *f.errorSchemaURI
	ecfg.TopicPrefix = *f.topicPrefix
	if *f.serviceName != "" {
		ecfg.EmitterID = *f.serviceName
	}
	ecfg.Fields = fastpath.Options{StreamField: fastpath.SplitPath(*f.streamField), SchemaField: fastpath.SplitPath(*f.schemaField)}
	ecfg.Version = version
	ecfg.Logger = log
	ecfg.Access = access
	ecfg.Info = map[string]any{
		"service_name":     *f.serviceName,
		"schema_base_uris": *f.schemaBases,
		"stream_config":    *f.streamConfig,
		"topic_prefix":     *f.topicPrefix,
		"error_stream":     *f.errorStream,
		"kafka_brokers":    brokers,
		"embedded_broker":  embedded != nil,
		// Whether and how intake authenticates, never the credentials.
		"kafka_tls":            kafkaTLS,
		"kafka_sasl_mechanism": strings.ToLower(*f.security.saslMechanism),
	}
	srv := edge.New(ecfg, cache, prod)

	ln, err := net.Listen("tcp", *f.listen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s (--listen): %w", *f.listen, err)
	}
	if *f.debugListen != "" {
		go func() {
			log.Info("serving /debug/pprof", "listen", *f.debugListen)
			if err := http.ListenAndServe(*f.debugListen, nil); err != nil {
				log.Error("cannot serve /debug/pprof (--debug-listen)", "err", err)
			}
		}()
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("intake is serving", "listen", ln.Addr().String(), "kafka", strings.Join(brokers, ","),
		"kafka_tls", kafkaTLS, "kafka_sasl_mechanism", strings.ToLower(*f.security.saslMechanism),
		"schema_base_uris", strings.Join(*f.schemaBases, ","), "stream_config", *f.streamConfig)

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
	ctx, cancel := context.WithTimeout(context.Background(), *f.shutdownTimeout)
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

// checkLimits refuses limits that cannot work, naming the flag.
func (f *serveFlags) checkLimits() error {
	for _, l := range []struct {
		flag string
		v    int
	}{
		{"max-body-bytes", *f.maxBody}, {"max-decompressed-bytes", *f.maxDecompressed}, {"max-events", *f.maxEvents},
		{"max-depth", *f.maxDepth}, {"max-string-bytes", *f.maxStringBytes}, {"max-key-bytes", *f.maxKeyBytes},
		{"max-members", *f.maxMembers}, {"max-gzip-ratio", *f.maxGzipRatio}, {"max-header-bytes", *f.maxHeaderBytes},
		{"max-headers", *f.maxHeaders}, {"max-url-bytes", *f.maxURLBytes}, {"max-conns-per-ip", *f.maxConnsPerIP},
		{"max-connections", *f.maxConnections},
	} {
		if l.v < 0 {
			return fmt.Errorf("cannot use --%s %d: a limit is 0 or more", l.flag, l.v)
		}
	}
	if *f.maxMembers > 0 && (*f.maxDepth == 0 || *f.maxDepth > fastpath.MaxCountedDepth) {
		return fmt.Errorf("cannot use --max-depth %d with --max-members: members are counted in %d levels at most; "+
			"set --max-depth to at most %d, or --max-members 0", *f.maxDepth, fastpath.MaxCountedDepth, fastpath.MaxCountedDepth)
	}
	return nil
}

func refreshInterval(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}
