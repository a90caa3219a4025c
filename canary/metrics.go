package canary

import (
	"io"
	"strings"
	"sync"

	"github.com/VictoriaMetrics/metrics"
)

// The canary metrics live in a set of their own: the intake binary also holds the edge's
// package-level metrics, which the canary's /metrics must not serve (at 0, they would count into
// the edges' sums). Their stream labels are names from the stream config or from --streams,
// never from an answer.
//
//	intake_canary_last_success_timestamp_seconds{stream}  gauge, set when the edge answered 201
//	intake_canary_posts_total{stream,outcome}             one per POST: ok, refused, unavailable, post_failed
//	intake_canary_failures_total{stream,reason}           one per failed canary, reason one of FailureReasons
//
// A stream's failure counters are created at 0 for every reason the first time the stream is
// probed, so that increase() sees the first failure (a series born at 1 has no increase).

// FailureReasons are the reason labels of intake_canary_failures_total: every Outcome but OK and
// Skipped.
var FailureReasons = []Outcome{NoSchema, NoExample, ExampleInvalid, Refused, Unavailable, PostFailed, UnknownStream}

// postOutcomes are the outcome labels of intake_canary_posts_total: the outcomes of a POST.
var postOutcomes = []Outcome{OK, Refused, Unavailable, PostFailed}

// set holds the canary metrics.
var set = metrics.NewSet()

// WritePrometheus writes the canary metrics and the process's (Go runtime, CPU, memory) in
// Prometheus text format, for the canary service's /metrics.
func WritePrometheus(w io.Writer) {
	set.WritePrometheus(w)
	metrics.WriteProcessMetrics(w)
}

type streamMetrics struct {
	lastSuccess *metrics.Gauge // nil until the first success
	posts       map[Outcome]*metrics.Counter
	failures    map[Outcome]*metrics.Counter
	label       string
}

var (
	streamsMu sync.Mutex
	byStream  = map[string]*streamMetrics{}
)

// metricsFor returns the stream's counters, creating them (at 0) the first time.
func metricsFor(stream string) *streamMetrics {
	streamsMu.Lock()
	defer streamsMu.Unlock()
	if m := byStream[stream]; m != nil {
		return m
	}
	label := `stream="` + escapeLabel(stream) + `"`
	m := &streamMetrics{label: label, posts: map[Outcome]*metrics.Counter{}, failures: map[Outcome]*metrics.Counter{}}
	for _, o := range postOutcomes {
		m.posts[o] = set.GetOrCreateCounter(`intake_canary_posts_total{` + label + `,outcome="` + string(o) + `"}`)
	}
	for _, r := range FailureReasons {
		m.failures[r] = set.GetOrCreateCounter(`intake_canary_failures_total{` + label + `,reason="` + string(r) + `"}`)
	}
	byStream[stream] = m
	return m
}

// count records one canary's result.
func count(r *Result) {
	if r.Outcome == Skipped {
		return
	}
	m := metricsFor(r.Stream)
	if c := m.posts[r.Outcome]; c != nil {
		c.Inc()
	}
	if c := m.failures[r.Outcome]; c != nil {
		c.Inc()
	}
	if r.Outcome == OK {
		streamsMu.Lock()
		if m.lastSuccess == nil {
			m.lastSuccess = set.GetOrCreateGauge(`intake_canary_last_success_timestamp_seconds{`+m.label+`}`, nil)
		}
		g := m.lastSuccess
		streamsMu.Unlock()
		g.Set(float64(r.Time.UnixMilli()) / 1e3)
	}
}

// escapeLabel escapes a Prometheus label value.
func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}
