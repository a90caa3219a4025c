package kafkaout

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestMurmur2(t *testing.T) {
	// Vectors from Kafka's UtilsTest.testMurmur2, as Java ints.
	f := func(in string, want int32) {
		t.Helper()
		if got := int32(murmur2([]byte(in))); got != want {
			t.Fatalf("murmur2(%q) = %d, want %d", in, got, want)
		}
	}
	f("21", -973932308)
	f("foobar", -790332482)
	f("a-little-bit-long-string", -985981536)
	f("a-little-bit-longer-string", -1486304829)
	f("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971)
	f("abc", 479470107)
}

func TestProduceRoundTrip(t *testing.T) {
	e := startBroker(t, 1)
	p := newProducer(t, Config{Brokers: e.Addrs()})
	const topic = "eqiad.test.roundtrip"

	type rec struct{ key, value []byte }
	var recs []rec
	f := func(key, value []byte) {
		t.Helper()
		recs = append(recs, rec{key, value})
	}
	f(nil, []byte(`{"a":1}`))
	f([]byte(`{"id":7}`), []byte(`{"meta":{"stream":"test"}}`))
	f([]byte{}, []byte("empty but present key"))
	f([]byte("k"), []byte{})
	f([]byte("tombstone"), nil)
	f(nil, bytes.Repeat([]byte("x"), 100<<10)) // above the pooled buffer cap

	acked := recordsAcked.Get()
	keys := make([][]byte, len(recs))
	values := make([][]byte, len(recs))
	for i, r := range recs {
		// Copies, overwritten after TryProduce: the producer must have copied them.
		keys[i] = bytes.Clone(r.key)
		values[i] = bytes.Clone(r.value)
	}
	b := AcquireBatch()
	b.Add(len(recs))
	for i := range recs {
		if err := p.TryProduce(topic, keys[i], values[i], time.Time{}, b, i); err != nil {
			t.Fatalf("TryProduce %d: %s", i, err)
		}
		for j := range keys[i] {
			keys[i][j] = '!'
		}
		for j := range values[i] {
			values[i][j] = '!'
		}
	}
	if !b.Wait(30 * time.Second) {
		t.Fatalf("Kafka did not answer within 30s")
	}
	for i := range recs {
		if err := b.Err(i); err != nil {
			t.Fatalf("record %d: %s", i, err)
		}
	}
	ReleaseBatch(b)
	if got := recordsAcked.Get() - acked; got < uint64(len(recs)) {
		t.Fatalf("intake_kafka_records_total{outcome=\"acked\"} grew by %d, want at least %d", got, len(recs))
	}

	got := consume(t, e.Addrs(), topic, len(recs))
	for i, r := range got {
		want := recs[i] // one partition, one batch: Kafka keeps the order
		if r.Topic != topic {
			t.Fatalf("record %d: topic %q, want %q", i, r.Topic, topic)
		}
		if !bytes.Equal(r.Key, want.key) || (r.Key == nil) != (want.key == nil) {
			t.Fatalf("record %d: key %q (nil %v), want %q (nil %v)", i, r.Key, r.Key == nil, want.key, want.key == nil)
		}
		if !bytes.Equal(r.Value, want.value) || (r.Value == nil) != (want.value == nil) {
			t.Fatalf("record %d: value of %d bytes (nil %v), want %d bytes (nil %v)", i, len(r.Value), r.Value == nil, len(want.value), want.value == nil)
		}
	}
}

func TestProduceKeyedPartition(t *testing.T) {
	const partitions = 8
	e := startBroker(t, partitions)
	p := newProducer(t, Config{Brokers: e.Addrs(), Shards: 3})
	const topic = "eqiad.test.keyed"

	const n = 400
	keys := make([][]byte, n)
	values := make([][]byte, n)
	for i := range n {
		keys[i] = fmt.Appendf(nil, `{"page_id":%d}`, i)
		values[i] = fmt.Appendf(nil, `{"n":%d}`, i)
	}
	produceBatch(t, p, topic, keys, values)

	kgoPartitioner := kgo.StickyKeyPartitioner(nil).ForTopic(topic)
	used := map[int32]bool{}
	for _, r := range consume(t, e.Addrs(), topic, n) {
		want := kafkaPartition(r.Key, partitions)
		if r.Partition != want {
			t.Fatalf("key %s landed on partition %d, Kafka's murmur2 picks %d", r.Key, r.Partition, want)
		}
		if kp := kgoPartitioner.Partition(&kgo.Record{Key: r.Key}, partitions); int32(kp) != want {
			t.Fatalf("key %s: franz-go's key partitioner picks %d, murmur2 %d", r.Key, kp, want)
		}
		used[r.Partition] = true
	}
	if len(used) != partitions {
		t.Fatalf("%d keys used %d of %d partitions", n, len(used), partitions)
	}
}

func TestProduceCompression(t *testing.T) {
	e := startBroker(t, 1)
	value := bytes.Repeat([]byte(`{"meta":{"stream":"compressible"},"n":1}`), 50)
	topics := 0
	fn := func(codec string, n int, wantType uint8) {
		t.Helper()
		topics++
		topic := fmt.Sprintf("eqiad.test.compression.%d", topics)
		// A fixed linger: the batch gathers every record (a busy linger sends a quiet first one alone).
		p := newProducer(t, Config{Brokers: e.Addrs(), Compression: codec, Linger: 5 * time.Millisecond, LingerPolicy: "always"})
		keys := make([][]byte, n)
		values := make([][]byte, n)
		for i := range values {
			values[i] = append(fmt.Appendf(nil, "%d", i), value...)
		}
		produceBatch(t, p, topic, keys, values)
		for i, r := range consume(t, e.Addrs(), topic, n) {
			if !bytes.Equal(r.Value, values[i]) {
				t.Fatalf("%s: record %d differs after the round trip", codec, i)
			}
			if got := r.Attrs.CompressionType(); got != wantType {
				t.Fatalf("%s: record %d came in a batch with compression type %d, want %d", codec, i, got, wantType)
			}
		}
	}
	f := func(codec string, wantType uint8) { t.Helper(); fn(codec, 50, wantType) }
	f("none", 0)
	f("gzip", 1)
	f("snappy", 2)
	f("lz4", 3)
	f("zstd", 4)
	f("zstd-fastest", 4)
	// auto: a batch of 100 KB in zstd, a batch of one 2 KB record in lz4 (adaptiveThreshold).
	fn("auto", 50, 4)
	fn("auto", 1, 3)
	fn("", 1, 3) // the default
}

func TestProduceAcks(t *testing.T) {
	e := startBroker(t, 1)
	f := func(acks string) {
		t.Helper()
		topic := "eqiad.test.acks." + acks
		p := newProducer(t, Config{Brokers: e.Addrs(), Acks: acks})
		produceBatch(t, p, topic, [][]byte{nil, []byte("k")}, [][]byte{[]byte("v0"), []byte("v1")})
		consume(t, e.Addrs(), topic, 2)
	}
	f("all")
	f("leader")
	f("none")
}

// TestErrFull fills a producer whose broker is unreachable: the client buffer takes
// MaxBufferedRecords, the drainer blocks in Produce with one more, the ring fills, and then
// TryProduce must answer ErrFull. Nothing drains, so this needs no timing.
func TestErrFull(t *testing.T) {
	p := newProducer(t, Config{
		Brokers:            []string{deadBroker(t)},
		Shards:             1,
		RingSize:           2,
		MaxBufferedRecords: 1,
		DeliveryTimeout:    time.Minute, // nothing fails and makes room during the test
	})
	full := ringFullTotal.Get()
	b := AcquireBatch()
	defer ReleaseBatch(b)
	const most = 1 + 1 + 2 // client buffer, blocked in Produce, ring
	b.Add(most + 1)
	var pushed int
	var err error
	for pushed = range most + 1 {
		if err = p.TryProduce("eqiad.test.full", nil, []byte("v"), time.Time{}, b, pushed); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrFull) {
		t.Fatalf("%d records pushed into room for %d; last error %v, want ErrFull", pushed, most, err)
	}
	if !IsUnavailable(err) {
		t.Fatalf("IsUnavailable(ErrFull) = false")
	}
	if got := b.Err(pushed); !errors.Is(got, ErrFull) {
		t.Fatalf("Batch.Err of the rejected record = %v, want ErrFull", got)
	}
	if ringFullTotal.Get() == full {
		t.Fatalf("intake_kafka_ring_full_total did not grow")
	}
	// The drainer may hold one record between the ring and the client, where Queued misses it.
	if q := p.Queued(); q < pushed-1 || q > pushed {
		t.Fatalf("Queued() = %d, want the %d accepted records", q, pushed)
	}

	// Close with an expired deadline fails the accepted records instead of hanging on them.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close with a canceled context: %v, want context.Canceled", err)
	}
	if !b.Wait(30 * time.Second) {
		t.Fatalf("records accepted before Close got no result")
	}
	for i := range pushed {
		if err := b.Err(i); !IsUnavailable(err) {
			t.Fatalf("record %d after an aborted Close: %v, want an unavailable error", i, err)
		}
	}
	if err := p.TryProduce("eqiad.test.full", nil, []byte("v"), time.Time{}, nil, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("TryProduce after Close: %v, want ErrClosed", err)
	}
	if err := p.Close(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close: %v, want ErrClosed", err)
	}
}

func TestDeliveryTimeoutIsUnavailable(t *testing.T) {
	p := newProducer(t, Config{Brokers: []string{deadBroker(t)}, DeliveryTimeout: time.Second})
	b := AcquireBatch()
	defer ReleaseBatch(b)
	const n = 10
	b.Add(n)
	for i := range n {
		if err := p.TryProduce("eqiad.test.timeout", []byte("k"), []byte("v"), time.Time{}, b, i); err != nil {
			t.Fatalf("TryProduce %d: %s", i, err)
		}
	}
	// The delivery timeout (1s) fails the records; the generous Wait only guards a hang.
	if !b.Wait(time.Minute) {
		t.Fatalf("records against a dead broker did not fail within a minute")
	}
	for i := range n {
		err := b.Err(i)
		if err == nil || !IsUnavailable(err) {
			t.Fatalf("record %d: %v, want an error for which IsUnavailable is true", i, err)
		}
	}
}

// While Kafka fails, fire-and-forget records are refused (ErrDown, a 503 at the edge) instead of
// queued to fail unseen after the delivery timeout; records with a Batch still go through; a broker
// answering again ends it, even with no record acknowledged.
func TestDownRefusesFireAndForget(t *testing.T) {
	addr := deadBroker(t)
	p := newProducer(t, Config{Brokers: []string{addr}, DeliveryTimeout: time.Second})
	if p.Down() {
		t.Fatal("a new producer is down before any record failed")
	}
	if err := p.TryProduce("eqiad.test.down", nil, []byte("v"), time.Time{}, nil, 0); err != nil {
		t.Fatalf("fire-and-forget before any failure: %v", err)
	}
	b := AcquireBatch()
	defer ReleaseBatch(b)
	b.Add(1)
	if err := p.TryProduce("eqiad.test.down", nil, []byte("v"), time.Time{}, b, 0); err != nil {
		t.Fatal(err)
	}
	if !b.Wait(time.Minute) || b.Err(0) == nil {
		t.Fatalf("a record to a dead broker did not fail: %v", b.Err(0))
	}
	if !p.Down() {
		t.Fatal("not down after a record failed as unavailable")
	}
	err := p.TryProduce("eqiad.test.down", nil, []byte("v"), time.Time{}, nil, 0)
	if !errors.Is(err, ErrDown) || !IsUnavailable(err) {
		t.Fatalf("fire-and-forget while down: %v, want ErrDown (unavailable)", err)
	}
	b2 := AcquireBatch()
	defer ReleaseBatch(b2)
	b2.Add(1)
	if err := p.TryProduce("eqiad.test.down", nil, []byte("v"), time.Time{}, b2, 0); err != nil {
		t.Fatalf("a record with a Batch while down: %v, want it taken", err)
	}

	// The broker comes up on the address: the probe ends the outage.
	e, err := StartEmbedded(EmbeddedConfig{Addr: addr, Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	deadline := time.Now().Add(30 * time.Second)
	for p.Down() {
		if time.Now().After(deadline) {
			t.Fatal("still down 30s after the broker came up")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := p.TryProduce("eqiad.test.down", nil, []byte("v"), time.Time{}, nil, 0); err != nil {
		t.Fatalf("fire-and-forget after the broker came back: %v", err)
	}
}

// With every broker gone, the first failed connection makes the producer down, without waiting for
// a record to time out (here a minute away).
func TestDownOnceNoBrokerConnects(t *testing.T) {
	p := newProducer(t, Config{Brokers: []string{deadBroker(t)}, DeliveryTimeout: time.Minute})
	if err := p.TryProduce("eqiad.test.down", nil, []byte("v"), time.Time{}, nil, 0); err != nil {
		t.Fatalf("fire-and-forget before any failure: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !p.Down() {
		if time.Now().After(deadline) {
			t.Fatal("not down 20s after connections to the only broker started failing")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := p.TryProduce("eqiad.test.down", nil, []byte("v"), time.Time{}, nil, 0); !errors.Is(err, ErrDown) {
		t.Fatalf("fire-and-forget with no broker reachable: %v, want ErrDown", err)
	}
	// The record queued first cannot be flushed: give it up at once.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = p.Close(ctx)
}

func TestPing(t *testing.T) {
	e := startBroker(t, 1)
	p := newProducer(t, Config{Brokers: e.Addrs()})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Ping(ctx); err != nil {
		t.Fatalf("Ping of a live broker: %s", err)
	}

	dead := newProducer(t, Config{Brokers: []string{deadBroker(t)}})
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := dead.Ping(ctx); err == nil {
		t.Fatalf("Ping of a dead broker succeeded")
	}
}

func TestCloseDrains(t *testing.T) {
	e := startBroker(t, 4)
	p := newProducer(t, Config{Brokers: e.Addrs(), Shards: 4, RingSize: 8192, Clients: 2})
	const topic = "eqiad.test.close"
	const n = 20000
	for i := range n {
		// Fire-and-forget, as ?hasty=true.
		if err := p.TryProduce(topic, nil, fmt.Appendf(nil, "%d", i), time.Time{}, nil, 0); err != nil {
			t.Fatalf("TryProduce %d: %s", i, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatalf("Close: %s", err)
	}
	if q := p.Queued(); q != 0 {
		t.Fatalf("Queued() after Close = %d", q)
	}
	seen := make([]bool, n)
	for _, r := range consume(t, e.Addrs(), topic, n) {
		var i int
		if _, err := fmt.Sscan(string(r.Value), &i); err != nil || i < 0 || i >= n || seen[i] {
			t.Fatalf("unexpected or duplicate record %q", r.Value)
		}
		seen[i] = true
	}
}

// TestBatchOrder checks that the records of one batch keep their order within a partition even
// with several shards.
func TestBatchOrder(t *testing.T) {
	e := startBroker(t, 1)
	p := newProducer(t, Config{Brokers: e.Addrs(), Shards: 4})
	const topic = "eqiad.test.order"
	const batches, perBatch = 10, 100
	for j := range batches {
		keys := make([][]byte, perBatch)
		values := make([][]byte, perBatch)
		for i := range values {
			values[i] = fmt.Appendf(nil, "%d %d", j, i)
		}
		produceBatch(t, p, topic, keys, values)
	}
	last := map[int]int{}
	for _, r := range consume(t, e.Addrs(), topic, batches*perBatch) {
		var j, i int
		if _, err := fmt.Sscan(string(r.Value), &j, &i); err != nil {
			t.Fatalf("bad record %q", r.Value)
		}
		if prev, ok := last[j]; ok && i != prev+1 {
			t.Fatalf("batch %d: record %d after %d", j, i, prev)
		}
		last[j] = i
	}
}

// TestReleaseAfterTimedOutWait releases a batch whose records are still in flight, then reuses
// batches from the pool while those records finish: the late results must not land in a batch
// someone else acquired. Run it with -race.
func TestReleaseAfterTimedOutWait(t *testing.T) {
	e := startBroker(t, 1)
	live := newProducer(t, Config{Brokers: e.Addrs()})
	dead := newProducer(t, Config{Brokers: []string{deadBroker(t)}, DeliveryTimeout: time.Second})

	const n = 50
	stale := AcquireBatch()
	stale.Add(n)
	for i := range n {
		if err := dead.TryProduce("eqiad.test.stale", nil, []byte("v"), time.Time{}, stale, i); err != nil {
			t.Fatalf("TryProduce %d: %s", i, err)
		}
	}
	if stale.Wait(time.Millisecond) {
		t.Fatalf("Wait on records against a dead broker finished")
	}
	if err := stale.Err(0); !IsUnavailable(err) {
		t.Fatalf("Err of a record without result: %v, want an unavailable error", err)
	}
	ReleaseBatch(stale)

	// Reuse batches while the stale records time out (1s) and report.
	deadDone := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		deadDone <- dead.Close(ctx) // returns once every stale record reported
	}()
	check := func(round int) {
		b := AcquireBatch()
		defer ReleaseBatch(b)
		if b.Len() != 0 {
			t.Fatalf("round %d: acquired a batch with %d result slots", round, b.Len())
		}
		const m = 20
		b.Add(m + 1)
		for i := range m {
			if err := live.TryProduce("eqiad.test.fresh", nil, []byte("v"), time.Time{}, b, i); err != nil {
				t.Fatalf("round %d: TryProduce %d: %s", round, i, err)
			}
		}
		if !b.Wait(30 * time.Second) {
			t.Fatalf("round %d: Wait timed out", round)
		}
		for i := range m {
			if err := b.Err(i); err != nil {
				t.Fatalf("round %d: record %d: %s", round, i, err)
			}
		}
		if err := b.Err(m); !errors.Is(err, errNoResult) {
			t.Fatalf("round %d: slot never pushed reports %v", round, err)
		}
	}
	round := 0
	for done := false; !done; round++ {
		select {
		case err := <-deadDone:
			if err != nil {
				t.Fatalf("Close of the dead producer: %s", err)
			}
			done = true
		default:
		}
		check(round)
	}
	// The stale batch is back in the pool now; a few more rounds may get it.
	for range 20 {
		check(round)
		round++
	}
}

func TestBatchWithoutKafka(t *testing.T) {
	// A closed producer rejects every record: nothing is pending, Wait returns at once.
	p := newProducer(t, Config{Brokers: []string{deadBroker(t)}})
	if err := p.Close(context.Background()); err != nil {
		t.Fatalf("Close of an idle producer: %s", err)
	}
	b := AcquireBatch()
	defer ReleaseBatch(b)
	b.Add(3)
	for i := range 3 {
		if err := p.TryProduce("t", nil, nil, time.Time{}, b, i); !errors.Is(err, ErrClosed) {
			t.Fatalf("TryProduce on a closed producer: %v", err)
		}
	}
	if !b.Wait(0) {
		t.Fatalf("Wait with nothing pushed did not return true")
	}
	for i := range 3 {
		if err := b.Err(i); !errors.Is(err, ErrClosed) {
			t.Fatalf("Err(%d) = %v, want ErrClosed", i, err)
		}
	}
	b.Add(2)
	if b.Len() != 5 {
		t.Fatalf("Len after Add(3), Add(2) = %d", b.Len())
	}
	if err := b.Err(4); !errors.Is(err, errNoResult) {
		t.Fatalf("Err of an unused slot = %v", err)
	}
}

func TestBatchLastReportRecycles(t *testing.T) {
	// Records reporting after the owner released the batch: the last one recycles it.
	b := getBatch()
	b.Add(2)
	b.refs.Add(2) // two records in flight
	if b.Wait(time.Millisecond) {
		t.Fatalf("Wait with records in flight returned true")
	}
	ReleaseBatch(b)
	b.report(0, nil)
	if b.Len() != 2 || b.Err(0) != nil {
		t.Fatalf("the batch was recycled while a record was still in flight")
	}
	b.report(1, kgo.ErrRecordTimeout)
	if b.Len() != 0 || b.refs.Load() != 1 {
		t.Fatalf("the last report did not recycle the batch: %d slots, %d refs", b.Len(), b.refs.Load())
	}
}

func TestIsUnavailable(t *testing.T) {
	f := func(err error, want bool) {
		t.Helper()
		if got := IsUnavailable(err); got != want {
			t.Fatalf("IsUnavailable(%v) = %v, want %v", err, got, want)
		}
	}
	f(nil, false)
	f(ErrFull, true)
	f(ErrClosed, true)
	f(errAborted, true)
	f(errNoResult, true)
	f(kgo.ErrRecordTimeout, true)
	f(fmt.Errorf("%w, last err: %w", kgo.ErrRecordTimeout, kerr.UnknownTopicOrPartition), true)
	f(kgo.ErrRecordRetries, true)
	f(kgo.ErrClientClosed, true)
	f(context.DeadlineExceeded, true)
	f(kerr.NotEnoughReplicas, true)
	f(kerr.NotLeaderForPartition, true)
	f(kerr.RequestTimedOut, true)
	f(&net.OpError{Op: "dial", Err: os.ErrDeadlineExceeded}, true)
	f(kerr.UnknownTopicOrPartition, false)
	f(kerr.MessageTooLarge, false)
	f(&TooLargeError{Topic: "t", Bytes: 2000, Limit: 1000, Err: kerr.MessageTooLarge}, false)
	f(fmt.Errorf("%w: %w", ErrBatchTooLarge, kerr.MessageTooLarge), true)
	f(kerr.TopicAuthorizationFailed, false)
	f(errors.New("something else"), false)
}

func TestConfigErrors(t *testing.T) {
	f := func(cfg Config, wantErr string) {
		t.Helper()
		p, err := New(cfg)
		if err == nil {
			p.Close(context.Background())
			t.Fatalf("New(%+v) succeeded, want an error with %q", cfg, wantErr)
		}
		if !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("New error %q does not mention %q", err, wantErr)
		}
	}
	brokers := []string{"127.0.0.1:1"}
	f(Config{}, "Config.Brokers")
	f(Config{Brokers: brokers, Compression: "brotli"}, "Config.Compression")
	f(Config{Brokers: brokers, Acks: "some"}, "Config.Acks")
	f(Config{Brokers: brokers, Shards: -1}, "negative")
	f(Config{Brokers: brokers, DeliveryTimeout: time.Millisecond}, "Config.DeliveryTimeout 1ms")

	// Every refusal is a *ConfigError naming the field, so that intake serve can name its flag.
	field := func(cfg Config, want string) {
		t.Helper()
		p, err := New(cfg)
		if err == nil {
			p.Close(context.Background())
			t.Fatalf("New(%+v) succeeded, want a refusal of %s", cfg, want)
		}
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != want {
			t.Fatalf("New(%+v): %v, want a *ConfigError for %s", cfg, err, want)
		}
		named := ce.Message(func(f string) string { return "<" + f + ">" })
		if !strings.HasPrefix(named, "cannot use <"+want+">") || strings.Contains(named, "Config.") {
			t.Fatalf("Message names the field badly: %s", named)
		}
	}
	field(Config{}, "Brokers")
	field(Config{Brokers: brokers, Shards: -1}, "Shards")
	field(Config{Brokers: brokers, RingSize: -1}, "RingSize")
	field(Config{Brokers: brokers, Clients: -1}, "Clients")
	field(Config{Brokers: brokers, MaxBufferedRecords: -1}, "MaxBufferedRecords")
	field(Config{Brokers: brokers, BatchMaxBytes: -1}, "BatchMaxBytes")
	field(Config{Brokers: brokers, BatchMaxBytes: 100}, "BatchMaxBytes")
	field(Config{Brokers: brokers, BatchMaxBytes: 1<<30 + 1}, "BatchMaxBytes")
	field(Config{Brokers: brokers, Linger: 2 * time.Minute}, "Linger")
	field(Config{Brokers: brokers, DeliveryTimeout: -time.Second}, "DeliveryTimeout")
	field(Config{Brokers: brokers, DeliveryTimeout: 999 * time.Millisecond}, "DeliveryTimeout")
	field(Config{Brokers: brokers, Compression: "brotli"}, "Compression")
	field(Config{Brokers: brokers, Acks: "some"}, "Acks")
	field(Config{Brokers: brokers, TLSCertFile: "c.pem"}, "TLSCertFile")
	field(Config{Brokers: brokers, TLSKeyFile: "k.pem"}, "TLSKeyFile")
	field(Config{Brokers: brokers, SASLMechanism: "gssapi"}, "SASLMechanism")
	field(Config{Brokers: brokers, SASLMechanism: "plain"}, "SASLUser")
	field(Config{Brokers: brokers, SASLMechanism: "plain", SASLUser: "u"}, "SASLPassword")
	field(Config{Brokers: brokers, TLSCAFile: "/nonexistent/ca.pem"}, "TLSCAFile")
	// The bounds are franz-go's: values just inside them make a producer.
	p, err := New(Config{Brokers: brokers, BatchMaxBytes: 512, Linger: time.Minute, DeliveryTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	p.Close(context.Background())
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := Config{Brokers: []string{"b:9092"}, Shards: 4, RingSize: 1000, Clients: 8}.withDefaults()
	if err != nil {
		t.Fatalf("withDefaults: %s", err)
	}
	f := func(name string, got, want any) {
		t.Helper()
		if got != want {
			t.Fatalf("%s = %v, want %v", name, got, want)
		}
	}
	f("RingSize", cfg.RingSize, 1024)
	f("Clients", cfg.Clients, 4) // no more clients than shards
	f("MaxBufferedRecords", cfg.MaxBufferedRecords, 1024)
	f("Compression", cfg.Compression, "auto")
	f("BatchMaxBytes", cfg.BatchMaxBytes, int32(1<<20))
	f("Acks", cfg.Acks, "all")
	f("DeliveryTimeout", cfg.DeliveryTimeout, 5*time.Second)
	f("ClientID", cfg.ClientID, "intake")
	f("Linger", cfg.Linger, time.Duration(0)) // the zero Linger is none
	f("LingerPolicy", cfg.LingerPolicy, "busy")
	f("DefaultConfig().Linger", DefaultConfig().Linger, time.Millisecond)
	f("DefaultConfig().LingerPolicy", DefaultConfig().LingerPolicy, "busy")
	f("DefaultConfig().Shards", DefaultConfig().Shards, 0) // one per CPU, counted when New runs

	// The timeout in force, for whoever waits on the producer: a 0 in Config is the default.
	p, err := New(Config{Discard: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	f("DeliveryTimeout()", p.DeliveryTimeout(), 5*time.Second)
}
