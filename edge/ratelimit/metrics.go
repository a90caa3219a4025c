package ratelimit

import "github.com/VictoriaMetrics/metrics"

// Metrics are registered once here, one series per scope; no key ever becomes a label. A process
// normally has one Set; with several, the series are their sums.
var (
	rejected        [numScopes]*metrics.Counter
	keysGauge       [numScopes]*metrics.Gauge
	evictionsIdle   [numScopes]*metrics.Counter
	evictionsActive [numScopes]*metrics.Counter
)

func init() {
	for i, name := range ScopeName {
		l := `{limiter="` + name + `"`
		rejected[i] = metrics.NewCounter(`intake_ratelimit_rejected_total` + l + `}`)
		keysGauge[i] = metrics.NewGauge(`intake_ratelimit_keys`+l+`}`, nil)
		// kind="idle": the bucket was full, nothing lost; kind="active": the set was full of
		// buckets in debt and the smallest debt was forgotten (capacity too small for the load).
		evictionsIdle[i] = metrics.NewCounter(`intake_ratelimit_evictions_total` + l + `,kind="idle"}`)
		evictionsActive[i] = metrics.NewCounter(`intake_ratelimit_evictions_total` + l + `,kind="active"}`)
	}
}
