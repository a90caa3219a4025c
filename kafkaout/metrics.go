package kafkaout

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"intake.dev/intake/spool"
)

// Registered once; the hot path only increments.
var (
	recordsAcked  = metrics.NewCounter(`intake_kafka_records_total{outcome="acked"}`)
	recordsFailed = metrics.NewCounter(`intake_kafka_records_total{outcome="failed"}`)
	ringFullTotal = metrics.NewCounter(`intake_kafka_ring_full_total`)

	// produceDuration runs from TryProduce to Kafka's answer: ring wait, linger, request and
	// acks. Buckets from 1ms (a linger plus a local broker) to the 5s delivery timeout and over.
	// It samples one record in produceDurationSampleEvery, so its _count is not a record count
	// (intake_kafka_records_total is).
	produceDuration = metrics.NewPrometheusHistogramExt(`intake_kafka_produce_duration_seconds`,
		[]float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10})

	_ = metrics.NewGauge(`intake_kafka_queued_records`, queuedRecords)
	_ = metrics.NewGauge(`intake_kafka_buffered_bytes`, bufferedBytes)

	// The spools' state (Config.SpoolDir), read from spool.Stats when scraped. damaged counts the
	// damaged spans skipped, at Open and since: a counter the spool keeps.
	_ = metrics.NewGauge(`intake_spool_bytes`, func() float64 { return spoolSum(func(st spool.Stats) float64 { return float64(st.Bytes) }) })
	_ = metrics.NewGauge(`intake_spool_records`, func() float64 { return spoolSum(func(st spool.Stats) float64 { return float64(st.Records) }) })
	_ = metrics.NewGauge(`intake_spool_max_bytes`, func() float64 { return spoolSum(func(st spool.Stats) float64 { return float64(st.MaxBytes) }) })
	_ = metrics.NewGauge(`intake_spool_oldest_seconds`, func() float64 {
		return spoolSum(func(st spool.Stats) float64 {
			if st.Oldest.IsZero() {
				return 0
			}
			return time.Since(st.Oldest).Seconds()
		})
	})
	_ = metrics.NewGauge(`intake_spool_damaged_total`, func() float64 { return spoolSum(func(st spool.Stats) float64 { return float64(st.Damaged) }) })

	// Why records failed, for reconciling intake_events_total{outcome="accepted"} with what
	// Kafka has: timeout (not acknowledged within the delivery timeout: brokers down, slow or
	// partitioned), too_large (larger than its topic takes: ErrTooLarge), rejected (Kafka refused
	// the record for good otherwise: no such topic, authorization...), closed (the producer shut
	// down before it was sent), unavailable (every other retriable failure).
	failedTimeout     = metrics.NewCounter(`intake_kafka_records_failed_total{reason="timeout"}`)
	failedTooLarge    = metrics.NewCounter(`intake_kafka_records_failed_total{reason="too_large"}`)
	failedRejected    = metrics.NewCounter(`intake_kafka_records_failed_total{reason="rejected"}`)
	failedClosed      = metrics.NewCounter(`intake_kafka_records_failed_total{reason="closed"}`)
	failedUnavailable = metrics.NewCounter(`intake_kafka_records_failed_total{reason="unavailable"}`)

	// Broker connections, from franz-go's hooks: the connection state an operator watches.
	brokerConnections    = metrics.NewCounter(`intake_kafka_broker_connections`)
	brokerConnectErrors  = metrics.NewCounter(`intake_kafka_broker_connect_errors_total`)
	produceRequests      = metrics.NewCounter(`intake_kafka_produce_requests_total`)
	produceRequestBytes  = metrics.NewCounter(`intake_kafka_produce_request_bytes_total`)
	produceRequestErrors = metrics.NewCounter(`intake_kafka_produce_request_errors_total`)

	// Records whose timestamp was too far from the time they were queued: they got that time
	// instead (recordTimestamp).
	timestampsReplaced = metrics.NewCounter(`intake_kafka_timestamps_replaced_total`)

	// The spool (Config.SpoolDir): appends refused (the request answered 503), records replayed
	// and refused by Kafka for good (dropped).
	spoolWritten  = metrics.NewCounter(`intake_spool_written_total`)
	spoolRefused  = metrics.NewCounter(`intake_spool_refused_total`)
	spoolReplayed = metrics.NewCounter(`intake_spool_replayed_total`)
	spoolDropped  = metrics.NewCounter(`intake_spool_dropped_total`)
	// Fire-and-forget records taken into a ring that then failed as unavailable, spooled.
	spoolRespooled = metrics.NewCounter(`intake_spool_respooled_total`)
)

// countFailure counts a failed record under its reason.
func countFailure(err error) {
	switch {
	case errors.Is(err, ErrTooLarge):
		failedTooLarge.Inc()
	case errors.Is(err, kgo.ErrRecordTimeout), errors.Is(err, context.DeadlineExceeded):
		failedTimeout.Inc()
	case errors.Is(err, ErrClosed), errors.Is(err, kgo.ErrClientClosed), errors.Is(err, context.Canceled):
		failedClosed.Inc()
	case IsUnavailable(err):
		failedUnavailable.Inc()
	default:
		var ke *kerr.Error
		if errors.As(err, &ke) {
			failedRejected.Inc()
		} else {
			failedUnavailable.Inc()
		}
	}
}

// hooks feeds the broker metrics from franz-go, tells p when every broker connection is gone, and
// keeps its client's sendClock.
type hooks struct {
	p     *Producer
	clock *sendClock // the client's
}

func (h hooks) OnBrokerConnect(_ kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	if err != nil {
		brokerConnectErrors.Inc()
		if h.p.conns.Load() == 0 {
			h.p.noteDown(err)
		}
		return
	}
	brokerConnections.Inc()
	h.p.conns.Add(1)
}

func (h hooks) OnBrokerDisconnect(kgo.BrokerMetadata, net.Conn) {
	brokerConnections.Dec()
	h.p.conns.Add(-1)
}

func (h hooks) OnBrokerWrite(_ kgo.BrokerMetadata, key int16, bytesWritten int, _, _ time.Duration, err error) {
	const produceKey = 0 // the Kafka protocol's Produce API key
	if key != produceKey {
		return
	}
	if err != nil {
		produceRequestErrors.Inc()
		return
	}
	produceRequests.Inc()
	produceRequestBytes.Add(bytesWritten)
	if h.p.busyLinger {
		h.clock.last.Store(time.Now().UnixNano())
	}
}

func bufferedBytes() float64 {
	producersMu.Lock()
	defer producersMu.Unlock()
	n := int64(0)
	for p := range producers {
		for _, cl := range p.clients {
			n += cl.BufferedProduceBytes()
		}
	}
	return float64(n)
}

const produceDurationSampleEvery = 16

// producers are the live Producers the queued-records gauge sums over. A process normally has
// one; tests create many.
var (
	producersMu sync.Mutex
	producers   = map[*Producer]struct{}{}
)

func registerProducer(p *Producer) {
	producersMu.Lock()
	producers[p] = struct{}{}
	producersMu.Unlock()
}

func unregisterProducer(p *Producer) {
	producersMu.Lock()
	delete(producers, p)
	producersMu.Unlock()
}

func queuedRecords() float64 {
	producersMu.Lock()
	defer producersMu.Unlock()
	n := 0
	for p := range producers {
		n += p.Queued()
	}
	return float64(n)
}

// spoolSum adds f of the Stats of every open producer's spool (one in the binary).
func spoolSum(f func(spool.Stats) float64) float64 {
	producersMu.Lock()
	defer producersMu.Unlock()
	var n float64
	for p := range producers {
		if st, ok := p.SpoolStats(); ok {
			n += f(st)
		}
	}
	return n
}
