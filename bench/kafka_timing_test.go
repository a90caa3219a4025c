package bench

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"intake.dev/intake/kafkaout"
)

// BenchmarkRing is fire-and-forget kafkaout.TryProduce of the processed event into a Discard
// producer (default shards and ring size): the copy into a pooled record, the push onto a ring
// shard, waking its drainer, and the drainer's pop and completion on another goroutine (whose CPU
// time counts). A full ring is retried after a yield, as never happens with a live drainer.
func BenchmarkRing(b *testing.B) { runCases(b, ringCases()) }

func ringCases() []benchCase {
	var cases []benchCase
	for _, e := range eventCases {
		cases = append(cases, benchCase{name: e.name + "/tryproduce", fn: func(b *testing.B) {
			rec := e.record(b)
			p := newProducer(b, "")
			op := func() {
				for {
					err := p.TryProduce(rec.topic, rec.key, rec.value, time.Time{}, nil, 0)
					if err == nil {
						return
					}
					if !errors.Is(err, kafkaout.ErrFull) {
						b.Fatal(err)
					}
					runtime.Gosched()
				}
			}
			warm(b, 10000, 100*time.Millisecond, op)
			fillFreeList(b, p, rec)
			warm(b, 1000, 0, op) // collects the fill's garbage first
			waitDrained(b, p)
			b.ReportAllocs()
			b.SetBytes(int64(len(rec.value)))
			m := startMeter(0)
			n := 0
			for b.Loop() {
				op()
				n++
			}
			waitDrained(b, p)
			m.report(b, n)
		}})
	}
	return cases
}

// BenchmarkProduce is a sync request's produce path for a 100-event batch: Batch, 100 TryProduce,
// Wait for every result, Err. "discard" completes records at once without Kafka (the null
// producer); "kfake" produces to the embedded broker in a child process through franz-go (zstd,
// acks=all, idempotent, no linger: the defaults), with 8 batches in flight as on a busy edge.
func BenchmarkProduce(b *testing.B) { runCases(b, produceCases()) }

const (
	produceBatch    = 100
	produceInFlight = 8
)

func produceCases() []benchCase {
	var cases []benchCase
	for _, e := range eventCases {
		cases = append(cases,
			benchCase{name: e.name + "/discard", fn: func(b *testing.B) {
				rec := e.record(b)
				p := newProducer(b, "")
				var errs firstError
				op := func() { produceBatchOf(p, rec, &errs) }
				warm(b, 100, 0, op)
				errs.check(b)
				b.ReportAllocs()
				b.SetBytes(int64(len(rec.value) * produceBatch))
				m := startMeter(0)
				n := 0
				for b.Loop() {
					op()
					n++
				}
				m.report(b, n*produceBatch)
				errs.check(b)
			}},
			benchCase{name: e.name + "/kfake", fn: func(b *testing.B) {
				rec := e.record(b)
				br := kfakeBroker(b)
				p := newProducer(b, br.addr)
				var errs firstError
				c := newCrew(b, produceInFlight, func(int) { produceBatchOf(p, rec, &errs) })
				warm(b, 20, 100*time.Millisecond, c.round)
				errs.check(b)
				b.ReportAllocs()
				b.SetBytes(int64(len(rec.value) * produceBatch * produceInFlight))
				m := startMeter(br.pid)
				n := 0
				for b.Loop() {
					c.round()
					n++
				}
				m.report(b, n*produceBatch*produceInFlight)
				errs.check(b)
			}},
		)
	}
	return cases
}

func produceBatchOf(p *kafkaout.Producer, rec produced, errs *firstError) {
	bt := kafkaout.AcquireBatch()
	defer kafkaout.ReleaseBatch(bt)
	bt.Add(produceBatch)
	for i := range produceBatch {
		if err := p.TryProduce(rec.topic, rec.key, rec.value, time.Time{}, bt, i); err != nil {
			errs.set(err)
			return
		}
	}
	if !bt.Wait(30 * time.Second) {
		errs.set(errors.New("Kafka did not acknowledge a batch within 30s"))
		return
	}
	for i := range produceBatch {
		if err := bt.Err(i); err != nil {
			errs.set(err)
			return
		}
	}
}

// newProducer is a producer with the service's defaults: Discard when broker is "".
func newProducer(b *testing.B, broker string) *kafkaout.Producer {
	cfg := kafkaout.DefaultConfig()
	cfg.Logger = quietLogger
	if broker == "" {
		cfg.Discard = true
	} else {
		cfg.Brokers = []string{broker}
	}
	p, err := kafkaout.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := p.Close(ctx); err != nil {
			b.Errorf("producer close: %s", err)
		}
	})
	return p
}

// fillFreeList brings kafkaout's free list of records to the high-water mark of a hasty edge: every
// ring full. Fire-and-forget pushes outrun the drainers now and then, and each new high of records
// in flight allocates records until the rings have been full once; a long-running edge is past
// that, a short benchmark is not. With one P, the drainers cannot run while the pushes fill the
// rings; once drained, every record waits in the free list. Warm up again afterwards: that collects
// the fill's garbage, which would otherwise bring a GC (and emptier pools) into the measurement.
func fillFreeList(b *testing.B, p *kafkaout.Producer, rec produced) {
	prev := runtime.GOMAXPROCS(1)
	fulls := 0
	for fulls < 64 {
		switch err := p.TryProduce(rec.topic, rec.key, rec.value, time.Time{}, nil, 0); {
		case err == nil:
			fulls = 0
		case errors.Is(err, kafkaout.ErrFull):
			fulls++ // consecutive: every shard is full
		default:
			runtime.GOMAXPROCS(prev)
			b.Fatal(err)
		}
	}
	runtime.GOMAXPROCS(prev)
	waitDrained(b, p)
}

// waitDrained waits until the producer holds no record: hasty work is measured until it is done.
func waitDrained(b *testing.B, p *kafkaout.Producer) {
	deadline := time.Now().Add(30 * time.Second)
	for p.Queued() > 0 {
		if time.Now().After(deadline) {
			b.Fatalf("%d records still queued after 30s", p.Queued())
		}
		// Sleep rather than spin: the wait is inside the measurement of hasty benchmarks.
		time.Sleep(50 * time.Microsecond)
	}
}

// firstError keeps the first error of concurrent workers.
type firstError struct {
	mu  sync.Mutex
	err error
}

func (f *firstError) set(err error) {
	f.mu.Lock()
	if f.err == nil {
		f.err = err
	}
	f.mu.Unlock()
}

func (f *firstError) check(b *testing.B) {
	b.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		b.Fatal(f.err)
	}
}
