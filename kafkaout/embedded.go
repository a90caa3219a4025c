package kafkaout

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// EmbeddedConfig configures the in-process development broker. A zero field, or a negative
// number, means the default DefaultEmbeddedConfig spells out.
type EmbeddedConfig struct {
	Addr           string        // host:port to listen on; port 0 = any free port
	Partitions     int           // partitions of auto-created topics
	RetentionBytes int64         // kept per partition
	RetentionTime  time.Duration // kept per partition
	Logger         *slog.Logger  // nil = slog.Default()

	// CleanerInterval is how often retention is enforced.
	CleanerInterval time.Duration
}

// DefaultEmbeddedConfig returns the development broker's defaults: on loopback at Kafka's usual
// port, one partition per topic, 64 MiB or an hour per partition.
func DefaultEmbeddedConfig() EmbeddedConfig {
	return EmbeddedConfig{
		Addr:            "127.0.0.1:9092",
		Partitions:      1,
		RetentionBytes:  64 << 20,
		RetentionTime:   time.Hour,
		CleanerInterval: 30 * time.Second,
	}
}

// Embedded is franz-go's kfake Kafka-protocol broker running in this process, keeping everything
// in memory. It lets the service run with nothing else installed; it is not for production.
type Embedded struct {
	c         *kfake.Cluster
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// StartEmbedded starts the development broker. It auto-creates topics on first use, so
// producers and consumers need no set-up.
func StartEmbedded(cfg EmbeddedConfig) (*Embedded, error) {
	def := DefaultEmbeddedConfig()
	if cfg.Addr == "" {
		cfg.Addr = def.Addr
	}
	if cfg.Partitions <= 0 {
		cfg.Partitions = def.Partitions
	}
	if cfg.RetentionBytes <= 0 {
		cfg.RetentionBytes = def.RetentionBytes
	}
	if cfg.RetentionTime <= 0 {
		cfg.RetentionTime = def.RetentionTime
	}
	if cfg.CleanerInterval <= 0 {
		cfg.CleanerInterval = def.CleanerInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	host, portStr, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, &ConfigError{Pkg: "kafkaout", Field: "Addr", Value: cfg.Addr, Reason: "want host:port", Err: err}
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return nil, &ConfigError{Pkg: "kafkaout", Field: "Addr", Value: cfg.Addr, Reason: "want a port from 0 to 65535"}
	}

	c, err := kfake.NewCluster(
		kfake.Ports(port), // one broker
		// kfake listens on 127.0.0.1; bind the configured host instead (still loopback by default).
		kfake.ListenFn(func(network, addr string) (net.Listener, error) {
			_, p, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			return net.Listen(network, net.JoinHostPort(host, p))
		}),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(cfg.Partitions),
		kfake.BrokerConfigs(map[string]string{
			"log.retention.bytes":    strconv.FormatInt(cfg.RetentionBytes, 10),
			"log.retention.ms":       strconv.FormatInt(cfg.RetentionTime.Milliseconds(), 10),
			"log.cleaner.backoff.ms": strconv.FormatInt(cfg.CleanerInterval.Milliseconds(), 10),
		}),
		kfake.WithLogger(kfakeLogger{cfg.Logger}),
	)
	if err != nil {
		return nil, fmt.Errorf("cannot start the embedded Kafka broker on %s: %w", cfg.Addr, err)
	}
	// kfake creates a topic only when the metadata request allows it, and franz-go producers do
	// not ask unless told to (kgo.AllowAutoTopicCreation), unlike Java clients. Allow it on the
	// broker side, so a Producer works the same against this broker and a real one. The control
	// function is never "handled", so kfake keeps it and answers the request as usual.
	c.ControlKey(int16(kmsg.Metadata), func(req kmsg.Request) (kmsg.Response, error, bool) {
		req.(*kmsg.MetadataRequest).AllowAutoTopicCreation = true
		return nil, nil, false
	})

	e := &Embedded{c: c, stop: make(chan struct{}), done: make(chan struct{})}
	go e.clean(cfg.CleanerInterval)

	cfg.Logger.Warn("started the embedded Kafka broker: an in-process development broker keeping events in memory, not for production",
		"addrs", e.Addrs(), "partitions", cfg.Partitions,
		"retention_bytes_per_partition", cfg.RetentionBytes, "retention_time", cfg.RetentionTime)
	return e, nil
}

// clean enforces retention. kfake's own cleaner only runs for topics with topic-level retention
// configs, and auto-created topics have none: without this the broker keeps every event
// (2.6 GB seen in a load test).
func (e *Embedded) clean(every time.Duration) {
	defer close(e.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			e.c.ApplyRetention()
		case <-e.stop:
			return
		}
	}
}

// Addrs are the host:port addresses to use as Config.Brokers.
func (e *Embedded) Addrs() []string {
	return e.c.ListenAddrs()
}

// Close stops the broker; what it held is gone.
func (e *Embedded) Close() {
	e.closeOnce.Do(func() {
		// Stop the cleaner first: kfake's admin calls block forever on a closed cluster.
		close(e.stop)
		<-e.done
		e.c.Close()
	})
}

// kfakeLogger passes kfake's warnings and errors to slog.
type kfakeLogger struct {
	l *slog.Logger
}

func (k kfakeLogger) Logf(level kfake.LogLevel, format string, args ...any) {
	switch level {
	case kfake.LogLevelError:
		k.l.Error("embedded Kafka broker: " + fmt.Sprintf(format, args...))
	case kfake.LogLevelWarn:
		k.l.Warn("embedded Kafka broker: " + fmt.Sprintf(format, args...))
	}
}
