package edge

import (
	"strconv"

	"github.com/VictoriaMetrics/metrics"
)

// Metrics are registered once here; nothing on the hot path formats a metric name.
var (
	eventsRequestDuration = metrics.NewHistogram(`intake_http_request_duration_seconds{route="events"}`)
	eventsBodyBytes       = metrics.NewHistogram(`intake_http_request_body_bytes{route="events"}`)
	eventsPerRequest      = metrics.NewHistogram(`intake_http_request_events{route="events"}`)

	errorEventsQueued  = metrics.NewCounter(`intake_error_events_total{outcome="queued"}`)
	errorEventsDropped = metrics.NewCounter(`intake_error_events_total{outcome="dropped"}`)

	connectionsRejectedTotal      = metrics.NewCounter(`intake_http_connections_rejected_total{reason="max_connections"}`)
	connectionsPerIPRejectedTotal = metrics.NewCounter(`intake_http_connections_rejected_total{reason="max_conns_per_ip"}`)

	eventsResponses = newCodeCounters("events")
	otherResponses  = newCodeCounters("other")
)

var knownCodes = []int{200, 201, 202, 207, 304, 400, 403, 404, 405, 408, 413, 414, 415, 431, 500, 503}

// codeCounters counts responses by status code for one route.
type codeCounters struct {
	byCode map[int]*metrics.Counter
	other  *metrics.Counter
}

func newCodeCounters(route string) codeCounters {
	c := codeCounters{byCode: make(map[int]*metrics.Counter, len(knownCodes))}
	for _, code := range knownCodes {
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
