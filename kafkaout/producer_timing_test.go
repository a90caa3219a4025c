package kafkaout

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// benchEvents are real events (../shared/data, from the project root) serialized as the edge
// would hand them over.
func benchEvents(b *testing.B) (events [][]byte, size int) {
	b.Helper()
	data, err := os.ReadFile("../../shared/data/examples/mediawiki.revision.create/2.0.0.json")
	if err != nil {
		b.Skipf("no shared example events: %s", err)
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		b.Fatalf("cannot parse the example events: %s", err)
	}
	for _, r := range raw {
		var buf bytes.Buffer
		if err := json.Compact(&buf, r); err != nil {
			b.Fatalf("cannot compact an example event: %s", err)
		}
		events = append(events, buf.Bytes())
		size += buf.Len()
	}
	return events, size / len(events)
}

const (
	benchBatch    = 100 // events per request
	benchRequests = 32  // requests in flight per GOMAXPROCS
)

// BenchmarkProduce is a sync request's produce path, records per op, against the in-process
// broker (whose CPU time counts in both), with many requests in flight as on a busy edge, so
// the linger gathers them instead of making each wait. kafkaout is TryProduce + Batch.Wait; the
// franz-go baseline is the usual direct use: a kgo.Record with a copy of the event (the request
// body does not outlive a timed-out request), a closure promise and a WaitGroup per request.
func BenchmarkProduce(b *testing.B) {
	events, size := benchEvents(b)
	e := startBroker(b, 1)
	const topic = "eqiad.bench.produce"

	b.Run("kafkaout", func(b *testing.B) {
		p := newProducer(b, Config{Brokers: e.Addrs(), Linger: 5 * time.Millisecond, LingerPolicy: "always", RingSize: 8192})
		b.ReportAllocs()
		b.SetBytes(int64(size))
		b.SetParallelism(benchRequests)
		b.RunParallel(func(pb *testing.PB) {
			bt := AcquireBatch()
			bt.Add(benchBatch)
			n := 0
			wait := func() bool {
				ok := bt.Wait(30 * time.Second)
				for i := 0; ok && i < n; i++ {
					if err := bt.Err(i); err != nil {
						b.Errorf("record %d: %s", i, err)
						ok = false
					}
				}
				ReleaseBatch(bt)
				bt = AcquireBatch()
				bt.Add(benchBatch)
				n = 0
				return ok
			}
			for pb.Next() {
				if err := p.TryProduce(topic, nil, events[n%len(events)], time.Time{}, bt, n); err != nil {
					b.Errorf("TryProduce: %s", err)
					return
				}
				if n++; n == benchBatch && !wait() {
					return
				}
			}
			wait()
			ReleaseBatch(bt)
		})
	})

	b.Run("franz-go", func(b *testing.B) {
		cl, err := kgo.NewClient(
			kgo.SeedBrokers(e.Addrs()...),
			kgo.ProducerBatchCompression(kgo.ZstdCompression()),
			kgo.ProducerLinger(5*time.Millisecond),
			kgo.RecordDeliveryTimeout(5*time.Second),
			kgo.AllowIdempotentProduceCancellation(),
			kgo.AllowAutoTopicCreation(),
		)
		if err != nil {
			b.Fatalf("cannot create the client: %s", err)
		}
		defer cl.Close()
		ctx := context.Background()
		b.ReportAllocs()
		b.SetBytes(int64(size))
		b.SetParallelism(benchRequests)
		b.RunParallel(func(pb *testing.PB) {
			var (
				wg     sync.WaitGroup
				mu     sync.Mutex
				errs   []error
				n      int
				failed bool
			)
			wait := func() {
				wg.Wait()
				for _, err := range errs {
					b.Errorf("record: %s", err)
					failed = true
				}
				errs, n = errs[:0], 0
			}
			for pb.Next() && !failed {
				wg.Add(1)
				cl.Produce(ctx, &kgo.Record{Topic: topic, Value: bytes.Clone(events[n%len(events)])}, func(_ *kgo.Record, err error) {
					if err != nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
					}
					wg.Done()
				})
				if n++; n == benchBatch {
					wait()
				}
			}
			wait()
		})
	})
}
