package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fastjson"

	"intake.dev/intake/fastpath"
	"intake.dev/intake/internal/edgetest"
	"intake.dev/intake/kafkaout"
	"intake.dev/intake/schemacache"
)

var withBaselines = flag.Bool("baselines", true,
	"run the baselines (encoding/json, kaptinlin, bare fasthttp, stdlib gzip, net/http); benchcheck -allocs-only turns them off")

var noGC = flag.Bool("nogc", false,
	"turn the garbage collector off (benchcheck -allocs-only): a GC empties the sync.Pools the edge's "+
		"per-request state lives in, and their refills would count as allocations of whichever line ran then")

var quietLogger = slog.New(slog.DiscardHandler)

func TestMain(m *testing.M) {
	if os.Getenv(brokerProcessEnv) == "1" {
		serveBrokerProcess()
		return
	}
	flag.Parse()
	if *noGC {
		debug.SetGCPercent(-1)
	}
	code := m.Run()
	cleanupsMu.Lock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	cleanupsMu.Unlock()
	os.Exit(code)
}

// Fixtures shared by the benchmarks of one test binary live until it exits: caches, the broker.
var (
	cleanupsMu sync.Mutex
	cleanups   []func()
)

func atExit(f func()) {
	cleanupsMu.Lock()
	cleanups = append(cleanups, f)
	cleanupsMu.Unlock()
}

// fixture builds a value once per test binary.
type fixture[T any] struct {
	once sync.Once
	v    T
	err  error
}

func (f *fixture[T]) get(tb testing.TB, build func() (T, error)) T {
	tb.Helper()
	f.once.Do(func() { f.v, f.err = build() })
	if f.err != nil {
		tb.Fatal(f.err)
	}
	return f.v
}

// The benchmark registry: every group is a Benchmark<Group> function running its cases, and every
// case has a line in the budget file (TestBudgetNamesTheSuite).
type benchCase struct {
	name     string
	baseline bool // measured for comparison: encoding/json, kaptinlin, bare fasthttp...
	fn       func(b *testing.B)
}

var groups = map[string]func() []benchCase{
	"Decode":    decodeCases,
	"Parse":     parseCases,
	"Process":   processCases,
	"Validate":  validateCases,
	"Serialize": serializeCases,
	"Ring":      ringCases,
	"Spool":     spoolCases,
	"Produce":   produceCases,
	"Edge":      edgeCases,
	"Compress":  compressCases,
}

func runCases(b *testing.B, cases []benchCase) {
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if c.baseline && !*withBaselines {
				b.Skip("baselines off (-baselines=false)")
			}
			c.fn(b)
		})
	}
}

// eventCase is a real example event of ../shared/data, as its producer would send it.
type eventCase struct {
	name  string     // in benchmark names
	file  string     // under examples/
	strip [][]string // fields the producer leaves to intake's enrichment
	// contentType is how its producer posts it (browsers' sendBeacon: text/plain).
	contentType string

	raw       fixture[[]byte]
	processed fixture[produced]
}

// produced is what Process made of an event: the record the edge hands to kafkaout.
type produced struct {
	topic      string
	key, value []byte
}

var (
	// revisionCreate is MediaWiki's revision-create (958 bytes), from a backend service.
	revisionCreate = &eventCase{name: "revision-create", file: "mediawiki.revision.create/2.0.0.json",
		contentType: "application/json"}
	// navigationTiming is a legacy EventLogging event (about 240 bytes as a browser sends it: with
	// client_dt; dt, meta.dt and meta.id are intake's to fill in).
	navigationTiming = &eventCase{name: "navigationtiming", file: "analytics.legacy.navigationtiming/1.7.0.json",
		strip: [][]string{{"dt"}, {"meta", "dt"}, {"meta", "id"}}, contentType: "text/plain;charset=UTF-8"}

	eventCases = []*eventCase{revisionCreate, navigationTiming}
)

// bytes returns the event as compact JSON, keys in the example's order.
func (e *eventCase) bytes(tb testing.TB) []byte {
	return e.raw.get(tb, func() ([]byte, error) {
		data, err := os.ReadFile(edgetest.SharedData("examples", e.file))
		if err != nil {
			return nil, fmt.Errorf("cannot read the example events (../shared/data beside the project): %w", err)
		}
		var all []json.RawMessage
		if err := json.Unmarshal(data, &all); err != nil || len(all) == 0 {
			return nil, fmt.Errorf("%s: no example event: %v", e.file, err)
		}
		var p fastjson.Parser
		v, err := p.ParseBytes(all[0])
		if err != nil {
			return nil, err
		}
		for _, path := range e.strip {
			parent := v
			if len(path) > 1 {
				parent = v.Get(path[:len(path)-1]...)
			}
			parent.Del(path[len(path)-1])
		}
		return fastpath.AppendJSON(nil, v), nil
	})
}

// array returns a JSON array of n copies of the event: a batch body.
func (e *eventCase) array(tb testing.TB, n int) []byte {
	ev := e.bytes(tb)
	body := make([]byte, 0, n*(len(ev)+1)+1)
	body = append(body, '[')
	for i := range n {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, ev...)
	}
	return append(body, ']')
}

// produced returns the event after the whole contract with the real validator: enriched,
// defaults filled, serialized, as produced to Kafka.
func (e *eventCase) record(tb testing.TB) produced {
	return e.processed.get(tb, func() (produced, error) {
		r, _, err := e.process(tb, false)
		if err != nil {
			return produced{}, err
		}
		spliced, _, err := e.process(tb, true)
		if err != nil {
			return produced{}, err
		}
		// The edge's spliced value is the tree's, apart from meta.id and the time.
		if a, b := withoutFresh(tb, r.value), withoutFresh(tb, spliced.value); !bytes.Equal(a, b) {
			return produced{}, fmt.Errorf("%s: the spliced value differs from AppendJSON's:\n%s\n%s", e.name, b, a)
		}
		return r, nil
	})
}

// processedTree is the event parsed and taken through Process: enriched, defaults filled.
func (e *eventCase) processedTree(tb testing.TB) *fastjson.Value {
	_, v, err := e.process(tb, true)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// process takes the event through the whole contract with the real validator, with its bytes
// as received (Request.Raw: the value spliced) or without (the tree written).
func (e *eventCase) process(tb testing.TB, withRaw bool) (produced, *fastjson.Value, error) {
	c := compiledCache.get(tb, func() (*schemacache.Cache, error) { return newCache(false) })
	var p fastjson.Parser
	v, err := p.ParseBytes(e.bytes(tb))
	if err != nil {
		return produced{}, nil, err
	}
	req := fastpath.AcquireRequest()
	defer fastpath.ReleaseRequest(req)
	hdr := requestHeaders()
	req.Start(time.Now(), hdr.Peek("X-Request-Id"), hdr)
	if withRaw {
		req.Raw = e.bytes(tb)
	}
	o := fastpath.DefaultOptions()
	var r fastpath.Result
	fastpath.Process(c.Current(), &o, v, req, &r)
	if r.Outcome != fastpath.Accepted {
		return produced{}, nil, fmt.Errorf("%s: not accepted: %s", e.name, r.Errors.Text())
	}
	return produced{topic: r.Topic, key: bytes.Clone(r.Key), value: bytes.Clone(r.Value)}, v, nil
}

// withoutFresh is value as compact JSON in encoding/json's key order, without what differs
// between two runs of Process: meta.id, meta.dt, dt.
func withoutFresh(tb testing.TB, value []byte) []byte {
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(value))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		tb.Fatal(err)
	}
	if meta, ok := m["meta"].(map[string]any); ok {
		delete(meta, "id")
		delete(meta, "dt")
	}
	delete(m, "dt")
	out, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// requestHeaders are the headers a producer sends, for enrich_fields_from_http_headers.
func requestHeaders() *fasthttp.RequestHeader {
	var h fasthttp.RequestHeader
	h.Set("X-Request-Id", "5f1c5b2e-0000-4000-8000-000000000001")
	h.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
	return &h
}

// The schema caches of the real repositories and production stream config: one validating with
// the compiled programs, one with the compiled no-op (everything but validation).
var compiledCache, noValidateCache fixture[*schemacache.Cache]

func newCache(noValidation bool) (*schemacache.Cache, error) {
	o := edgetest.RealData()
	o.NoValidation = noValidation
	o.Logger = quietLogger
	c, err := schemacache.New(edgetest.CacheConfig(o))
	if err != nil {
		return nil, err
	}
	atExit(c.Close)
	return c, nil
}

func cache(tb testing.TB, validate bool) *schemacache.Cache {
	if validate {
		return compiledCache.get(tb, func() (*schemacache.Cache, error) { return newCache(false) })
	}
	return noValidateCache.get(tb, func() (*schemacache.Cache, error) { return newCache(true) })
}

// meter measures what a benchmark costs per event: the process's CPU time (user + system, every
// thread: drainers, franz-go, GC, the in-process client and server all count), heap allocations
// (runtime.MemStats.Mallocs, as -benchmem counts them, but as a fraction per event), and wall time.
// CPU time, not wall time, is the per-core cost: it stays right when a benchmark keeps both cores
// busy, waits on a broker, or shares the machine.
type meter struct {
	running   bool
	cpu, wall time.Duration
	mallocs   uint64

	startCPU  time.Duration
	startWall time.Time
	startMal  uint64

	brokerPID                  int
	brokerStart, brokerCPUUsed time.Duration
}

// startMeter starts measuring; brokerPID, when not 0, is a broker process whose CPU time is
// reported beside (broker-ns/event).
func startMeter(brokerPID int) *meter {
	m := &meter{brokerPID: brokerPID}
	m.start()
	return m
}

func (m *meter) start() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.startMal = ms.Mallocs
	if m.brokerPID != 0 {
		m.brokerStart = processCPU(m.brokerPID)
	}
	m.startWall = time.Now()
	m.startCPU = selfCPU()
	m.running = true
}

func (m *meter) stop() {
	if !m.running {
		return
	}
	m.cpu += selfCPU() - m.startCPU
	m.wall += time.Since(m.startWall)
	if m.brokerPID != 0 {
		m.brokerCPUUsed += processCPU(m.brokerPID) - m.brokerStart
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.mallocs += ms.Mallocs - m.startMal
	m.running = false
}

// pause runs f outside the measurement (and outside the benchmark's timer).
func (m *meter) pause(b *testing.B, f func()) {
	m.stop()
	b.StopTimer()
	f()
	b.StartTimer()
	m.start()
}

// report stops the meter and reports ns/event, events/s and allocs/event for events events.
func (m *meter) report(b *testing.B, events int) {
	m.stop()
	if events <= 0 {
		b.Fatal("BUG: no events measured")
	}
	n := float64(events)
	b.ReportMetric(float64(m.cpu.Nanoseconds())/n, "ns/event")
	b.ReportMetric(float64(m.mallocs)/n, "allocs/event")
	b.ReportMetric(n/m.wall.Seconds(), "events/s")
	if m.brokerPID != 0 {
		b.ReportMetric(float64(m.brokerCPUUsed.Nanoseconds())/n, "broker-ns/event")
	}
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic("BUG: getrusage: " + err.Error())
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// processCPU is another process's CPU time from /proc (clock ticks: 10ms resolution, fine over
// a benchmark's second); 0 when it cannot be read.
func processCPU(pid int) time.Duration {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticksPerSecond
}

// warm runs op n times, and for at least d, before measuring: pools, lazily loaded schemas, topic
// metadata, and the free lists that grow to the high-water mark of records in flight. It collects
// the set-up's garbage first, so that no GC empties the pools during the measurement (the valid
// path allocates next to nothing, so none is due before the next benchmark).
func warm(b *testing.B, n int, d time.Duration, op func()) {
	b.Helper()
	runtime.GC()
	start := time.Now()
	for i := 0; i < n || time.Since(start) < d; i++ {
		op()
	}
}

// crew runs a round of work on k long-lived goroutines and waits for all of them: k requests or
// batches in flight, as on a busy edge, without RunParallel's per-run goroutines (which would
// count as allocations).
type crew struct {
	start []chan struct{}
	done  sync.WaitGroup
	stop  chan struct{}
}

func newCrew(b *testing.B, k int, work func(worker int)) *crew {
	c := &crew{start: make([]chan struct{}, k), stop: make(chan struct{})}
	for i := range k {
		c.start[i] = make(chan struct{}, 1)
		go func() {
			for {
				select {
				case <-c.start[i]:
					work(i)
					c.done.Done()
				case <-c.stop:
					return
				}
			}
		}()
	}
	b.Cleanup(func() { close(c.stop) })
	return c
}

// round has every worker do its work once.
func (c *crew) round() {
	c.done.Add(len(c.start))
	for _, s := range c.start {
		s <- struct{}{}
	}
	c.done.Wait()
}

// The Kafka broker of the kfake benchmarks is kafkaout's embedded broker (franz-go's kfake) in a
// child process, as a real Kafka would be: its CPU time and allocations do not count as intake's
// (its CPU time is reported beside, as broker-ns/event); franz-go's, in this process, do.
const brokerProcessEnv = "INTAKE_BENCH_BROKER_PROCESS"

type brokerProcess struct {
	addr string
	pid  int
}

var broker fixture[brokerProcess]

func kfakeBroker(tb testing.TB) brokerProcess {
	return broker.get(tb, func() (brokerProcess, error) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), brokerProcessEnv+"=1")
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return brokerProcess{}, err
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return brokerProcess{}, err
		}
		if err := cmd.Start(); err != nil {
			return brokerProcess{}, fmt.Errorf("cannot start the broker process: %w", err)
		}
		atExit(func() {
			stdin.Close() // the child exits when its stdin ends
			cmd.Wait()
		})
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "broker "); ok {
				go io.Copy(io.Discard, stdout)
				return brokerProcess{addr: addr, pid: cmd.Process.Pid}, nil
			}
		}
		return brokerProcess{}, fmt.Errorf("the broker process did not print its address")
	})
}

func serveBrokerProcess() {
	e, err := kafkaout.StartEmbedded(kafkaout.EmbeddedConfig{Addr: "127.0.0.1:0", Logger: quietLogger})
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot start the embedded broker:", err)
		os.Exit(1)
	}
	fmt.Printf("broker %s\n", e.Addrs()[0])
	io.Copy(io.Discard, os.Stdin)
	e.Close()
}
