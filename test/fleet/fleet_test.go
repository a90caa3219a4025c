package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"intake.dev/intake/client"
)

// The fleet's timeline: load through HAProxy for warm, then edge2 is SIGKILLed; it is started
// again on its port dead later, and the load goes on for after once HAProxy has it UP again.
const (
	warm  = 5 * time.Second
	dead  = 4 * time.Second
	after = 8 * time.Second
	// sendWorkers goroutines Send a batch of batchEvents every sendEvery (sync, with results);
	// beside them one goroutine Enqueues enqueueEvents every enqueueEvery (background sender).
	sendWorkers   = 6
	batchEvents   = 10
	sendEvery     = 100 * time.Millisecond
	enqueueEvents = 10
	enqueueEvery  = 50 * time.Millisecond
)

// fleetChecks are HAProxy's health checks in the test: an edge is DOWN within about fall x inter
// of dying, UP within about rise x inter of being ready again.
var fleetChecks = checks{inter: 500 * time.Millisecond, fall: 2, rise: 2, timeout: 400 * time.Millisecond}

// slack is what the DOWN and UP times may exceed fall x inter and rise x inter by: the phase of
// the first check, the check itself, and the stats poll.
const slack = 500 * time.Millisecond

// TestFleet: three edges behind HAProxy on the three-node cluster, loaded through HAProxy by the
// Go client (sync Send and background Enqueue, both retrying), one edge SIGKILLed mid-load and
// started again on its port. Every event the client's results call accepted must be in Kafka
// (lost = 0); duplicates (a retry after an answer lost with the killed edge) are counted and
// reported; HAProxy must take the dead edge out within about fall x inter and put it back within
// about rise x inter of its /readyz answering again, and send it requests after.
func TestFleet(t *testing.T) {
	needKafka(t)
	dir := t.TempDir()
	prefix := runID + "."
	topic := prefix + "example.click"

	edges := make([]*edge, 3)
	for i := range edges {
		edges[i] = &edge{name: fmt.Sprintf("edge%d", i+1), port: freePort(t)}
		edges[i].start(t, prefix)
	}
	lb := startHAProxy(t, dir, fleetChecks, edges)
	victim := edges[1]
	before, err := lb.stats()
	if err != nil {
		t.Fatal(err)
	}

	ld := startLoad(t, lb.url()+"/v1/events")
	loadStart := time.Now()

	time.Sleep(warm)
	victim.proc.kill()
	killedAt := time.Now()
	t.Logf("%s SIGKILLed after %s of load", victim.name, killedAt.Sub(loadStart).Round(time.Millisecond))
	downAt, atDown := lb.waitStatus(t, victim.name, "DOWN", 10*time.Second)
	toDown := downAt.Sub(killedAt)
	t.Logf("haproxy: %s DOWN %s after the kill", victim.name, toDown.Round(time.Millisecond))

	time.Sleep(time.Until(killedAt.Add(dead)))
	stillDown, err := lb.stats()
	if err != nil {
		t.Fatal(err)
	}
	if st := stillDown[victim.name].Status; st != "DOWN" {
		t.Fatalf("haproxy: %s is %q before its restart, want DOWN", victim.name, st)
	}
	// A DOWN server gets no request: HAProxy's req_tot and its connection attempts stay put.
	whileDown := stillDown[victim.name].Requests - atDown.Requests + stillDown[victim.name].Wredis - atDown.Wredis
	restartedAt := time.Now()
	readyAt := victim.start(t, prefix)
	upAt, atUp := lb.waitStatus(t, victim.name, "UP", 10*time.Second)
	toUp := upAt.Sub(readyAt)
	t.Logf("haproxy: %s ready %s after its restart, UP %s after that", victim.name,
		readyAt.Sub(restartedAt).Round(time.Millisecond), toUp.Round(time.Millisecond))

	time.Sleep(after)
	res := ld.stop(t)
	loadTime := time.Since(loadStart)
	end, err := lb.stats()
	if err != nil {
		t.Fatal(err)
	}
	servedAfterUp := victim.eventRequests(t)

	found := readBack(t, topic)
	c := tallyOf(res, found)

	perEdge := make([]string, len(edges))
	for i, e := range edges {
		n := end[e.name].Requests - before[e.name].Requests
		perEdge[i] = fmt.Sprintf("%s %d", e.name, n)
		if n == 0 {
			t.Errorf("haproxy sent %s no request", e.name)
		}
	}
	upRequests := end[victim.name].Requests - atUp.Requests
	be0, be := before["BACKEND"], end["BACKEND"]
	line := fmt.Sprintf("fleet (3 edges, %s kill -9 for %s): %s; client failed %d, invalid %d, retried %d; "+
		"haproxy: 5xx answers to clients %d, eresp %d (answers lost with the edge), wredis %d (redispatched off it); "+
		"DOWN %d ms after the kill (fall %d x inter %d ms), requests to it while DOWN %d, UP %d ms after /readyz (rise %d); "+
		"requests per edge (haproxy) %s, %s after UP %d (its /metrics: %d); load %.1f s",
		victim.name, dead, c, res.failed, res.invalid, res.retried, end["FRONTEND"].Resp5xx-before["FRONTEND"].Resp5xx, be.Eresp-be0.Eresp, be.Wredis-be0.Wredis,
		toDown.Milliseconds(), fleetChecks.fall, fleetChecks.inter.Milliseconds(), whileDown, toUp.Milliseconds(), fleetChecks.rise,
		strings.Join(perEdge, ", "), victim.name, upRequests, servedAfterUp, loadTime.Seconds())
	t.Log(line)
	if path := os.Getenv("INTAKE_FLEET_REPORT"); path != "" {
		if f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			fmt.Fprintln(f, line)
			f.Close()
		}
	}

	if c.Accepted == 0 {
		t.Fatal("no event was accepted: the test proves nothing")
	}
	if c.Lost != 0 {
		t.Errorf("%d events the client's results call accepted are not in Kafka (e.g. %s)", c.Lost, strings.Join(c.lostIDs, " "))
	}
	if c.Altered != 0 {
		t.Errorf("%d records of accepted events carry another page.id than the event sent", c.Altered)
	}
	if res.failed != 0 || res.invalid != 0 {
		t.Errorf("the client gave up on %d events and had %d rejected (first: %v): with two edges left, retries must carry every event",
			res.failed, res.invalid, res.firstErr)
	}
	if limit := time.Duration(fleetChecks.fall)*fleetChecks.inter + slack; toDown > limit {
		t.Errorf("haproxy took %s to mark the dead edge DOWN, want at most fall x inter + %s = %s", toDown, slack, limit)
	}
	if limit := time.Duration(fleetChecks.rise)*fleetChecks.inter + slack; toUp > limit {
		t.Errorf("haproxy took %s to mark the restarted edge UP, want at most rise x inter + %s = %s", toUp, slack, limit)
	}
	if whileDown != 0 {
		t.Errorf("haproxy sent %d requests to %s while it was DOWN", whileDown, victim.name)
	}
	if upRequests == 0 || servedAfterUp == 0 {
		t.Errorf("%s got %d requests from haproxy after it was UP again (its /metrics: %d), want some", victim.name, upRequests, servedAfterUp)
	}
}

// loadResult is what the client's results said of every event it was given.
type loadResult struct {
	accepted                 map[string]int // meta.id -> times a result said accepted (1)
	sent                     map[string]int // meta.id -> the event's page.id, as sent
	failed, invalid, retried int64
	firstErr                 error
}

// load is the Go client loading the fleet: sync Send workers and an Enqueue producer.
type load struct {
	mu   sync.Mutex
	res  loadResult
	done chan struct{}
	wg   sync.WaitGroup
	sync *client.Client
	bg   *client.Client
}

func (l *load) record(r client.Result) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch r.Status {
	case client.StatusAccepted:
		l.res.accepted[r.ID]++
	case client.StatusInvalid:
		l.res.invalid++
	case client.StatusFailed:
		l.res.failed++
	}
	if r.Status != client.StatusAccepted && l.res.firstErr == nil {
		l.res.firstErr = fmt.Errorf("event %s: %s: %w", r.ID, r.Status, r.Err)
	}
}

// clientOptions: retries enough to ride out an edge's death (about a second until HAProxy
// drops it), sampling off (every event is sent), quiet logs.
func clientOptions(extra ...client.Option) []client.Option {
	return append([]client.Option{
		client.WithStreamConfigRefresh(-1),
		client.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		client.WithRetry(20, time.Minute),
		client.WithBackoff(50*time.Millisecond, time.Second),
		client.WithRequestTimeout(10 * time.Second),
	}, extra...)
}

func startLoad(t *testing.T, url string) *load {
	t.Helper()
	l := &load{res: loadResult{accepted: map[string]int{}, sent: map[string]int{}}, done: make(chan struct{})}
	var err error
	if l.sync, err = client.New(url, clientOptions(client.WithBatch(batchEvents, 1<<20, 100*time.Millisecond))...); err != nil {
		t.Fatal(err)
	}
	if l.bg, err = client.New(url, clientOptions(client.WithBatch(50, 1<<20, 100*time.Millisecond),
		client.WithConcurrency(2), client.WithOnResult(l.record))...); err != nil {
		t.Fatal(err)
	}
	page := 0
	for w := 0; w < sendWorkers; w++ {
		l.wg.Add(1)
		go func(w int) {
			defer l.wg.Done()
			tick := time.NewTicker(sendEvery)
			defer tick.Stop()
			for n := 0; ; n++ {
				select {
				case <-l.done:
					return
				case <-tick.C:
				}
				batch := make([]any, batchEvents)
				for i := range batch {
					batch[i] = l.click(1 + w*1_000_000 + n*batchEvents + i)
				}
				results, _ := l.sync.Send(context.Background(), batch...)
				for _, r := range results {
					l.record(r)
				}
			}
		}(w)
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		tick := time.NewTicker(enqueueEvery)
		defer tick.Stop()
		for {
			select {
			case <-l.done:
				return
			case <-tick.C:
			}
			for i := 0; i < enqueueEvents; i++ {
				page++
				if err := l.bg.Enqueue(l.click(9_000_000 + page)); err != nil {
					l.mu.Lock()
					l.res.failed++
					if l.res.firstErr == nil {
						l.res.firstErr = fmt.Errorf("Enqueue: %w", err)
					}
					l.mu.Unlock()
				}
			}
		}
	}()
	return l
}

// stop ends the load, flushes the Enqueue client (every enqueued event gets its result) and
// returns the results.
func (l *load) stop(t *testing.T) loadResult {
	t.Helper()
	close(l.done)
	l.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, c := range []*client.Client{l.sync, l.bg} {
		if err := c.Close(ctx); err != nil {
			t.Errorf("client Close: %v", err)
		}
		l.res.retried += c.Stats().Retried
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.res
}

// click is a valid example/click event of page.id page, made as a producer makes one, with its
// meta.id set and noted with its page, so that the event read back can be compared with it.
func (l *load) click(page int) map[string]any {
	id := client.NewID()
	l.mu.Lock()
	l.res.sent[id] = page
	l.mu.Unlock()
	return client.NewEvent("example.click", "/example/click/1.0.0", map[string]any{
		"meta":   map[string]any{"id": id},
		"page":   map[string]any{"id": page, "title": "Main Page"},
		"button": "save",
	})
}

// readBack reads topic from the start to the end offsets it has now (every partition), and
// returns the page.id of each record by meta.id (one entry per record).
func readBack(t *testing.T, topic string) map[string][]int {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("end offsets of %s: %v", topic, err)
	}
	want := map[int32]int64{} // partition -> end offset still to reach
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			t.Fatalf("end offset of %s/%d: %v", topic, o.Partition, o.Err)
		}
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
		}
	})
	seen := map[string][]int{}
	for len(want) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading %s back: partitions %v not read to their end offsets in 90s", topic, want)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Logf("fetch %s/%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			var ev struct {
				Meta struct {
					ID     string `json:"id"`
					Stream string `json:"stream"`
				} `json:"meta"`
				Page struct {
					ID int `json:"id"`
				} `json:"page"`
			}
			if err := json.Unmarshal(r.Value, &ev); err != nil {
				t.Fatalf("a record of %s is not JSON: %v", topic, err)
			}
			if ev.Meta.Stream != "example.click" {
				t.Errorf("a record of %s has meta.stream %q", topic, ev.Meta.Stream)
			}
			seen[ev.Meta.ID] = append(seen[ev.Meta.ID], ev.Page.ID)
			if end, ok := want[r.Partition]; ok && r.Offset+1 >= end {
				delete(want, r.Partition)
			}
		})
	}
	return seen
}

// tally compares the ids the client's results call accepted with those read back.
type tally struct {
	Accepted, Found, Lost, Duplicated, UnackedFound int
	Altered                                         int      // accepted events read back with another page.id than sent
	lostIDs                                         []string // the first few
}

func (c tally) String() string {
	return fmt.Sprintf("accepted %d, found %d, lost %d, duplicated %d, unacked-found %d, altered %d",
		c.Accepted, c.Found, c.Lost, c.Duplicated, c.UnackedFound, c.Altered)
}

func tallyOf(res loadResult, found map[string][]int) tally {
	c := tally{Accepted: len(res.accepted)}
	for id := range res.accepted {
		for _, page := range found[id] {
			if page != res.sent[id] {
				c.Altered++
			}
		}
		switch n := len(found[id]); {
		case n == 0:
			c.Lost++
			c.lostIDs = append(c.lostIDs, id)
		case n > 1:
			c.Found++
			c.Duplicated++
		default:
			c.Found++
		}
	}
	for id, pages := range found {
		if res.accepted[id] == 0 {
			c.UnackedFound += len(pages)
		}
	}
	sort.Strings(c.lostIDs)
	if len(c.lostIDs) > 5 {
		c.lostIDs = c.lostIDs[:5]
	}
	return c
}
