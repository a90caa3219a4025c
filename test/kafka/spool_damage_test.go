package kafka

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// unreachable is a Kafka address nothing listens on: an edge started with it spools every hasty
// event, as in an outage, without stopping the cluster the other scenarios share.
func unreachable(t *testing.T) string {
	return fmt.Sprintf("127.0.0.1:%d", freePort(t))
}

// spoolEdge starts an edge on the spool directory dir producing to brokers ("": the cluster), under
// topic prefix p; with the cluster it waits for /readyz, otherwise for /healthz.
func spoolEdge(t *testing.T, p, brokersList string, args ...string) *edge {
	t.Helper()
	r := edgeRun{bin: intakeBin, brokers: brokersList, topicPrefix: p, waitFor: "/healthz", args: args}
	if brokersList == "" {
		r.brokers, r.waitFor = strings.Join(brokers, ","), "/readyz"
	}
	return launchEdge(t, r)
}

// dirBytes is the size of the regular files in dir.
func dirBytes(t *testing.T, dir string) int64 {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
	}
	return n
}

// segments lists the spool's segment files, oldest first.
func segments(t *testing.T, dir string) []string {
	t.Helper()
	segs, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(segs)
	return segs
}

// frame is one record of a segment file, read the way package spool documents its format.
type frame struct {
	off, end int64
	ids      []string // the meta.ids in its value
}

var metaID = regexp.MustCompile(`"id":"([0-9a-f-]{36})"`)

// frames reads a segment file's frames (16-byte header; then magic 0xFB 'S', payload length u32,
// CRC u32, payload), stopping at the first byte that is not a frame.
func frames(t *testing.T, path string) []frame {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var fs []frame
	for off := 16; off+10 <= len(b) && b[off] == 0xFB && b[off+1] == 'S'; {
		n := int(binary.LittleEndian.Uint32(b[off+2:]))
		end := off + 10 + n
		if end > len(b) {
			break
		}
		f := frame{off: int64(off), end: int64(end)}
		for _, m := range metaID.FindAllSubmatch(b[off+10:end], -1) {
			f.ids = append(f.ids, string(m[1]))
		}
		fs = append(fs, f)
		off = end
	}
	return fs
}

// 8. A full spool: the brokers are unreachable and the spool is small (1 MiB); hasty load at 400
// requests/s keeps coming after it filled. Hasty requests answer 503 with Retry-After once it is
// full, never a 202 that is then dropped; the spool's files stay within --spool-max-bytes and the
// edge's memory stays flat. Then the edge gets SIGTERM and a new one on the same directory, with
// the cluster, replays the spool: every event answered 202 is in Kafka.
func TestFault8FullSpool(t *testing.T) {
	needKafka(t)
	p := faultPrefix(t)
	dir := t.TempDir()
	const maxBytes = 1 << 20
	args := append(edgeArgs, "--spool-dir", dir, "--spool-max-bytes", strconv.Itoa(maxBytes))
	e := spoolEdge(t, p, unreachable(t), args...)
	w := watchEdge(e)
	loadStart := time.Now()
	hasty := startLoadRate(t, e.url, 14*time.Second, true, 400)

	var maxDisk, rssFull int64
	var fullAt time.Time
	retryAfter := ""
	for tick := time.NewTicker(100 * time.Millisecond); ; {
		select {
		case <-hasty.done:
		case <-tick.C:
			if d := dirBytes(t, dir); d > maxDisk {
				maxDisk = d
			}
			if fullAt.IsZero() && spoolInfo(t, e).Refused > 0 {
				fullAt, rssFull = time.Now(), rssOf(e.cmd.Process.Pid)
				var evs []string
				for i := range 20 {
					evs = append(evs, click(hastyStream, i+1, "full"))
				}
				code, hdr, err := postWithHeaders(e.url+"/v1/events?hasty=true", batchOf(evs))
				if err != nil || code != 503 {
					t.Errorf("20 hasty events to the full spool: %d %v, want 503", code, err)
				}
				retryAfter = hdr.Get("Retry-After")
			}
			continue
		}
		tick.Stop()
		break
	}
	hrep := hasty.wait(t)
	w.end()
	full := spoolInfo(t, e)
	start := time.Now()
	if err := e.stop(); err != nil {
		t.Errorf("edge exit after SIGTERM: %v", err)
	}
	exit := time.Since(start)
	if fullAt.IsZero() {
		t.Fatalf("the spool never filled: %+v", full)
	}
	if retryAfter == "" {
		t.Errorf("the 503 of a full spool has no Retry-After")
	}
	if hrep.Status["503"] == 0 || hrep.Status["202"] == 0 {
		t.Errorf("want 202s, then 503s once the spool is full: %s", statusLine(hrep.Status))
	}
	if maxDisk > maxBytes+1024 {
		t.Errorf("the spool's directory reached %d bytes, past --spool-max-bytes %d (and 1 KiB for the cursor and lock)", maxDisk, maxBytes)
	}
	growth := w.maxRSS.Load() - rssFull
	if growth > 64<<20 {
		t.Errorf("the edge's memory grew by %d MB after the spool filled (%d MB then, %d MB at most)", growth>>20, rssFull>>20, w.maxRSS.Load()>>20)
	}

	e2 := spoolEdge(t, p, "", args...)
	st, took := drainSpool(t, e2, 60*time.Second)
	if err := e2.stop(); err != nil {
		t.Errorf("edge exit: %v", err)
	}
	hc := count(t, hasty.ids(t), p+hastyStream)
	reportSpool(t, "8 full spool (1 MiB), brokers unreachable", hc, hrep,
		fmt.Sprintf("full after %s with %d records; %d events refused (503, Retry-After %s)",
			fullAt.Sub(loadStart).Round(100*time.Millisecond),
			full.Records, full.Refused, retryAfter),
		fmt.Sprintf("spool files at most %d KB (max %d KB); RSS %d MB when full, at most %d MB after",
			maxDisk>>10, maxBytes>>10, rssFull>>20, w.maxRSS.Load()>>20),
		fmt.Sprintf("SIGTERM exit %s; the next edge replayed %d records in %s",
			exit.Round(100*time.Millisecond), st.Replayed, took.Round(100*time.Millisecond)))
}

// 9. A damaged spool: three edges in turn spool hasty events with the brokers unreachable and stop
// on SIGTERM (each start opens a new segment, so three segments). Then garbage is appended to
// the first segment and the second is cut in the middle of a record. A new edge with the cluster
// starts, reports both (log, /v1/info), and replays the rest: every 202'd event arrives except
// those of the records cut away, which the test names from the segment before cutting it.
func TestFault9DamagedSpool(t *testing.T) {
	needKafka(t)
	p := faultPrefix(t)
	dir := t.TempDir()
	args := append(edgeArgs, "--spool-dir", dir)
	var ids []string
	var reps []string
	for i := 0; i < 3; i++ {
		e := spoolEdge(t, p, unreachable(t), args...)
		hasty := startLoad(t, e.url, 4*time.Second, true)
		rep := hasty.wait(t)
		if err := e.stop(); err != nil {
			t.Errorf("edge %d exit after SIGTERM: %v", i+1, err)
		}
		reps = append(reps, statusLine(rep.Status))
		ids = append(ids, hasty.ids(t)...)
	}
	segs := segments(t, dir)
	if len(segs) < 3 {
		t.Fatalf("want a segment per edge, found %v", segs)
	}
	// Garbage after the first segment's last record.
	garbage := bytes.Repeat([]byte("not a record \x00\xff"), 64)
	f, err := os.OpenFile(segs[0], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(garbage); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// The second segment cut 5 bytes into its middle record: it and the ones after it are lost.
	fs := frames(t, segs[1])
	if len(fs) < 10 {
		t.Fatalf("the second segment holds %d records", len(fs))
	}
	cut := fs[len(fs)/2]
	gone := map[string]bool{}
	for _, fr := range fs[len(fs)/2:] {
		for _, id := range fr.ids {
			gone[id] = true
		}
	}
	if err := os.Truncate(segs[1], cut.off+5); err != nil {
		t.Fatal(err)
	}

	e := spoolEdge(t, p, "", args...)
	opened := spoolInfo(t, e)
	st, took := drainSpool(t, e, 60*time.Second)
	if err := e.stop(); err != nil {
		t.Errorf("edge exit: %v", err)
	}
	if opened.Damaged < 2 {
		t.Errorf("/v1/info reports %d damaged spans, want 2 (garbage, and a cut segment)", opened.Damaged)
	}
	if !strings.Contains(e.log.String(), "damaged") {
		t.Errorf("the edge logged nothing of the damage:\n%s", e.log)
	}
	hc := count(t, ids, p+hastyStream)
	// Every lost event must be one of the records cut away; each of those that was accepted is lost.
	cutAccepted := 0
	for _, id := range ids {
		if gone[id] {
			cutAccepted++
		}
	}
	line := fmt.Sprintf("%-34s hasty accepted %d, found %d, lost %d (all %d of them in the %d records cut away), duplicated %d, unacked-found %d; 3 edges spooled (%s), then %d damaged spans reported at start, %d records replayed in %s",
		"9 garbage and a cut segment:", hc.Accepted, hc.Found, hc.Lost, cutAccepted, len(fs)-len(fs)/2, hc.Duplicated, hc.UnackedFound,
		strings.Join(reps, "; "), opened.Damaged, st.Replayed, took.Round(100*time.Millisecond))
	t.Log(line)
	appendReport(line)
	if hc.Accepted == 0 || cutAccepted == 0 {
		t.Fatalf("the scenario proves nothing: %d accepted, %d of them cut away", hc.Accepted, cutAccepted)
	}
	if hc.Lost != cutAccepted {
		t.Errorf("%d events lost, want exactly the %d cut away with their segment", hc.Lost, cutAccepted)
	}
	if hc.Found != hc.Accepted-cutAccepted {
		t.Errorf("found %d, want every accepted event outside the cut span (%d)", hc.Found, hc.Accepted-cutAccepted)
	}
}
