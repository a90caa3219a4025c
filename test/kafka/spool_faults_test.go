package kafka

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"intake.dev/intake/loadtest/gen"
)

// The fault scenarios with a spool (--spool-dir): hasty events answered 202 must all reach Kafka
// after an outage (lost = 0), at least once: duplicates (by meta.id) are counted, not failed, since
// a spool promises at-least-once delivery. Sync requests behave as without a spool.

// spoolState is /v1/info's spool object.
type spoolState struct {
	Records  int64 `json:"records"`
	Bytes    int64 `json:"bytes"`
	Written  int64 `json:"written"`
	Replayed int64 `json:"replayed"`
	Damaged  int64 `json:"damaged"`
	Full     int64 `json:"full"`
	Refused  int64 `json:"refused"`
	Dropped  int64 `json:"dropped"`
	InMemory int64 `json:"in_memory"`
}

func spoolInfo(t *testing.T, e *edge) spoolState {
	t.Helper()
	code, body, err := httpDo("GET", e.url+"/v1/info", nil, nil)
	if err != nil || code != 200 {
		t.Fatalf("GET /v1/info: %d %v %s", code, err, body)
	}
	var info struct {
		Spool *spoolState `json:"spool"`
	}
	if err := json.Unmarshal(body, &info); err != nil {
		t.Fatalf("/v1/info: %v: %s", err, body)
	}
	if info.Spool == nil {
		t.Fatalf("/v1/info has no spool: %s", body)
	}
	return *info.Spool
}

// drainSpool waits until the edge's spool holds no record (everything replayed and acknowledged by
// Kafka), up to timeout; it returns the last state and how long it took.
// brokersBackOnFailure starts every stopped broker again when the test fails midway, so that the
// scenarios after it find the cluster.
func brokersBackOnFailure(t *testing.T) {
	t.Cleanup(func() {
		if t.Failed() {
			kafkaScript(t, nil, "start-all")
		}
	})
}

func drainSpool(t *testing.T, e *edge, timeout time.Duration) (spoolState, time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		st := spoolInfo(t, e)
		if st.Records == 0 {
			if st.Dropped > 0 {
				t.Errorf("%d replayed records were dropped from the spool (Kafka refused them for good; the edge's log says why)", st.Dropped)
			}
			return st, time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Errorf("the spool still holds %d records (%d bytes) %s after the load ended", st.Records, st.Bytes, timeout)
			return st, time.Since(start)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// reportSpool logs and appends a spool scenario's line (the hasty events' tally) and holds its
// promise: every 202 in Kafka; duplicates are allowed and counted.
func reportSpool(t *testing.T, scenario string, c tally, rep *gen.Report, notes ...string) {
	t.Helper()
	line := fmt.Sprintf("%-34s hasty %s; requests %d, status %s, p99 %.1f ms, max %.1f ms",
		scenario+":", c, rep.Requests, statusLine(rep.Status), rep.Latency.P99, rep.Latency.Max)
	for _, n := range notes {
		line += "; " + n
	}
	t.Log(line)
	appendReport(line)
	if c.Accepted == 0 {
		t.Fatal("no event was answered 202: the scenario proves nothing")
	}
	if c.Lost != 0 && int64(c.Lost) > c.inMemory {
		t.Errorf("%d events answered 202 with a spool are not in Kafka (%d records were in memory for Kafka when the edge was killed)", c.Lost, c.inMemory)
	}
	if n := rep.Status["5xx"] + rep.Status["other"]; n > 0 {
		t.Errorf("%d hasty answers were 5xx other than 503, or unexpected codes", n)
	}
	if n := rep.Status["timeouts"]; n > 0 {
		t.Errorf("%d hasty requests hung past the client's 20s timeout", n)
	}
}

// checkSync holds the sync promise (lost = 0, duplicated = 0, 503 or success) and describes it.
func checkSync(t *testing.T, c tally, rep *gen.Report) string {
	t.Helper()
	if c.Lost != 0 {
		t.Errorf("sync: %d acknowledged events are not in Kafka", c.Lost)
	}
	if c.Duplicated != 0 {
		t.Errorf("sync: %d acknowledged events are in Kafka more than once", c.Duplicated)
	}
	if n := rep.Status["5xx"] + rep.Status["other"] + rep.Status["timeouts"]; n > 0 {
		t.Errorf("sync: %d answers were 5xx other than 503, unexpected codes or timeouts (%s)", n, statusLine(rep.Status))
	}
	return fmt.Sprintf("sync: %s, status %s", c, statusLine(rep.Status))
}

// 6. Scenario 2 with a spool: every broker stops for 30 s under sync and hasty load against an edge
// with --spool-dir. Sync requests answer 503 as without a spool; hasty ones keep getting 202 (to
// the spool), /readyz stays ready, and after the brokers are back the spool drains: every event
// answered 202 is in Kafka.
func TestFault6AllBrokersDownSpool(t *testing.T) {
	needCluster(t, 3)
	brokersBackOnFailure(t)
	p := faultPrefix(t)
	topic := p + "example.click"
	dir := t.TempDir()
	e := startEdge(t, p, append(edgeArgs, "--kafka-ring-size", "1024", "--spool-dir", dir)...)
	w := watchEdge(e)
	// 6 s before, 30 s down, about 25 s for stop-all and start-all, 15 s after.
	load := startLoad(t, e.url, 80*time.Second, false)
	hasty := startLoad(t, e.url, 80*time.Second, true)
	time.Sleep(6 * time.Second)
	kafkaScript(t, nil, "stop-all")
	down := time.Now()
	time.Sleep(28 * time.Second)
	during := spoolInfo(t, e)
	time.Sleep(30*time.Second - time.Since(down))
	kafkaScript(t, nil, "start-all")
	back := time.Now()
	rep := load.wait(t)
	hrep := hasty.wait(t)
	st, took := drainSpool(t, e, 60*time.Second)
	w.end()
	if err := e.stop(); err != nil {
		t.Errorf("edge exit: %v", err)
	}
	if w.notReady.Load() {
		t.Errorf("/readyz turned not ready during the outage, with a spool taking hasty traffic")
	}
	if during.Records == 0 {
		t.Errorf("the spool held nothing during the outage: %+v", during)
	}
	if hrep.Status["202"] == 0 {
		t.Errorf("no hasty request answered 202 (%s)", statusLine(hrep.Status))
	}
	c := count(t, load.ids(t), topic)
	hc := count(t, hasty.ids(t), p+hastyStream)
	reportSpool(t, "6 every broker down 30 s, spool", hc, hrep,
		checkSync(t, c, rep),
		fmt.Sprintf("brokers back %s after they were stopped", back.Sub(down).Round(time.Second)),
		fmt.Sprintf("spool %d records (%d KB) at 28 s down, drained %s after the load ended, %d written, %d replayed",
			during.Records, during.Bytes>>10, took.Round(100*time.Millisecond), st.Written, st.Replayed),
		fmt.Sprintf("RSS at most %d MB", w.maxRSS.Load()>>20))
}

// 7. The edge is SIGKILLed in the middle of that outage (--spool-fsync always) and started again on
// the same spool directory; the brokers come back: every event answered 202 arrives.
func TestFault7EdgeKilledDuringOutageSpool(t *testing.T) {
	needCluster(t, 3)
	brokersBackOnFailure(t)
	p := faultPrefix(t)
	dir := t.TempDir()
	args := append(edgeArgs, "--kafka-ring-size", "1024", "--spool-dir", dir, "--spool-fsync", "always")
	e := startEdge(t, p, args...)
	// The load runs until the kill: 6 s before the outage, 12 s into it.
	hasty := startLoad(t, e.url, 18*time.Second, true)
	time.Sleep(6 * time.Second)
	kafkaScript(t, nil, "stop-all")
	down := time.Now()
	time.Sleep(12 * time.Second)
	before := spoolInfo(t, e)
	if err := e.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-e.done
	hrep := hasty.wait(t)
	// A new edge on the same directory while Kafka is still down (/healthz: the process is up).
	e2 := launchEdge(t, edgeRun{bin: intakeBin, brokers: strings.Join(brokers, ","), topicPrefix: p,
		waitFor: "/healthz", args: args})
	restarted := spoolInfo(t, e2)
	time.Sleep(30*time.Second - time.Since(down))
	kafkaScript(t, nil, "start-all")
	back := time.Now()
	st, took := drainSpool(t, e2, 60*time.Second)
	if err := e2.stop(); err != nil {
		t.Errorf("edge exit: %v", err)
	}
	if restarted.Records == 0 {
		t.Errorf("the restarted edge's spool holds nothing (before the kill: %+v)", before)
	}
	hc := count(t, hasty.ids(t), p+hastyStream)
	// Events answered 202 while Kafka looked up are queued in memory for it until Kafka settles
	// them (acknowledged, or failed over to the spool): a kill loses those (README "Spool").
	// Twelve seconds into the outage nearly none should be left; any loss must be among them.
	if hc.Lost > 0 && int64(hc.Lost) <= before.InMemory {
		t.Logf("%d events lost: records still in memory for Kafka at the kill: %d", hc.Lost, before.InMemory)
		hc.inMemory = before.InMemory
	}
	reportSpool(t, "7 edge kill -9 in outage, spool", hc, hrep,
		fmt.Sprintf("killed %s into the outage with %d records spooled and %d in memory for Kafka; restarted with %d (%d damaged)",
			12*time.Second, before.Records, before.InMemory, restarted.Records, restarted.Damaged),
		fmt.Sprintf("brokers back %s after they were stopped, spool drained %s later, %d replayed, %d dropped",
			back.Sub(down).Round(time.Second), took.Round(100*time.Millisecond), st.Replayed, st.Dropped))
}
