package kafka

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"intake.dev/intake/internal/edgetest"
	"intake.dev/intake/loadtest/gen"
)

// The fault scenarios: load from loadtest/gen (sync, open loop at 200 requests/s of 10-event
// batches, a tenth of the events invalid, every event with its own meta.id, the ids of acknowledged events recorded), a fault in
// the middle, then every topic read back. Each reports accepted (ids acknowledged with 201/207),
// found (of those, read back), lost, duplicated (read back more than once), and unacked-found
// (events answered 503 or cut off that still reached Kafka, which a client retry would
// duplicate). The promise held in every one: lost = 0. The generator never retries, so duplicated
// must be 0 too. INTAKE_FAULTS_REPORT names a file the result lines are appended to.

// deliveryTimeout is the edge's --kafka-delivery-timeout in the scenarios: short, so a fault is
// felt within the run.
const deliveryTimeout = 3 * time.Second

// loadRun is one generator run in the background.
type loadRun struct {
	record string
	done   chan struct{}
	rep    *gen.Report
	err    error
}

// hastyStream is where hasty loads send (a stream of the examples' regex), apart from the sync
// load's example.click, so that each is counted against its own topic.
const hastyStream = "example.click.hasty"

func startLoad(t *testing.T, url string, d time.Duration, hasty bool) *loadRun {
	t.Helper()
	rate := 200
	if hasty {
		rate = 100
	}
	return startLoadRate(t, url, d, hasty, rate)
}

// startLoadRate is startLoad at rate requests/s.
func startLoadRate(t *testing.T, url string, d time.Duration, hasty bool, rate int) *loadRun {
	t.Helper()
	cfg := gen.Defaults()
	cfg.URL = url + "/v1/events"
	// Open loop at a fixed rate, as clients arrive: a closed loop would spin on the immediate 503s
	// of a fault and starve the edge and the brokers of CPU on a small machine.
	cfg.Rate = float64(rate)
	// Room for every request in flight (a sync one waits up to the delivery timeout and its 1 s
	// margin: 200/s x 4 s), so latencies are the edge's, not the generator's queue.
	cfg.Connections = 1000
	cfg.Batch = 10
	cfg.Hasty = hasty
	if hasty {
		cfg.Stream = hastyStream
	}
	cfg.InvalidRatio = 0.1
	cfg.Duration = d
	cfg.Timeout = 20 * time.Second // well past the delivery timeout: a hung request shows as a timeout
	cfg.Quiet = true
	name := "acked-sync"
	if hasty {
		name = "acked-hasty"
	}
	cfg.Record = filepath.Join(t.TempDir(), name)
	r, err := gen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l := &loadRun{record: cfg.Record, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		l.rep, l.err = r.Run(context.Background(), nil, false)
	}()
	return l
}

func (l *loadRun) wait(t *testing.T) *gen.Report {
	t.Helper()
	<-l.done
	if l.err != nil {
		t.Fatal(l.err)
	}
	return l.rep
}

// ids reads a --record file.
func (l *loadRun) ids(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(l.record)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ids []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		ids = append(ids, s.Text())
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// tally compares acknowledged ids with the meta.ids read back from topic.
type tally struct {
	Accepted, Found, Lost, Duplicated, UnackedFound int
	// inMemory: records the edge held in memory for Kafka when it was killed (scenario 7): the
	// most events a kill may lose (README "Spool").
	inMemory int64
}

func (c tally) String() string {
	return fmt.Sprintf("accepted %d, found %d, lost %d, duplicated %d, unacked-found %d",
		c.Accepted, c.Found, c.Lost, c.Duplicated, c.UnackedFound)
}

func count(t *testing.T, acked []string, topic string) tally {
	t.Helper()
	recs := consume(t, len(acked), 90*time.Second, topic)
	seen := make(map[string]int, len(recs))
	for _, r := range recs {
		id, _ := edgetest.Field(edgetest.MustJSON(t, r.Value), "meta.id").(string)
		seen[id]++
	}
	c := tally{Accepted: len(acked)}
	isAcked := make(map[string]bool, len(acked))
	for _, id := range acked {
		isAcked[id] = true
		switch n := seen[id]; {
		case n == 0:
			c.Lost++
		case n > 1:
			c.Found++
			c.Duplicated++
		default:
			c.Found++
		}
	}
	for id, n := range seen {
		if !isAcked[id] {
			c.UnackedFound += n
		}
	}
	return c
}

// report logs a scenario's line, appends it to INTAKE_FAULTS_REPORT, and holds the promise.
func report(t *testing.T, scenario string, c tally, rep *gen.Report, notes ...string) {
	t.Helper()
	line := fmt.Sprintf("%-34s %s; requests %d, status %s, p99 %.1f ms, max %.1f ms",
		scenario+":", c, rep.Requests, statusLine(rep.Status), rep.Latency.P99, rep.Latency.Max)
	if len(notes) > 0 {
		line += "; " + strings.Join(notes, "; ")
	}
	t.Log(line)
	appendReport(line)
	if c.Accepted == 0 {
		t.Fatal("no event was acknowledged: the scenario proves nothing")
	}
	if c.Lost != 0 {
		t.Errorf("%d acknowledged events are not in Kafka", c.Lost)
	}
	if c.Duplicated != 0 {
		t.Errorf("%d acknowledged events are in Kafka more than once, and the generator never retries", c.Duplicated)
	}
	if n := rep.Status["5xx"] + rep.Status["other"]; n > 0 {
		t.Errorf("%d answers were 5xx other than 503, or unexpected codes: a fault must be a 503 (retry) or a success", n)
	}
	if n := rep.Status["timeouts"]; n > 0 {
		t.Errorf("%d requests hung past the client's 20s timeout (the delivery timeout is %s)", n, deliveryTimeout)
	}
}

// appendReport appends a result line to INTAKE_FAULTS_REPORT, if set.
func appendReport(line string) {
	if path := os.Getenv("INTAKE_FAULTS_REPORT"); path != "" {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			fmt.Fprintln(f, line)
			f.Close()
		}
	}
}

func statusLine(m map[string]int64) string {
	var parts []string
	for _, k := range []string{"201", "202", "207", "400", "503", "5xx", "other", "errors", "timeouts"} {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
		}
	}
	return strings.Join(parts, " ")
}

// edgeArgs are the edge's settings in every scenario.
var edgeArgs = []string{"--kafka-delivery-timeout", deliveryTimeout.String(), "--retry-after", "1s"}

// watch polls the edge's /readyz and resident memory until stop is closed.
type watch struct {
	notReady, readyAgain atomic.Bool
	maxRSS               atomic.Int64 // bytes
	stop                 chan struct{}
	done                 sync.WaitGroup
}

func watchEdge(e *edge) *watch {
	w := &watch{stop: make(chan struct{})}
	w.done.Go(func() {
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
			if code, _, err := httpDo("GET", e.url+"/readyz", nil, nil); err == nil {
				if code != 200 {
					w.notReady.Store(true)
				} else if w.notReady.Load() {
					w.readyAgain.Store(true)
				}
			}
			if rss := rssOf(e.cmd.Process.Pid); rss > w.maxRSS.Load() {
				w.maxRSS.Store(rss)
			}
		}
	})
	return w
}

func (w *watch) end() {
	close(w.stop)
	w.done.Wait()
}

// rssOf is a process's resident memory in bytes (VmRSS), 0 when unknown.
func rssOf(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// faultPrefix is a scenario's topic prefix, with the topics it produces to created and each
// partition's leader elected before the scenario starts: on a busy machine a topic created by the
// first produce (and the election after an earlier scenario restarted the brokers) can outlast
// the scenarios' 3 s delivery timeout, and fail the first requests for no fault of the scenario's.
func faultPrefix(t *testing.T) string {
	t.Helper()
	p := prefix(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	topics := []string{p + "example.click", p + "intake.error", p + hastyStream}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if _, err := adm.CreateTopics(ctx, -1, -1, nil, topics...); err != nil {
		t.Fatalf("cannot create the scenario's topics: %v", err)
	}
	for {
		md, err := adm.Metadata(ctx, topics...)
		ready := err == nil && len(md.Topics) == len(topics)
		if ready {
			for _, td := range md.Topics {
				if td.Err != nil || len(td.Partitions) == 0 {
					ready = false
				}
				for _, pd := range td.Partitions {
					if pd.Err != nil || pd.Leader < 0 {
						ready = false
					}
				}
			}
		}
		if ready {
			return p
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the scenario's topics have no leader after 90 s: %v", err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// needCluster skips unless the cluster has at least n nodes.
func needCluster(t *testing.T, n int) {
	t.Helper()
	needKafka(t)
	if len(brokers) < n {
		t.Skipf("needs %d Kafka nodes, INTAKE_KAFKA_BROKERS names %d (make test-faults starts 3)", n, len(brokers))
	}
}

// 1. The leader of the busiest partition is killed (SIGKILL) mid-load and started again later.
func TestFault1KillPartitionLeader(t *testing.T) {
	needCluster(t, 3)
	p := faultPrefix(t)
	topic := p + "example.click"
	e := startEdge(t, p, edgeArgs...)
	load := startLoad(t, e.url, 24*time.Second, false)
	time.Sleep(6 * time.Second)
	part := busiestPartition(t, topic)
	leader := strings.TrimSpace(kafkaScript(t, nil, "leader", topic, strconv.Itoa(int(part))))
	t.Logf("killing node %s, leader of %s/%d", leader, topic, part)
	kafkaScript(t, nil, "kill", leader)
	time.Sleep(8 * time.Second)
	kafkaScript(t, nil, "start", leader)
	rep := load.wait(t)
	if err := e.stop(); err != nil {
		t.Errorf("edge exit: %v", err)
	}
	report(t, "1 kill -9 the partition leader", count(t, load.ids(t), topic), rep, "node "+leader+" killed for 8 s")
}

// 2. Every broker stops for 30 s mid-load, then starts again: sync requests get 503 with
// Retry-After within the delivery timeout, /readyz turns not-ready and back, memory stays bounded,
// and hasty requests get 503 once the bounded buffer is full.
func TestFault2AllBrokersDown(t *testing.T) {
	needKafka(t)
	p := faultPrefix(t)
	topic := p + "example.click"
	// Small rings and buffers, so the hasty load fills them within the outage.
	e := startEdge(t, p, append(edgeArgs, "--kafka-ring-size", "1024")...)
	w := watchEdge(e)
	// 6 s before, 30 s down, up to 20 s for the brokers to come back, 15 s after.
	load := startLoad(t, e.url, 70*time.Second, false)
	hasty := startLoad(t, e.url, 70*time.Second, true)
	time.Sleep(6 * time.Second)
	rssBefore := rssOf(e.cmd.Process.Pid)
	kafkaScript(t, nil, "stop-all")
	down := time.Now()
	// One sync request in the outage, timed.
	time.Sleep(2 * time.Second)
	start := time.Now()
	code, hdr, err := postWithHeaders(e.url+"/v1/events", []byte(click("example.click", 1, "")))
	took := time.Since(start)
	if err != nil || code != 503 || hdr.Get("Retry-After") == "" {
		t.Errorf("sync POST with every broker down: %d %v, Retry-After %q; want 503 with Retry-After", code, err, hdr.Get("Retry-After"))
	}
	if took > deliveryTimeout+3*time.Second {
		t.Errorf("the 503 took %s, more than the delivery timeout %s and a margin", took, deliveryTimeout)
	}
	time.Sleep(30*time.Second - time.Since(down))
	kafkaScript(t, nil, "start-all")
	back := time.Now()
	rep := load.wait(t)
	hrep := hasty.wait(t)
	time.Sleep(time.Second)
	w.end()
	if err := e.stop(); err != nil {
		t.Errorf("edge exit: %v", err)
	}
	if !w.notReady.Load() || !w.readyAgain.Load() {
		t.Errorf("/readyz: not ready during the outage %t, ready again after %t; want both", w.notReady.Load(), w.readyAgain.Load())
	}
	const rssBound = 512 << 20
	if m := w.maxRSS.Load(); m > rssBound {
		t.Errorf("edge resident memory reached %d MB, over %d MB", m>>20, rssBound>>20)
	}
	if hrep.Status["503"] == 0 {
		t.Errorf("no hasty request got 503 in a 30 s outage: the buffer is not bounded (%s)", statusLine(hrep.Status))
	}
	c := count(t, load.ids(t), topic)
	hc := count(t, hasty.ids(t), p+hastyStream)
	notes := []string{
		fmt.Sprintf("sync 503 in %s", took.Round(time.Millisecond)),
		fmt.Sprintf("brokers back %s after they were stopped", back.Sub(down).Round(time.Second)),
		fmt.Sprintf("RSS %d MB before, at most %d MB", rssBefore>>20, w.maxRSS.Load()>>20),
		fmt.Sprintf("hasty: %s, 202 then found %d of %d (202 promises no delivery; failed records are counted in intake_kafka_records_total{outcome=\"failed\"})",
			statusLine(hrep.Status), hc.Found, hc.Accepted),
	}
	report(t, "2 every broker down for 30 s", c, rep, notes...)
}

// 3. The edge gets SIGTERM mid-load: what it acknowledged is in Kafka before it exits.
func TestFault3EdgeSIGTERM(t *testing.T) {
	needKafka(t)
	p := faultPrefix(t)
	topic := p + "example.click"
	e := startEdge(t, p, edgeArgs...)
	load := startLoad(t, e.url, 12*time.Second, false)
	time.Sleep(6 * time.Second)
	start := time.Now()
	if err := e.stop(); err != nil {
		t.Errorf("edge exit after SIGTERM: %v", err)
	}
	took := time.Since(start)
	rep := load.wait(t)
	report(t, "3 SIGTERM the edge", count(t, load.ids(t), topic), rep, fmt.Sprintf("exit %s after SIGTERM", took.Round(time.Millisecond)))
}

// 4. The schema repository (http, served here) goes away mid-load: the edge keeps validating with
// its last good snapshot, and a schema URI it never loaded fails clearly and at once; when the
// repository is back, that URI loads.
func TestFault4SchemaRepositoryGone(t *testing.T) {
	needKafka(t)
	p := faultPrefix(t)
	topic := p + "example.click"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	repo := &http.Server{Handler: http.FileServer(http.Dir(filepath.Join(root, "examples/schemas")))}
	go repo.Serve(ln)
	e := startEdge(t, p, append(edgeArgs, "--schema-base-uri", "http://"+addr,
		"--config-refresh", "1s", "--schema-negative-ttl", "1s")...)
	load := startLoad(t, e.url, 20*time.Second, false)
	time.Sleep(5 * time.Second)
	repo.Close()
	time.Sleep(3 * time.Second) // refreshes fail meanwhile
	fresh := strings.Replace(click("example.click", 1, ""), "/example/click/1.0.0", "/example/click/latest", 1)
	start := time.Now()
	code, body, err := httpDo("POST", e.url+"/v1/events", []byte(fresh), nil)
	took := time.Since(start)
	if err != nil || code != 400 || !strings.Contains(string(body), "example/click/latest") {
		t.Errorf("a never-loaded schema with the repository gone: %d %v %s; want 400 naming the schema", code, err, body)
	}
	if took > 6*time.Second {
		t.Errorf("the answer took %s", took)
	}
	rep := load.wait(t)
	// The repository comes back on the same address; after the negative TTL the URI loads.
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	repo2 := &http.Server{Handler: http.FileServer(http.Dir(filepath.Join(root, "examples/schemas")))}
	go repo2.Serve(ln2)
	defer repo2.Close()
	time.Sleep(1500 * time.Millisecond)
	if code, body, err := httpDo("POST", e.url+"/v1/events", []byte(fresh), nil); err != nil || code != 201 {
		t.Errorf("the schema with the repository back: %d %v %s; want 201", code, err, body)
	}
	if err := e.stop(); err != nil {
		t.Errorf("edge exit: %v", err)
	}
	if n := rep.Status["5xx"] + rep.Status["503"]; n > 0 {
		t.Errorf("%d 5xx answers while the schema repository was gone", n)
	}
	if rep.Status["201"] == 0 {
		t.Error("no request accepted")
	}
	report(t, "4 schema repository gone", count(t, load.ids(t), topic), rep,
		fmt.Sprintf("never-loaded schema answered %d in %s", code, took.Round(time.Millisecond)))
}

// 5. A slow broker: every node paused (SIGSTOP) for 8 s, then resumed. Back-pressure reaches the
// clients as 503, and accepted requests are answered within the delivery timeout.
func TestFault5SlowBroker(t *testing.T) {
	needKafka(t)
	p := faultPrefix(t)
	topic := p + "example.click"
	e := startEdge(t, p, edgeArgs...)
	load := startLoad(t, e.url, 24*time.Second, false)
	time.Sleep(6 * time.Second)
	for i := range brokers {
		kafkaScript(t, nil, "pause", strconv.Itoa(i+1))
	}
	time.Sleep(8 * time.Second)
	for i := range brokers {
		kafkaScript(t, nil, "resume", strconv.Itoa(i+1))
	}
	rep := load.wait(t)
	if err := e.stop(); err != nil {
		t.Errorf("edge exit: %v", err)
	}
	if rep.Status["503"] == 0 {
		t.Errorf("no 503 while every broker was paused for 8 s (%s)", statusLine(rep.Status))
	}
	// The edge answers within the delivery timeout plus its 1 s ack margin; 2 s more for scheduling on a busy machine.
	if limit := float64((deliveryTimeout + 3*time.Second).Milliseconds()); rep.Latency.Max > limit {
		t.Errorf("slowest answer %.0f ms, over the delivery timeout %s and a margin", rep.Latency.Max, deliveryTimeout)
	}
	report(t, "5 every broker paused for 8 s", count(t, load.ids(t), topic), rep)
}

// busiestPartition is the partition of topic with the most records so far.
func busiestPartition(t *testing.T, topic string) int32 {
	t.Helper()
	recs := consume(t, 1, 10*time.Second, topic)
	n := map[int32]int{}
	for _, r := range recs {
		n[r.Partition]++
	}
	best, bestN := int32(0), -1
	for p, c := range n {
		if c > bestN {
			best, bestN = p, c
		}
	}
	return best
}

func postWithHeaders(url string, body []byte) (int, http.Header, error) {
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header, nil
}
