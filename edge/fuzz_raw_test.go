package edge_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"intake.dev/intake/edge"
	"intake.dev/intake/internal/edgetest"
	"intake.dev/intake/schemacache"
)

// FuzzRawRequest feeds raw bytes to the edge's fasthttp server as one client connection: request
// lines, headers, framing (Content-Length, chunks), gzip and bodies, through the handler to the
// produce decision, with the real schemas and stream config of ../shared/data. Whatever the bytes:
// the server must not panic; what it writes back must be a sequence of well-formed HTTP
// responses, each with a status of the contract and, when JSON, a JSON body; and records may be
// handed to the producer only by requests whose answer says events were read (201, 202, 207, or
// 400 and 403 listing invalid events): a request refused as a whole produces nothing.
func FuzzRawRequest(f *testing.F) {
	for _, seed := range rawSeeds(f) {
		f.Add(seed)
	}
	s, snap := newRawFuzzServer(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		before := producedRecords(snap)
		c := &rawConn{in: bytes.NewReader(raw)}
		_ = s.ServeConn(c) // an error is a request it could not read, answered already
		produced := producedRecords(snap) - before

		// HEAD answers carry a Content-Length but no body: with a HEAD among the requests the
		// answers cannot be split without knowing which, so only the rest is checked.
		if bytes.Contains(raw, []byte("HEAD")) {
			return
		}
		br := bufio.NewReader(bytes.NewReader(c.out.Bytes()))
		readEvents := false
		for {
			if _, err := br.Peek(1); err == io.EOF {
				break
			}
			resp, err := http.ReadResponse(br, &http.Request{Method: "POST"})
			if err != nil {
				t.Fatalf("the edge wrote something that is not an HTTP response: %s\n%q", err, c.out.Bytes())
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("a response body: %s\n%q", err, c.out.Bytes())
			}
			code := resp.StatusCode
			// Developer mode and dry runs answer every event's verdict, whatever the status.
			if bytes.HasPrefix(body, []byte(`{"dry_run":`)) {
				readEvents = true
			}
			switch code {
			case 100, 200, 404, 405, 413, 414, 415, 431:
			case 201:
				if len(body) != 0 {
					t.Fatalf("201 with a body: %s", body)
				}
				readEvents = true
			case 202, 207:
				readEvents = true
			case 400, 403:
				readEvents = readEvents || bytes.HasPrefix(body, []byte(`{"invalid":`))
			default:
				t.Fatalf("unexpected status %d: %s", code, body)
			}
			if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && !json.Valid(body) {
				t.Fatalf("%d with a body that is not JSON: %q", code, body)
			}
		}
		if produced != 0 && !readEvents {
			t.Fatalf("%d records went to the producer, but no answer says events were read:\n%q", produced, c.out.Bytes())
		}
	})
}

// producedRecords is the records the edge has handed to the producer so far: accepted events
// (counted as they are queued, or for sync requests acknowledged: the discarding producer
// acknowledges all) and error events. The counters are updated by the handler before it answers.
func producedRecords(snap *schemacache.Snapshot) uint64 {
	n := edge.ErrorEventsQueued()
	for _, st := range snap.Streams() {
		n += st.Counters.Accepted.Get()
	}
	return n
}

// newRawFuzzServer is an edge over the real schemas and stream config, with a producer that
// acknowledges everything at once, and limits small enough for fuzzed inputs to reach.
func newRawFuzzServer(t testing.TB) (*edge.Server, *schemacache.Snapshot) {
	o := edgetest.RealData()
	o.Discard = true
	o.Listener = edgetest.NoListener
	o.Logger = slog.New(slog.DiscardHandler)
	o.Edge = func(cfg *edge.Config) {
		hostileLimits(cfg)
		// Smaller still where fuzzed inputs must reach the limit; no read timeout on an in-memory
		// connection.
		cfg.MaxEvents = 20
		cfg.MaxHeaderBytes = 2048
		cfg.MaxHeaders = 20
		cfg.MaxURLBytes = 512
		cfg.ReadTimeout = edge.DefaultConfig().ReadTimeout
	}
	e := edgetest.Start(t, o)
	return e.Server, e.Cache.Current()
}

// rawSeeds are requests built from real example events of ../shared/data, each posted to a
// stream of its schema, in the shapes a client sends: plain, gzip, chunked, hasty, batched,
// pipelined, and a few hostile framings.
func rawSeeds(t testing.TB) [][]byte {
	streamOf := map[string]string{}
	for name, s := range realStreams(t) {
		if !strings.HasPrefix(name, "/") && (streamOf[s.SchemaTitle] == "" || name < streamOf[s.SchemaTitle]) {
			streamOf[s.SchemaTitle] = name
		}
	}
	files, _ := filepath.Glob(edgetest.SharedData("examples", "*", "*.json"))
	sort.Strings(files)
	var events []string
	for _, f := range files {
		stream := streamOf[strings.ReplaceAll(filepath.Base(filepath.Dir(f)), ".", "/")]
		if stream == "" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var evs []map[string]any
		if err := json.Unmarshal(b, &evs); err != nil || len(evs) == 0 {
			continue
		}
		meta, _ := evs[0]["meta"].(map[string]any)
		if meta == nil {
			meta = map[string]any{}
			evs[0]["meta"] = meta
		}
		meta["stream"] = stream
		ev, _ := json.Marshal(evs[0])
		if len(ev) < 1500 {
			events = append(events, string(ev))
		}
	}
	if len(events) < 20 {
		t.Fatalf("only %d example events with a stream", len(events))
	}
	// Every eighth example, so the seeds stay few and span the schemas.
	var picked []string
	for i := 0; i < len(events); i += 8 {
		picked = append(picked, events[i])
	}
	chunk := func(body string) string { return fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(body), body) }
	head := "POST /v1/events HTTP/1.1\r\nHost: intake\r\nContent-Type: application/json\r\n"
	var seeds [][]byte
	for i, ev := range picked {
		switch i % 6 {
		case 0:
			seeds = append(seeds, httpReq("POST", "/v1/events", ev))
			if i%5 == 0 {
				seeds = append(seeds, httpReq("POST", "/v1/events?dry_run=true", ev), httpReq("POST", "/v1/events?debug=true", ev))
			}
		case 1:
			seeds = append(seeds, httpReq("POST", "/v1/events?hasty=true", "["+ev+","+picked[(i+1)%len(picked)]+"]", "Connection", "keep-alive"))
		case 2:
			seeds = append(seeds, httpReq("POST", "/v1/events", string(gz([]byte(ev))), "Content-Encoding", "gzip"))
		case 3:
			seeds = append(seeds, []byte(head+"Transfer-Encoding: chunked\r\n\r\n"+chunk(ev)))
		case 4:
			seeds = append(seeds, append(httpReq("POST", "/v1/events", ev, "Connection", "keep-alive"), httpReq("GET", "/healthz", "")...))
		case 5:
			seeds = append(seeds, []byte(head+fmt.Sprintf("Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n", len(ev)+5)+chunk(ev)))
		}
	}
	seeds = append(seeds,
		httpReq("POST", "/v1/events", `{"meta":{"stream":"x"`),
		httpReq("POST", "/v1/events", picked[0], "Content-Type", "text/plain;charset=UTF-8", "Expect", "100-continue"),
		httpReq("GET", "/v1/streams?streams=resource_change", ""),
		[]byte("GET /v1/schemas/resource_change/1.0.0 HTTP/1.1\r\nHost: x\r\n\r\n"),
	)
	return seeds
}

// rawConn is a client connection that sends in and keeps what the server writes.
type rawConn struct {
	in  *bytes.Reader
	out bytes.Buffer
}

func (c *rawConn) Read(p []byte) (int, error)       { return c.in.Read(p) }
func (c *rawConn) Write(p []byte) (int, error)      { return c.out.Write(p) }
func (c *rawConn) Close() error                     { return nil }
func (c *rawConn) LocalAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8192} }
func (c *rawConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 50000} }
func (c *rawConn) SetDeadline(time.Time) error      { return nil }
func (c *rawConn) SetReadDeadline(time.Time) error  { return nil }
func (c *rawConn) SetWriteDeadline(time.Time) error { return nil }
