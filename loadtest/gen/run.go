package gen

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/valyala/fasthttp"
)

// lateAfter is how long after its intended time an open-loop send counts as late: the generator
// (or the edge, holding every connection) did not keep up with the rate. Below it is scheduling
// jitter (a burst's last send on a busy machine starts a millisecond or two after its first); a
// late send's latency still counts from its intended time, so nothing is hidden either way.
const lateAfter = 5 * time.Millisecond

// Runner is one prepared run: bodies built, client configured, --record file open.
type Runner struct {
	cfg    Config
	source string
	pool   *pool
	client *fasthttp.HostClient
	uri    string
	rec    *recorder
	stats  *stats
	next   atomic.Int64 // the next request's sequence number
}

// New checks cfg, loads the events and prebuilds the bodies.
func New(cfg Config) (*Runner, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.Hasty {
		q := u.Query()
		q.Set("hasty", "true")
		u.RawQuery = q.Encode()
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	src, desc, err := loadEvents(&cfg)
	if err != nil {
		return nil, err
	}
	p, err := buildPool(src, &cfg)
	if err != nil {
		return nil, err
	}
	r := &Runner{cfg: cfg, source: desc, pool: p, uri: u.String()}
	r.client = &fasthttp.HostClient{
		Addr:                      net.JoinHostPort(u.Hostname(), port),
		IsTLS:                     u.Scheme == "https",
		Name:                      "intake-loadtest",
		MaxConns:                  cfg.Connections,
		MaxConnWaitTimeout:        cfg.Timeout,
		MaxIdemponentCallAttempts: 1, // a POST is never retried: each send is counted once
		ReadTimeout:               cfg.Timeout,
		WriteTimeout:              cfg.Timeout,
		MaxIdleConnDuration:       time.Minute,
		ReadBufferSize:            16 << 10,
		WriteBufferSize:           64 << 10,
		MaxResponseBodySize:       256 << 20,
	}
	if cfg.dial != nil {
		r.client.Dial = cfg.dial
	}
	if cfg.Record != "" {
		f, err := os.Create(cfg.Record)
		if err != nil {
			return nil, fmt.Errorf("cannot create --record file: %w", err)
		}
		r.rec = &recorder{f: f, w: bufio.NewWriterSize(f, 256<<10)}
	}
	return r, nil
}

// Source says where the events come from.
func (r *Runner) Source() string { return r.source }

// Run sends until the duration, the request count or ctx ends it, then waits for the requests in
// flight (each bounded by --timeout). progress, when not nil, gets a line a second; tty makes it
// one line rewritten in place.
func (r *Runner) Run(ctx context.Context, progress io.Writer, tty bool) (*Report, error) {
	cfg := &r.cfg
	nShards := min(cfg.Connections, 2*runtime.GOMAXPROCS(0))
	r.stats = newStats(nShards, cfg.Duration+cfg.Timeout+10*time.Second)
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	runCtx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()

	var wg sync.WaitGroup
	for i := 0; i < cfg.Connections; i++ {
		c := &conn{r: r, shard: i % nShards, ids: newUUIDGenRandom()}
		wg.Go(func() { c.loop(runCtx, start, deadline) })
	}
	stopProgress := make(chan struct{})
	var pwg sync.WaitGroup
	if progress != nil {
		pwg.Go(func() { r.progress(progress, tty, start, stopProgress) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stopProgress)
	pwg.Wait()

	var recErr error
	if r.rec != nil {
		recErr = r.rec.close()
	}
	rep := r.report(elapsed)
	if cfg.Rate > 0 {
		rep.Unsent = max(0, r.scheduled(start, deadline)-rep.Requests)
	}
	return rep, recErr
}

// scheduled counts the open loop's sends due before the deadline (and within --requests), with
// the loop's own arithmetic.
func (r *Runner) scheduled(start, deadline time.Time) int64 {
	cfg := &r.cfg
	interval := float64(time.Second) / cfg.Rate
	burst := int64(cfg.Burst)
	due := func(seq int64) bool {
		return start.Add(time.Duration(float64(seq/burst*burst) * interval)).Before(deadline)
	}
	n := int64(cfg.Duration.Seconds()*cfg.Rate)/burst*burst + burst // a first guess near the end
	for n > 0 && !due(n-1) {
		n -= burst
	}
	for due(n) {
		n += burst
	}
	if cfg.Requests > 0 {
		n = min(n, cfg.Requests)
	}
	return n
}

func (r *Runner) report(elapsed time.Duration) *Report {
	cfg := &r.cfg
	s := r.stats
	rep := &Report{
		Scenario:        cfg.Scenario,
		URL:             r.uri,
		Mode:            cfg.Mode(),
		Connections:     cfg.Connections,
		Rate:            cfg.Rate,
		Burst:           cfg.Burst,
		Batch:           cfg.Batch,
		Hasty:           cfg.Hasty,
		Gzip:            cfg.Gzip,
		ContentType:     cfg.ContentType,
		InvalidRatio:    float64(r.pool.invalid) / float64(r.pool.events),
		Source:          r.source,
		DurationSeconds: elapsed.Seconds(),
		Requests:        s.requests.Load(),
		Events:          s.events.Load(),
		Status:          map[string]int64{},
		Latency:         latencyOf(s.merged(nil)),
		LateSends:       s.late.Load(),
		MaxSendLagMS:    float64(s.maxLag.Load()) / 1e6,
		RecordedIDs:     s.recorded.Load(),
	}
	if cfg.Mode() == "closed" {
		rep.Burst = 0
	}
	for i, n := range statusNames {
		rep.Status[n] = s.status[i].Load()
	}
	if secs := elapsed.Seconds(); secs > 0 {
		rep.RequestsPerSecond = float64(rep.Requests) / secs
		rep.EventsPerSecond = float64(rep.Events) / secs
	}
	return rep
}

func (r *Runner) progress(w io.Writer, tty bool, start time.Time, stop <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	prevT, prevReq, prevEv := start, int64(0), int64(0)
	h := r.stats.merged(nil)
	var status [nStatus]int64
	for {
		select {
		case <-stop:
			if tty {
				fmt.Fprintln(w)
			}
			return
		case now := <-t.C:
			req, ev := r.stats.requests.Load(), r.stats.events.Load()
			dt := now.Sub(prevT).Seconds()
			for i := range status {
				status[i] = r.stats.status[i].Load()
			}
			h = r.stats.merged(h)
			line := progressLine(now.Sub(start), float64(req-prevReq)/dt, float64(ev-prevEv)/dt, &status,
				float64(h.ValueAtQuantile(99))/1000, r.stats.late.Load())
			if tty {
				fmt.Fprintf(w, "\r%s\x1b[K", line)
			} else {
				fmt.Fprintln(w, line)
			}
			prevT, prevReq, prevEv = now, req, ev
		}
	}
}

// conn is one sender: in the closed loop one connection, in the open loop one request in flight.
type conn struct {
	r     *Runner
	shard int
	ids   *uuidGen
	buf   []byte // the body with fresh ids (--unique-ids)
	gzbuf []byte // buf gzipped
	gz    *gzip.Writer
}

func (c *conn) loop(ctx context.Context, start, deadline time.Time) {
	r := c.r
	cfg := &r.cfg
	open := cfg.Rate > 0
	interval := 0.0
	if open {
		interval = float64(time.Second) / cfg.Rate
	}
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(r.uri)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType(cfg.ContentType)
	if cfg.Gzip {
		req.Header.Set(fasthttp.HeaderContentEncoding, "gzip")
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()

	for {
		if ctx.Err() != nil {
			return
		}
		seq := r.next.Add(1) - 1
		if cfg.Requests > 0 && seq >= cfg.Requests {
			return
		}
		var intended time.Time
		if open {
			// The schedule is fixed before the run: request seq is due at its slot whether or not
			// earlier ones were answered; a late send still counts its latency from this time.
			slot := seq / int64(cfg.Burst) * int64(cfg.Burst)
			intended = start.Add(time.Duration(float64(slot) * interval))
			if !intended.Before(deadline) {
				return
			}
			if wait := time.Until(intended); wait > 0 {
				timer.Reset(wait)
				select {
				case <-ctx.Done():
					return
				case <-timer.C:
				}
			} else {
				if -wait > lateAfter {
					r.stats.late.Add(1)
				}
				r.stats.noteLag(-wait)
			}
		}
		b := r.pool.bodies[seq%int64(len(r.pool.bodies))]
		req.SetBodyRaw(c.payload(b))

		sent := time.Now()
		if !open {
			intended = sent
		}
		err := r.client.Do(req, resp)
		done := time.Now()

		code := 0
		if err == nil {
			code = resp.StatusCode()
			r.stats.record(c.shard, done.Sub(intended))
		}
		r.stats.status[statusBucket(code, err)].Add(1)
		r.stats.events.Add(int64(b.events))
		r.stats.requests.Add(1)
		if r.rec != nil && err == nil {
			c.recordAcked(b, code, resp.Body())
		}
		if cfg.observe != nil {
			cfg.observe(observation{seq: seq, intended: intended, sent: sent, done: done, status: code})
		}
	}
}

// payload is what is sent for b: the shared prebuilt body, or this connection's copy with fresh
// ids patched in place (fixed width, so nothing is re-encoded), gzipped when asked.
func (c *conn) payload(b *body) []byte {
	cfg := &c.r.cfg
	if !cfg.UniqueIDs {
		if cfg.Gzip {
			return b.gz
		}
		return b.raw
	}
	c.buf = append(c.buf[:0], b.raw...)
	for _, off := range b.idOffs {
		c.ids.put(c.buf[off : off+uuidLen])
	}
	if !cfg.Gzip {
		return c.buf
	}
	out := bytesWriter{b: c.gzbuf[:0]}
	if c.gz == nil {
		c.gz, _ = gzip.NewWriterLevel(&out, gzip.BestSpeed)
	} else {
		c.gz.Reset(&out)
	}
	c.gz.Write(c.buf)
	c.gz.Close()
	c.gzbuf = out.b
	return c.gzbuf
}

type bytesWriter struct{ b []byte }

func (w *bytesWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// recordAcked writes the ids of the events of b (as just sent, in c.buf) that the edge
// acknowledged: all of a 201; the valid ones of a 202 (hasty answers before validating, and an
// invalid event never reaches its stream); a 207's events but those its invalid and error lists
// name. Nothing else is an acknowledgement (a 503 asks for a retry).
func (c *conn) recordAcked(b *body, code int, respBody []byte) {
	var notAcked map[string]bool
	switch code {
	case 201, 202:
	case 207:
		var lists struct {
			Invalid []listed `json:"invalid"`
			Error   []listed `json:"error"`
		}
		if err := json.Unmarshal(respBody, &lists); err != nil {
			// Unreadable: claim nothing rather than claim too much.
			c.r.rec.unreadable.Add(1)
			return
		}
		notAcked = map[string]bool{}
		for _, l := range append(lists.Invalid, lists.Error...) {
			notAcked[l.Event.Meta.ID] = true
		}
	default:
		return
	}
	c.r.rec.mu.Lock()
	defer c.r.rec.mu.Unlock()
	n := int64(0)
	for j, off := range b.idOffs {
		id := c.buf[off : off+uuidLen]
		if code == 202 && !b.valid[j] || notAcked != nil && notAcked[string(id)] {
			continue
		}
		c.r.rec.w.Write(id)
		c.r.rec.w.WriteByte('\n')
		n++
	}
	c.r.stats.recorded.Add(n)
}

// listed is an entry of a 207's invalid or error list, EventGate's shape; only the id matters.
type listed struct {
	Event struct {
		Meta struct {
			ID string `json:"id"`
		} `json:"meta"`
	} `json:"event"`
}

// recorder is the --record file, shared by all connections.
type recorder struct {
	mu         sync.Mutex
	f          *os.File
	w          *bufio.Writer
	unreadable atomic.Int64 // 207 bodies that did not parse: their ids were not recorded
}

func (r *recorder) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.w.Flush()
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cannot write --record file: %w", err)
	}
	if n := r.unreadable.Load(); n > 0 {
		return fmt.Errorf("--record: %d 207 answers had bodies that are not EventGate's {\"invalid\":[...],\"error\":[...]}; their events were not recorded", n)
	}
	return nil
}
