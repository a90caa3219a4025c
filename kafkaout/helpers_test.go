package kafkaout

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

var discardLogger = slog.New(slog.DiscardHandler)

// startBroker starts an embedded broker on a free loopback port for the test.
func startBroker(t testing.TB, partitions int) *Embedded {
	t.Helper()
	e, err := StartEmbedded(EmbeddedConfig{Addr: "127.0.0.1:0", Partitions: partitions, Logger: discardLogger})
	if err != nil {
		t.Fatalf("cannot start the embedded broker: %s", err)
	}
	t.Cleanup(e.Close)
	return e
}

// deadBroker is an address nothing listens on: connections are refused at once.
func deadBroker(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("cannot listen: %s", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// newProducer starts a Producer with small test defaults overridden by cfg's non-zero fields,
// closed at the end of the test.
func newProducer(t testing.TB, cfg Config) *Producer {
	t.Helper()
	if cfg.Shards == 0 {
		cfg.Shards = 2
	}
	if cfg.RingSize == 0 {
		cfg.RingSize = 1024
	}
	if cfg.Logger == nil {
		cfg.Logger = discardLogger
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("cannot create the producer: %s", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = p.Close(ctx) // tests that close the producer themselves get ErrClosed here
	})
	return p
}

// consume reads n records of topic from the start, failing the test after 30s.
func consume(t testing.TB, brokers []string, topic string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(brokers...),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(100*time.Millisecond),
	)
	if err != nil {
		t.Fatalf("cannot create the consumer: %s", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var recs []*kgo.Record
	for len(recs) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d records of %q, want %d", len(recs), topic, n)
		}
		fs.EachError(func(topic string, p int32, err error) {
			t.Logf("fetch %s[%d]: %s", topic, p, err)
		})
		recs = append(recs, fs.Records()...)
	}
	if len(recs) != n {
		t.Fatalf("consumed %d records of %q, want %d", len(recs), topic, n)
	}
	return recs
}

// produceBatch pushes the records through one Batch and waits for Kafka's answers.
func produceBatch(t testing.TB, p *Producer, topic string, keys, values [][]byte) {
	t.Helper()
	b := AcquireBatch()
	defer ReleaseBatch(b)
	b.Add(len(values))
	for i := range values {
		if err := p.TryProduce(topic, keys[i], values[i], time.Time{}, b, i); err != nil {
			t.Fatalf("TryProduce %d: %s", i, err)
		}
	}
	if !b.Wait(30 * time.Second) {
		t.Fatalf("Kafka did not answer within 30s")
	}
	for i := range values {
		if err := b.Err(i); err != nil {
			t.Fatalf("record %d: %s", i, err)
		}
	}
}

// murmur2 is Kafka's Utils.murmur2, written out independently of franz-go.
func murmur2(data []byte) uint32 {
	const (
		seed uint32 = 0x9747b28c
		m    uint32 = 0x5bd1e995
		r           = 24
	)
	n := len(data)
	h := seed ^ uint32(n)
	for i := 0; i+4 <= n; i += 4 {
		k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	tail := n &^ 3
	switch n % 4 {
	case 3:
		h ^= uint32(data[tail+2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[tail+1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[tail])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return h
}

// kafkaPartition is the partition Kafka's default partitioner picks for a keyed record.
func kafkaPartition(key []byte, partitions int) int32 {
	return int32((murmur2(key) & 0x7fffffff) % uint32(partitions))
}
