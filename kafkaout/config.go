package kafkaout

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/twmb/franz-go/pkg/kgo"

	"intake.dev/intake/internal/configerr"
)

// Config configures a Producer. Each field's zero value means the default written beside it,
// which DefaultConfig spells out; New refuses a value it cannot use with a *ConfigError naming the
// field.
//
// Memory is bounded by records: at most Shards*RingSize in the rings plus
// Clients*MaxBufferedRecords in the franz-go clients.
type Config struct {
	Brokers  []string // seed brokers; required by New unless Discard
	Shards   int      // ring shards; 0 = one per CPU (runtime.GOMAXPROCS(0) when New runs); negative refused
	RingSize int      // records per shard ring, rounded up to a power of two; 0 = 8192; negative refused
	Clients  int      // franz-go producer clients the shards are spread over (at most Shards); 0 = 1; negative refused

	// MaxBufferedRecords bounds the records each client buffers (kgo.MaxBufferedRecords); a
	// drainer blocks when its client is full, its ring then fills and TryProduce returns ErrFull.
	// 0 = RingSize times the shards the client serves; negative refused.
	MaxBufferedRecords int

	Compression     string        // "" = "auto"; or "zstd", "zstd-fastest", "lz4", "snappy", "gzip", "none"
	Linger          time.Duration // the most a record waits for others to fill its batch (kgo.ProducerLinger); 0 = none (DefaultConfig: 1ms); at most 1m
	LingerPolicy    string        // "" = "busy": sync records only while the client is busy and more are coming (unlingerIfQuiet); "always": every record, as franz-go does
	BatchMaxBytes   int32         // kgo.ProducerBatchMaxBytes; 0 = 1 MiB; else 512 B up to 1 GiB
	Acks            string        // "" = "all"; "leader" and "none" disable idempotence
	DeliveryTimeout time.Duration // kgo.RecordDeliveryTimeout; 0 = 5s; else at least 1s
	ClientID        string        // "" = "intake"

	// TLS to the brokers (security.go). Any TLS field below implies TLS. Certificate files are
	// read once, by New: a rotated certificate needs a restart.
	TLS                   bool   // TLS with the system's root CAs
	TLSCAFile             string // PEM CA bundle trusted instead of the system's roots
	TLSCertFile           string // PEM client certificate (mutual TLS), with TLSKeyFile; both or neither
	TLSKeyFile            string // its PEM private key
	TLSServerName         string // name the brokers' certificates are verified against, for every broker; "" = each broker's host
	TLSInsecureSkipVerify bool   // accept any broker certificate: for tests only, it allows a man in the middle

	// SASL authentication (security.go): "" none, "plain", "scram-sha-256" or "scram-sha-512"
	// (case-insensitive), with SASLUser and SASLPassword. PLAIN sends the password as is: use it
	// over TLS.
	SASLMechanism string
	SASLUser      string
	SASLPassword  string

	// Discard completes every record at once, acknowledged, without Kafka (no clients, no
	// Brokers needed): benchmarks and allocation tests measure everything up to Kafka with it.
	Discard bool

	// SpoolDir, when set, is the directory of an on-disk spool (package spool) for fire-and-forget
	// records Kafka cannot take now (it is down, or a ring is full): TryProduce appends them there
	// and succeeds, and a goroutine replays them into Kafka once it answers. One producer per
	// directory (a lock). Empty: no spool, such records fail with ErrDown or ErrFull.
	SpoolDir      string
	SpoolSync     string       // when spooled records are fsynced: "always" (before TryProduce returns) or an interval; "" = "1s"
	SpoolMaxBytes int64        // bound of the spool's files; 0 = 4 GiB; else at least 64 KiB
	Logger        *slog.Logger // nil = slog.Default(); franz-go warnings and throttled produce failures
}

// The defaults of Config's zero fields.
const (
	defaultRingSize        = 8192
	defaultClients         = 1
	defaultLinger          = time.Millisecond // DefaultConfig's; Config's zero Linger is none
	defaultCompression     = "auto"
	defaultBatchMaxBytes   = 1 << 20
	defaultAcks            = "all"
	defaultDeliveryTimeout = 5 * time.Second
	defaultClientID        = "intake"

	// franz-go's own bounds (kgo.NewClient refuses values outside them, in its words).
	minBatchMaxBytes   = 512
	maxBatchMaxBytes   = 1 << 30
	maxLinger          = time.Minute
	minDeliveryTimeout = time.Second
)

// DefaultConfig returns the defaults spelled out; Shards stays 0, one per CPU when New runs.
//
// Linger is the one default that is not its field's zero value (Config's zero Linger is no linger
// at all): a busy linger of defaultLinger. A sync request waits for its acknowledgement, so a
// linger adds to its latency; the busy policy lingers only while the client sent a produce
// request within the last linger and more requests are coming (Producer.Coming), so an idle edge
// answers as without one, and a busy one sends a few large produce requests instead of many small
// ones: measured with make bench-compare (single revision-create events, sync, 16 and 64
// connections, alternated with no linger), half the produce requests or fewer and about half the
// broker's CPU per event, at the same throughput and p99 or better (README "What it costs
// Kafka"). Go's timers fire about 1.1ms after they are set for anything under a millisecond in a
// process that is otherwise idle, so a shorter linger waits about as long as this one.
func DefaultConfig() Config {
	return Config{
		Shards:          0,
		RingSize:        defaultRingSize,
		Clients:         defaultClients,
		Compression:     defaultCompression,
		Linger:          defaultLinger,
		LingerPolicy:    "busy",
		BatchMaxBytes:   defaultBatchMaxBytes,
		Acks:            defaultAcks,
		DeliveryTimeout: defaultDeliveryTimeout,
		ClientID:        defaultClientID,
		SpoolSync:       "1s",
		SpoolMaxBytes:   4 << 30,
	}
}

// ConfigError is a Config or EmbeddedConfig field whose value kafkaout cannot use, naming the
// field as Go spells it (internal/configerr).
type ConfigError = configerr.Error

// withDefaults fills the zero fields and checks the rest.
func (cfg Config) withDefaults() (Config, error) {
	if len(cfg.Brokers) == 0 && !cfg.Discard {
		return cfg, &ConfigError{Pkg: "kafkaout", Field: "Brokers", Reason: "no Kafka seed brokers (or start the embedded broker)"}
	}
	for _, f := range []struct {
		name string
		v    int
		zero string
	}{
		{"Shards", cfg.Shards, "one per CPU"},
		{"RingSize", cfg.RingSize, strconv.Itoa(defaultRingSize)},
		{"Clients", cfg.Clients, strconv.Itoa(defaultClients)},
		{"MaxBufferedRecords", cfg.MaxBufferedRecords, "the ring size times the shards per client"},
	} {
		if f.v < 0 {
			return cfg, &ConfigError{Pkg: "kafkaout", Field: f.name, Value: f.v, Reason: "negative; want 0 (" + f.zero + ") or more"}
		}
	}
	if b := cfg.BatchMaxBytes; b < 0 || b > 0 && b < minBatchMaxBytes || b > maxBatchMaxBytes {
		return cfg, &ConfigError{Pkg: "kafkaout", Field: "BatchMaxBytes", Value: b,
			Reason: fmt.Sprintf("want 0 (%d) or %d up to %d", defaultBatchMaxBytes, minBatchMaxBytes, maxBatchMaxBytes)}
	}
	if cfg.Linger < 0 || cfg.Linger > maxLinger {
		return cfg, &ConfigError{Pkg: "kafkaout", Field: "Linger", Value: cfg.Linger, Reason: "want 0 (none) up to " + maxLinger.String()}
	}
	switch cfg.LingerPolicy {
	case "":
		cfg.LingerPolicy = "busy"
	case "busy", "always":
	default:
		return cfg, &ConfigError{Pkg: "kafkaout", Field: "LingerPolicy", Value: cfg.LingerPolicy, Reason: "want busy or always"}
	}
	if d := cfg.DeliveryTimeout; d < 0 || d > 0 && d < minDeliveryTimeout {
		return cfg, &ConfigError{Pkg: "kafkaout", Field: "DeliveryTimeout", Value: d,
			Reason: "want 0 (" + defaultDeliveryTimeout.String() + ") or at least " + minDeliveryTimeout.String()}
	}
	if cfg.Shards == 0 {
		cfg.Shards = runtime.GOMAXPROCS(0)
	}
	if cfg.RingSize == 0 {
		cfg.RingSize = defaultRingSize
	}
	cfg.RingSize = ringSizeFor(cfg.RingSize)
	if cfg.Clients == 0 {
		cfg.Clients = defaultClients
	}
	// A client without a shard would never produce.
	cfg.Clients = min(cfg.Clients, cfg.Shards)
	if cfg.MaxBufferedRecords == 0 {
		shardsPerClient := (cfg.Shards + cfg.Clients - 1) / cfg.Clients
		cfg.MaxBufferedRecords = cfg.RingSize * shardsPerClient
	}
	if cfg.Compression == "" {
		cfg.Compression = defaultCompression
	}
	if cfg.BatchMaxBytes == 0 {
		cfg.BatchMaxBytes = defaultBatchMaxBytes
	}
	if cfg.Acks == "" {
		cfg.Acks = defaultAcks
	}
	if cfg.DeliveryTimeout == 0 {
		cfg.DeliveryTimeout = defaultDeliveryTimeout
	}
	if cfg.ClientID == "" {
		cfg.ClientID = defaultClientID
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg.securityDefaults()
}

// kgoOpts translates cfg (after withDefaults) into franz-go options.
func (cfg Config) kgoOpts() ([]kgo.Opt, error) {
	compression, err := compressionOpt(cfg.Compression)
	if err != nil {
		return nil, err
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ClientID(cfg.ClientID),
		kgo.WithLogger(newKgoLogger(cfg.Logger)),
		compression,
		// Set even when 0: franz-go's own default is a 10ms linger, Config's zero is none.
		kgo.ProducerLinger(cfg.Linger),
		kgo.ProducerBatchMaxBytes(cfg.BatchMaxBytes),
		kgo.RecordDeliveryTimeout(cfg.DeliveryTimeout),
		kgo.MaxBufferedRecords(cfg.MaxBufferedRecords),
		// A real Kafka answers UNKNOWN_TOPIC_OR_PARTITION for a while after auto-creating a topic;
		// franz-go's default fails the records after 4 such answers (about a second), which
		// failed the first events of every new stream against a real cluster. The delivery
		// timeout bounds them instead, as it bounds every other retry.
		kgo.UnknownTopicRetries(-1),
		// Streams are topics the brokers create on first use (auto.create.topics.enable, as
		// EventGate relies on); franz-go asks for that only when told to.
		kgo.AllowAutoTopicCreation(),
		// The default partitioner stays: murmur2 for keyed records, as Kafka's Java producer.
	}
	security, err := cfg.securityOpts()
	if err != nil {
		return nil, err
	}
	opts = append(opts, security...)
	switch cfg.Acks {
	case "all":
		opts = append(opts,
			kgo.RequiredAcks(kgo.AllISRAcks()),
			// Without it franz-go keeps in-flight idempotent records buffered until the broker
			// answers, however long that takes; the delivery timeout must win so sync requests
			// get their 503 and memory stays bounded.
			kgo.AllowIdempotentProduceCancellation(),
		)
	case "leader":
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	case "none":
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
	default:
		return nil, &ConfigError{Pkg: "kafkaout", Field: "Acks", Value: cfg.Acks, Reason: "want all, leader or none"}
	}
	return opts, nil
}

// limitsOpts are the options of the client that reads topic configs (topicLimits): the brokers,
// the client id and the security of the producers' clients.
func (cfg Config) limitsOpts() ([]kgo.Opt, error) {
	security, err := cfg.securityOpts()
	if err != nil {
		return nil, err
	}
	return append([]kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ClientID(cfg.ClientID),
		kgo.WithLogger(newKgoLogger(cfg.Logger)),
	}, security...), nil
}

// compressionOpt is the franz-go option for Config.Compression. A fixed codec falls back to no
// compression rather than failing against a broker that predates it.
func compressionOpt(name string) (kgo.Opt, error) {
	if name == "auto" {
		c, err := newAdaptiveCompressor(adaptiveThreshold)
		if err != nil {
			return nil, err
		}
		return kgo.WithCompressor(c), nil
	}
	codec, err := compressionCodec(name)
	if err != nil {
		return nil, err
	}
	return kgo.ProducerBatchCompression(codec, kgo.NoCompression()), nil
}

// adaptiveThreshold is where "auto" moves from lz4 to zstd: the uncompressed size of a record
// batch's records. zstd costs about 7µs per batch before its first byte (BenchmarkCompress: 2.4µs
// per event in 4-event batches, 0.55µs in 100-event ones, against lz4's 0.85 and 0.36), so below
// this size lz4 is three times cheaper for a third less ratio on what are small batches anyway.
// Above it zstd's fastest level: 20-30% cheaper than its default level for the same ratio on
// batches of events (33.3 against 33.2 for 100 revision-create events), and nearly twice lz4's.
const adaptiveThreshold = 16 << 10

// adaptiveCompressor compresses record batches under a threshold with lz4 and larger ones with
// zstd at its fastest level (lz4 when the produce version predates zstd). Consumers need nothing: the codec is an
// attribute of each batch.
type adaptiveCompressor struct {
	small, large kgo.Compressor
	threshold    int
}

func newAdaptiveCompressor(threshold int) (*adaptiveCompressor, error) {
	small, err := kgo.DefaultCompressor(kgo.Lz4Compression())
	if err != nil {
		return nil, err
	}
	large, err := kgo.DefaultCompressor(kgo.ZstdCompression().WithLevel(int(zstd.SpeedFastest)), kgo.Lz4Compression())
	if err != nil {
		return nil, err
	}
	return &adaptiveCompressor{small: small, large: large, threshold: threshold}, nil
}

func (c *adaptiveCompressor) Compress(dst *bytes.Buffer, src []byte, flags ...kgo.CompressFlag) ([]byte, kgo.CompressionCodecType) {
	if len(src) < c.threshold {
		return c.small.Compress(dst, src, flags...)
	}
	return c.large.Compress(dst, src, flags...)
}

func compressionCodec(name string) (kgo.CompressionCodec, error) {
	switch name {
	case "zstd":
		return kgo.ZstdCompression(), nil
	case "zstd-fastest":
		return kgo.ZstdCompression().WithLevel(int(zstd.SpeedFastest)), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "none":
		return kgo.NoCompression(), nil
	}
	return kgo.NoCompression(), &ConfigError{Pkg: "kafkaout", Field: "Compression", Value: name, Reason: "want auto, zstd, zstd-fastest, lz4, snappy, gzip or none"}
}

// kgoLogger passes franz-go's warnings and errors to slog. Its info level logs every connection
// and metadata refresh, too much next to the service's own logs. While brokers are down franz-go
// warns once per broker per attempt (several lines a second): the same message about the same
// broker is logged at most once per logEvery, with the number of lines left out since.
type kgoLogger struct {
	l *slog.Logger
	t *logThrottle
}

func newKgoLogger(l *slog.Logger) kgoLogger {
	return kgoLogger{l: l, t: &logThrottle{every: logEvery, seen: map[string]*throttled{}}}
}

func (kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (k kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	lvl := slog.LevelWarn
	switch level {
	case kgo.LogLevelError:
		lvl = slog.LevelError
	case kgo.LogLevelInfo:
		lvl = slog.LevelInfo
	case kgo.LogLevelDebug:
		lvl = slog.LevelDebug
	}
	if !k.l.Enabled(context.Background(), lvl) {
		return
	}
	skipped, ok := k.t.allow(throttleKey(msg, keyvals), time.Now())
	if !ok {
		return
	}
	if skipped > 0 {
		keyvals = append(keyvals[:len(keyvals):len(keyvals)], "suppressed_since_last", skipped)
	}
	k.l.Log(context.Background(), lvl, "kafka client: "+msg, keyvals...)
}

// logEvery is how often one franz-go message about one broker is logged.
const logEvery = 10 * time.Second

// logThrottle lets a line through once per every for each key, counting the lines it held back.
type logThrottle struct {
	every time.Duration
	mu    sync.Mutex
	seen  map[string]*throttled
}

type throttled struct {
	last    time.Time
	skipped int
}

// allow reports whether the line with key may be logged now, and how many lines of that key were
// held back since the last one.
func (t *logThrottle) allow(key string, now time.Time) (skipped int, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.seen[key]
	if e == nil {
		if len(t.seen) >= 1024 { // keys are messages x brokers: a bound that is never reached in practice
			clear(t.seen)
		}
		t.seen[key] = &throttled{last: now}
		return 0, true
	}
	if now.Sub(e.last) < t.every {
		e.skipped++
		return 0, false
	}
	skipped, e.skipped, e.last = e.skipped, 0, now
	return skipped, true
}

// throttleKey is the message and the broker it is about, when franz-go names one.
func throttleKey(msg string, keyvals []any) string {
	for i := 0; i+1 < len(keyvals); i += 2 {
		if k, _ := keyvals[i].(string); k == "broker" || k == "addr" {
			return fmt.Sprint(msg, "\x00", keyvals[i+1])
		}
	}
	return msg
}
