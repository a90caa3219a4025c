package bench

import (
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"intake.dev/intake/internal/edgetest"
	"intake.dev/intake/kafkaout"
)

// BenchmarkEdge is the whole edge in-process: edge.Server serving a fasthttputil in-memory
// listener, driven by a real fasthttp client with 8 requests in flight, over the real schema
// repositories and production stream config with the compiled validator. Everything in this
// process counts: the client, the listener's pipes, the server (routing, body checks, parse,
// contract, validation, serialization, enqueue, acks, response), the drainers and franz-go.
// "discard" is the null producer; "kfake" the embedded broker in a child process (its CPU time is
// reported beside, as broker-ns/event). Hasty requests are measured until their records are out of
// the producer. The baseline is a bare fasthttp handler that reads the body and answers 201, through
// the same listener and client: the ratio says what intake's own work costs.
func BenchmarkEdge(b *testing.B) { runCases(b, edgeCases()) }

const edgeInFlight = 8

type edgeCase struct {
	event    *eventCase
	n        int    // events per body
	gzip     bool   // Content-Encoding: gzip
	producer string // "discard", "kfake", "spool-down-1s", "spool-down-always", or "" for the bare fasthttp baseline
	hasty    bool
}

func edgeCases() []benchCase {
	rc, nt := revisionCreate, navigationTiming
	cs := []edgeCase{
		{event: rc, n: 1},
		{event: rc, n: 1, producer: "discard"},
		{event: rc, n: 1, producer: "discard", hasty: true},
		{event: rc, n: 1, producer: "kfake"},
		{event: rc, n: 1, producer: "kfake", hasty: true},
		{event: rc, n: 1, producer: "spool-down-1s", hasty: true},
		{event: rc, n: 1, producer: "spool-down-always", hasty: true},
		{event: rc, n: 100},
		{event: rc, n: 100, producer: "discard"},
		{event: rc, n: 100, producer: "discard", hasty: true},
		{event: rc, n: 100, producer: "kfake"},
		{event: rc, n: 100, producer: "kfake", hasty: true},
		{event: rc, n: 100, gzip: true, producer: "discard"},
		{event: nt, n: 1},
		{event: nt, n: 1, producer: "discard", hasty: true},
		{event: nt, n: 1, producer: "kfake", hasty: true},
	}
	var cases []benchCase
	for _, c := range cs {
		cases = append(cases, benchCase{name: c.name(), baseline: c.producer == "", fn: func(b *testing.B) { benchEdge(b, c) }})
	}
	return cases
}

func (c edgeCase) name() string {
	body := fmt.Sprintf("%s-x%d", c.event.name, c.n)
	if c.gzip {
		body += "-gzip"
	}
	if c.producer == "" {
		return body + "/baseline"
	}
	mode := "sync"
	if c.hasty {
		mode = "hasty"
	}
	return body + "/" + mode + "/" + c.producer
}

func benchEdge(b *testing.B, c edgeCase) {
	body := c.event.array(b, c.n)
	if c.n == 1 {
		body = c.event.bytes(b)
	}
	if c.gzip {
		body = gzipped(b, body)
	}
	var dial func() (net.Conn, error)
	var prod *kafkaout.Producer
	brokerPID := 0
	want := fasthttp.StatusCreated
	switch c.producer {
	case "":
		ln := fasthttputil.NewInmemoryListener()
		srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
			_ = ctx.PostBody() // the body, read in full by fasthttp before the handler runs
			ctx.SetStatusCode(fasthttp.StatusCreated)
		}}
		go srv.Serve(ln)
		b.Cleanup(func() { srv.Shutdown() })
		dial = ln.Dial
	default:
		// The edge and its producer with the service's defaults, over the shared cache of the real schemas.
		o := edgetest.Options{Cache: cache(b, true), TopicPrefix: "eqiad.", Listener: edgetest.InMemory, Logger: quietLogger}
		fsync, spooling := strings.CutPrefix(c.producer, "spool-down-")
		switch {
		case c.producer == "kfake":
			br := kfakeBroker(b)
			o.Brokers, brokerPID = []string{br.addr}, br.pid
		case spooling:
			// Kafka down (its address refuses connections) with --spool-dir: every hasty event is
			// spooled, with --spool-fsync 1s or always.
			o.Brokers, o.SpoolDir = []string{refusedAddr(b)}, b.TempDir()
			o.Kafka = func(cfg *kafkaout.Config) { cfg.SpoolSync, cfg.DeliveryTimeout = fsync, time.Second }
		default:
			o.Discard = true
		}
		e := edgetest.Start(b, o)
		prod, dial = e.Producer, e.Dial
		if spooling {
			waitDown(b, prod, c.event.record(b))
		}
		if c.hasty {
			want = fasthttp.StatusAccepted
		}
	}
	client := &fasthttp.HostClient{
		Addr:                "intake.bench",
		Dial:                func(string) (net.Conn, error) { return dial() },
		MaxConns:            edgeInFlight,
		MaxIdleConnDuration: time.Minute,
		ReadTimeout:         30 * time.Second,
		WriteTimeout:        30 * time.Second,
	}
	b.Cleanup(client.CloseIdleConnections)

	uri := "http://intake.bench/v1/events"
	if c.hasty {
		uri += "?hasty=true"
	}
	reqs := make([]*fasthttp.Request, edgeInFlight)
	resps := make([]*fasthttp.Response, edgeInFlight)
	for i := range reqs {
		req := fasthttp.AcquireRequest()
		req.SetRequestURI(uri)
		req.Header.SetMethod(fasthttp.MethodPost)
		req.Header.SetContentType(c.event.contentType)
		req.Header.Set("X-Request-Id", "5f1c5b2e-0000-4000-8000-000000000001")
		req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
		if c.gzip {
			req.Header.Set("Content-Encoding", "gzip")
		}
		req.SetBody(body)
		reqs[i], resps[i] = req, fasthttp.AcquireResponse()
	}

	var errs firstError
	var retries atomic.Int64
	crew := newCrew(b, edgeInFlight, func(w int) {
		req, resp := reqs[w], resps[w]
		for {
			if err := client.Do(req, resp); err != nil {
				errs.set(err)
				return
			}
			switch code := resp.StatusCode(); {
			case code == want:
				return
			case code == fasthttp.StatusServiceUnavailable:
				// The rings are full (hasty outran Kafka): back off as a client told Retry-After would.
				retries.Add(1)
				time.Sleep(time.Millisecond)
			default:
				errs.set(fmt.Errorf("status %d, want %d: %s", code, want, resp.Body()))
				return
			}
		}
	})
	drain := func() {
		if prod != nil {
			waitDrained(b, prod)
		}
	}
	warm(b, 20, 300*time.Millisecond, crew.round)
	if c.hasty && c.producer == "discard" {
		fillFreeList(b, prod, c.event.record(b))
		warm(b, 20, 0, crew.round)
	}
	drain()
	errs.check(b)
	retries.Store(0)

	b.ReportAllocs()
	b.SetBytes(int64(len(body) * edgeInFlight))
	m := startMeter(brokerPID)
	n := 0
	for b.Loop() {
		crew.round()
		n++
	}
	drain()
	m.report(b, n*edgeInFlight*c.n)
	errs.check(b)
	b.ReportMetric(float64(retries.Load())/float64(n*edgeInFlight), "503s/req")
}
