package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"intake.dev/intake/loadtest/gen"
)

func main() {
	bin := flag.String("bin", "bin", "directory with intake and baseline binaries")
	duration := flag.Duration("duration", 10*time.Second, "length of each measured run")
	sweep := flag.Bool("sweep", false, "sweep --kafka-shards x --kafka-clients instead of comparing with the baseline")
	jsonOut := flag.Bool("json", false, "print the results as JSON")
	edgeArgs := flag.String("edge-args", "", "extra intake serve flags for the edge, space-separated (e.g. \"--kafka-compression lz4\")")
	only := flag.String("workloads", "", "comma-separated workload numbers to run (1 single sync, 2 single hasty, 3 batches); empty: all")
	evs := flag.String("events", "revision-create,navigationtiming,mix", "comma-separated event sources: "+strings.Join(sourceNames(), ", "))
	data := flag.String("data", "../shared/data", "the shared data directory: real schema repositories, production stream config, examples")
	conns := flag.String("connections", "", "comma-separated connection counts: each workload runs once per count instead of at its own (e.g. 32,64,128,256,512)")
	rates := flag.String("open-loop", "", "comma-separated fractions of each workload's closed-loop peak (the edge's req/s): after it, both servers run open loop at each rate, for latency at a load (e.g. 0.1,0.5)")
	flag.StringVar(&profileDir, "profile", "", "directory to write a CPU profile of the edge for each measured run (<events>-<workload number>.pprof)")
	flag.Parse()
	extraEdgeArgs = strings.Fields(*edgeArgs)
	dataDir = *data
	for _, name := range strings.Split(*evs, ",") {
		src, ok := sourceByName(strings.TrimSpace(name))
		if !ok {
			fmt.Fprintf(os.Stderr, "compare: -events: %q is not one of %s\n", name, strings.Join(sourceNames(), ", "))
			os.Exit(2)
		}
		sources = append(sources, src)
	}
	if *only != "" {
		var keep []workload
		for _, f := range strings.Split(*only, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 || n > len(workloads) {
				fmt.Fprintf(os.Stderr, "compare: -workloads: %q is not a workload number 1-%d\n", f, len(workloads))
				os.Exit(2)
			}
			keep = append(keep, workloads[n-1])
		}
		workloads = keep
	}
	if *conns != "" {
		var out []workload
		for _, w := range workloads {
			for _, f := range strings.Split(*conns, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(f))
				if err != nil || n < 1 {
					fmt.Fprintf(os.Stderr, "compare: -connections: %q is not a count\n", f)
					os.Exit(2)
				}
				c := w
				c.Connections = n
				c.Name = fmt.Sprintf("%s, %d conns", w.Name, n)
				out = append(out, c)
			}
		}
		workloads = out
	}
	if *rates != "" {
		for _, f := range strings.Split(*rates, ",") {
			x, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || x <= 0 || x > 1 {
				fmt.Fprintf(os.Stderr, "compare: -open-loop: %q is not a fraction in (0, 1]\n", f)
				os.Exit(2)
			}
			openLoop = append(openLoop, x)
		}
	}
	var err error
	if *sweep {
		err = runSweep(*bin, *duration, *jsonOut)
	} else {
		err = runCompare(*bin, *duration, *jsonOut)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

const (
	edgeAddr     = "127.0.0.1:18192"
	baselineAddr = "127.0.0.1:18193"
	brokerAddr   = "127.0.0.1:19092"
	debugAddr    = "127.0.0.1:18194" // the edge's --debug-listen with -profile
)

// workload is one load shape, run against each server.
type workload struct {
	Name        string
	Batch       int
	Hasty       bool
	Connections int     // closed loop; open loop: most requests in flight
	Rate        float64 // requests/s: open loop; 0 closed
}

// openLoop are the -open-loop fractions of a workload's closed-loop peak.
var openLoop []float64

// openLoopInFlight bounds an open-loop run's requests in flight: far above what either server
// holds at the rates run, so the load generator does not cap the latency it measures.
const openLoopInFlight = 2048

var workloads = []workload{
	{"single event, sync", 1, false, 64, 0},
	{"single event, hasty", 1, true, 64, 0},
	{"100-event batches, sync", 100, false, 16, 0},
}

// result is one workload against one server.
type result struct {
	Events         string  `json:"events"`
	Workload       string  `json:"workload"`
	Server         string  `json:"server"`
	RequestsPerSec float64 `json:"requests_per_second"`
	EventsPerSec   float64 `json:"events_per_second"`
	ServerCores    float64 `json:"server_cores"` // CPU seconds per wall second
	EventsPerCore  float64 `json:"events_per_second_per_core"`
	BrokerCores    float64 `json:"broker_cores,omitempty"`
	// The edge's produce requests to Kafka per second, and records per produce request.
	ProduceReqs      float64 `json:"produce_requests_per_second,omitempty"`
	RecordsPerReq    float64 `json:"records_per_produce_request,omitempty"`
	BrokerCoreMicros float64 `json:"broker_cpu_us_per_event,omitempty"`
	P50ms            float64 `json:"p50_ms"`
	P99ms            float64 `json:"p99_ms"`
	Errors           int64   `json:"non_2xx"`
}

func runCompare(bin string, d time.Duration, jsonOut bool) error {
	broker, err := start(bin+"/intake", "broker", "--addr", brokerAddr)
	if err != nil {
		return err
	}
	defer broker.stop()
	base, err := start(bin+"/baseline", "--listen", baselineAddr)
	if err != nil {
		return err
	}
	defer base.stop()
	if err := waitHTTP("http://" + baselineAddr + "/"); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "intake-compare-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	var results []result
	var edge *proc
	edgeReal := false
	defer func() {
		if edge != nil {
			edge.stop()
		}
	}()
	for _, src := range sources {
		if edge == nil || edgeReal != src.Real {
			if edge != nil {
				edge.stop()
			}
			if edge, err = startEdge(bin, src.Real, nil); err != nil {
				return err
			}
			edgeReal = src.Real
		}
		// pair runs w against the edge, then the baseline with the same settings: one run, one
		// ratio. It returns the edge's result.
		pair := func(w workload) (result, error) {
			re, err := measure(w, src, dir, "edge", "http://"+edgeAddr+"/v1/events", edge, broker, d)
			if err != nil {
				return re, err
			}
			rb, err := measure(w, src, dir, "baseline", "http://"+baselineAddr+"/v1/events", base, nil, d)
			if err != nil {
				return re, err
			}
			results = append(results, re, rb)
			return re, nil
		}
		for _, w := range workloads {
			re, err := pair(w)
			if err != nil {
				return err
			}
			for _, f := range openLoop {
				// The same rate for both: the edge's latency beside the bare server's.
				ow := w
				ow.Rate = f * re.RequestsPerSec
				ow.Connections = openLoopInFlight
				ow.Name = fmt.Sprintf("%s, %.0f%% open", w.Name, 100*f)
				if _, err := pair(ow); err != nil {
					return err
				}
			}
		}
	}
	if jsonOut {
		return json.NewEncoder(os.Stdout).Encode(results)
	}
	fmt.Printf("%-16s %-32s %-9s %10s %11s %7s %13s %7s %8s %8s %6s %9s %7s %9s\n",
		"events", "workload", "server", "req/s", "events/s", "cores", "events/s/core", "broker", "p50 ms", "p99 ms", "non2xx",
		"kafka r/s", "rec/req", "broker us")
	for i, r := range results {
		broker := ""
		if r.BrokerCores > 0 {
			broker = fmt.Sprintf("%.2f", r.BrokerCores)
		}
		kafka := ""
		if r.ProduceReqs > 0 {
			kafka = fmt.Sprintf("%9.0f %7.1f %9.2f", r.ProduceReqs, r.RecordsPerReq, r.BrokerCoreMicros)
		}
		fmt.Printf("%-16s %-32s %-9s %10.0f %11.0f %7.2f %13.0f %7s %8.2f %8.2f %6d %s\n",
			r.Events, r.Workload, r.Server, r.RequestsPerSec, r.EventsPerSec, r.ServerCores, r.EventsPerCore, broker, r.P50ms, r.P99ms, r.Errors, kafka)
		if i%2 == 1 {
			e := results[i-1]
			fmt.Printf("%-16s %-32s %-9s %9.0f%% %10.0f%% %7s %12.0f%%\n", "", "", "edge/base",
				100*e.RequestsPerSec/r.RequestsPerSec, 100*e.EventsPerSec/r.EventsPerSec, "",
				100*e.EventsPerCore/r.EventsPerCore)
		}
	}
	return nil
}

func runSweep(bin string, d time.Duration, jsonOut bool) error {
	broker, err := start(bin+"/intake", "broker", "--addr", brokerAddr, "--partitions", "4")
	if err != nil {
		return err
	}
	defer broker.stop()
	w := workload{"100-event batches, sync", 100, false, 16, 0}
	src := sources[0]
	dir, err := os.MkdirTemp("", "intake-compare-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	type row struct {
		Shards  int `json:"shards"`
		Clients int `json:"clients"`
		result
	}
	var rows []row
	for _, shards := range []int{1, 2, 4, 8} {
		for _, clients := range []int{1, 2, 4} {
			if clients > shards {
				continue
			}
			edge, err := startEdge(bin, src.Real, []string{"--kafka-shards", strconv.Itoa(shards), "--kafka-clients", strconv.Itoa(clients)})
			if err != nil {
				return err
			}
			r, err := measure(w, src, dir, "edge", "http://"+edgeAddr+"/v1/events", edge, broker, d)
			edge.stop()
			if err != nil {
				return err
			}
			rows = append(rows, row{shards, clients, r})
		}
	}
	if jsonOut {
		return json.NewEncoder(os.Stdout).Encode(rows)
	}
	best := 0
	fmt.Printf("%s, %s, %d connections, %s each\n", src.Name, w.Name, w.Connections, d)
	fmt.Printf("%6s %7s %11s %7s %13s %8s\n", "shards", "clients", "events/s", "cores", "events/s/core", "p99 ms")
	for i, r := range rows {
		fmt.Printf("%6d %7d %11.0f %7.2f %13.0f %8.2f\n", r.Shards, r.Clients, r.EventsPerSec, r.ServerCores, r.EventsPerCore, r.P99ms)
		if r.EventsPerCore > rows[best].EventsPerCore {
			best = i
		}
	}
	b := rows[best]
	fmt.Printf("most events/s per core: --kafka-shards %d --kafka-clients %d (%.0f events/s/core, p99 %.2f ms)\n",
		b.Shards, b.Clients, b.EventsPerCore, b.P99ms)
	return nil
}

// measure runs w against url for d after a short warm-up, timing srv's (and broker's) CPU.
func measure(w workload, src source, dir, server, url string, srv, broker *proc, d time.Duration) (result, error) {
	cfg := gen.Defaults()
	if err := src.apply(&cfg, dir); err != nil {
		return result{}, err
	}
	cfg.URL = url
	cfg.Batch = w.Batch
	cfg.Hasty = w.Hasty
	cfg.Connections = w.Connections
	cfg.Rate = w.Rate
	cfg.Quiet = true
	run := func(d time.Duration) (*gen.Report, error) {
		cfg.Duration = d
		r, err := gen.New(cfg)
		if err != nil {
			return nil, err
		}
		return r.Run(context.Background(), io.Discard, false)
	}
	if _, err := run(d / 5); err != nil { // warm-up: connections, pools, topic metadata
		return result{}, err
	}
	cpu0, err := srv.cpu()
	if err != nil {
		return result{}, err
	}
	var bcpu0 time.Duration
	if broker != nil {
		if bcpu0, err = broker.cpu(); err != nil {
			return result{}, err
		}
	}
	var profiled chan error
	if profileDir != "" && server == "edge" {
		profiled = make(chan error, 1)
		go func() { profiled <- profileEdge(profilePath(src, w), d) }()
	}
	var reqs0, recs0 float64
	if server == "edge" {
		reqs0, recs0 = produceCounters(url)
	}
	start := time.Now()
	rep, err := run(d)
	if profiled != nil {
		if perr := <-profiled; perr != nil && err == nil {
			err = perr
		}
	}
	if err != nil {
		return result{}, err
	}
	wall := time.Since(start).Seconds()
	cpu1, err := srv.cpu()
	if err != nil {
		return result{}, err
	}
	res := result{
		Events:         src.Name,
		Workload:       w.Name,
		Server:         server,
		RequestsPerSec: rep.RequestsPerSecond,
		EventsPerSec:   rep.EventsPerSecond,
		ServerCores:    (cpu1 - cpu0).Seconds() / wall,
		P50ms:          rep.Latency.P50,
		P99ms:          rep.Latency.P99,
	}
	for code, n := range rep.Status {
		if !strings.HasPrefix(code, "2") {
			res.Errors += n
		}
	}
	if res.ServerCores > 0 {
		res.EventsPerCore = res.EventsPerSec / res.ServerCores
	}
	if broker != nil {
		bcpu1, err := broker.cpu()
		if err != nil {
			return result{}, err
		}
		res.BrokerCores = (bcpu1 - bcpu0).Seconds() / wall
		if res.EventsPerSec > 0 {
			res.BrokerCoreMicros = 1e6 * res.BrokerCores / res.EventsPerSec
		}
	}
	if server == "edge" {
		reqs1, recs1 := produceCounters(url)
		if reqs1 > reqs0 {
			res.ProduceReqs = (reqs1 - reqs0) / wall
			res.RecordsPerReq = (recs1 - recs0) / (reqs1 - reqs0)
		}
	}
	return res, nil
}

// extraEdgeArgs are -edge-args, given to every edge started.
var extraEdgeArgs []string

func startEdge(bin string, real bool, extra []string) (*proc, error) {
	args := []string{"serve", "--listen", edgeAddr, "--kafka-brokers", brokerAddr, "--log-level", "warn"}
	if profileDir != "" {
		args = append(args, "--debug-listen", debugAddr)
	}
	if real {
		args = append(args, realEdgeArgs()...)
	} else {
		args = append(args, "--config", "examples/config.yaml")
	}
	args = append(args, extraEdgeArgs...)
	args = append(args, extra...)
	p, err := start(bin+"/intake", args...)
	if err != nil {
		return nil, err
	}
	if err := waitHTTP("http://" + edgeAddr + "/readyz"); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// proc is a server process started for the run.
type proc struct {
	cmd  *exec.Cmd
	name string
}

func start(name string, args ...string) (*proc, error) {
	cmd := exec.Command(name, args...)
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start %s (run make build first): %w", name, err)
	}
	return &proc{cmd: cmd, name: name}, nil
}

func (p *proc) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// clockTick is the unit of /proc/<pid>/stat's CPU times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// cpu is the process's user + system CPU time so far, from /proc/<pid>/stat.
func (p *proc) cpu() (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("cannot read the CPU time of %s: %w", p.name, err)
	}
	// The command name (field 2) may hold spaces; the fields after it are fixed.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("unexpected /proc stat format")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, errors.New("unexpected /proc stat format")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, errors.New("unexpected /proc stat format")
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// waitHTTP waits until url answers at all (any status), for at most 20 seconds.
func waitHTTP(url string) error {
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := c.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, bufio.NewReader(resp.Body))
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer within 20s", url)
}

// profileDir is -profile: where the edge's CPU profiles go ("": none taken).
var profileDir string

func profilePath(src source, w workload) string {
	n := 0
	for i := range workloads {
		if workloads[i] == w {
			n = i + 1
		}
	}
	return filepath.Join(profileDir, fmt.Sprintf("%s-%d.pprof", src.Name, n))
}

// profileEdge writes a CPU profile of the edge over d (its /debug/pprof/profile) to path.
func profileEdge(path string, d time.Duration) error {
	secs := max(1, int(d.Round(time.Second)/time.Second))
	c := &http.Client{Timeout: d + 30*time.Second}
	resp, err := c.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", debugAddr, secs))
	if err != nil {
		return fmt.Errorf("cannot profile the edge: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("cannot profile the edge: %s", resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// produceCounters reads the edge's intake_kafka_produce_requests_total and acknowledged records
// from its /metrics (eventsURL is its /v1/events); zeros when it cannot.
func produceCounters(eventsURL string) (requests, records float64) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(strings.TrimSuffix(eventsURL, "/v1/events") + "/metrics")
	if err != nil {
		return 0, 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		switch name {
		case "intake_kafka_produce_requests_total":
			requests, _ = strconv.ParseFloat(value, 64)
		case `intake_kafka_records_total{outcome="acked"}`:
			records, _ = strconv.ParseFloat(value, 64)
		}
	}
	return requests, records
}
