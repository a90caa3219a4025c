package gen

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// fakeEdge answers POST /v1/events like intake's edge, in process: it checks the example/click
// schema's rules the generator breaks, answers 201/202/207/400 with EventGate-shaped bodies, and
// keeps the ids it acknowledged.
type fakeEdge struct {
	// Optional behaviour, set before start.
	errorID  func(id string) bool                    // an event with this id fails as if Kafka refused it
	answer   func(n int64) int                       // a status to answer request n with instead (e.g. 503)
	beforeDo func(n int64, ctx *fasthttp.RequestCtx) // runs first, e.g. to stall

	requests atomic.Int64

	mu           sync.Mutex
	acked        map[string]bool
	valid        int
	invalid      int
	brokenKinds  map[string]int
	batches      map[int]int // events per request -> requests
	contentTypes map[string]int
	encodings    map[string]int
	hasty        int
	ids          []string        // every meta.id received, in arrival order
	validIDs     map[string]bool // ids of the events that passed the checks

	ln *fasthttputil.InmemoryListener
}

func newFakeEdge() *fakeEdge {
	return &fakeEdge{
		acked: map[string]bool{}, validIDs: map[string]bool{}, brokenKinds: map[string]int{}, batches: map[int]int{},
		contentTypes: map[string]int{}, encodings: map[string]int{},
	}
}

func (e *fakeEdge) start(t *testing.T) {
	t.Helper()
	e.ln = fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: e.handle}
	go srv.Serve(e.ln)
	t.Cleanup(func() { srv.Shutdown() })
}

// config returns a run's settings wired to this edge.
func (e *fakeEdge) config() Config {
	cfg := Defaults()
	cfg.Quiet = true
	cfg.dial = func(string) (net.Conn, error) { return e.ln.Dial() }
	return cfg
}

// clickBroken says which rule of example/click an event breaks, "" for none.
func clickBroken(ev map[string]any) string {
	page, _ := ev["page"].(map[string]any)
	if _, ok := page["id"].(float64); !ok {
		return "type"
	}
	b, ok := ev["button"]
	if !ok {
		return "required"
	}
	switch b {
	case "save", "cancel", "preview":
	default:
		return "enum"
	}
	if meta, _ := ev["meta"].(map[string]any); meta != nil {
		if dt, ok := meta["dt"]; ok {
			if _, ok := dt.(string); !ok {
				return "type"
			}
		}
	}
	return ""
}

func (e *fakeEdge) handle(ctx *fasthttp.RequestCtx) {
	n := e.requests.Add(1) - 1
	if e.beforeDo != nil {
		e.beforeDo(n, ctx)
	}
	body := ctx.PostBody()
	enc := string(ctx.Request.Header.Peek("Content-Encoding"))
	if enc == "gzip" {
		r, err := gzip.NewReader(bytes.NewReader(body))
		if err == nil {
			body, err = io.ReadAll(r)
		}
		if err != nil {
			ctx.Error(`{"status":400,"message":"bad gzip"}`, 400)
			return
		}
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		ctx.Error(`{"status":400,"message":"not JSON"}`, 400)
		return
	}
	var events []map[string]any
	switch v := v.(type) {
	case map[string]any:
		events = append(events, v)
	case []any:
		for _, x := range v {
			events = append(events, x.(map[string]any))
		}
	}
	hasty := string(ctx.QueryArgs().Peek("hasty")) == "true"

	type entry struct {
		Status  string         `json:"status"`
		Event   map[string]any `json:"event"`
		Context map[string]any `json:"context"`
	}
	lists := struct {
		Invalid []entry `json:"invalid"`
		Error   []entry `json:"error"`
	}{Invalid: []entry{}, Error: []entry{}}
	var acked []string
	e.mu.Lock()
	e.batches[len(events)]++
	e.contentTypes[string(ctx.Request.Header.ContentType())]++
	e.encodings[enc]++
	if hasty {
		e.hasty++
	}
	for _, ev := range events {
		meta, _ := ev["meta"].(map[string]any)
		id, _ := meta["id"].(string)
		if id != "" {
			e.ids = append(e.ids, id)
		}
		if k := clickBroken(ev); k != "" {
			e.invalid++
			e.brokenKinds[k]++
			lists.Invalid = append(lists.Invalid, entry{"invalid", ev, map[string]any{"errors": []any{}, "errorsText": k}})
			continue
		}
		e.valid++
		e.validIDs[id] = true
		if e.errorID != nil && e.errorID(id) {
			lists.Error = append(lists.Error, entry{"error", ev, map[string]any{"message": "Kafka refused the event"}})
			continue
		}
		acked = append(acked, id)
	}
	e.mu.Unlock()

	status := 201
	switch {
	case e.answer != nil && e.answer(n) != 0:
		status = e.answer(n)
		acked = nil
	case hasty:
		status = 202
		acked = nil // the fake does not know what a hasty edge would have produced
	case len(acked) == len(events):
	case len(acked) > 0:
		status = 207
	case len(lists.Error) == 0:
		status = 400
	default:
		status = 500
	}
	e.mu.Lock()
	for _, id := range acked {
		e.acked[id] = true
	}
	e.mu.Unlock()
	ctx.SetStatusCode(status)
	if status != 201 && status != 202 {
		if status == 503 {
			ctx.Response.Header.Set("Retry-After", "1")
		}
		ctx.SetContentType("application/json")
		b, _ := json.Marshal(lists)
		ctx.SetBody(b)
	}
}

// runOK runs cfg to the end and fails the test on an error.
func runOK(t *testing.T, cfg Config) *Report {
	t.Helper()
	r, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := r.Run(ctx, nil, false)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return rep
}
