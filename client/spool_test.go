package client

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func testSpoolConfig() *config {
	cfg := defaultConfig()
	cfg.spoolFsync = -1
	return &cfg
}

func testRecord(i int) record {
	return record{id: fmt.Sprintf("id-%d", i), stream: "s", raw: []byte(fmt.Sprintf(`{"meta":{"id":"id-%d","stream":"s"},"n":%d}`, i, i))}
}

func readAll(t *testing.T, sp *spool, n int64) []record {
	t.Helper()
	var out []record
	for int64(len(out)) < n {
		b, err := sp.read(1000, 1<<30, n-int64(len(out)))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b.recs...)
	}
	return out
}

func segFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A writer killed mid-record leaves a torn tail: at open it is cut (and logged), the whole
// records before it are all there, in order, and new records follow them.
func TestSpoolTornTail(t *testing.T) {
	f := func(name string, tail func(good []byte) []byte) {
		t.Helper()
		dir := t.TempDir()
		sp, err := openSpool(dir, testSpoolConfig(), discardLogger())
		if err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			if err := sp.append(testRecord(i)); err != nil {
				t.Fatal(err)
			}
		}
		sp.close()
		seg := segFiles(t, dir)[0]
		good, _ := os.ReadFile(seg)
		fh, _ := os.OpenFile(seg, os.O_WRONLY|os.O_APPEND, 0)
		fh.Write(tail(good))
		fh.Close()

		var logs strings.Builder // openSpool logs on this goroutine: no fsync loop with fsync off
		sp, err = openSpool(dir, testSpoolConfig(), slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatalf("%s: %s", name, err)
		}
		defer sp.close()
		if sp.recovered != 5 {
			t.Fatalf("%s: recovered %d records, want 5", name, sp.recovered)
		}
		if !strings.Contains(logs.String(), "torn tail") {
			t.Fatalf("%s: the cut is not logged: %s", name, logs.String())
		}
		if st, _ := os.Stat(seg); st.Size() != int64(len(good)) {
			t.Fatalf("%s: segment is %d bytes after the cut, want %d", name, st.Size(), len(good))
		}
		if err := sp.append(testRecord(5)); err != nil {
			t.Fatal(err)
		}
		recs := readAll(t, sp, 6)
		for i, r := range recs {
			if r.id != fmt.Sprintf("id-%d", i) || string(r.raw) != string(testRecord(i).raw) || r.stream != "s" {
				t.Fatalf("%s: record %d = %+v", name, i, r)
			}
		}
	}
	frame := func(payload []byte, crc uint32) []byte {
		b := binary.LittleEndian.AppendUint32(nil, uint32(len(payload)))
		b = binary.LittleEndian.AppendUint32(b, crc)
		return append(b, payload...)
	}
	whole := func() []byte {
		p := appendPayload(nil, testRecord(99))
		return frame(p, crc32.Checksum(p, crcTable))
	}
	f("part of a header", func([]byte) []byte { return whole()[:3] })
	f("a header and part of its payload", func([]byte) []byte { w := whole(); return w[:len(w)-5] })
	f("a whole record with a wrong CRC", func([]byte) []byte { w := whole(); w[len(w)-1] ^= 1; return w })
	f("zeros (a file extended but never written)", func([]byte) []byte { return make([]byte, 64) })
	f("a length far beyond the file", func([]byte) []byte { return frame([]byte("xx"), 0)[:4] })
	f("a CRC-correct payload that does not decode", func([]byte) []byte {
		p := []byte{0x7f, 'a'}
		return frame(p, crc32.Checksum(p, crcTable))
	})
}

// A damaged cursor sends the spool again from its oldest segment: duplicates, never loss.
func TestSpoolDamagedCursor(t *testing.T) {
	dir := t.TempDir()
	sp, err := openSpool(dir, testSpoolConfig(), discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		sp.append(testRecord(i))
	}
	b, _ := sp.read(2, 1<<20, 4)
	if err := sp.commit(b.end); err != nil {
		t.Fatal(err)
	}
	sp.close()
	sp, _ = openSpool(dir, testSpoolConfig(), discardLogger())
	if sp.recovered != 2 {
		t.Fatalf("after a commit of 2: %d recovered, want 2", sp.recovered)
	}
	sp.close()
	os.WriteFile(filepath.Join(dir, cursorFile), []byte("garbage of twenty by"), 0o644)
	sp, _ = openSpool(dir, testSpoolConfig(), discardLogger())
	defer sp.close()
	if sp.recovered != 4 {
		t.Fatalf("with a damaged cursor: %d recovered, want all 4", sp.recovered)
	}
}

// The backlog a client could not deliver (the edge down) stays in the spool; the next client
// sends it first, in order, with the same meta.ids; invalid events leave the spool; acknowledged
// segments are deleted.
func TestSpoolBacklogInOrder(t *testing.T) {
	dir := t.TempDir()
	down := newFakeEdge(t, func(int, fakeReq) (int, map[string]string, string) {
		return 503, map[string]string{"Retry-After": "0"}, `{"status":503,"message":"down"}`
	})
	a, err := New(down.URL, WithSpool(dir), WithSpoolLimits(1<<30, 2048), WithStreamConfigRefresh(-1), WithLogger(discardLogger()),
		WithBackoff(time.Millisecond, 5*time.Millisecond), WithBatch(10, 1<<20, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 100; i++ {
		if err := a.Enqueue(click("s", i)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	err = a.Close(ctx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "100 events stay in the spool") {
		t.Fatalf("Close with the edge down: %v", err)
	}
	if s := a.Stats(); s.Spooled != 100 || s.Accepted != 0 || s.Failed != 0 || s.Queued != 100 {
		t.Fatalf("stats %+v", s)
	}
	idOfPage := map[string]string{}
	for _, r := range down.requests() {
		for _, ev := range r.events {
			idOfPage[fmt.Sprint(ev["page"].(map[string]any)["id"])] = metaID(ev)
		}
	}
	if len(segFiles(t, dir)) < 5 {
		t.Fatalf("%d segments; 100 events of 200 bytes in 2 KiB segments make about 10", len(segFiles(t, dir)))
	}

	up := newFakeEdge(t, func(n int, r fakeReq) (int, map[string]string, string) {
		for _, ev := range r.events {
			if fmt.Sprint(ev["page"].(map[string]any)["id"]) == "50" {
				return 207, nil, lists([]any{listEntry(ev, "invalid", "bad page")}, nil)
			}
		}
		return 201, nil, ""
	})
	b, _ := newTestClient(t, up.URL, WithSpool(dir), WithSpoolLimits(1<<30, 2048), WithBatch(10, 1<<20, time.Millisecond))
	if s := b.Stats(); s.Recovered != 100 {
		t.Fatalf("recovered %d, want 100", s.Recovered)
	}
	for i := 101; i <= 105; i++ {
		b.Enqueue(click("s", i))
	}
	mustClose(t, b)
	var pages []string
	for _, r := range up.requests() {
		for _, ev := range r.events {
			page := fmt.Sprint(ev["page"].(map[string]any)["id"])
			pages = append(pages, page)
			if want, ok := idOfPage[page]; ok && metaID(ev) != want {
				t.Fatalf("page %s went out with meta.id %s, before with %s", page, metaID(ev), want)
			}
		}
	}
	for i, p := range pages {
		if p != fmt.Sprint(i+1) {
			t.Fatalf("event %d was page %s: not in order (%v)", i, p, pages)
		}
	}
	if len(pages) != 105 {
		t.Fatalf("%d events sent, want 105", len(pages))
	}
	if s := b.Stats(); s.Accepted != 104 || s.Invalid != 1 || s.Queued != 0 {
		t.Fatalf("stats %+v", s)
	}
	if n := len(segFiles(t, dir)); n > 1 {
		t.Fatalf("%d segments left after everything was acknowledged", n)
	}
	c, _ := newTestClient(t, up.URL, WithSpool(dir))
	if s := c.Stats(); s.Recovered != 0 {
		t.Fatalf("a third client recovered %d events: acknowledged and invalid events must leave the spool", s.Recovered)
	}
}

// One client per spool; a full spool is ErrQueueFull.
func TestSpoolLockAndLimit(t *testing.T) {
	dir := t.TempDir()
	release := make(chan struct{})
	fe := newFakeEdge(t, func(int, fakeReq) (int, map[string]string, string) { <-release; return 201, nil, "" })
	defer close(release)
	c, _ := newTestClient(t, fe.URL, WithSpool(dir), WithSpoolLimits(1000, 1<<20))
	if c2, err := New(fe.URL, WithSpool(dir), WithStreamConfigRefresh(-1)); err == nil {
		c2.Close(context.Background())
		t.Fatal("a second client opened a spool in use")
	} else if !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second client: %v", err)
	}
	n := 0
	var err error
	for ; n < 100; n++ {
		if err = c.Enqueue(click("s", n+1)); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrQueueFull) || n < 3 || n > 8 {
		t.Fatalf("after %d events: %v, want ErrQueueFull after about 5", n, err)
	}
	if s := c.Stats(); s.DroppedFull != 1 || s.Spooled != int64(n) {
		t.Fatalf("stats %+v", s)
	}
}

// A record of an event enqueued before the stream configuration was loaded carries its unit ids;
// one without them reads as before, and frameSize counts both right.
func TestSpoolPayloadUnits(t *testing.T) {
	f := func(rec record) {
		t.Helper()
		p := appendPayload(nil, rec)
		if int64(frameHeader+len(p)) != frameSize(rec) {
			t.Fatalf("frameSize %d, payload %d bytes", frameSize(rec), len(p))
		}
		if !payloadOK(p) || payloadOK(p[:len(p)-len(rec.raw)]) {
			t.Fatal("payloadOK")
		}
		got, err := decodePayload(p)
		if err != nil || got.id != rec.id || got.stream != rec.stream || string(got.raw) != string(rec.raw) ||
			(got.units == nil) != (rec.units == nil) || rec.units != nil && *got.units != *rec.units {
			t.Fatalf("decoded %+v (%v), want %+v", got, err, rec)
		}
	}
	f(record{id: "a", stream: "s", raw: []byte(`{"x":1}`)})
	f(record{id: "a", stream: "s", raw: []byte(` {"x":1}`)})
	f(record{id: "a", stream: "s", raw: []byte(`{}`), units: &Units{Session: "00000000", Pageview: "", Device: "ffffffff0000"}})
	f(record{id: "", stream: "", raw: []byte(`{}`), units: &Units{}})
	if payloadOK([]byte{1, 'a', 1, 's', unitsMark, 8, '0'}) {
		t.Fatal("a cut unit id is not a payload")
	}
}
