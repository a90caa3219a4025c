package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"intake.dev/intake/fastpath"
	"intake.dev/intake/kafkaout"
	"intake.dev/intake/schemacache"
)

const sharedData = "../../shared/data"

// setup says what a test edge runs with; the zero value is the examples/ config.
type setup struct {
	schemaBases  []string
	streamConfig string
	topicPrefix  string
	serviceName  string
	errorStream  string
	kafka        func(*kafkaout.Config)
	edge         func(*Config)
	brokers      []string      // none: a fresh embedded broker
	logger       *slog.Logger  // nil: slog.Default(), for edge, schema cache, producer and broker
	access       *AccessConfig // nil: no access layer
}

// harness is an edge on a real loopback listener, producing to an embedded broker.
type harness struct {
	t       *testing.T
	url     string
	srv     *Server
	prod    *kafkaout.Producer
	cache   *schemacache.Cache
	brokers []string
	closed  bool
}

func startEdge(t *testing.T, s setup) *harness {
	t.Helper()
	if s.schemaBases == nil {
		s.schemaBases = []string{"../examples/schemas"}
	}
	if s.streamConfig == "" {
		s.streamConfig = "../examples/stream-config.json"
	}
	if s.topicPrefix == "" {
		s.topicPrefix = "dev."
	}
	if s.errorStream == "" {
		s.errorStream = "intake.error"
	}
	brokers := s.brokers
	if brokers == nil {
		emb, err := kafkaout.StartEmbedded(kafkaout.EmbeddedConfig{Addr: "127.0.0.1:0", Partitions: 3, Logger: s.logger})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(emb.Close)
		brokers = emb.Addrs()
	}
	var access *Access
	if s.access != nil {
		var err error
		if access, err = NewAccess(*s.access); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(access.Close)
	}
	var onStream func(*fastpath.Stream)
	if access != nil {
		onStream = access.StreamHook()
	}
	cache, err := schemacache.New(schemacache.Config{
		OnStream:       onStream,
		SchemaBaseURIs: s.schemaBases,
		StreamConfig:   s.streamConfig,
		TopicPrefix:    s.topicPrefix,
		ServiceName:    s.serviceName,
		Logger:         s.logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cache.Close)
	kcfg := kafkaout.DefaultConfig()
	kcfg.Brokers = brokers
	kcfg.Linger = time.Millisecond
	kcfg.Logger = s.logger
	if s.kafka != nil {
		s.kafka(&kcfg)
	}
	prod, err := kafkaout.New(kcfg)
	if err != nil {
		t.Fatal(err)
	}
	ecfg := DefaultConfig()
	ecfg.TopicPrefix = s.topicPrefix
	ecfg.ErrorStream = s.errorStream
	ecfg.AckTimeout = kcfg.DeliveryTimeout + time.Second
	ecfg.Logger = s.logger
	ecfg.Access = access
	if s.edge != nil {
		s.edge(&ecfg)
	}
	srv := New(ecfg, cache, prod)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	h := &harness{t: t, url: "http://" + ln.Addr().String(), srv: srv, prod: prod, cache: cache, brokers: brokers}
	t.Cleanup(h.stop)
	return h
}

// stop shuts the edge down and flushes the producer, as SIGTERM does.
func (h *harness) stop() {
	if h.closed {
		return
	}
	h.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.srv.Shutdown(ctx); err != nil {
		h.t.Errorf("edge shutdown: %s", err)
	}
	if err := h.prod.Close(ctx); err != nil {
		h.t.Errorf("producer close: %s", err)
	}
}

type response struct {
	code   int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response body is not a JSON object: %s\n%s", err, r.body)
	}
	return m
}

// post sends body to path with the given headers (Content-Type defaults to application/json).
func (h *harness) post(path string, body []byte, hdr ...string) response {
	h.t.Helper()
	req, err := http.NewRequest("POST", h.url+path, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return h.do(req)
}

func (h *harness) get(path string) response {
	h.t.Helper()
	req, err := http.NewRequest("GET", h.url+path, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return h.do(req)
}

func (h *harness) do(req *http.Request) response {
	h.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return response{code: resp.StatusCode, header: resp.Header, body: b}
}

// consume reads n records of topic from the beginning, failing the test when they do not come
// within the timeout; it then waits briefly to catch records beyond n.
func (h *harness) consume(topic string, n int) []*kgo.Record {
	h.t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(h.brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		h.t.Fatal(err)
	}
	defer cl.Close()
	var out []*kgo.Record
	deadline := time.Now().Add(15 * time.Second)
	for len(out) < n && time.Now().Before(deadline) {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	if len(out) < n {
		h.t.Fatalf("topic %s: got %d records, want %d", topic, len(out), n)
	}
	// Anything beyond n arrives with the same fetches or right after.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { out = append(out, r) })
	cancel()
	return out
}

func mustJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatalf("not a JSON object: %s\n%s", err, b)
	}
	return m
}

func get(m map[string]any, path string) any {
	var v any = m
	for _, p := range strings.Split(path, ".") {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[p]
	}
	return v
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

// httpGet returns the status of a GET with a fresh connection, or the error.
func httpGet(url string) (int, error) {
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// newDiscardServer is an edge whose producer completes every record at once without Kafka and whose
// schemas validate with the compiled no-op: what is left is intake's own work on the valid path.
func newDiscardServer(t testing.TB) *Server { return newDiscardServerValidating(t, false) }

// newDiscardServerValidating is newDiscardServer, with the compiled validator when validate is set.
func newDiscardServerValidating(t testing.TB, validate bool) *Server {
	return newDiscardServerWith(t, validate, nil)
}

// newDiscardServerWith is an edge over the examples' config with a discarding producer, validating
// or not, with the access layer acc (nil: none).
func newDiscardServerWith(t testing.TB, validate bool, acc *Access) *Server {
	cfg := schemacache.Config{
		SchemaBaseURIs: []string{"../examples/schemas"},
		StreamConfig:   "../examples/stream-config.json",
		TopicPrefix:    "dev.",
	}
	if acc != nil {
		cfg.OnStream = acc.StreamHook()
	}
	if !validate {
		cfg.ValidatorFor = func(string, []byte) (fastpath.Validator, error) { return fastpath.AcceptAll, nil }
	}
	cache, err := schemacache.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cache.Close)
	kcfg := kafkaout.DefaultConfig()
	kcfg.Discard = true
	prod, err := kafkaout.New(kcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prod.Close(t.Context()) })
	ecfg := DefaultConfig()
	ecfg.TopicPrefix = "dev."
	ecfg.Access = acc
	return New(ecfg, cache, prod)
}
