package kafkaout

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// admin is a kadm client on brokers, closed with the test.
func admin(t *testing.T, brokers []string) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

// createTopic creates topic with one partition and the given max.message.bytes.
func createTopic(t *testing.T, adm *kadm.Client, topic string, maxMessageBytes int) {
	t.Helper()
	v := strconv.Itoa(maxMessageBytes)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"max.message.bytes": &v}, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("cannot create topic %s: %s", topic, err)
	}
}

// produceEach pushes values through one Batch and returns each record's result.
func produceEach(t *testing.T, p *Producer, topic string, values [][]byte) []error {
	t.Helper()
	b := AcquireBatch()
	defer ReleaseBatch(b)
	b.Add(len(values))
	for i, v := range values {
		if err := p.TryProduce(topic, nil, v, time.Time{}, b, i); err != nil {
			t.Fatalf("TryProduce %d: %s", i, err)
		}
	}
	if !b.Wait(30 * time.Second) {
		t.Fatal("Kafka did not answer within 30s")
	}
	errs := make([]error, len(values))
	for i := range values {
		errs[i] = b.Err(i)
	}
	return errs
}

// value is a record value of n bytes that do not compress (Kafka checks a batch's size as sent).
func value(n int) []byte {
	r := rand.New(rand.NewPCG(uint64(n), 1))
	v := make([]byte, n)
	for i := range v {
		v[i] = byte(r.Uint32())
	}
	return v
}

// TestTooLargeForTopicAloneFails: a topic that takes smaller record batches than the producer
// builds refused the whole batch of a record too large for it, and franz-go then failed every
// record it held for the partition, the record's small siblings included. The producer reads the
// topic's max.message.bytes before franz-go batches anything for it: the large record alone fails,
// as too large, and the others arrive.
func TestTooLargeForTopicAloneFails(t *testing.T) {
	e := startBroker(t, 1)
	const topic = "eqiad.test.small"
	createTopic(t, admin(t, e.Addrs()), topic, 4096)
	p := newProducer(t, Config{Brokers: e.Addrs(), Shards: 1, Linger: 20 * time.Millisecond, LingerPolicy: "always"})

	failed := failedTooLarge.Get()
	errs := produceEach(t, p, topic, [][]byte{value(100), value(6000), value(200), value(300)})
	for i, err := range errs {
		if i == 1 {
			continue
		}
		if err != nil {
			t.Fatalf("small record %d: %s", i, err)
		}
	}
	var tl *TooLargeError
	if !errors.As(errs[1], &tl) || !errors.Is(errs[1], ErrTooLarge) || IsUnavailable(errs[1]) {
		t.Fatalf("large record: %v, want a *TooLargeError", errs[1])
	}
	if tl.Topic != topic || tl.Limit != 4096 || tl.Bytes != batchBytes(nil, value(6000)) {
		t.Fatalf("large record: %+v, want topic %s, limit 4096, %d bytes", tl, topic, batchBytes(nil, value(6000)))
	}
	if got := failedTooLarge.Get() - failed; got != 1 {
		t.Fatalf(`intake_kafka_records_failed_total{reason="too_large"} grew by %d, want 1`, got)
	}
	for i, r := range consume(t, e.Addrs(), topic, 3) {
		if want := []int{100, 200, 300}[i]; len(r.Value) != want {
			t.Fatalf("record %d read back has %d bytes, want %d", i, len(r.Value), want)
		}
	}
}

// TestBatchBytesIsFranzGosCount holds batchBytes to franz-go's own count of a batch against its
// limit: a record whose batchBytes is the limit goes through, one 4 bytes larger (as large as
// Kafka takes: batchBytes counts the batch's length in its produce request) fails with
// kerr.MessageTooLarge, however franz-go writes that length.
func TestBatchBytesIsFranzGosCount(t *testing.T) {
	e := startBroker(t, 1)
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.Addrs()...), kgo.ProducerBatchMaxBytes(2048), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	n := 2048 - batchBytes(nil, nil)
	for batchBytes(nil, value(n)) > 2048 {
		n--
	}
	if batchBytes(nil, value(n)) != 2048 {
		t.Fatalf("no value makes a batch of exactly 2048 bytes (at %d: %d)", n, batchBytes(nil, value(n)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const topic = "eqiad.test.boundary"
	for range 2 { // before and after franz-go learns the broker's produce version
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: value(n)}).FirstErr(); err != nil {
			t.Fatalf("a record of exactly the batch limit: %s", err)
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: value(n + 4)}).FirstErr(); !errors.Is(err, kerr.MessageTooLarge) {
			t.Fatalf("4 bytes more: %v, want kerr.MessageTooLarge", err)
		}
	}
}

// TestTopicLimitLoweredWhileProducing: franz-go keeps the limit it read for a partition, so a
// topic whose max.message.bytes is lowered later refuses batches built for the old one. The
// records of such a batch fail as unavailable (each may fit alone; a retry goes in another
// batch), without taking Kafka for down; the refusal makes the producer read the topic again, and
// from then on a record too large for it fails alone before franz-go batches it.
func TestTopicLimitLoweredWhileProducing(t *testing.T) {
	e := startBroker(t, 1)
	const topic = "eqiad.test.lowered"
	adm := admin(t, e.Addrs())
	createTopic(t, adm, topic, 1<<20)
	p := newProducer(t, Config{Brokers: e.Addrs(), Shards: 1, Linger: 20 * time.Millisecond, LingerPolicy: "always"})
	for i, err := range produceEach(t, p, topic, [][]byte{value(6000)}) {
		if err != nil {
			t.Fatalf("record %d before the change: %s", i, err)
		}
	}

	v := "4096"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "max.message.bytes", Value: &v}}, topic); err != nil {
		t.Fatal(err)
	}
	errs := produceEach(t, p, topic, [][]byte{value(100), value(6000), value(200)})
	for i, err := range errs {
		if !IsUnavailable(err) || !errors.Is(err, kerr.MessageTooLarge) {
			t.Fatalf("record %d of the refused batch: %v (all: %v), want unavailable", i, err, errs)
		}
	}
	if p.Down() {
		t.Fatal("a batch refused as too large made the producer refuse fire-and-forget records, as if Kafka were down")
	}
	for deadline := time.Now().Add(10 * time.Second); p.limits.limit(topic) != 4096; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the producer still holds %d bytes for the topic, want 4096", p.limits.limit(topic))
		}
	}
	errs = produceEach(t, p, topic, [][]byte{value(100), value(6000), value(200)})
	if errs[0] != nil || errs[2] != nil {
		t.Fatalf("small records after the producer read the topic again: %v, %v", errs[0], errs[2])
	}
	var tl *TooLargeError
	if !errors.As(errs[1], &tl) || tl.Err != nil || tl.Limit != 4096 {
		t.Fatalf("large record after the producer read the topic again: %v, want kafkaout's own *TooLargeError", errs[1])
	}
}

// TestRecordTimestamps: a record's Kafka timestamp is the one TryProduce was given, to the
// millisecond, when it lies within timestampWindow of the time the record is queued; none, or one
// further away (franz-go would time the record's batch out by it), is that time.
func TestRecordTimestamps(t *testing.T) {
	e := startBroker(t, 1)
	p := newProducer(t, Config{Brokers: e.Addrs(), Shards: 1})
	const topic = "eqiad.test.timestamps"
	now := time.Now()
	stamps := []time.Time{
		now.Add(-300 * time.Millisecond), // a request's ingestion time
		{},
		now.Add(-time.Hour),    // a client's own meta.dt
		now.Add(2 * time.Hour), // a clock far ahead
		now.Add(time.Millisecond),
	}

	replaced := timestampsReplaced.Get()
	before := time.Now().Truncate(time.Millisecond)
	b := AcquireBatch()
	b.Add(len(stamps))
	for i, ts := range stamps {
		if err := p.TryProduce(topic, nil, value(10), ts, b, i); err != nil {
			t.Fatalf("TryProduce %d: %s", i, err)
		}
	}
	after := time.Now()
	if !b.Wait(30 * time.Second) {
		t.Fatal("Kafka did not answer within 30s")
	}
	for i := range stamps {
		if err := b.Err(i); err != nil {
			t.Fatalf("record %d: %s", i, err)
		}
	}
	ReleaseBatch(b)
	if got := timestampsReplaced.Get() - replaced; got != 2 {
		t.Fatalf("intake_kafka_timestamps_replaced_total grew by %d, want 2", got)
	}
	recs := consume(t, e.Addrs(), topic, len(stamps))
	for i, want := range stamps {
		got := recs[i].Timestamp
		if i == 0 || i == 4 {
			if !got.Equal(want.Truncate(time.Millisecond)) {
				t.Fatalf("record %d: timestamp %s, want %s", i, got.UTC(), want.Truncate(time.Millisecond).UTC())
			}
			continue
		}
		if got.Before(before) || got.After(after) {
			t.Fatalf("record %d: timestamp %s, want the time it was queued, between %s and %s", i, got, before, after)
		}
	}
}

// A Batch reads the clock for its records once per batchClockEvery of them, and again after each
// Add: a Batch reused for a later round of records never lends them an old time.
func TestBatchClock(t *testing.T) {
	b := AcquireBatch()
	defer ReleaseBatch(b)
	b.Add(batchClockEvery + 1)
	first := b.clock()
	for i := 1; i < batchClockEvery; i++ {
		if got := b.clock(); !got.Equal(first) {
			t.Fatalf("record %d of the batch: the clock was read again (%s, first %s)", i, got, first)
		}
	}
	time.Sleep(2 * time.Millisecond)
	if got := b.clock(); got.Sub(first) < 2*time.Millisecond {
		t.Fatalf("record %d: time %s, not read again after %d records (first %s)", batchClockEvery, got, batchClockEvery, first)
	}
	b.Add(1)
	time.Sleep(2 * time.Millisecond)
	before := time.Now()
	if got := b.clock(); got.Before(before) {
		t.Fatalf("the first record after Add has time %s, before %s: not read again", got, before)
	}
}
