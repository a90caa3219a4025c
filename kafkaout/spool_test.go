package kafkaout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// waitFor polls cond until it holds, failing the test after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kafka down: fire-and-forget records go to the spool and TryProduce succeeds; the broker back,
// they reach Kafka in the order they were appended and the spool empties. Sync records never
// use the spool.
func TestSpoolWhileDown(t *testing.T) {
	addr := deadBroker(t)
	dir := t.TempDir()
	p := newProducer(t, Config{Brokers: []string{addr}, DeliveryTimeout: time.Second, Shards: 1, SpoolDir: dir})
	const topic = "eqiad.test.spool"
	b := AcquireBatch()
	defer ReleaseBatch(b)
	b.Add(1)
	if err := p.TryProduce(topic, nil, []byte("sync"), time.Time{}, b, 0); err != nil {
		t.Fatal(err)
	}
	if !b.Wait(time.Minute) || b.Err(0) == nil {
		t.Fatalf("a sync record to a dead broker did not fail: %v", b.Err(0))
	}
	waitFor(t, 20*time.Second, "down", p.Down)
	if st, _ := p.SpoolStats(); st.Records != 0 {
		t.Fatalf("a failed sync record went to the spool: %d records", st.Records)
	}
	const n = 200
	for i := range n {
		if err := p.TryProduce(topic, nil, fmt.Appendf(nil, "%d", i), time.Now(), nil, 0); err != nil {
			t.Fatalf("fire-and-forget %d while down with a spool: %v", i, err)
		}
	}
	if st, _ := p.SpoolStats(); st.Records != n || st.Written != n {
		t.Fatalf("spool holds %d records (%d written), want %d", st.Records, st.Written, n)
	}

	e, err := StartEmbedded(EmbeddedConfig{Addr: addr, Partitions: 1, Logger: discardLogger})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	recs := consume(t, []string{addr}, topic, n)
	for i, r := range recs {
		if got, want := string(r.Value), fmt.Sprint(i); got != want {
			t.Fatalf("record %d is %q, want %q (append order)", i, got, want)
		}
		if d := time.Since(r.Timestamp); d < 0 || d > time.Minute {
			t.Fatalf("replayed record %d has timestamp %s, want the time it was replayed", i, r.Timestamp)
		}
	}
	waitFor(t, 20*time.Second, "the spool empties", func() bool { return p.spool.Len() == 0 })
	// Spool empty and Kafka up: records take the ring again.
	if err := p.TryProduce(topic, nil, []byte("after"), time.Time{}, nil, 0); err != nil {
		t.Fatal(err)
	}
	if st, _ := p.SpoolStats(); st.Written != n {
		t.Fatalf("a record went to the spool with Kafka up and the spool empty (%d written)", st.Written)
	}
	consume(t, []string{addr}, topic, n+1)
}

// A full spool refuses with ErrSpool, which the edge answers 503.
func TestSpoolFull(t *testing.T) {
	addr := deadBroker(t)
	p := newProducer(t, Config{Brokers: []string{addr}, DeliveryTimeout: time.Second, SpoolDir: t.TempDir(), SpoolMaxBytes: 64 << 10})
	_ = p.TryProduce("eqiad.test.spool", nil, []byte("v"), time.Time{}, nil, 0)
	waitFor(t, 20*time.Second, "down", p.Down)
	v := make([]byte, 1000)
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		err = p.TryProduce("eqiad.test.spool", nil, v, time.Time{}, nil, 0)
	}
	if !errors.Is(err, ErrSpool) || !IsUnavailable(err) {
		t.Fatalf("fire-and-forget into a full spool: %v, want ErrSpool (unavailable)", err)
	}
}

// Close with Kafka down keeps the spooled records; a new producer on the directory replays them.
func TestSpoolSurvivesClose(t *testing.T) {
	addr := deadBroker(t)
	dir := t.TempDir()
	const topic = "eqiad.test.spool.restart"
	p, err := New(Config{Brokers: []string{addr}, DeliveryTimeout: time.Second, Shards: 1, RingSize: 64, SpoolDir: dir, SpoolSync: "always", Logger: discardLogger})
	if err != nil {
		t.Fatal(err)
	}
	_ = p.TryProduce(topic, nil, []byte("0"), time.Time{}, nil, 0) // taken by the ring, failed, respooled
	waitFor(t, 20*time.Second, "down", p.Down)
	const n = 50
	for i := 1; i < n; i++ {
		if err := p.TryProduce(topic, nil, fmt.Appendf(nil, "%d", i), time.Time{}, nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	// A second producer on the directory is refused: it is locked.
	if _, err := New(Config{Brokers: []string{addr}, SpoolDir: dir, Logger: discardLogger}); err == nil {
		t.Fatal("a second producer opened a spool directory in use")
	} else if ce := (*ConfigError)(nil); !errors.As(err, &ce) || ce.Field != "SpoolDir" {
		t.Fatalf("a locked spool directory: %v, want a ConfigError naming SpoolDir", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = p.Close(ctx)

	e, err := StartEmbedded(EmbeddedConfig{Addr: addr, Partitions: 1, Logger: discardLogger})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	p2 := newProducer(t, Config{Brokers: []string{addr}, SpoolDir: dir})
	recs := consume(t, []string{addr}, topic, n)
	seen := map[string]bool{}
	for _, r := range recs {
		seen[string(r.Value)] = true
	}
	for i := range n {
		if !seen[fmt.Sprint(i)] {
			t.Fatalf("record %d did not reach Kafka after the restart", i)
		}
	}
	waitFor(t, 20*time.Second, "the spool empties", func() bool { return p2.spool.Len() == 0 })
}

// unknownTopicCluster is a one-broker kfake cluster holding topic that, while refuse says so,
// answers produce requests NOT_LEADER_OR_FOLLOWER and metadata requests UNKNOWN_TOPIC_OR_PARTITION
// for it: a broker starting after an outage, not caught up on the topics. franz-go fails a batch
// that times out meanwhile with UNKNOWN_TOPIC_OR_PARTITION, not with a timeout.
func unknownTopicCluster(t *testing.T, topic string, refuse func() bool) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	c.ControlKey(int16(kmsg.Produce), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if !refuse() {
			return nil, nil, false
		}
		req := kreq.(*kmsg.ProduceRequest)
		resp := req.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range req.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = kerr.NotLeaderForPartition.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	c.ControlKey(int16(kmsg.Metadata), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if !refuse() {
			return nil, nil, false
		}
		req := kreq.(*kmsg.MetadataRequest)
		resp := req.ResponseKind().(*kmsg.MetadataResponse)
		b := kmsg.NewMetadataResponseBroker()
		host, port, _ := net.SplitHostPort(c.ListenAddrs()[0])
		b.Host = host
		pn, _ := strconv.Atoi(port)
		b.Port = int32(pn)
		resp.Brokers = append(resp.Brokers, b)
		for _, rt := range req.Topics {
			st := kmsg.NewMetadataResponseTopic()
			st.Topic = rt.Topic
			st.ErrorCode = kerr.UnknownTopicOrPartition.Code
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	return c
}

// warmTopic produces one acknowledged record to topic, so that p's client has its partitions
// loaded (an unknown topic fails otherwise: a record timeout).
func warmTopic(t *testing.T, p *Producer, topic string) {
	t.Helper()
	b := AcquireBatch()
	defer ReleaseBatch(b)
	b.Add(1)
	if err := p.TryProduce(topic, nil, []byte("warm"), time.Time{}, b, 0); err != nil {
		t.Fatal(err)
	}
	if !b.Wait(time.Minute) || b.Err(0) != nil {
		t.Fatalf("the first record: %v", b.Err(0))
	}
}

// Fire-and-forget records that fail with UNKNOWN_TOPIC_OR_PARTITION go to the spool and reach
// Kafka once the topic is known again: none is dropped.
func TestSpoolKeepsUnknownTopicRecords(t *testing.T) {
	const topic = "eqiad.test.spool.unknown"
	var until atomic.Int64
	c := unknownTopicCluster(t, topic, func() bool { return time.Now().UnixNano() < until.Load() })
	p := newProducer(t, Config{Brokers: c.ListenAddrs(), DeliveryTimeout: time.Second, Shards: 1, SpoolDir: t.TempDir()})
	warmTopic(t, p, topic)
	until.Store(time.Now().Add(8 * time.Second).UnixNano())
	const n = 100
	for i := range n {
		if err := p.TryProduce(topic, nil, fmt.Appendf(nil, "%d", i), time.Time{}, nil, 0); err != nil {
			t.Fatalf("fire-and-forget %d: %v", i, err)
		}
	}
	recs := consume(t, c.ListenAddrs(), topic, n+1)
	seen := map[string]bool{}
	for _, r := range recs {
		seen[string(r.Value)] = true
	}
	for i := range n {
		if !seen[fmt.Sprint(i)] {
			t.Fatalf("record %d never reached Kafka (%d of %d did; %d dropped from the spool)", i, len(seen)-1, n, p.SpoolDropped())
		}
	}
	if st, _ := p.SpoolStats(); st.Written == 0 {
		t.Fatal("no record went through the spool: the test did not make them fail")
	}
	if p.SpoolDropped() != 0 {
		t.Fatalf("%d spooled records dropped", p.SpoolDropped())
	}
	waitFor(t, 20*time.Second, "the spool empties", func() bool { return p.spool.Len() == 0 })
}

// A topic that stays unknown past the grace: its spooled records are dropped and counted, and the
// spool does not replay them forever.
func TestSpoolDropsRecordsOfAGoneTopic(t *testing.T) {
	// Restored by a cleanup registered before the producer's: it runs after the producer closed,
	// when no promise reads the variable any more (a defer would run before).
	g := unknownTopicGrace
	t.Cleanup(func() { unknownTopicGrace = g })
	unknownTopicGrace = 2 * time.Second
	const topic = "eqiad.test.spool.gone"
	var gone atomic.Bool
	c := unknownTopicCluster(t, topic, gone.Load)
	p := newProducer(t, Config{Brokers: c.ListenAddrs(), DeliveryTimeout: time.Second, Shards: 1, SpoolDir: t.TempDir()})
	warmTopic(t, p, topic)
	gone.Store(true)
	const n = 20
	for i := range n {
		if err := p.TryProduce(topic, nil, fmt.Appendf(nil, "%d", i), time.Time{}, nil, 0); err != nil {
			t.Fatalf("fire-and-forget %d: %v", i, err)
		}
	}
	waitFor(t, time.Minute, "the spool drops the gone topic's records", func() bool { return p.SpoolDropped() >= n })
	waitFor(t, 5*time.Second, "the spool empties", func() bool { return p.spool.Len() == 0 })
	if d := p.SpoolDropped(); d != n {
		t.Fatalf("%d records dropped, want %d", d, n)
	}
}

// Errors of a broker closing connections (starting or stopping: franz-go's ErrFirstReadEOF wraps
// io.EOF) are unavailability: a sync event is answered 503 and a fire-and-forget one spooled, not
// 500 and lost.
func TestBrokerClosingConnectionIsUnavailable(t *testing.T) {
	for _, err := range []error{
		fmt.Errorf("broker closed the connection immediately during api versions negotiation: %w", io.EOF),
		io.ErrUnexpectedEOF,
		fmt.Errorf("write: %w", net.ErrClosed),
	} {
		if !IsUnavailable(err) {
			t.Errorf("IsUnavailable(%v) = false", err)
		}
	}
	if IsUnavailable(kerr.CorruptMessage) {
		t.Error("IsUnavailable(CORRUPT_MESSAGE) = true")
	}
}
