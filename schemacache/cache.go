package schemacache

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"intake.dev/intake/fastpath"
	"intake.dev/intake/internal/configerr"
)

// Config says where schemas and the stream config come from and how they are refreshed.
type Config struct {
	// SchemaBaseURIs are tried in order: a directory path, file:///dir, or http(s)://host/path.
	SchemaBaseURIs []string
	// StreamConfig is a file path or http(s) URL: JSON in MediaWiki's action=streamconfigs shape
	// {"streams": {...}}, or a YAML/JSON map of stream name to settings (EventGate's
	// stream-config.test.yaml shape).
	StreamConfig string // "" means no streams at all
	// TopicPrefix is prepended to stream names to make topics (e.g. "eqiad."), except for streams
	// whose config says "topic_prefixes": null.
	TopicPrefix string
	// ServiceName: "" accepts every stream; otherwise streams whose destination_event_service
	// differs are refused, and producers.<ServiceName> is the producer settings key (falling back
	// to producers.eventgate, the key every existing stream config uses).
	ServiceName string
	// RefreshInterval is how often the stream config and loaded schemas are reloaded once Start
	// ran; 0 (or less) never reloads them: Start starts no refresher. DefaultConfig's is 60s.
	RefreshInterval time.Duration
	// NegativeTTL is how long a failed schema lookup is remembered before it is retried; 0 (or
	// less) means the default, 10s.
	NegativeTTL time.Duration
	// HTTPTimeout bounds each http(s) fetch; 0 (or less) means the default, 5s.
	HTTPTimeout time.Duration
	// FormatMode is FormatModeFast (Ajv 6's fast formats, as EventGate; "" means it too) or
	// FormatModeFull (kaptinlin's strict formats).
	FormatMode string
	// Logger receives load and refresh failures; nil means slog.Default().
	Logger *slog.Logger
	// OnStream, when set, is called with every stream built from the stream config (once per
	// snapshot, before the snapshot is published), to set Stream.Ext.
	OnStream func(*fastpath.Stream)
	// ValidatorFor, when set, replaces the validator compiled for each schema document. Benchmarks
	// and allocation tests use it with fastpath.AcceptAll to measure everything but validation.
	ValidatorFor func(canonicalURI string, doc []byte) (fastpath.Validator, error)
}

// DefaultConfig returns the defaults spelled out, with the refresher on; the sources
// (SchemaBaseURIs, StreamConfig) are the caller's.
func DefaultConfig() Config {
	return Config{
		RefreshInterval: defaultRefreshInterval,
		NegativeTTL:     defaultNegativeTTL,
		HTTPTimeout:     defaultHTTPTimeout,
		FormatMode:      FormatModeFast,
	}
}

// ConfigError is a Config field whose value schemacache cannot use, naming the field as Go
// spells it (internal/configerr).
type ConfigError = configerr.Error

const (
	defaultRefreshInterval = 60 * time.Second
	defaultNegativeTTL     = 10 * time.Second
	defaultHTTPTimeout     = 5 * time.Second
	// minRefreshBudget is the least time a schema refresh pass gets, however short the interval.
	minRefreshBudget = 30 * time.Second
	// failureLogEvery throttles the refresher's failure logs per source.
	failureLogEvery = 5 * time.Minute
)

var (
	streamConfigRefreshFailures = metrics.NewCounter(`intake_config_refresh_failures_total{source="stream_config"}`)
	schemaRefreshFailures       = metrics.NewCounter(`intake_config_refresh_failures_total{source="schemas"}`)

	// The current snapshot's quality rules: compiled and in use, or left out (not compiling).
	qualityRulesActive = metrics.NewGauge(`intake_quality_rules{state="active"}`, nil)
	qualityRulesBroken = metrics.NewGauge(`intake_quality_rules{state="invalid"}`, nil)

	schemaLoadsOK       = metrics.NewCounter(`intake_schema_loads_total{result="ok"}`)
	schemaLoadsNotFound = metrics.NewCounter(`intake_schema_loads_total{result="not_found"}`)
	schemaLoadsRefused  = metrics.NewCounter(`intake_schema_loads_total{result="refused"}`)
	schemaLoadsInvalid  = metrics.NewCounter(`intake_schema_loads_total{result="invalid"}`)
	schemaLoadsError    = metrics.NewCounter(`intake_schema_loads_total{result="error"}`)

	// schemasLoaded is the sum over live caches of the schemas each holds.
	schemasLoaded atomic.Int64
	_             = metrics.NewGauge(`intake_schemas_loaded`, func() float64 { return float64(schemasLoaded.Load()) })
)

func countLoad(err error) {
	switch {
	case err == nil:
		schemaLoadsOK.Inc()
	case errors.Is(err, ErrSchemaNotFound):
		schemaLoadsNotFound.Inc()
	case errors.Is(err, ErrSchemaRefused):
		schemaLoadsRefused.Inc()
	case errors.Is(err, ErrSchemaInvalid):
		schemaLoadsInvalid.Inc()
	default:
		schemaLoadsError.Inc()
	}
}

// Cache holds the current snapshot of stream config and the schema store, and refreshes both.
type Cache struct {
	cfg         Config
	log         *slog.Logger
	res         *resolver
	httpTimeout time.Duration
	fastFormats bool

	// configClient fetches the stream config; unlike the resolver's client it may follow
	// redirects anywhere (the operator chose the URL).
	configClient *http.Client

	store *schemaStore
	snap  atomic.Pointer[Snapshot]
	// catalog is the listing of the directory bases' titles and versions (Catalog).
	catalog catalogMemo
	ready   atomic.Bool

	// ctx ends at Close, cutting short a refresh under way.
	ctx    context.Context
	cancel context.CancelFunc

	// reloadMu serializes stream config reloads (refresher, Refresh).
	reloadMu sync.Mutex
	// streamConfigSum is the hash of the last stream config built into a snapshot: an unchanged
	// config keeps its snapshot (and its warm regex cache).
	streamConfigSum [sha256.Size]byte

	startOnce sync.Once
	closeOnce sync.Once
	stop      chan struct{}
	done      chan struct{}

	// throttled failure logging, refresher goroutine only
	lastFailureLog map[string]time.Time
}

// New checks cfg, loads the stream config once and returns the cache. Schemas are loaded lazily,
// on first use. It fails with a *ConfigError naming the field when a setting cannot be used or
// the stream config cannot be loaded.
func New(cfg Config) (*Cache, error) {
	if cfg.NegativeTTL <= 0 {
		cfg.NegativeTTL = defaultNegativeTTL
	}
	if cfg.HTTPTimeout <= 0 {
		cfg.HTTPTimeout = defaultHTTPTimeout
	}
	switch cfg.FormatMode {
	case "", FormatModeFast:
		cfg.FormatMode = FormatModeFast
	case FormatModeFull:
	default:
		return nil, &ConfigError{Pkg: "schemacache", Field: "FormatMode", Value: cfg.FormatMode, Reason: "unknown format mode; want " + FormatModeFast + " or " + FormatModeFull}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	res, err := newResolver(cfg.SchemaBaseURIs, cfg.HTTPTimeout)
	if err != nil {
		return nil, err
	}
	c := &Cache{
		cfg:            cfg,
		log:            cfg.Logger,
		res:            res,
		httpTimeout:    cfg.HTTPTimeout,
		fastFormats:    cfg.FormatMode == FormatModeFast,
		configClient:   &http.Client{Timeout: cfg.HTTPTimeout},
		stop:           make(chan struct{}),
		done:           make(chan struct{}),
		lastFailureLog: make(map[string]time.Time),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.store = newSchemaStore(c)
	if err := c.reloadStreamConfig(c.ctx); err != nil {
		c.cancel()
		return nil, &ConfigError{Pkg: "schemacache", Field: "StreamConfig", Err: err} // err names the source
	}
	c.ready.Store(true)
	return c, nil
}

// Start starts the background refresher (unless RefreshInterval is 0 or less). Calling it again
// does nothing.
func (c *Cache) Start() {
	c.startOnce.Do(func() {
		if c.cfg.RefreshInterval <= 0 {
			close(c.done)
			return
		}
		go c.refresher()
	})
}

// Close stops the refresher and waits for it. Snapshots stay readable; a schema not loaded yet
// can no longer be fetched from an http(s) base.
func (c *Cache) Close() {
	c.closeOnce.Do(func() {
		c.cancel()
		close(c.stop)
		c.startOnce.Do(func() { close(c.done) })
		<-c.done
		c.store.release()
	})
}

// Current returns the current snapshot: an atomic load, never nil after New.
func (c *Cache) Current() *Snapshot { return c.snap.Load() }

// Ready reports whether the stream config is loaded.
func (c *Cache) Ready() bool { return c.ready.Load() }

// LoadSchema returns the compiled schema for a schema URI, loading it on first use; the same as
// Snapshot.Schema.
func (c *Cache) LoadSchema(uri string) (*fastpath.Schema, error) {
	return c.store.get(uri)
}

// Refresh reloads the stream config and re-resolves every loaded schema now, as the refresher
// does every RefreshInterval. A failure keeps what was loaded before; the error says what failed.
func (c *Cache) Refresh() error {
	c.catalog.forget()
	var errs []error
	if err := c.reloadStreamConfig(c.ctx); err != nil {
		streamConfigRefreshFailures.Inc()
		errs = append(errs, err)
	}
	if err := c.store.refresh(c.ctx, c.refreshBudget()); err != nil {
		schemaRefreshFailures.Inc()
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (c *Cache) refresher() {
	defer close(c.done)
	t := time.NewTicker(c.cfg.RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		if err := c.reloadStreamConfig(c.ctx); err != nil {
			streamConfigRefreshFailures.Inc()
			c.logFailure("stream_config", "cannot refresh the stream config; keeping the last good one", err)
		} else {
			c.logRecovery("stream_config", "the stream config loads again")
		}
		if err := c.store.refresh(c.ctx, c.refreshBudget()); err != nil {
			schemaRefreshFailures.Inc()
			c.logFailure("schemas", "cannot refresh some schemas; keeping their last good versions", err)
		} else {
			c.logRecovery("schemas", "all schemas refresh again")
		}
	}
}

// refreshBudget bounds one pass over the loaded schemas: a slow or dead http base must not keep
// the refresher (and the stream config reload behind it) busy for longer than an interval.
func (c *Cache) refreshBudget() time.Duration {
	return max(c.cfg.RefreshInterval, minRefreshBudget)
}

func (c *Cache) logFailure(source, msg string, err error) {
	now := time.Now()
	last, failing := c.lastFailureLog[source]
	if failing && now.Sub(last) < failureLogEvery {
		return
	}
	c.lastFailureLog[source] = now
	c.log.Error(msg, "source", source, "error", err)
}

func (c *Cache) logRecovery(source, msg string) {
	if _, failing := c.lastFailureLog[source]; failing {
		delete(c.lastFailureLog, source)
		c.log.Info(msg, "source", source)
	}
}

// reloadStreamConfig reads and builds the stream config and publishes a new snapshot when it
// changed. On failure the current snapshot stays.
func (c *Cache) reloadStreamConfig(ctx context.Context) error {
	c.reloadMu.Lock()
	defer c.reloadMu.Unlock()
	// No stream config: no streams (intake validate checks schemas only).
	data := []byte(`{"streams":{}}`)
	if c.cfg.StreamConfig != "" {
		var err error
		if data, err = readSource(ctx, c.configClient, c.cfg.StreamConfig); err != nil {
			return fmt.Errorf("cannot read stream config %q: %w", c.cfg.StreamConfig, err)
		}
	}
	sum := sha256.Sum256(data)
	if c.snap.Load() != nil && sum == c.streamConfigSum {
		return nil
	}
	snap, err := c.buildSnapshot(data)
	if err != nil {
		return fmt.Errorf("cannot use stream config %q: %w", c.cfg.StreamConfig, err)
	}
	c.streamConfigSum = sum
	c.snap.Store(snap)
	qualityRulesActive.Set(float64(snap.rules))
	qualityRulesBroken.Set(float64(snap.brokenRules))
	return nil
}
