package edgetest

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/valyala/fasthttp/fasthttputil"

	"intake.dev/intake/edge"
	"intake.dev/intake/fastpath"
	"intake.dev/intake/kafkaout"
	"intake.dev/intake/schemacache"
)

// Listener says where Start serves the edge.
type Listener int

const (
	// TCP is a loopback TCP listener on Options.Addr: the default.
	TCP Listener = iota
	// InMemory is fasthttputil's in-memory listener: Edge.Dial and the HTTP helpers reach it.
	InMemory
	// NoListener serves nothing: the test calls Edge.Server.Handler() itself.
	NoListener
)

// Options say what a test edge runs with. The zero value is the examples' config
// (examples/schemas, examples/stream-config.json, topic prefix "dev.", edge.DefaultConfig's error
// stream) on a free loopback TCP port, producing to a fresh embedded broker with 3 partitions.
type Options struct {
	SchemaBaseURIs []string // default: examples/schemas
	StreamConfig   string   // default: examples/stream-config.json
	TopicPrefix    string   // default "dev."
	ServiceName    string   // --service-name: "" accepts every stream
	ErrorStream    string   // "": edge.DefaultConfig's
	// NoValidation has every schema validate with the compiled no-op (fastpath.AcceptAll):
	// everything but validation, for allocation tests and benchmarks.
	NoValidation bool
	// Cache is a schema cache the caller built and closes; the options above but TopicPrefix
	// and ErrorStream are then unused, and Access cannot be set.
	Cache *schemacache.Cache

	Brokers    []string // none (and not Discard): a fresh embedded broker, closed with the test
	Partitions int      // of the embedded broker's topics; default 3
	// Discard makes the producer complete every record at once without Kafka (no broker).
	Discard bool
	// Kafka changes the producer's config: kafkaout.DefaultConfig with the brokers and logger.
	Kafka func(*kafkaout.Config)
	// SpoolDir is the producer's spool directory (--spool-dir); "": none.
	SpoolDir string

	Access *edge.AccessConfig // nil: no access layer
	// Edge changes the edge's config, after everything above is applied to it.
	Edge func(*edge.Config)

	Listener Listener
	// Addr is the TCP listener's address; default "127.0.0.1:0". The address of an edge that
	// just stopped is retried for a few seconds, so that a test can restart an edge where its
	// clients expect it.
	Addr string

	Logger *slog.Logger // for the edge, the cache, the producer and the broker; nil: slog.Default()
}

// Edge is a running test edge. Start stops it at the end of the test if the test did not.
type Edge struct {
	// URL is where the HTTP helpers send requests: http://host:port, or http://intake.test for
	// an in-memory listener; "" for NoListener.
	URL      string
	Addr     string // the TCP listener's address
	Server   *edge.Server
	Producer *kafkaout.Producer
	Cache    *schemacache.Cache
	Access   *edge.Access // nil without Options.Access
	Brokers  []string     // nil with Options.Discard

	t       testing.TB
	mem     *fasthttputil.InmemoryListener
	client  *http.Client
	stopped bool
}

// RealData is the options of an edge over the real schema repositories and production stream
// config of ../shared/data, named as Wikimedia's eqiad edge names them: topic prefix "eqiad.",
// error stream "eventgate-analytics-external.error.validation".
func RealData() Options {
	return Options{
		SchemaBaseURIs: []string{
			SharedData("schemas/primary/jsonschema"),
			SharedData("schemas/secondary/jsonschema"),
		},
		StreamConfig: SharedData("streamconfig.json"),
		TopicPrefix:  "eqiad.",
		ErrorStream:  "eventgate-analytics-external.error.validation",
	}
}

func (o Options) withDefaults() Options {
	if o.SchemaBaseURIs == nil {
		o.SchemaBaseURIs = []string{Example("schemas")}
	}
	if o.StreamConfig == "" {
		o.StreamConfig = Example("stream-config.json")
	}
	if o.TopicPrefix == "" {
		o.TopicPrefix = "dev."
	}
	if o.Partitions == 0 {
		o.Partitions = 3
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	return o
}

// CacheConfig is the schema cache's config for o: its schemas, stream config, topic prefix,
// service name and logger, no background refresh (a test's files do not change under it), and
// the compiled no-op validator with NoValidation.
func CacheConfig(o Options) schemacache.Config {
	o = o.withDefaults()
	cfg := schemacache.Config{
		SchemaBaseURIs:  o.SchemaBaseURIs,
		StreamConfig:    o.StreamConfig,
		TopicPrefix:     o.TopicPrefix,
		ServiceName:     o.ServiceName,
		RefreshInterval: -1,
		Logger:          o.Logger,
	}
	if o.NoValidation {
		cfg.ValidatorFor = func(string, []byte) (fastpath.Validator, error) { return fastpath.AcceptAll, nil }
	}
	return cfg
}

// Start starts an edge as o says; everything it starts is stopped at the end of the test.
func Start(t testing.TB, o Options) *Edge {
	t.Helper()
	o = o.withDefaults()
	e := &Edge{t: t, Brokers: o.Brokers}
	if e.Brokers == nil && !o.Discard {
		emb, err := kafkaout.StartEmbedded(kafkaout.EmbeddedConfig{Addr: "127.0.0.1:0", Partitions: o.Partitions, Logger: o.Logger})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(emb.Close)
		e.Brokers = emb.Addrs()
	}
	if o.Access != nil {
		if o.Cache != nil {
			t.Fatal("BUG: edgetest: Options.Access needs a cache built by Start (Options.Cache is set)")
		}
		acc, err := edge.NewAccess(*o.Access)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(acc.Close)
		e.Access = acc
	}
	e.Cache = o.Cache
	if e.Cache == nil {
		cfg := CacheConfig(o)
		if e.Access != nil {
			cfg.OnStream = e.Access.StreamHook()
		}
		cache, err := schemacache.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cache.Close)
		e.Cache = cache
	}
	kcfg := kafkaout.DefaultConfig()
	kcfg.Brokers = e.Brokers
	kcfg.Discard = o.Discard
	kcfg.SpoolDir = o.SpoolDir
	kcfg.Logger = o.Logger
	if o.Kafka != nil {
		o.Kafka(&kcfg)
	}
	prod, err := kafkaout.New(kcfg)
	if err != nil {
		t.Fatal(err)
	}
	e.Producer = prod
	ecfg := edge.DefaultConfig()
	ecfg.TopicPrefix = o.TopicPrefix
	if o.ErrorStream != "" {
		ecfg.ErrorStream = o.ErrorStream
	}
	// A sync request waits a little longer than the producer tries: its answer says what Kafka did.
	ecfg.AckTimeout = kcfg.DeliveryTimeout + time.Second
	ecfg.Logger = o.Logger
	ecfg.Access = e.Access
	if o.Edge != nil {
		o.Edge(&ecfg)
	}
	srv, err := edge.New(ecfg, e.Cache, prod)
	if err != nil {
		t.Fatal(err)
	}
	e.Server = srv
	switch o.Listener {
	case TCP:
		ln := listen(t, o.Addr)
		e.Addr = ln.Addr().String()
		e.URL = "http://" + e.Addr
		e.client = http.DefaultClient
		go e.Server.Serve(ln)
	case InMemory:
		e.mem = fasthttputil.NewInmemoryListener()
		e.URL = "http://intake.test"
		e.client = &http.Client{Transport: &http.Transport{
			DialContext: func(context.Context, string, string) (net.Conn, error) { return e.mem.Dial() },
		}}
		go e.Server.Serve(e.mem)
	case NoListener:
	default:
		t.Fatalf("BUG: edgetest: unknown Listener %d", o.Listener)
	}
	t.Cleanup(e.Stop)
	return e
}

// listen listens on addr, retrying for a few seconds: the address of an edge that just stopped
// may take a moment to be free again.
func listen(t testing.TB, addr string) net.Listener {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			return ln
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Dial connects to the edge's listener, TCP or in-memory.
func (e *Edge) Dial() (net.Conn, error) {
	if e.mem != nil {
		return e.mem.Dial()
	}
	return net.Dial("tcp", e.Addr)
}

// Stop shuts the edge down as SIGTERM does: requests in flight finish, new ones are refused, then
// the producer flushes. A failure of either fails the test. Stopping twice does nothing.
func (e *Edge) Stop() {
	if e.stopped {
		return
	}
	e.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Server.Shutdown(ctx); err != nil {
		e.t.Errorf("edge shutdown: %s", err)
	}
	if err := e.Producer.Close(ctx); err != nil {
		e.t.Errorf("producer close: %s", err)
	}
}

// StopNow stops the edge without waiting for what cannot finish: the shutdown and the producer's
// flush get d together, and their errors are not checked. It is for an edge whose records cannot
// be delivered (a broker that is gone).
func (e *Edge) StopNow(d time.Duration) {
	if e.stopped {
		return
	}
	e.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_ = e.Server.Shutdown(ctx)
	_ = e.Producer.Close(ctx)
}
