package gen

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func TestClosedLoopCounts(t *testing.T) {
	e := newFakeEdge()
	e.start(t)
	cfg := e.config()
	cfg.Connections, cfg.Requests, cfg.Batch = 4, 300, 3
	rep := runOK(t, cfg)

	if got := e.requests.Load(); got != 300 {
		t.Fatalf("the edge got %d requests, want exactly --requests 300", got)
	}
	if rep.Requests != 300 || rep.Events != 900 || rep.Status["201"] != 300 || rep.Latency.Count != 300 {
		t.Fatalf("report: requests %d events %d 201s %d latencies %d, want 300 900 300 300",
			rep.Requests, rep.Events, rep.Status["201"], rep.Latency.Count)
	}
	if e.batches[3] != 300 || e.contentTypes["application/json"] != 300 || e.hasty != 0 {
		t.Fatalf("bodies: batches %v, content types %v, hasty %d", e.batches, e.contentTypes, e.hasty)
	}
	if rep.Mode != "closed" || rep.LateSends != 0 {
		t.Fatalf("mode %q late %d", rep.Mode, rep.LateSends)
	}
	if rep.Latency.P50 <= 0 || rep.Latency.Max < rep.Latency.P99 || rep.Latency.P99 < rep.Latency.P50 {
		t.Fatalf("latencies out of order: %+v", rep.Latency)
	}
}

// An open loop the edge cannot keep up with says so: the sends due before the end that never went
// out are counted, and the late ones too.
func TestOpenLoopUnsent(t *testing.T) {
	e := newFakeEdge()
	e.beforeDo = func(int64, *fasthttp.RequestCtx) { time.Sleep(20 * time.Millisecond) }
	e.start(t)
	cfg := e.config()
	// 1 connection at 20ms a request can do at most 15 of the 60 sends due in 300ms.
	cfg.Connections, cfg.Rate, cfg.Duration = 1, 200, 300*time.Millisecond
	rep := runOK(t, cfg)
	if rep.Requests+rep.Unsent != 60 || rep.Unsent < 20 || rep.LateSends == 0 {
		t.Fatalf("%d sent, %d unsent, %d late: want 60 due, most unsent", rep.Requests, rep.Unsent, rep.LateSends)
	}
}

func TestDurationBoundStopsByItself(t *testing.T) {
	e := newFakeEdge()
	e.start(t)
	cfg := e.config()
	cfg.Connections, cfg.Duration = 2, 200*time.Millisecond
	rep := runOK(t, cfg)
	if rep.Requests == 0 || rep.Requests != e.requests.Load() {
		t.Fatalf("report says %d requests, the edge got %d", rep.Requests, e.requests.Load())
	}
	if rep.DurationSeconds > 10 {
		t.Fatalf("a 200ms run took %.1fs", rep.DurationSeconds)
	}
}

func TestOpenLoopSchedule(t *testing.T) {
	f := func(rate float64, burst int) {
		t.Helper()
		e := newFakeEdge()
		e.start(t)
		cfg := e.config()
		cfg.Connections, cfg.Requests, cfg.Rate, cfg.Burst = 4, 80, rate, burst
		var mu sync.Mutex
		intended := map[int64]time.Time{}
		cfg.observe = func(o observation) {
			mu.Lock()
			intended[o.seq] = o.intended
			mu.Unlock()
			if o.sent.Before(o.intended) {
				t.Errorf("request %d sent %v before its intended time", o.seq, o.intended.Sub(o.sent))
			}
		}
		rep := runOK(t, cfg)
		if rep.Requests != 80 || len(intended) != 80 || rep.Mode != "open" {
			t.Fatalf("rate %g: %d requests, %d observed, mode %s", rate, rep.Requests, len(intended), rep.Mode)
		}
		interval := time.Duration(float64(time.Second) / rate)
		for seq := int64(0); seq < 80; seq++ {
			want := time.Duration(seq/int64(burst)*int64(burst)) * interval
			if d := intended[seq].Sub(intended[0]) - want; d < -time.Microsecond || d > time.Microsecond {
				t.Fatalf("rate %g burst %d: request %d intended %v after the first, want %v", rate, burst, seq, intended[seq].Sub(intended[0]), want)
			}
		}
		if rep.Unsent != 0 {
			t.Fatalf("rate %g: %d sends unsent in a run bounded by --requests", rate, rep.Unsent)
		}
		// The run cannot end before the last intended send.
		if last := intended[79].Sub(intended[0]); rep.DurationSeconds < last.Seconds() {
			t.Fatalf("run of %.3fs ended before its last intended send at %v", rep.DurationSeconds, last)
		}
	}
	f(400, 1)
	f(400, 8)
}

// A server that stalls once: requests whose intended send time falls inside the stall cannot be
// sent (every connection is held) or are held by the server; their latency must count from the
// intended time and so include the rest of the stall. A generator that measured from the actual
// send (coordinated omission) would see about one slow request per connection.
func TestOpenLoopLatencyIncludesStall(t *testing.T) {
	const stall = 300 * time.Millisecond
	e := newFakeEdge()
	var mu sync.Mutex
	var stallStart, stallEnd time.Time
	e.beforeDo = func(n int64, _ *fasthttp.RequestCtx) {
		mu.Lock()
		if n == 40 {
			stallStart = time.Now()
			stallEnd = stallStart.Add(stall)
		}
		end := stallEnd
		mu.Unlock()
		if d := time.Until(end); d > 0 {
			time.Sleep(d)
		}
	}
	e.start(t)
	cfg := e.config()
	cfg.Connections, cfg.Rate, cfg.Requests = 2, 200, 200
	var omu sync.Mutex
	var obs []observation
	cfg.observe = func(o observation) {
		omu.Lock()
		obs = append(obs, o)
		omu.Unlock()
	}
	rep := runOK(t, cfg)
	if rep.Requests != 200 || stallStart.IsZero() {
		t.Fatalf("%d requests, stalled %v", rep.Requests, !stallStart.IsZero())
	}
	inStall := 0
	for _, o := range obs {
		if o.intended.Before(stallStart) || !o.intended.Before(stallEnd) {
			continue
		}
		inStall++
		if lat, rest := o.done.Sub(o.intended), stallEnd.Sub(o.intended); lat < rest {
			t.Fatalf("request %d intended %v into the stall: latency %v, less than the %v of stall left", o.seq, o.intended.Sub(stallStart), lat, rest)
		}
	}
	// 300ms at 200/s is 60 intended sends; allow for a slow machine.
	if inStall < 30 {
		t.Fatalf("only %d requests were intended inside the stall", inStall)
	}
	// Those latencies reach the report: about 20% of them exceed 100ms.
	if rep.Latency.P90 < 100 || rep.Latency.Max < 200 {
		t.Fatalf("the stall is missing from the histogram: %+v", rep.Latency)
	}
	if rep.LateSends == 0 || rep.MaxSendLagMS < 100 {
		t.Fatalf("late sends %d, max lag %.1fms: the stall held every connection", rep.LateSends, rep.MaxSendLagMS)
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// --record writes exactly the ids the edge acknowledged: all of a 201, those of a 207 its lists do
// not name (invalid or refused by Kafka), none of a 503.
func TestRecordWritesAcknowledgedIDs(t *testing.T) {
	e := newFakeEdge()
	e.errorID = func(id string) bool { return id[0] == '0' }
	e.answer = func(n int64) int {
		if n%10 == 9 {
			return 503
		}
		return 0
	}
	e.start(t)
	cfg := e.config()
	cfg.Connections, cfg.Requests, cfg.Batch, cfg.InvalidRatio = 4, 200, 5, 0.2
	cfg.Record = filepath.Join(t.TempDir(), "acked.txt")
	rep := runOK(t, cfg)

	if rep.Status["201"] == 0 || rep.Status["207"] == 0 || rep.Status["503"] != 20 {
		t.Fatalf("want a mix of 201, 207 and 20 503s: %v", rep.Status)
	}
	lines := readLines(t, cfg.Record)
	seen := map[string]bool{}
	for _, id := range lines {
		if seen[id] {
			t.Fatalf("id %s recorded twice", id)
		}
		seen[id] = true
		if !e.acked[id] {
			t.Fatalf("id %s recorded but not acknowledged", id)
		}
	}
	if len(seen) != len(e.acked) || int64(len(lines)) != rep.RecordedIDs {
		t.Fatalf("recorded %d ids (report %d), the edge acknowledged %d", len(lines), rep.RecordedIDs, len(e.acked))
	}
}

// Hasty answers 202 before validating: the ids recorded are those of the events sent valid.
func TestRecordHasty(t *testing.T) {
	e := newFakeEdge()
	e.start(t)
	cfg := e.config()
	cfg.Connections, cfg.Batch, cfg.InvalidRatio, cfg.Hasty = 3, 4, 0.25, true
	cfg.Requests = int64(poolSize(1, 4)) // one cycle of the pool: exactly 25% invalid
	cfg.Record = filepath.Join(t.TempDir(), "acked.txt")
	rep := runOK(t, cfg)
	if rep.Status["202"] != cfg.Requests || e.hasty != int(cfg.Requests) {
		t.Fatalf("status %v, hasty requests %d", rep.Status, e.hasty)
	}
	lines := readLines(t, cfg.Record)
	if len(lines) != len(e.validIDs) || len(lines) != 750 {
		t.Fatalf("recorded %d ids, %d events were sent valid (want 750 of 1000)", len(lines), len(e.validIDs))
	}
	for _, id := range lines {
		if !e.validIDs[id] {
			t.Fatalf("id %s recorded but sent invalid", id)
		}
	}
}

func TestRequestsBound(t *testing.T) {
	f := func(connections int, requests int64) {
		t.Helper()
		e := newFakeEdge()
		e.start(t)
		cfg := e.config()
		cfg.Connections, cfg.Requests = connections, requests
		cfg.Duration = time.Minute
		rep := runOK(t, cfg)
		if rep.Requests != requests || e.requests.Load() != requests {
			t.Fatalf("%d connections, --requests %d: sent %d, the edge got %d", connections, requests, rep.Requests, e.requests.Load())
		}
	}
	f(1, 1)
	f(8, 3)
	f(3, 100)
	f(16, 257)
}

func TestInvalidRatio(t *testing.T) {
	f := func(ratio float64, wantInvalid int) {
		t.Helper()
		e := newFakeEdge()
		e.start(t)
		cfg := e.config()
		cfg.Connections, cfg.Batch, cfg.InvalidRatio = 4, 10, ratio
		cfg.Requests = int64(poolSize(1, 10)) // one cycle of the pool: 1000 events
		rep := runOK(t, cfg)
		if e.valid+e.invalid != 1000 {
			t.Fatalf("ratio %g: the edge got %d events, want 1000", ratio, e.valid+e.invalid)
		}
		if e.invalid != wantInvalid {
			t.Fatalf("ratio %g: %d invalid events, want %d", ratio, e.invalid, wantInvalid)
		}
		if rep.InvalidRatio != float64(wantInvalid)/1000 {
			t.Fatalf("ratio %g: reported %g", ratio, rep.InvalidRatio)
		}
		if wantInvalid >= 3 {
			for _, k := range []string{"type", "enum", "required"} {
				if e.brokenKinds[k] < wantInvalid/3 {
					t.Fatalf("ratio %g: breakages %v, want each of type, enum, required", ratio, e.brokenKinds)
				}
			}
		}
		if ratio == 1 && rep.Status["400"] != rep.Requests {
			t.Fatalf("all invalid but status %v", rep.Status)
		}
	}
	f(0, 0)
	f(0.03, 30)
	f(0.25, 250)
	f(1, 1000)
}

func TestGzipBodiesDecode(t *testing.T) {
	f := func(uniqueIDs bool) {
		t.Helper()
		e := newFakeEdge()
		e.start(t)
		cfg := e.config()
		cfg.Connections, cfg.Requests, cfg.Batch, cfg.Gzip, cfg.UniqueIDs = 3, 50, 7, true, uniqueIDs
		rep := runOK(t, cfg)
		// The fake answers 400 for a body that does not gunzip into JSON.
		if rep.Status["201"] != 50 || e.encodings["gzip"] != 50 || e.batches[7] != 50 {
			t.Fatalf("unique ids %t: status %v, encodings %v, batches %v", uniqueIDs, rep.Status, e.encodings, e.batches)
		}
		if uniqueIDs && len(e.validIDs) != 350 {
			t.Fatalf("%d distinct ids in 350 gzipped events", len(e.validIDs))
		}
	}
	f(false)
	f(true)
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestUniqueIDs(t *testing.T) {
	e := newFakeEdge()
	e.start(t)
	cfg := e.config()
	// More requests than the pool has bodies: a body sent twice still carries fresh ids.
	cfg.Connections, cfg.Batch, cfg.UniqueIDs = 4, 50, true
	cfg.Requests = int64(2*poolSize(1, 50) + 3)
	runOK(t, cfg)
	seen := map[string]bool{}
	for _, id := range e.ids {
		if !uuidV4.MatchString(id) {
			t.Fatalf("meta.id %q is not a UUID v4", id)
		}
		if seen[id] {
			t.Fatalf("meta.id %s sent twice", id)
		}
		seen[id] = true
	}
	if want := int(cfg.Requests) * 50; len(seen) != want {
		t.Fatalf("%d distinct ids, want %d", len(seen), want)
	}
}

func TestSingleEventIsAnObject(t *testing.T) {
	p, err := buildPool(mustEvents(t), &Config{Batch: 1, Seed: 1, InvalidRatio: 0})
	if err != nil {
		t.Fatal(err)
	}
	if b := p.bodies[0].raw; b[0] != '{' {
		t.Fatalf("a batch of 1 is sent as %.20q, want a JSON object", b)
	}
	p, _ = buildPool(mustEvents(t), &Config{Batch: 2, Seed: 1})
	if b := p.bodies[0].raw; b[0] != '[' {
		t.Fatalf("a batch of 2 is sent as %.20q, want a JSON array", b)
	}
}

func mustEvents(t *testing.T) []event {
	t.Helper()
	cfg := Defaults()
	evs, _, err := loadEvents(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}
