package client

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// fakeReq is one POST /v1/events a fakeEdge received.
type fakeReq struct {
	header http.Header
	query  string
	gzip   bool
	events []map[string]any
}

func (r fakeReq) ids() []string {
	var ids []string
	for _, ev := range r.events {
		ids = append(ids, metaID(ev))
	}
	return ids
}

// fakeEdge is an httptest server standing in for the edge: it records every POST /v1/events and
// answers with answer (n counts requests from 0); GET /v1/streams serves streams.
type fakeEdge struct {
	*httptest.Server
	t       *testing.T
	mu      sync.Mutex
	reqs    []fakeReq
	answer  func(n int, r fakeReq) (code int, header map[string]string, body string)
	streams func(r *http.Request) (code int, header map[string]string, body string)
}

func newFakeEdge(t *testing.T, answer func(n int, r fakeReq) (int, map[string]string, string)) *fakeEdge {
	t.Helper()
	f := &fakeEdge{t: t, answer: answer}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeEdge) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/v1/streams" {
		code, hdr, body := 404, map[string]string(nil), ""
		if f.streams != nil {
			code, hdr, body = f.streams(r)
		}
		for k, v := range hdr {
			w.Header().Set(k, v)
		}
		w.WriteHeader(code)
		io.WriteString(w, body)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v1/events" {
		http.Error(w, "not found", 404)
		return
	}
	var body io.Reader = r.Body
	fr := fakeReq{header: r.Header.Clone(), query: r.URL.RawQuery}
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			f.t.Errorf("fake edge: bad gzip body: %s", err)
			w.WriteHeader(400)
			return
		}
		body, fr.gzip = zr, true
	}
	b, err := io.ReadAll(body)
	if err != nil {
		w.WriteHeader(400)
		return
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&fr.events); err != nil {
		f.t.Errorf("fake edge: the body is not a JSON array of objects: %s\n%s", err, b)
		w.WriteHeader(400)
		return
	}
	f.mu.Lock()
	n := len(f.reqs)
	f.reqs = append(f.reqs, fr)
	f.mu.Unlock()
	code, hdr, out := 201, map[string]string(nil), ""
	if f.answer != nil {
		code, hdr, out = f.answer(n, fr)
	}
	for k, v := range hdr {
		w.Header().Set(k, v)
	}
	if out != "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(code)
	io.WriteString(w, out)
}

func (f *fakeEdge) requests() []fakeReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeReq(nil), f.reqs...)
}

// listEntry is an entry of EventGate's invalid or error list for event ev.
func listEntry(ev map[string]any, status, text string) map[string]any {
	if status == "invalid" {
		return map[string]any{"status": "invalid", "event": ev, "context": map[string]any{
			"errors":     []any{map[string]any{"keyword": "type", "instancePath": "/page/id", "dataPath": ".page.id", "schemaPath": "#/properties/page/properties/id/type", "params": map[string]any{"type": "integer"}, "message": "should be integer"}},
			"errorsText": text}}
	}
	return map[string]any{"status": "error", "event": ev, "context": map[string]any{"message": text}}
}

func lists(invalid, errs []any) string {
	b, _ := json.Marshal(map[string]any{"invalid": invalid, "error": errs})
	return string(b)
}

func metaID(ev map[string]any) string {
	m, _ := ev["meta"].(map[string]any)
	id, _ := m["id"].(string)
	return id
}

// sleeps records the waits between attempts instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// newTestClient is a client of url with sampling off and quiet logs; waits between attempts are
// recorded and skipped.
func newTestClient(t testing.TB, url string, opts ...Option) (*Client, *sleeps) {
	t.Helper()
	s := &sleeps{}
	opts = append([]Option{WithStreamConfigRefresh(-1), WithLogger(discardLogger()), withSleep(s.sleep)}, opts...)
	c, err := New(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c.Close(ctx)
	})
	return c, s
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// click is a valid example/click event of stream with page.id page.
func click(stream string, page int) map[string]any {
	return map[string]any{
		"$schema": "/example/click/1.0.0",
		"dt":      "2026-11-23T12:00:00.000Z",
		"meta":    map[string]any{"stream": stream},
		"page":    map[string]any{"id": page, "title": "Main Page"},
		"button":  "save",
	}
}

// clickWithID is click with its meta.id set, so that the test knows what to look for.
func clickWithID(stream string, page int) (map[string]any, string) {
	ev := click(stream, page)
	id := NewID()
	ev["meta"].(map[string]any)["id"] = id
	return ev, id
}

func mustClose(t testing.TB, c *Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatalf("Close: %s", err)
	}
}

// withSleep replaces the waits between attempts.
func withSleep(f func(context.Context, time.Duration) error) Option {
	return func(c *config) { c.sleep = f }
}

// syncBuffer is a bytes.Buffer that loggers on several goroutines may write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
