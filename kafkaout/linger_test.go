package kafkaout

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// countingCluster is a one-broker kfake cluster holding topic that counts the produce requests it
// gets.
func countingCluster(t *testing.T, topic string) (*kfake.Cluster, *atomic.Int64) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	var n atomic.Int64
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		n.Add(1)
		return nil, nil, false
	})
	return c, &n
}

// syncRecord produces one record with a Batch of its own and returns the Batch to wait on.
func syncRecord(t *testing.T, p *Producer, topic string) *Batch {
	t.Helper()
	b := AcquireBatch()
	b.Add(1)
	if err := p.TryProduce(topic, nil, []byte(`{"a":1}`), time.Time{}, b, 0); err != nil {
		t.Fatalf("TryProduce: %s", err)
	}
	return b
}

// A record a sync request waits for, after a quiet spell, goes at once: the busy linger does not
// hold it (the "always" policy does, for the whole linger).
func TestBusyLingerSendsAQuietRecordAtOnce(t *testing.T) {
	const topic = "quiet"
	const linger = 400 * time.Millisecond
	for _, tc := range []struct {
		policy   string
		min, max time.Duration
	}{
		{"busy", 0, linger / 2},
		{"always", linger, 10 * time.Second},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			c, _ := countingCluster(t, topic)
			p := newProducer(t, Config{Brokers: c.ListenAddrs(), Linger: linger, LingerPolicy: tc.policy, Shards: 1})
			// Warm up: the topic's metadata loads with the first record, which lingers then.
			b := syncRecord(t, p, topic)
			if !b.Wait(10*time.Second) || b.Err(0) != nil {
				t.Fatalf("the first record was not acknowledged: %v", b.Err(0))
			}
			ReleaseBatch(b)
			time.Sleep(linger + 100*time.Millisecond) // quiet
			for i := range 3 {
				start := time.Now()
				b := syncRecord(t, p, topic)
				if !b.Wait(10*time.Second) || b.Err(0) != nil {
					t.Fatalf("record %d was not acknowledged: %v", i, b.Err(0))
				}
				ReleaseBatch(b)
				if d := time.Since(start); d < tc.min || d > tc.max {
					t.Errorf("record %d after a quiet spell acknowledged in %s, want %s to %s", i, d, tc.min, tc.max)
				}
				time.Sleep(linger + 100*time.Millisecond)
			}
		})
	}
}

// Clients sending sync records back to back, each waiting for its acknowledgement (a closed loop,
// as HTTP clients on keep-alive connections), for a second, each announcing its record with Coming
// a little before it queues it, as the edge does for the time it reads a request. While records
// are coming, the busy linger gathers them into a few large produce requests, where without it a
// request leaves each round trip with a few records. With nothing announced, it does not linger.
func TestBusyLingerBatchesABusyClient(t *testing.T) {
	if raceEnabled {
		t.Skip("counts what a second of load does; the race detector's slowdown changes that")
	}
	const topic = "busy"
	const linger = 50 * time.Millisecond
	const run = time.Second
	for _, tc := range []struct {
		name        string
		linger      time.Duration
		clients     int
		coming      bool // the clients call Coming
		minRequests int64
		maxRequests int64
		minPerReq   float64       // records per produce request
		maxWait     time.Duration // the slowest acknowledgement
	}{
		// No linger: a request per round trip of an in-process broker, thousands. (The slowest
		// bounds are loose: on a loaded machine a record can wait tens of milliseconds for a core.)
		{"none", 0, 32, true, 500, 1 << 30, 0, 250 * time.Millisecond},
		// A record lingers until no record is coming or the linger ends.
		{"busy", linger, 32, true, 1, 1 << 30, 16, 5 * linger},
		// Nothing announced: no record lingers, even with a linger long enough that one which did
		// would stand out from any wait for a core.
		{"unannounced", 10 * linger, 32, false, 500, 1 << 30, 0, 5 * linger},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, requests := countingCluster(t, topic)
			p := newProducer(t, Config{Brokers: c.ListenAddrs(), Linger: tc.linger, Shards: 1})
			b := syncRecord(t, p, topic) // the topic's metadata
			if !b.Wait(10*time.Second) || b.Err(0) != nil {
				t.Fatalf("the first record was not acknowledged: %v", b.Err(0))
			}
			ReleaseBatch(b)
			requests.Store(0)

			var wg sync.WaitGroup
			var slowest, records atomic.Int64
			end := time.Now().Add(run)
			for range tc.clients {
				wg.Go(func() {
					for time.Now().Before(end) {
						start := time.Now()
						if tc.coming {
							p.Coming(1)
							for time.Since(start) < 20*time.Microsecond { // reading a request
							}
						}
						b := syncRecord(t, p, topic)
						if tc.coming {
							p.Coming(-1)
						}
						if !b.Wait(10*time.Second) || b.Err(0) != nil {
							t.Errorf("a record was not acknowledged: %v", b.Err(0))
						}
						ReleaseBatch(b)
						records.Add(1)
						d := int64(time.Since(start))
						for s := slowest.Load(); d > s && !slowest.CompareAndSwap(s, d); s = slowest.Load() {
						}
					}
				})
			}
			wg.Wait()
			n := requests.Load()
			t.Logf("linger %s, %d clients: %d records in %d produce requests, the slowest acknowledged in %s",
				tc.linger, tc.clients, records.Load(), n, time.Duration(slowest.Load()))
			if n < tc.minRequests || n > tc.maxRequests {
				t.Errorf("%d produce requests, want %d to %d", n, tc.minRequests, tc.maxRequests)
			}
			if per := float64(records.Load()) / float64(max(n, 1)); per < tc.minPerReq {
				t.Errorf("%.1f records per produce request, want at least %.0f", per, tc.minPerReq)
			}
			if d := time.Duration(slowest.Load()); d > tc.maxWait {
				t.Errorf("the slowest record took %s, want at most %s", d, tc.maxWait)
			}
		})
	}
}
