package client

import (
	"context"
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"intake.dev/intake/edge"
	"intake.dev/intake/kafkaout"
	"intake.dev/intake/schemacache"
)

// A real edge in this process, as edge/harness_test.go builds one: the embedded Kafka broker on
// loopback, the schema cache over ../examples, the producer, and the fasthttp server on a
// listener. Its URL is the client's.

// startBroker starts an embedded broker and returns its addresses.
func startBroker(t testing.TB, partitions int) []string {
	t.Helper()
	emb, err := kafkaout.StartEmbedded(kafkaout.EmbeddedConfig{Addr: "127.0.0.1:0", Partitions: partitions, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Close)
	return emb.Addrs()
}

// testEdge is one running edge.
type testEdge struct {
	t       testing.TB
	url     string
	addr    string
	srv     *edge.Server
	prod    *kafkaout.Producer
	cache   *schemacache.Cache
	stopped bool
}

// startEdge starts an edge producing to brokers, over streamConfig (a file), listening on addr
// ("127.0.0.1:0" for any port). It is stopped at the end of the test if not before.
func startEdge(t testing.TB, brokers []string, streamConfig, addr string) *testEdge {
	t.Helper()
	cache, err := schemacache.New(schemacache.Config{
		SchemaBaseURIs: []string{"../examples/schemas"},
		StreamConfig:   streamConfig,
		TopicPrefix:    "dev.",
		Logger:         discardLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cache.Close)
	kcfg := kafkaout.DefaultConfig()
	kcfg.Brokers = brokers
	kcfg.Linger = time.Millisecond
	kcfg.Logger = discardLogger()
	prod, err := kafkaout.New(kcfg)
	if err != nil {
		t.Fatal(err)
	}
	ecfg := edge.DefaultConfig()
	ecfg.TopicPrefix = "dev."
	ecfg.AckTimeout = kcfg.DeliveryTimeout + time.Second
	ecfg.Logger = discardLogger()
	srv := edge.New(ecfg, cache, prod)
	var ln net.Listener
	// The address of a stopped edge may take a moment to be free again.
	for deadline := time.Now().Add(5 * time.Second); ; {
		ln, err = net.Listen("tcp", addr)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	e := &testEdge{t: t, url: "http://" + ln.Addr().String(), addr: ln.Addr().String(), srv: srv, prod: prod, cache: cache}
	t.Cleanup(e.stop)
	return e
}

// stop shuts the edge down as SIGTERM does: in-flight requests finish, new ones are refused, the
// producer flushes.
func (e *testEdge) stop() {
	if e.stopped {
		return
	}
	e.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		e.t.Errorf("edge shutdown: %s", err)
	}
	if err := e.prod.Close(ctx); err != nil {
		e.t.Errorf("producer close: %s", err)
	}
}

// kafkaEvent is what the tests check of an event read back from Kafka.
type kafkaEvent struct {
	ID     string
	Page   int
	Stream string
	DT     string
	MetaDT string
}

// consume reads topic from the start until every id of want has arrived (failing the test if
// they do not within the timeout), then a little longer to catch duplicates and strays. It
// returns the events in topic order (one partition) or per-partition order.
func consume(t testing.TB, brokers []string, topic string, want map[string]bool, timeout time.Duration) []kafkaEvent {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []kafkaEvent
	seen := map[string]bool{}
	missing := len(want)
	add := func(r *kgo.Record) {
		var ev struct {
			DT   string `json:"dt"`
			Meta struct {
				ID     string `json:"id"`
				Stream string `json:"stream"`
				DT     string `json:"dt"`
			} `json:"meta"`
			Page struct {
				ID int `json:"id"`
			} `json:"page"`
		}
		if err := json.Unmarshal(r.Value, &ev); err != nil {
			t.Fatalf("a record of %s is not JSON: %s", topic, err)
		}
		out = append(out, kafkaEvent{ID: ev.Meta.ID, Page: ev.Page.ID, Stream: ev.Meta.Stream, DT: ev.DT, MetaDT: ev.Meta.DT})
		if want[ev.Meta.ID] && !seen[ev.Meta.ID] {
			missing--
		}
		seen[ev.Meta.ID] = true
	}
	deadline := time.Now().Add(timeout)
	for missing > 0 && time.Now().Before(deadline) {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		cl.PollFetches(ctx).EachRecord(add)
		cancel()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	cl.PollFetches(ctx).EachRecord(add)
	cancel()
	if missing > 0 {
		t.Fatalf("topic %s: %d of %d events never arrived (%d records read)", topic, missing, len(want), len(out))
	}
	return out
}
