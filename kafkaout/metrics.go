package kafkaout

import (
	"sync"

	"github.com/VictoriaMetrics/metrics"
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
)

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
