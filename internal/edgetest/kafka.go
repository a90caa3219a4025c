package edgetest

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// linger is how long a read goes on once it has what it waits for, so that records beyond it
// (duplicates, strays) are seen too.
const linger = 500 * time.Millisecond

// Consume reads n records of topic from the start, failing the test when they do not come within
// 15 s; records beyond n that come with them or right after are returned too.
func (e *Edge) Consume(topic string, n int) []*kgo.Record {
	e.t.Helper()
	return Consume(e.t, e.Brokers, topic, n, 15*time.Second)
}

// Consume reads n records of topic of brokers from the start, failing the test when they do not
// come within timeout; records beyond n that come with them or right after are returned too.
func Consume(t testing.TB, brokers []string, topic string, n int, timeout time.Duration) []*kgo.Record {
	t.Helper()
	seen := 0
	recs, ok := ConsumeUntil(t, brokers, topic, timeout, func(*kgo.Record) bool {
		seen++
		return seen >= n
	})
	if !ok {
		t.Fatalf("topic %s: got %d records, want %d", topic, len(recs), n)
	}
	return recs
}

// ConsumeUntil reads topic of brokers from the start, handing each record to until in the order
// read, until it returns true or timeout passes; then it reads half a second more (those records
// go to until too). It returns every record read, and whether until returned true within timeout.
func ConsumeUntil(t testing.TB, brokers []string, topic string, timeout time.Duration, until func(*kgo.Record) bool) (recs []*kgo.Record, ok bool) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	done := false
	add := func(r *kgo.Record) {
		recs = append(recs, r)
		if until(r) {
			done = true
		}
	}
	deadline := time.Now().Add(timeout)
	for !done && time.Now().Before(deadline) {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		cl.PollFetches(ctx).EachRecord(add)
		cancel()
	}
	ok = done
	ctx, cancel := context.WithTimeout(context.Background(), linger)
	cl.PollFetches(ctx).EachRecord(add)
	cancel()
	return recs, ok
}
