package edge

import (
	"strconv"

	"github.com/VictoriaMetrics/metrics"
)

// Metrics are registered once here; nothing on the hot path formats a metric name.
var (
	// Buckets (le, as Prometheus' histogram_quantile reads them) from half a millisecond to past
	// the longest a sync request waits (the delivery timeout and its margin).
	eventsRequestDuration = metrics.NewPrometheusHistogramExt(`intake_http_request_duration_seconds{route="events"}`,
		[]float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30})
	eventsBodyBytes  = metrics.NewHistogram(`intake_http_request_body_bytes{route="events"}`)
	eventsPerRequest = metrics.NewHistogram(`intake_http_request_events{route="events"}`)

	errorEventsQueued  = metrics.NewCounter(`intake_error_events_total{outcome="queued"}`)
	errorEventsDropped = metrics.NewCounter(`intake_error_events_total{outcome="dropped"}`)
	alarmEventsQueued  = metrics.NewCounter(`intake_quality_alarm_events_total{outcome="queued"}`)
	alarmEventsDropped = metrics.NewCounter(`intake_quality_alarm_events_total{outcome="dropped"}`)

	connectionsRejectedTotal      = metrics.NewCounter(`intake_http_connections_rejected_total{reason="max_connections"}`)
	connectionsPerIPRejectedTotal = metrics.NewCounter(`intake_http_connections_rejected_total{reason="max_conns_per_ip"}`)

	// intake_ready is /readyz as a gauge (1 ready, 0 not), for alerts: the edge's last Server.
	_ = metrics.NewGauge(`intake_ready`, func() float64 {
		if s := readyServer.Load(); s != nil && s.notReady() == "" {
			return 1
		}
		return 0
	})

	// intake_kafka_reachable is the edge's broker probe (every 5 s): 1 when a broker answered.
	_ = metrics.NewGauge(`intake_kafka_reachable`, func() float64 {
		if s := readyServer.Load(); s != nil && s.brokerOK.Load() {
			return 1
		}
		return 0
	})

	eventsResponses = newCodeCounters("events", eventsCodes)
	otherResponses  = newCodeCounters("other", otherCodes)
)

// The statuses the edge answers with, per route, each counted under its own code label. A
// status missing here would count as code="other", which stays at 0: TestEveryAnswerIsCounted
// reaches every status of both lists and fails on any other.
var (
	// eventsCodes are the answers to /v1/events: POST (events, developer mode), OPTIONS (CORS
	// preflight) and other methods (405).
	eventsCodes = []int{200, 201, 202, 204, 207, 400, 401, 403, 405, 413, 414, 415, 429, 431, 500, 503}
	// otherCodes are the answers to every other path, and to requests fasthttp could not read
	// (Server.handleServerError: 400, 408, 413, 431), whatever their path.
	otherCodes = []int{200, 204, 304, 400, 404, 405, 408, 413, 414, 431, 503}
)

// codeCounters counts responses by status code for one route.
type codeCounters struct {
	byCode map[int]*metrics.Counter
	other  *metrics.Counter
}

func newCodeCounters(route string, codes []int) codeCounters {
	c := codeCounters{byCode: make(map[int]*metrics.Counter, len(codes))}
	for _, code := range codes {
		c.byCode[code] = metrics.NewCounter(`intake_http_requests_total{route="` + route + `",code="` + strconv.Itoa(code) + `"}`)
	}
	c.other = metrics.NewCounter(`intake_http_requests_total{route="` + route + `",code="other"}`)
	return c
}

func (c codeCounters) inc(code int) {
	if m := c.byCode[code]; m != nil {
		m.Inc()
		return
	}
	c.other.Inc()
}
