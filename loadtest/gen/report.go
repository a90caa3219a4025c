package gen

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/valyala/fasthttp"
)

// Status buckets of the report, in the order printed.
const (
	st201 = iota
	st202
	st207
	st400
	st413
	st415
	st429
	st503
	st5xx // 500..599 but 503
	stOther
	stErrors   // transport errors: refused, reset, closed
	stTimeouts // no answer within --timeout
	nStatus
)

var statusNames = [nStatus]string{"201", "202", "207", "400", "413", "415", "429", "503", "5xx", "other", "errors", "timeouts"}

func statusBucket(code int, err error) int {
	if err != nil {
		var ne net.Error
		if errors.Is(err, fasthttp.ErrTimeout) || errors.As(err, &ne) && ne.Timeout() {
			return stTimeouts
		}
		return stErrors
	}
	switch code {
	case 201:
		return st201
	case 202:
		return st202
	case 207:
		return st207
	case 400:
		return st400
	case 413:
		return st413
	case 415:
		return st415
	case 429:
		return st429
	case 503:
		return st503
	}
	if code >= 500 && code <= 599 {
		return st5xx
	}
	return stOther
}

// Latencies are recorded in microseconds, from 1µs to the longest a request can wait.
const histSigFigs = 3

// stats is what the connections count while running. Histograms are not safe for concurrent use,
// so connections record into a few shards, each behind its own mutex.
type stats struct {
	requests atomic.Int64 // finished, any outcome
	events   atomic.Int64 // events in finished requests
	status   [nStatus]atomic.Int64
	late     atomic.Int64 // open loop: sends that started after their intended time + lateAfter
	maxLag   atomic.Int64 // open loop: the latest send, ns after its intended time
	recorded atomic.Int64 // ids written by --record

	shards []histShard
	maxUS  int64
}

type histShard struct {
	mu sync.Mutex
	h  *hdrhistogram.Histogram
	_  [64]byte // keeps shards' mutexes off one cache line
}

func newStats(shards int, maxLatency time.Duration) *stats {
	s := &stats{shards: make([]histShard, shards), maxUS: maxLatency.Microseconds()}
	for i := range s.shards {
		s.shards[i].h = hdrhistogram.New(1, s.maxUS, histSigFigs)
	}
	return s
}

func (s *stats) record(shard int, lat time.Duration) {
	us := max(lat.Microseconds(), 1)
	us = min(us, s.maxUS)
	sh := &s.shards[shard]
	sh.mu.Lock()
	sh.h.RecordValue(us)
	sh.mu.Unlock()
}

// merged returns every shard's histogram merged into h (reset first).
func (s *stats) merged(h *hdrhistogram.Histogram) *hdrhistogram.Histogram {
	if h == nil {
		h = hdrhistogram.New(1, s.maxUS, histSigFigs)
	}
	h.Reset()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		h.Merge(sh.h)
		sh.mu.Unlock()
	}
	return h
}

func (s *stats) noteLag(lag time.Duration) {
	for {
		cur := s.maxLag.Load()
		if int64(lag) <= cur || s.maxLag.CompareAndSwap(cur, int64(lag)) {
			return
		}
	}
}

// Report is the end of a run. Its JSON field names are stable (README "Load tests").
type Report struct {
	Scenario     string  `json:"scenario"`
	URL          string  `json:"url"`
	Mode         string  `json:"mode"` // "closed" or "open"
	Connections  int     `json:"connections"`
	Rate         float64 `json:"rate"` // open loop: requests/s asked for; 0 for the closed loop
	Burst        int     `json:"burst"`
	Batch        int     `json:"batch"`
	Hasty        bool    `json:"hasty"`
	Gzip         bool    `json:"gzip"`
	ContentType  string  `json:"content_type"`
	InvalidRatio float64 `json:"invalid_ratio"` // the share of invalid events actually in the bodies
	Source       string  `json:"source"`

	DurationSeconds   float64          `json:"duration_seconds"`
	Requests          int64            `json:"requests"`
	Events            int64            `json:"events"`
	RequestsPerSecond float64          `json:"requests_per_second"`
	EventsPerSecond   float64          `json:"events_per_second"`
	Status            map[string]int64 `json:"status"`
	Latency           Latency          `json:"latency_ms"`
	LateSends         int64            `json:"late_sends"`
	Unsent            int64            `json:"unsent"` // open loop: sends due before the end that never went out
	MaxSendLagMS      float64          `json:"max_send_lag_ms"`
	RecordedIDs       int64            `json:"recorded_ids"`
}

// Latency is in milliseconds: open loop from each request's intended send time, closed loop from
// its actual send time, to its whole response. Only requests with an HTTP answer count.
type Latency struct {
	Count int64   `json:"count"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p99_9"`
	Max   float64 `json:"max"`
}

func latencyOf(h *hdrhistogram.Histogram) Latency {
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return Latency{
		Count: h.TotalCount(),
		Mean:  h.Mean() / 1000,
		P50:   ms(h.ValueAtQuantile(50)),
		P90:   ms(h.ValueAtQuantile(90)),
		P99:   ms(h.ValueAtQuantile(99)),
		P999:  ms(h.ValueAtQuantile(99.9)),
		Max:   ms(h.Max()),
	}
}

// WriteText prints the report for people.
func (r *Report) WriteText(w io.Writer) {
	name := r.Scenario
	if name == "" {
		name = "(no scenario)"
	}
	loop := fmt.Sprintf("closed loop, %d connections", r.Connections)
	if r.Mode == "open" {
		loop = fmt.Sprintf("open loop at %g req/s (bursts of %d), at most %d in flight", r.Rate, r.Burst, r.Connections)
	}
	fmt.Fprintf(w, "%s: %s against %s\n", name, loop, r.URL)
	fmt.Fprintf(w, "  bodies:    batch %d (events per request), hasty=%t, gzip=%t, %s, %.2f%% invalid; %s\n",
		r.Batch, r.Hasty, r.Gzip, r.ContentType, 100*r.InvalidRatio, r.Source)
	fmt.Fprintf(w, "  sent:      %d requests, %d events in %.2fs\n", r.Requests, r.Events, r.DurationSeconds)
	fmt.Fprintf(w, "  rate:      %.0f requests/s, %.0f events/s\n", r.RequestsPerSecond, r.EventsPerSecond)
	fmt.Fprintf(w, "  status:   ")
	for _, n := range statusNames {
		fmt.Fprintf(w, " %s=%d", n, r.Status[n])
	}
	fmt.Fprintln(w)
	l := r.Latency
	fmt.Fprintf(w, "  latency:   p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (mean %s, %d answers)\n",
		fmtMS(l.P50), fmtMS(l.P90), fmtMS(l.P99), fmtMS(l.P999), fmtMS(l.Max), fmtMS(l.Mean), l.Count)
	if r.Mode == "open" {
		fmt.Fprintf(w, "  schedule:  %d late sends, latest %s after its intended time; %d due sends never sent\n", r.LateSends, fmtMS(r.MaxSendLagMS), r.Unsent)
		if r.LateSends > 0 || r.Unsent > 0 {
			fmt.Fprintf(w, "  WARNING: the generator could not keep up with --rate %g: %d sends started more than %s late (raise --connections, or the edge is saturated); their latency counts from the intended time\n",
				r.Rate, r.LateSends, lateAfter)
		}
	}
	if r.RecordedIDs > 0 {
		fmt.Fprintf(w, "  recorded:  %d acknowledged event ids\n", r.RecordedIDs)
	}
}

func fmtMS(ms float64) string {
	switch {
	case ms >= 1000:
		return fmt.Sprintf("%.2fs", ms/1000)
	case ms >= 10:
		return fmt.Sprintf("%.1fms", ms)
	}
	return fmt.Sprintf("%.3fms", ms)
}

// progressLine is the live line: elapsed, rates over the last interval, status counts, p99 so far.
func progressLine(elapsed time.Duration, reqRate, evRate float64, status *[nStatus]int64, p99ms float64, late int64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%5.0fs %8.0f req/s %9.0f ev/s ", elapsed.Seconds(), reqRate, evRate)
	for i, n := range statusNames {
		if status[i] != 0 {
			fmt.Fprintf(&b, " %s=%d", n, status[i])
		}
	}
	fmt.Fprintf(&b, "  p99 %s", fmtMS(p99ms))
	if late > 0 {
		fmt.Fprintf(&b, "  late=%d", late)
	}
	return b.String()
}
