package edge_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"intake.dev/intake/edge"
	"intake.dev/intake/internal/edgetest"
)

// hostileCase is one hostile request. Each is written to a fresh TCP connection as raw bytes, so
// that nothing between the test and the edge normalizes it away.
type hostileCase struct {
	name string
	req  []byte         // the raw request, written at once
	send func(net.Conn) // or: writes the request its own way (trickles, half-closes)
	// method is the request's method, for reading its response ("" is POST).
	method string
	// code is the status of the only response; after it the edge closes the connection.
	code int
	// responses is how many responses the connection gets (0 is 1): pipelined requests.
	responses int
	// msg is a substring of the last response's body, when set.
	msg string
	// errorEvents are the error events the case leaves on the error stream (one per invalid
	// event), events the events it leaves on dev.example.click; all other topics get none.
	errorEvents, events int
}

// hostileLimits are the limits of the suite's edge: small, so the cases stay small and fast.
func hostileLimits(c *edge.Config) {
	c.MaxBodyBytes = 64 << 10
	c.MaxDecompressedBytes = 256 << 10
	c.MaxEvents = 200
	c.MaxDepth = 16
	c.MaxStringBytes = 4096
	c.MaxKeyBytes = 128
	c.MaxMembers = 100
	c.MaxGzipRatio = 250
	c.MaxHeaderBytes = 4096
	c.MaxHeaders = 30
	c.MaxURLBytes = 1024
	c.ReadTimeout = time.Second
}

// TestHostileInput sends each hostile case and checks, for every one: the exact status, that
// the edge then still answers a valid event (201), and what reached Kafka: nothing but the
// error events of invalid events (and the accepted events a case expects), counted with the
// broker's end offsets of every topic. Schema URIs must never be fetched outside the configured
// bases: a schema that would make the event valid waits outside the base directory and behind
// a stand-in for a cloud metadata server, so a fetch would show as an accepted event, and the
// stand-in counts its hits. At the end, no log line may carry a line a client injected, and no
// metric label a client's stream name.
func TestHostileInput(t *testing.T) {
	// Schemas: a base directory, and beside it (outside it) a copy a hostile URI might reach.
	dir := t.TempDir()
	copyDir(t, "../examples/schemas", filepath.Join(dir, "base"))
	copyDir(t, "../examples/schemas", filepath.Join(dir, "secret"))
	clickSchema, err := os.ReadFile("../examples/schemas/example/click/1.0.0.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The stand-in metadata server answers every request with the click schema, and counts.
	var metadataHits atomic.Int64
	metadata := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		metadataHits.Add(1)
		w.Write(clickSchema)
	}))
	defer metadata.Close()
	// The http(s) schema repository, a second base: it records what it is asked for.
	var repoMu sync.Mutex
	var repoPaths []string
	repo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		repoMu.Lock()
		repoPaths = append(repoPaths, r.URL.RawPath+r.URL.Path)
		repoMu.Unlock()
		http.NotFound(w, r)
	}))
	defer repo.Close()

	logs := &edgetest.SyncBuffer{}
	h := edgetest.Start(t, edgetest.Options{
		SchemaBaseURIs: []string{filepath.Join(dir, "base"), repo.URL + "/schemas/"},
		Edge:           hostileLimits,
		Logger:         slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	addr := strings.TrimPrefix(h.URL, "http://")
	adm := kadm.NewClient(mustClient(t, h.Brokers))
	defer adm.Close()

	cases := hostileCases(dir, metadata.URL, repo.URL)
	if len(cases) < 100 {
		t.Fatalf("only %d hostile cases", len(cases))
	}
	// Warm up: the topics exist and the producer knows them before the first case is counted.
	if r := h.Post("/v1/events", []byte("["+click("example.click")+","+click("example.click", `"count":0`)+"]")); r.Code != 207 {
		t.Fatalf("warm-up: got %d %s", r.Code, r.Body)
	}
	before := waitRecords(t, h, adm, map[string]int64{}, map[string]int64{"dev.example.click": 1, "dev.intake.error": 1})
	for _, c := range cases {
		ok := t.Run(c.name, func(t *testing.T) {
			resps, closed := exchange(t, addr, c)
			want := max(c.responses, 1)
			if len(resps) != want {
				t.Fatalf("got %d responses, want %d: %v", len(resps), want, resps)
			}
			last := resps[len(resps)-1]
			if last.code != c.code {
				t.Errorf("got %d %s, want %d", last.code, last.body, c.code)
			}
			if c.msg != "" && !strings.Contains(string(last.body), c.msg) && !strings.Contains(last.message(), c.msg) {
				t.Errorf("the answer %d %s lacks %q", last.code, last.body, c.msg)
			}
			if !closed {
				t.Errorf("the edge left the connection open after its answer")
			}
			// Responsive: a valid event right after is accepted.
			if r := h.Post("/v1/events", []byte(click("example.click"))); r.Code != 201 {
				t.Fatalf("a valid event after the case: got %d %s", r.Code, r.Body)
			}
			want2 := map[string]int64{"dev.example.click": int64(c.events) + 1, "dev.intake.error": int64(c.errorEvents)}
			before = waitRecords(t, h, adm, before, want2)
			if n := metadataHits.Load(); n != 0 {
				t.Fatalf("the metadata stand-in was asked %d times", n)
			}
		})
		if !ok {
			// Count the next case from what is there now.
			before = waitRecords(t, h, adm, topicRecords(t, adm), nil)
		}
	}
	repoMu.Lock()
	for _, p := range repoPaths {
		if !strings.HasPrefix(p, "/schemas/") || strings.Contains(p, "..") || strings.Contains(p, "%") {
			t.Errorf("the schema repository was asked for %q, outside its base", p)
		}
	}
	repoMu.Unlock()

	// Logs: one JSON record a line, whatever the clients sent.
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if line != "" && !json.Valid([]byte(line)) {
			t.Errorf("a log line is not one JSON record: %q", line)
		}
	}
	// Metrics: no client's stream name became a label.
	if m := string(h.Get("/metrics").Body); strings.Contains(m, "INJECTED") || strings.Contains(m, "../") {
		t.Errorf("a client's stream name became a metric label")
	}
}

// hostileCases are the cases, over the schema directory dir (base/ and, outside the base,
// secret/), the metadata stand-in's URL and the schema repository's URL.
func hostileCases(dir, metadataURL, repoURL string) []hostileCase {
	ok := click("example.click")
	invalid := click("example.click", `"count":0`) // one invalid event: 400 and an error event
	withSchema := func(uri string) string {
		return strings.Replace(ok, `"/example/click/1.0.0"`, jsonString(uri), 1)
	}
	withStream := func(name string) string {
		return strings.Replace(ok, `"stream":"example.click"`, `"stream":`+jsonString(name), 1)
	}
	withPage := func(members string) string {
		return strings.Replace(ok, `"page":{"id":42,`, `"page":{"id":42,`+members+`,`, 1)
	}
	withTitle := func(raw string) string { // raw: the title's JSON text, quotes included
		return strings.Replace(ok, `"Main Page"`, raw, 1)
	}
	// pageKeys is n members "k0":0, "k1":0, ... for the page object.
	pageKeys := func(n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"k%d":0`, i)
		}
		return b.String()
	}
	nested := func(levels int) string { // levels of arrays around 1
		return strings.Repeat("[", levels) + "1" + strings.Repeat("]", levels)
	}
	batch := func(n int, ev string) string { return "[" + strings.TrimSuffix(strings.Repeat(ev+",", n), ",") + "]" }
	// bomb decompresses a small body to 200 KiB of spaces; noisy to 300 KiB that compresses only
	// about eight times (random letters from two), over --max-decompressed-bytes at a modest ratio.
	bomb := gz(bytes.Repeat([]byte(" "), 200<<10))
	rnd := rand.New(rand.NewPCG(1, 2))
	noisy := make([]byte, 300<<10)
	for i := range noisy {
		noisy[i] = 'a' + byte(rnd.IntN(2))
	}
	noisyBody := gz([]byte(`{"x":"` + string(noisy) + `"}`))
	okGz := gz([]byte(ok))
	badCRC := append([]byte(nil), okGz...)
	badCRC[len(badCRC)-8] ^= 0xff
	half := len(ok) / 2
	twoMembers := append(gz([]byte(ok[:half])), gz([]byte(ok[half:]))...)

	utf16 := func(s string, bigEndian bool) string {
		var b []byte
		if bigEndian {
			b = append(b, 0xfe, 0xff)
		} else {
			b = append(b, 0xff, 0xfe)
		}
		for _, r := range s {
			if bigEndian {
				b = append(b, byte(r>>8), byte(r))
			} else {
				b = append(b, byte(r), byte(r>>8))
			}
		}
		return string(b)
	}
	secretDir := filepath.ToSlash(filepath.Join(dir, "secret"))
	metadataHost := strings.TrimPrefix(metadataURL, "http://")

	chunked := func(body string) string {
		return fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(body), body)
	}
	// smuggled is a complete valid request, as a second request hidden in a first one's body.
	smuggled := string(postEvents(ok))
	// keepAlive heads a request that leaves its connection open; head one that asks to close it.
	keepAlive := "POST /v1/events HTTP/1.1\r\nHost: intake.test\r\nContent-Type: application/json\r\n"
	head := keepAlive + "Connection: close\r\n"

	const (
		notJSON    = "cannot parse the request body as JSON"
		notUTF8    = "not valid UTF-8"
		badSchema  = "should name a schema"
		notStream  = "is not in the stream configuration"
		cannotRead = "cannot read the HTTP request"
		noPost     = "use POST to send events"
	)
	return []hostileCase{
		// Malformed and truncated JSON: 400 before any event is looked at.
		{name: "unclosed object", req: postEvents(`{"meta":{"stream":"example.click"`), code: 400, msg: "at offset"},
		{name: "unclosed array", req: postEvents(`[` + ok), code: 400, msg: notJSON},
		{name: "unclosed string", req: postEvents(`{"meta":"example.click`), code: 400, msg: notJSON},
		{name: "truncated event", req: postEvents(ok[:len(ok)-5]), code: 400, msg: notJSON},
		{name: "truncated literal", req: postEvents(`{"a":tru`), code: 400, msg: `malformed value "tru"`},
		{name: "trailing comma in object", req: postEvents(strings.TrimSuffix(ok, "}") + ",}"), code: 400, msg: notJSON},
		{name: "trailing comma in array", req: postEvents("[" + ok + ",]"), code: 400, msg: notJSON},
		{name: "leading garbage", req: postEvents("x" + ok), code: 400, msg: `malformed value`},
		{name: "two top-level values", req: postEvents(ok + ok), code: 400, msg: notJSON},
		{name: "two top-level values with a space", req: postEvents(ok + " " + ok), code: 400, msg: notJSON},
		{name: "single quotes", req: postEvents(strings.ReplaceAll(ok, `"`, `'`)), code: 400, msg: `malformed value`},
		{name: "block comment", req: postEvents(strings.Replace(ok, `{`, `{/* c */`, 1)), code: 400, msg: `malformed value "/*"`},
		{name: "line comment", req: postEvents("// c\n" + ok), code: 400, msg: `malformed value "//"`},
		{name: "NaN", req: postEvents(withPage(`"n":NaN`)), code: 400, msg: `malformed value "NaN"`},
		{name: "Infinity", req: postEvents(withPage(`"n":Infinity`)), code: 400, msg: `malformed value "Infinity"`},
		{name: "-Infinity", req: postEvents(withPage(`"n":-Infinity`)), code: 400, msg: `malformed value "-Infinity"`},
		{name: "leading zero", req: postEvents(strings.Replace(ok, `"id":42`, `"id":042`, 1)), code: 400, msg: `malformed value "042"`},
		{name: "plus sign", req: postEvents(strings.Replace(ok, `"id":42`, `"id":+42`, 1)), code: 400, msg: `malformed value "+42"`},
		{name: "hex number", req: postEvents(strings.Replace(ok, `"id":42`, `"id":0x2a`, 1)), code: 400, msg: `malformed value "0x2a"`},
		{name: "bare fraction", req: postEvents(strings.Replace(ok, `"id":42`, `"id":.5`, 1)), code: 400, msg: `malformed value ".5"`},
		// Fixed: a lone surrogate escape was accepted, and fastjson kept it as its six characters,
		// so Kafka got the text \ud800 where the client sent U+D800.
		{name: "lone high surrogate escape", req: postEvents(withTitle(`"\ud800"`)), code: 400, msg: "lone UTF-16 surrogate"},
		{name: "lone low surrogate escape", req: postEvents(withTitle(`"a\udc00b"`)), code: 400, msg: "lone UTF-16 surrogate"},
		{name: "reversed surrogate pair", req: postEvents(withTitle(`"\ude00\ud83d"`)), code: 400, msg: "lone UTF-16 surrogate"},
		{name: "invalid escape", req: postEvents(withTitle(`"\x41"`)), code: 400, msg: "malformed escape"},
		{name: "short unicode escape", req: postEvents(withTitle(`"\u12"`)), code: 400, msg: "malformed escape"},
		{name: "raw tab in a string", req: postEvents(withTitle("\"a\tb\"")), code: 400, msg: "raw control character (byte 9)"},
		{name: "raw newline in a string", req: postEvents(withTitle("\"a\nb\"")), code: 400, msg: "raw control character (byte 10)"},
		{name: "raw NUL in a string", req: postEvents(withTitle("\"a\x00b\"")), code: 400, msg: "raw control character (byte 0)"},
		{name: "NUL between values", req: postEvents(ok + "\x00"), code: 400, msg: "malformed value"},
		{name: "NUL body", req: postEvents("\x00\x00\x00\x00"), code: 400, msg: "malformed value"},
		{name: "missing colon", req: postEvents(`{"a" 1}`), code: 400, msg: notJSON},
		{name: "missing comma", req: postEvents(`{"a":1 "b":2}`), code: 400, msg: notJSON},
		{name: "number as key", req: postEvents(`{1:2}`), code: 400, msg: notJSON},
		{name: "mismatched bracket", req: postEvents(`{"a":[1}`), code: 400, msg: notJSON},
		{name: "extra closer", req: postEvents(ok + "}"), code: 400, msg: notJSON},
		{name: "closers only", req: postEvents(`]]]]`), code: 400, msg: notJSON},
		{name: "whitespace only", req: postEvents(" \r\n\t "), code: 400, msg: notJSON},
		{name: "empty body", req: postEvents(""), code: 400, msg: "Request body was empty"},
		{name: "empty array", req: postEvents("[]"), code: 400, msg: "Request body was empty"},
		{name: "null", req: postEvents("null"), code: 400, msg: "not a JSON null"},
		{name: "a number", req: postEvents("42"), code: 400, msg: "not a JSON number"},
		{name: "a string", req: postEvents(`"event"`), code: 400, msg: "not a JSON string"},
		{name: "an array of arrays", req: postEvents("[[]]"), code: 400, msg: "should be object", errorEvents: 1},
		{name: "an array of scalars", req: postEvents(`[1,"a",null]`), code: 400, msg: "should be object", errorEvents: 3},

		// Bytes that are not UTF-8, or UTF-8 that is not the body's encoding.
		{name: "overlong slash", req: postEvents(withTitle("\"\xc0\xaf\"")), code: 400, msg: notUTF8},
		{name: "overlong 3-byte", req: postEvents(withTitle("\"\xe0\x80\xaf\"")), code: 400, msg: notUTF8},
		{name: "overlong NUL", req: postEvents(withTitle("\"\xc0\x80\"")), code: 400, msg: notUTF8},
		{name: "encoded surrogate", req: postEvents(withTitle("\"\xed\xa0\x80\"")), code: 400, msg: notUTF8},
		{name: "truncated sequence", req: postEvents(withTitle("\"\xe2\x82\"")), code: 400, msg: notUTF8},
		{name: "truncated at the end", req: postEvents(ok + "\xe2\x82"), code: 400, msg: notUTF8},
		{name: "lone continuation byte", req: postEvents(withTitle("\"\x80\"")), code: 400, msg: notUTF8},
		{name: "beyond U+10FFFF", req: postEvents(withTitle("\"\xf4\x90\x80\x80\"")), code: 400, msg: notUTF8},
		{name: "byte 0xff", req: postEvents(withTitle("\"\xff\"")), code: 400, msg: notUTF8},
		{name: "Latin-1 key", req: postEvents(strings.Replace(ok, `"button"`, "\"b\xfctton\"", 1)), code: 400, msg: notUTF8},
		{name: "UTF-16 LE with BOM", req: postEvents(utf16(ok, false)), code: 400, msg: notUTF8},
		{name: "UTF-16 BE with BOM", req: postEvents(utf16(ok, true)), code: 400, msg: notUTF8},
		{name: "UTF-16 LE without BOM", req: postEvents(utf16(ok, false)[2:]), code: 400, msg: "malformed value"},
		{name: "UTF-16 declared and sent", req: postEvents(utf16(ok, false), "Content-Type", "application/json; charset=utf-16"), code: 400, msg: notUTF8},
		// Fixed: a UTF-8 BOM was a 400. RFC 8259 lets a parser ignore it, and EventGate's body
		// parser strips it: so does intake.
		{name: "UTF-8 BOM", req: postEvents("\xef\xbb\xbf" + ok), code: 201, events: 1},
		{name: "two UTF-8 BOMs", req: postEvents("\xef\xbb\xbf\xef\xbb\xbf" + ok), code: 400, msg: "malformed value"},

		// Numbers.
		{name: "1e400", req: postEvents(strings.Replace(ok, `"id":42`, `"id":1e400`, 1)), code: 400, msg: "out of range of a 64-bit float"},
		{name: "-1e400", req: postEvents(withPage(`"n":-1e400`)), code: 400, msg: "out of range"},
		{name: "400-digit integer", req: postEvents(strings.Replace(ok, `"id":42`, `"id":`+strings.Repeat("9", 400), 1)), code: 400, msg: "out of range"},
		{name: "huge exponent", req: postEvents(withPage(`"n":1e99999999999999999999`)), code: 400, msg: "out of range"},
		{name: "1e-400 is 0, under the minimum", req: postEvents(strings.Replace(ok, `"id":42`, `"id":1e-400`, 1)), code: 400, msg: "should be >= 1", errorEvents: 1},
		{name: "negative zero", req: postEvents(strings.Replace(ok, `"id":42`, `"id":-0`, 1)), code: 400, msg: "should be >= 1", errorEvents: 1},
		{name: "fraction for an integer", req: postEvents(strings.Replace(ok, `"id":42`, `"id":42.5`, 1)), code: 400, msg: "should be integer", errorEvents: 1},

		// Duplicate keys: the event would mean different things to different consumers.
		{name: "duplicate top-level key", req: postEvents(click("example.click", `"button":"cancel"`)), code: 400, msg: "twice", errorEvents: 1},
		{name: "duplicate key via escape", req: postEvents(click("example.click", `"butto\u006e":"cancel"`)), code: 400, msg: "twice", errorEvents: 1},
		{name: "duplicate stream", req: postEvents(strings.Replace(ok, `"stream":"example.click"`, `"stream":"example.click","stream":"example.click.mobile"`, 1)), code: 400, msg: "twice", errorEvents: 1},
		{name: "duplicate $schema", req: postEvents(strings.Replace(ok, `{`, `{"$schema":"/error/2.1.0",`, 1)), code: 400, msg: "twice", errorEvents: 1},
		{name: "duplicate key deep down", req: postEvents(withPage(`"x":[{"a":1,"a":2}]`)), code: 400, msg: "twice", errorEvents: 1},

		// Prototype-pollution keys are ordinary keys in Go: the schema decides. The top level
		// allows no other properties (invalid); meta and page allow any (accepted, kept as sent).
		{name: "__proto__ at the top", req: postEvents(click("example.click", `"__proto__":{"admin":true}`)), code: 400, msg: "should NOT have additional properties", errorEvents: 1},
		{name: "constructor at the top", req: postEvents(click("example.click", `"constructor":{"prototype":{"x":1}}`)), code: 400, msg: "additional properties", errorEvents: 1},
		{name: "prototype at the top", req: postEvents(click("example.click", `"prototype":1`)), code: 400, msg: "additional properties", errorEvents: 1},
		{name: "__proto__ in meta", req: postEvents(strings.Replace(ok, `"meta":{`, `"meta":{"__proto__":{"stream":"intake.error"},`, 1)), code: 201, events: 1},
		{name: "constructor in meta", req: postEvents(strings.Replace(ok, `"meta":{`, `"meta":{"constructor":{"prototype":{"stream":"x"}},`, 1)), code: 201, events: 1},
		{name: "__proto__ as the stream", req: postEvents(withStream("__proto__")), code: 400, msg: notStream, errorEvents: 1},
		{name: "constructor as the stream", req: postEvents(withStream("constructor")), code: 400, msg: notStream, errorEvents: 1},
		{name: "__proto__ in page", req: postEvents(withPage(`"__proto__":{"id":0}`)), code: 201, events: 1},

		// Nesting, strings, keys, members and events: each limit, at it and one past it.
		{name: "nesting at --max-depth", req: postEvents(withPage(`"x":` + nested(14))), code: 201, events: 1},
		{name: "nesting past --max-depth", req: postEvents(withPage(`"x":` + nested(15))), code: 400, msg: "deeper than 16 levels (--max-depth)"},
		{name: "deep nesting", req: postEvents(nested(30000)), code: 400, msg: "(--max-depth)"},
		{name: "brackets in a string", req: postEvents(withTitle(jsonString(strings.Repeat("[", 1000)))), code: 201, events: 1},
		{name: "string at --max-string-bytes", req: postEvents(withTitle(jsonString(strings.Repeat("a", 4096)))), code: 201, events: 1},
		{name: "string past --max-string-bytes", req: postEvents(withTitle(jsonString(strings.Repeat("a", 4097)))), code: 400, msg: "longer than 4096 bytes (--max-string-bytes)"},
		{name: "giant string", req: postEvents(withTitle(jsonString(strings.Repeat("a", 60000)))), code: 400, msg: "(--max-string-bytes)"},
		{name: "escapes count as written", req: postEvents(withTitle(`"` + strings.Repeat(`\u0041`, 700) + `"`)), code: 400, msg: "(--max-string-bytes)"},
		{name: "key at --max-key-bytes", req: postEvents(withPage(jsonString(strings.Repeat("k", 128)) + ":1")), code: 201, events: 1},
		{name: "key past --max-key-bytes", req: postEvents(withPage(jsonString(strings.Repeat("k", 129)) + ":1")), code: 400, msg: "longer than 128 bytes (--max-key-bytes)"},
		{name: "members at --max-members", req: postEvents(withPage(pageKeys(97))), code: 201, events: 1}, // id, 97 keys, title and the key below: 100
		{name: "keys past --max-members", req: postEvents(withPage(pageKeys(99))), code: 400, msg: "more than 100 members (--max-members)"},
		{name: "items past --max-members", req: postEvents(withPage(`"x":[` + strings.TrimSuffix(strings.Repeat("0,", 101), ",") + `]`)), code: 400, msg: "(--max-members)"},
		{name: "events are --max-events' to count", req: postEvents(batch(150, invalid)), code: 400, errorEvents: 150},
		{name: "events past --max-events", req: postEvents(batch(201, "{}")), code: 413, msg: "more than 200 (--max-events)"},
		{name: "body past --max-body-bytes", req: postEvents(strings.Repeat(" ", 64<<10+1)), code: 413, msg: "(--max-body-bytes)"},

		// gzip.
		{name: "gzip", req: postEvents(string(okGz), "Content-Encoding", "gzip"), code: 201, events: 1},
		{name: "gzip bomb", req: postEvents(string(bomb), "Content-Encoding", "gzip"), code: 413, msg: "expands more than 250 times (--max-gzip-ratio)"},
		{name: "gzip past --max-decompressed-bytes", req: postEvents(string(noisyBody), "Content-Encoding", "gzip"), code: 413, msg: "larger than 262144 bytes (--max-decompressed-bytes)"},
		{name: "not gzip", req: postEvents(ok, "Content-Encoding", "gzip"), code: 400, msg: "cannot decompress"},
		{name: "truncated gzip", req: postEvents(string(okGz[:len(okGz)-10]), "Content-Encoding", "gzip"), code: 400, msg: "cannot decompress"},
		{name: "gzip header only", req: postEvents(string(okGz[:10]), "Content-Encoding", "gzip"), code: 400, msg: "cannot decompress"},
		{name: "gzip with a bad CRC", req: postEvents(string(badCRC), "Content-Encoding", "gzip"), code: 400, msg: "cannot decompress"},
		{name: "gzip with trailing garbage", req: postEvents(string(okGz)+"garbage", "Content-Encoding", "gzip"), code: 400, msg: "cannot decompress"},
		{name: "gzip of malformed JSON", req: postEvents(string(gz([]byte(`{"a":`))), "Content-Encoding", "gzip"), code: 400, msg: notJSON},
		{name: "gzip of UTF-16", req: postEvents(string(gz([]byte(utf16(ok, false)))), "Content-Encoding", "gzip"), code: 400, msg: notUTF8},
		// Two gzip members are one stream (RFC 1952): their contents join.
		{name: "gzip in two members", req: postEvents(string(twoMembers), "Content-Encoding", "gzip"), code: 201, events: 1},
		{name: "gzip without Content-Encoding", req: postEvents(string(okGz)), code: 400, msg: notUTF8},
		{name: "gzip twice declared once", req: postEvents(string(gz(okGz)), "Content-Encoding", "gzip"), code: 400, msg: notUTF8},
		{name: "Content-Encoding gzip, gzip", req: postEvents(string(gz(okGz)), "Content-Encoding", "gzip, gzip"), code: 415, msg: "Content-Encoding"},
		{name: "Content-Encoding br", req: postEvents(ok, "Content-Encoding", "br"), code: 415, msg: "Content-Encoding"},
		{name: "Content-Encoding deflate", req: postEvents(ok, "Content-Encoding", "deflate"), code: 415, msg: "Content-Encoding"},
		{name: "Content-Encoding zstd", req: postEvents(ok, "Content-Encoding", "zstd"), code: 415, msg: "Content-Encoding"},
		// Fixed: content codings are case-insensitive (RFC 9110 8.4.1); GZIP was answered 415.
		{name: "Content-Encoding GZIP", req: postEvents(string(okGz), "Content-Encoding", "GZIP"), code: 201, events: 1},

		// Media types.
		{name: "application/xml", req: postEvents(ok, "Content-Type", "application/xml"), code: 415, msg: "Content-Type"},
		{name: "form", req: postEvents(ok, "Content-Type", "application/x-www-form-urlencoded"), code: 415, msg: "Content-Type"},
		{name: "multipart", req: postEvents(ok, "Content-Type", "multipart/form-data; boundary=x"), code: 415, msg: "Content-Type"},
		{name: "text/html", req: postEvents(ok, "Content-Type", "text/html"), code: 415, msg: "Content-Type"},
		{name: "a list of types", req: postEvents(ok, "Content-Type", "application/json, text/plain"), code: 415, msg: "Content-Type"},
		{name: "application/jsonx", req: postEvents(ok, "Content-Type", "application/jsonx"), code: 415, msg: "Content-Type"},
		{name: "APPLICATION/JSON", req: postEvents(ok, "Content-Type", "APPLICATION/JSON"), code: 201, events: 1},
		{name: "no Content-Type", req: postEvents(ok, "Content-Type", "-"), code: 201, events: 1},
		{name: "NUL in Content-Type", req: postEvents(ok, "Content-Type", "application/json\x00"), code: 400, msg: cannotRead},

		// Methods.
		{name: "GET", req: httpReq("GET", "/v1/events", ""), method: "GET", code: 405, msg: noPost},
		{name: "PUT", req: httpReq("PUT", "/v1/events", ok), code: 405, msg: noPost},
		{name: "DELETE", req: httpReq("DELETE", "/v1/events", ""), code: 405, msg: noPost},
		{name: "PATCH", req: httpReq("PATCH", "/v1/events", ok), code: 405, msg: noPost},
		{name: "HEAD", req: httpReq("HEAD", "/v1/events", ""), method: "HEAD", code: 405},
		{name: "OPTIONS without CORS", req: httpReq("OPTIONS", "/v1/events", "", "Origin", "https://evil.example", "Access-Control-Request-Method", "POST"), code: 405, msg: noPost},
		{name: "TRACE", req: httpReq("TRACE", "/v1/events", "", "X-Secret", "INJECTED"), code: 405, msg: noPost},
		{name: "lower-case post", req: httpReq("post", "/v1/events", ok), code: 405, msg: noPost},
		{name: "made-up method", req: httpReq("BREW", "/v1/events", ok), code: 405, msg: noPost},

		// Query strings: any hasty value but 0, false and no is hasty (EventGate: any value).
		{name: "hasty=garbage", req: httpReq("POST", "/v1/events?hasty=garbage", invalid), code: 202, errorEvents: 1},
		{name: "hasty with no value", req: httpReq("POST", "/v1/events?hasty", invalid), code: 202, errorEvents: 1},
		{name: "hasty=%00", req: httpReq("POST", "/v1/events?hasty=%00", invalid), code: 202, errorEvents: 1},
		{name: "hasty=false", req: httpReq("POST", "/v1/events?hasty=false", invalid), code: 400, errorEvents: 1},
		{name: "hasty twice, first wins", req: httpReq("POST", "/v1/events?hasty=0&hasty=1", invalid), code: 400, errorEvents: 1},
		{name: "bad percent-encoding", req: httpReq("POST", "/v1/events?%zz=%&hasty=%G0", invalid), code: 202, errorEvents: 1},
		{name: "many query parameters", req: httpReq("POST", "/v1/events?"+strings.Repeat("a=1&", 200), invalid), code: 400, errorEvents: 1},

		// Paths: fasthttp decodes and normalizes the path once; only /v1/events takes events. A
		// path that is no route used to answer 405 to any method but GET and HEAD (a POST to
		// /v1/events/ or, normalized, to /v1/../../etc/passwd): it is 404 whatever the method.
		{name: "dot segments to /v1/events", req: httpReq("POST", "/v1/x/../events", invalid), code: 400, errorEvents: 1},
		{name: "encoded letter", req: httpReq("POST", "/v1/%65vents", invalid), code: 400, errorEvents: 1},
		{name: "double slash", req: httpReq("POST", "//v1//events", invalid), code: 400, errorEvents: 1},
		{name: "absolute-form target", req: httpReq("POST", "http://evil.example/v1/events", invalid), code: 400, errorEvents: 1},
		{name: "trailing slash", req: httpReq("POST", "/v1/events/", ok), code: 404, msg: "no such endpoint"},
		{name: "upper-case path", req: httpReq("POST", "/V1/EVENTS", ok), code: 404, msg: "no such endpoint"},
		{name: "encoded NUL in the path", req: httpReq("POST", "/v1/events%00", ok), code: 404, msg: "no such endpoint"},
		{name: "encoded slash", req: httpReq("POST", "/v1%2fevents", ok), code: 201, events: 1},
		{name: "traversal out of the root", req: httpReq("GET", "/../../etc/passwd", ""), method: "GET", code: 404, msg: "no such endpoint"},
		{name: "POST traversal out of the root", req: httpReq("POST", "/v1/../../etc/passwd", ok), code: 404, msg: "no such endpoint"},
		{name: "DELETE of no route", req: httpReq("DELETE", "/nope", ""), code: 404, msg: "no such endpoint"},
		{name: "asterisk target", req: httpReq("OPTIONS", "*", ""), code: 404, msg: "no such endpoint"},
		{name: "POST to a GET route", req: httpReq("POST", "/v1/streams", ok), code: 405, msg: "only GET and HEAD"},
		{name: "POST to a stream-configs route", req: httpReq("POST", "/v1/stream-configs/a,b", ok), code: 405, msg: "only GET and HEAD"},
		{name: "stream-configs, two segments", req: httpReq("GET", "/v1/stream-configs/a/b", ""), method: "GET", code: 404, msg: "no such endpoint"},
		{name: "POST / without ?spec", req: httpReq("POST", "/", ok), code: 404, msg: "no such endpoint"},
		{name: "POST /?spec", req: httpReq("POST", "/?spec", ok), code: 405, msg: "only GET and HEAD"},

		// Hostile $schema values: refused without a fetch outside the bases.
		{name: "$schema file:///etc/passwd", req: postEvents(withSchema("file:///etc/passwd")), code: 400, msg: badSchema, errorEvents: 1},
		{name: "$schema file URI outside the base", req: postEvents(withSchema("file://" + secretDir + "/example/click/1.0.0")), code: 400, msg: badSchema, errorEvents: 1},
		{name: "$schema cloud metadata", req: postEvents(withSchema("http://169.254.169.254/latest/meta-data/")), code: 400, msg: badSchema, errorEvents: 1},
		{name: "$schema metadata stand-in", req: postEvents(withSchema(metadataURL + "/latest/meta-data/example/click/1.0.0")), code: 400, msg: badSchema, errorEvents: 1},
		{name: "$schema with credentials", req: postEvents(withSchema("http://user:pass@" + metadataHost + "/example/click/1.0.0")), code: 400, msg: badSchema, errorEvents: 1},
		{name: "$schema base with credentials to elsewhere", req: postEvents(withSchema(repoURL + "@" + metadataHost + "/example/click/1.0.0")), code: 400, msg: badSchema, errorEvents: 1},
		{name: "$schema ../", req: postEvents(withSchema("../secret/example/click/1.0.0")), code: 400, msg: badSchema, errorEvents: 1},
		{name: "$schema /../", req: postEvents(withSchema("/../secret/example/click/1.0.0")), code: 400, msg: badSchema, errorEvents: 1},
		{name: "$schema ../../etc/passwd", req: postEvents(withSchema("../../etc/passwd")), code: 400, msg: badSchema, errorEvents: 1},
		{name: "$schema dot segments inside", req: postEvents(withSchema("/example/../../secret/example/click/1.0.0")), code: 400, msg: badSchema, errorEvents: 1},
		{name: "$schema %2e%2e", req: postEvents(withSchema("%2e%2e/secret/example/click/1.0.0")), code: 400, msg: badSchema, errorEvents: 1},
		{name: "$schema double-encoded", req: postEvents(withSchema("%252e%252e/secret/example/click/1.0.0")), code: 400, msg: badSchema, errorEvents: 1},
		{name: "$schema network-path", req: postEvents(withSchema("//evil.example/x")), code: 400, msg: badSchema, errorEvents: 1},
		{name: "$schema network-path to the stand-in", req: postEvents(withSchema("//" + metadataHost + "/example/click/1.0.0")), code: 400, msg: badSchema, errorEvents: 1},
		{name: "$schema under the http base, then up", req: postEvents(withSchema(repoURL + "/schemas/../x/example/click/1.0.0")), code: 400, msg: badSchema, errorEvents: 1},
		{name: "$schema under the http base, encoded up", req: postEvents(withSchema(repoURL + "/schemas/%2e%2e/example/click/1.0.0")), code: 400, msg: badSchema, errorEvents: 1},
		{name: "$schema backslashes", req: postEvents(withSchema(`..\..\secret\example\click\1.0.0`)), code: 400, msg: badSchema, errorEvents: 1},
		{name: "$schema with a query", req: postEvents(withSchema("/example/click/1.0.0?x=1")), code: 400, msg: badSchema, errorEvents: 1},
		{name: "$schema with a newline", req: postEvents(withSchema("/example/click/1.0.0\nINJECTED")), code: 400, msg: badSchema, errorEvents: 1},
		{name: "$schema with NUL", req: postEvents(withSchema("/example/click/1.0.0\x00.yaml")), code: 400, msg: badSchema, errorEvents: 1},
		{name: "$schema very long", req: postEvents(withSchema("/example/" + strings.Repeat("a/", 2000) + "1.0.0")), code: 400, msg: badSchema, errorEvents: 1},
		{name: "$schema gopher", req: postEvents(withSchema("gopher://" + metadataHost + "/x")), code: 400, msg: badSchema, errorEvents: 1},
		{name: "$schema empty", req: postEvents(withSchema("")), code: 400, msg: "$schema", errorEvents: 1},
		{name: "$schema a number", req: postEvents(strings.Replace(ok, `"/example/click/1.0.0"`, `1`, 1)), code: 400, msg: "$schema", errorEvents: 1},

		// Hostile stream names: never configured, never a topic, never a metric label.
		{name: "stream with a newline", req: postEvents(withStream("example.click\ntime=2026-01-01T00:00:00Z level=ERROR msg=INJECTED")), code: 400, msg: notStream, errorEvents: 1},
		{name: "stream with NUL", req: postEvents(withStream("example.click\x00")), code: 400, msg: notStream, errorEvents: 1},
		{name: "stream ../", req: postEvents(withStream("../example.click")), code: 400, msg: notStream, errorEvents: 1},
		{name: "stream look-alike", req: postEvents(withStream("exаmple.click")), code: 400, msg: notStream, errorEvents: 1}, // Cyrillic а
		{name: "stream zero-width space", req: postEvents(withStream("example.click\u200b")), code: 400, msg: notStream, errorEvents: 1},
		{name: "stream fullwidth", req: postEvents(withStream("ｅxample.click")), code: 400, msg: notStream, errorEvents: 1},
		{name: "stream trailing space", req: postEvents(withStream("example.click ")), code: 400, msg: notStream, errorEvents: 1},
		{name: "stream upper case", req: postEvents(withStream("EXAMPLE.CLICK")), code: 400, msg: notStream, errorEvents: 1},
		{name: "stream very long", req: postEvents(withStream(strings.Repeat("INJECTED", 500))), code: 400, msg: notStream, errorEvents: 1},
		{name: "stream the /regex/ itself", req: postEvents(withStream(`/^example\.click\..+$/`)), code: 400, msg: notStream, errorEvents: 1},
		{name: "stream matching the regex but for a newline", req: postEvents(withStream("example.click.x\nINJECTED")), code: 400, msg: notStream, errorEvents: 1},
		{name: "stream a number", req: postEvents(strings.Replace(ok, `"stream":"example.click"`, `"stream":1`, 1)), code: 400, msg: "meta.stream", errorEvents: 1},
		{name: "meta a string", req: postEvents(strings.Replace(ok, `"meta":{"stream":"example.click"}`, `"meta":"example.click"`, 1)), code: 400, msg: "meta.stream", errorEvents: 1},
		{name: "the error stream", req: postEvents(withStream("intake.error")), code: 400, msg: "should name a schema titled 'error'", errorEvents: 1},

		// Hostile meta.id and dt values.
		{name: "meta.id a number", req: postEvents(strings.Replace(ok, `"meta":{`, `"meta":{"id":1,`, 1)), code: 400, msg: "'.meta.id' should be string", errorEvents: 1},
		{name: "meta.id an object", req: postEvents(strings.Replace(ok, `"meta":{`, `"meta":{"id":{"$ne":null},`, 1)), code: 400, msg: "should be string", errorEvents: 1},
		{name: "meta.id too long", req: postEvents(strings.Replace(ok, `"meta":{`, `"meta":{"id":`+jsonString(strings.Repeat("i", 5000))+`,`, 1)), code: 400, msg: "(--max-string-bytes)"},
		{name: "meta.dt not a date", req: postEvents(strings.Replace(ok, `"meta":{`, `"meta":{"dt":"yesterday",`, 1)), code: 400, msg: "date-time", errorEvents: 1},
		{name: "meta.dt with a newline", req: postEvents(strings.Replace(ok, `"meta":{`, `"meta":{"dt":"2026-11-23T12:00:00.000Z\nINJECTED",`, 1)), code: 400, msg: "date-time", errorEvents: 1},
		{name: "dt not a date", req: postEvents(strings.Replace(ok, `"2026-11-23T12:00:00.000Z"`, `"<script>"`, 1)), code: 400, msg: "date-time", errorEvents: 1},
		{name: "dt past maxLength", req: postEvents(strings.Replace(ok, `"2026-11-23T12:00:00.000Z"`, jsonString("2026-11-23T12:00:00.000"+strings.Repeat("0", 120)+"Z"), 1)), code: 400, msg: "should NOT be longer than 128 characters", errorEvents: 1},
		{name: "dt a number", req: postEvents(strings.Replace(ok, `"2026-11-23T12:00:00.000Z"`, `1700000000`, 1)), code: 400, msg: "'.dt' should be string", errorEvents: 1},
		{name: "dt null", req: postEvents(strings.Replace(ok, `"2026-11-23T12:00:00.000Z"`, `null`, 1)), code: 400, msg: "'.dt' should be string", errorEvents: 1},

		// Request smuggling and framing: one interpretation, and the connection closed after it.
		{name: "Content-Length and Transfer-Encoding", req: []byte(keepAlive + fmt.Sprintf("Content-Length: %d\r\n", len("0\r\n\r\n")+len(smuggled)) +
			"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled), code: 400, msg: "Request body was empty"},
		{name: "Transfer-Encoding and Content-Length", req: []byte(keepAlive + "Transfer-Encoding: chunked\r\n" + fmt.Sprintf("Content-Length: %d\r\n", len("0\r\n\r\n")+len(smuggled)) +
			"\r\n0\r\n\r\n" + smuggled), code: 400, msg: "Request body was empty"},
		{name: "chunked wins over a short Content-Length", req: []byte(keepAlive + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(ok) + smuggled), code: 201, events: 1},
		{name: "Content-Length twice, the same", req: []byte(head + "Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}"), code: 400, msg: cannotRead},
		{name: "Content-Length twice, different", req: []byte(keepAlive + fmt.Sprintf("Content-Length: 0\r\nContent-Length: %d\r\n\r\n", len(smuggled)) + smuggled), code: 400, msg: cannotRead},
		{name: "Content-Length list", req: []byte(head + "Content-Length: 2, 2\r\n\r\n{}"), code: 400, msg: cannotRead},
		{name: "Content-Length with a sign", req: []byte(head + "Content-Length: +2\r\n\r\n{}"), code: 400, msg: cannotRead},
		{name: "Content-Length negative", req: []byte(head + "Content-Length: -1\r\n\r\n{}"), code: 400, msg: cannotRead},
		{name: "Content-Length not a number", req: []byte(head + "Content-Length: two\r\n\r\n{}"), code: 400, msg: cannotRead},
		{name: "Content-Length overflowing", req: []byte(head + "Content-Length: 99999999999999999999999\r\n\r\n{}"), code: 400, msg: cannotRead},
		{name: "Content-Length past --max-body-bytes", req: []byte(head + "Content-Length: 1000000000\r\n\r\n"), code: 413, msg: "(--max-body-bytes)"},
		{name: "Content-Length longer than the body", send: func(c net.Conn) {
			c.Write([]byte(head + "Content-Length: 100\r\n\r\n{}"))
			c.(*net.TCPConn).CloseWrite()
		}, code: 400, msg: cannotRead},
		{name: "chunked", req: []byte(head + "Transfer-Encoding: chunked\r\n\r\n" + chunked(ok)), code: 201, events: 1},
		{name: "chunk size not hex", req: []byte(head + "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"), code: 400, msg: cannotRead},
		{name: "chunk size overflowing", req: []byte(head + "Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n{}\r\n0\r\n\r\n"), code: 400, msg: cannotRead},
		{name: "chunk size negative", req: []byte(head + "Transfer-Encoding: chunked\r\n\r\n-2\r\n{}\r\n0\r\n\r\n"), code: 400, msg: cannotRead},
		{name: "chunk longer than its size", req: []byte(head + "Transfer-Encoding: chunked\r\n\r\n1\r\n{}\r\n0\r\n\r\n"), code: 400, msg: cannotRead},
		{name: "chunks past --max-body-bytes", req: []byte(head + "Transfer-Encoding: chunked\r\n\r\n" + strings.Repeat("8000\r\n"+strings.Repeat(" ", 0x8000)+"\r\n", 3) + "0\r\n\r\n"), code: 413, msg: "(--max-body-bytes)"},
		{name: "chunked, truncated", send: func(c net.Conn) {
			c.Write([]byte(head + "Transfer-Encoding: chunked\r\n\r\n10\r\n{\"a\""))
			c.(*net.TCPConn).CloseWrite()
		}, code: 400, msg: cannotRead},
		{name: "chunk extensions", req: []byte(head + "Transfer-Encoding: chunked\r\n\r\n" + fmt.Sprintf("%x;a=b;c=\"d\"\r\n%s\r\n0\r\n\r\n", len(invalid), invalid)), code: 400, errorEvents: 1},
		{name: "trailer after the chunks", req: []byte(head + "Transfer-Encoding: chunked\r\n\r\n" + strings.TrimSuffix(chunked(invalid), "\r\n") + "X-Trailer: INJECTED\r\n\r\n"), code: 400, errorEvents: 1},
		{name: "Transfer-Encoding gzip, chunked", req: []byte(head + "Transfer-Encoding: gzip, chunked\r\n\r\n" + chunked(ok)), code: 400, msg: cannotRead},
		{name: "Transfer-Encoding twice", req: []byte(head + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(ok)), code: 400, msg: cannotRead},
		{name: "Transfer-Encoding made up", req: []byte(head + "Transfer-Encoding: xchunked\r\n\r\n" + chunked(ok)), code: 400, msg: cannotRead},
		{name: "Transfer-Encoding in HTTP/1.0", req: []byte(strings.Replace(head, "HTTP/1.1", "HTTP/1.0", 1) + "Transfer-Encoding: chunked\r\n\r\n" + chunked(ok)), code: 400, msg: cannotRead},
		{name: "space before the colon", req: []byte(head + "Transfer-Encoding : chunked\r\n" + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(ok)) + ok), code: 400, msg: cannotRead},
		{name: "NUL in a header value", req: []byte(head + "X-A: a\x00b\r\n" + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(ok)) + ok), code: 400, msg: cannotRead},
		{name: "bare CR in a header", req: []byte(head + "X-A: a\rTransfer-Encoding: chunked\r\n" + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(ok)) + ok), code: 400, msg: cannotRead},
		{name: "obsolete line folding", req: []byte(head + "X-A: a\r\n Transfer-Encoding: chunked\r\n" + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(ok)) + ok), code: 201, events: 1},
		{name: "pipelined after Connection: close", req: append(postEvents(invalid), postEvents(ok)...), code: 400, errorEvents: 1},
		{name: "pipelined keep-alive requests", req: append(httpReq("POST", "/v1/events", invalid, "Connection", "keep-alive"), postEvents(invalid)...), responses: 2, code: 400, errorEvents: 2},
		{name: "request line garbage", req: []byte("GARBAGE\r\n\r\n"), code: 400, msg: cannotRead},
		{name: "HTTP/0.9 request", req: []byte("GET /healthz\r\n\r\n"), method: "GET", code: 400, msg: cannotRead},
		{name: "TLS to the plaintext port", req: []byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03INJECTED\r\n\r\n"), code: 400, msg: cannotRead},
		{name: "HTTP/2 preface", req: []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), code: 400, msg: cannotRead},
		{name: "unknown HTTP version", req: []byte(strings.Replace(string(postEvents(invalid)), "HTTP/1.1", "HTTP/9.9", 1)), code: 400, msg: "should be >= 1", errorEvents: 1},
		{name: "Expect 100-continue past --max-body-bytes", req: []byte(head + "Expect: 100-continue\r\nContent-Length: 1000000000\r\n\r\n"), code: 413, msg: "(--max-body-bytes)"},

		// Headers and URLs over their limits, and at them.
		{name: "headers at --max-headers", req: postEvents(ok, manyHeaders(26)...), code: 201, events: 1}, // and Host, Content-Type, Content-Length, Connection
		{name: "headers past --max-headers", req: postEvents(ok, manyHeaders(27)...), code: 431, msg: "31 header lines, more than 30 (--max-headers)"},
		// Fixed: headers over fasthttp's read buffer were answered 400, not 431 naming the flag.
		{name: "header past --max-header-bytes", req: postEvents(ok, "X-Big", strings.Repeat("b", 5000)), code: 431, msg: "larger than 4096 bytes (--max-header-bytes)"},
		{name: "cookies past --max-header-bytes", req: postEvents(ok, "Cookie", strings.Repeat("c=1; ", 1000)), code: 431, msg: "(--max-header-bytes)"},
		{name: "URI at --max-url-bytes", req: httpReq("POST", "/v1/events?x="+strings.Repeat("a", 1024-len("/v1/events?x=")), ok), code: 201, events: 1},
		{name: "URI past --max-url-bytes", req: httpReq("POST", "/v1/events?x="+strings.Repeat("a", 1025-len("/v1/events?x=")), ok), code: 414, msg: "1025 bytes, more than 1024 (--max-url-bytes)"},
		{name: "URI past --max-header-bytes", req: httpReq("POST", "/v1/events?x="+strings.Repeat("a", 5000), ok), code: 431, msg: "(--max-header-bytes)"},
		{name: "URI past --max-url-bytes on another route", req: httpReq("GET", "/healthz?"+strings.Repeat("a", 2000), ""), method: "GET", code: 414, msg: "(--max-url-bytes)"},

		// Slow clients: --read-timeout (1s here) bounds the whole request, from the connection's
		// first byte (or its opening), however steadily the bytes trickle.
		{name: "body trickled a byte a second", send: trickle(head+fmt.Sprintf("Content-Length: %d\r\n\r\n", len(ok)), ok), code: 408, msg: "(--read-timeout)"},
		{name: "headers trickled a byte a second", send: trickle("POST /v1/events HTTP/1.1\r\n", "X-Slow: "+strings.Repeat("s", 100)+"\r\n\r\n"), code: 408, msg: "(--read-timeout)"},
		{name: "nothing sent", send: func(net.Conn) {}, code: 408, msg: "(--read-timeout)"},
	}
}

// manyHeaders returns n distinct header name/value pairs, for postEvents.
func manyHeaders(n int) []string {
	var hdr []string
	for i := range n {
		hdr = append(hdr, fmt.Sprintf("X-H%d", i), "v")
	}
	return hdr
}

// trickle writes prefix at once, then the rest a byte a second until the connection fails.
func trickle(prefix, rest string) func(net.Conn) {
	return func(c net.Conn) {
		if _, err := c.Write([]byte(prefix)); err != nil {
			return
		}
		for i := 0; i < len(rest); i++ {
			time.Sleep(time.Second)
			if _, err := c.Write([]byte{rest[i]}); err != nil {
				return
			}
		}
	}
}

// jsonString is s as a JSON string.
func jsonString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// postEvents is a raw POST of body to /v1/events; see httpReq.
func postEvents(body string, hdr ...string) []byte {
	return httpReq("POST", "/v1/events", body, hdr...)
}

// httpReq builds a raw HTTP/1.1 request with Host, Content-Type (application/json),
// Content-Length and Connection (close) headers, each replaced by a value in hdr (name, value
// pairs) or dropped by the value "-"; the other headers of hdr follow them.
func httpReq(method, target, body string, hdr ...string) []byte {
	defaults := [][2]string{{"Host", "intake.test"}, {"Content-Type", "application/json"},
		{"Content-Length", fmt.Sprint(len(body))}, {"Connection", "close"}}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\n", method, target)
	used := make([]bool, len(hdr)/2)
	for _, d := range defaults {
		v := d[1]
		for i := 0; i+1 < len(hdr); i += 2 {
			if strings.EqualFold(hdr[i], d[0]) {
				v, used[i/2] = hdr[i+1], true
			}
		}
		if v != "-" {
			fmt.Fprintf(&b, "%s: %s\r\n", d[0], v)
		}
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if !used[i/2] {
			fmt.Fprintf(&b, "%s: %s\r\n", hdr[i], hdr[i+1])
		}
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	return []byte(b.String())
}

type rawResponse struct {
	code int
	body []byte
}

// message is the "message" of a JSON body, or "".
func (r rawResponse) message() string {
	var m struct{ Message string }
	json.Unmarshal(r.body, &m)
	return m.Message
}

func (r rawResponse) String() string { return fmt.Sprintf("%d %.200s", r.code, r.body) }

// exchange writes c's request to a fresh connection while it reads the responses, until the edge
// closes the connection (closed) or 10 seconds pass.
func exchange(t *testing.T, addr string, c hostileCase) (resps []rawResponse, closed bool) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	done := make(chan struct{})
	defer func() { conn.Close(); <-done }()
	go func() {
		defer close(done)
		if c.send != nil {
			c.send(conn)
		} else {
			conn.Write(c.req) // the edge may answer and close before reading it all
		}
	}()
	method := c.method
	if method == "" {
		method = "POST"
	}
	br := bufio.NewReader(conn)
	for {
		if _, err := br.Peek(1); err != nil {
			// A reset after the answer is a close too: the edge closed with request bytes unread.
			return resps, errors.Is(err, io.EOF) || len(resps) > 0 && errors.Is(err, syscall.ECONNRESET)
		}
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			t.Fatalf("reading a response: %s", err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("reading a response body: %s", err)
		}
		if resp.StatusCode == 100 {
			continue
		}
		resps = append(resps, rawResponse{code: resp.StatusCode, body: body})
	}
}

func mustClient(t *testing.T, brokers []string) *kgo.Client {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// topicRecords returns the records in every topic: the sum of its partitions' end offsets.
func topicRecords(t *testing.T, adm *kadm.Client) map[string]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	offs, err := adm.ListEndOffsets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int64{}
	offs.Each(func(o kadm.ListedOffset) {
		if o.Err == nil {
			m[o.Topic] += o.Offset
		}
	})
	return m
}

// waitRecords waits until every topic holds what it held before plus the records of want (topics
// not in want: none more), once the producer has nothing queued; it fails the test when a topic
// gets more or the records do not come within 10 seconds. It returns the new counts.
func waitRecords(t *testing.T, h *edgetest.Edge, adm *kadm.Client, before, want map[string]int64) map[string]int64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for h.Producer.Queued() > 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		got := topicRecords(t, adm)
		short := false
		for topic, n := range got {
			switch d := n - before[topic]; {
			case d > want[topic]:
				t.Fatalf("topic %s got %d records, want %d", topic, d, want[topic])
			case d < want[topic]:
				short = true
			}
		}
		for topic, n := range want {
			if _, ok := got[topic]; !ok && n > 0 {
				short = true
			}
		}
		if !short {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("records did not arrive: before %v, now %v, want more by %v", before, got, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// copyDir copies the regular files of the tree src to dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Client input never reaches a log unescaped: slog's text and JSON handlers quote every value, so
// a stream name or a header holding a newline and a fake record stays inside one record. The
// fasthttp errors the edge logs (at debug) carry client bytes; they must come out escaped too.
func TestLogsNeverCarryRawClientInput(t *testing.T) {
	const fake = "time=2026-01-01T00:00:00.000Z level=ERROR msg=INJECTED"
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			logs := &edgetest.SyncBuffer{}
			opts := &slog.HandlerOptions{Level: slog.LevelDebug}
			var handler slog.Handler = slog.NewTextHandler(logs, opts)
			if format == "json" {
				handler = slog.NewJSONHandler(logs, opts)
			}
			h := edgetest.Start(t, edgetest.Options{Logger: slog.New(handler)})
			addr := strings.TrimPrefix(h.URL, "http://")

			ev := strings.Replace(click("example.click"), `"stream":"example.click"`, `"stream":`+jsonString("example.click\n"+fake), 1)
			if r := h.Post("/v1/events", []byte(ev), "X-Request-Id", "rid "+fake); r.Code != 400 {
				t.Fatalf("got %d %s", r.Code, r.Body)
			}
			for _, req := range []string{
				"POST /v1/events HTTP/1.1\r\nHost: x\r\n" + fake + "\r\n\r\n",
				"POST /v1/events HTTP/1.1\r\nHost: x\r\nX-A: a\r" + fake + "\r\n\r\n",
				"POST /v1/events\n" + fake + " HTTP/1.1\r\n\r\n",
				"POST /v1/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \n" + fake + "\r\n\r\n",
			} {
				exchange(t, addr, hostileCase{req: []byte(req)})
			}
			h.Stop()

			out := logs.String()
			if !strings.Contains(out, "INJECTED") {
				t.Fatalf("no client input reached the log, so this test checks nothing:\n%s", out)
			}
			for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
				switch {
				case strings.HasPrefix(line, fake):
					t.Errorf("a client injected a log line: %q", line)
				case format == "text" && !strings.HasPrefix(line, "time="):
					t.Errorf("a log line is not a record: %q", line)
				case format == "json" && !json.Valid([]byte(line)):
					t.Errorf("a log line is not a JSON record: %q", line)
				}
			}
		})
	}
}

// Metric labels never take a client's value: a stream the config does not have counts as
// stream="unknown", and a name matched by a /regex/ stream counts under that /regex/.
func TestMetricLabelsNeverTakeClientInput(t *testing.T) {
	h := edgetest.Start(t, edgetest.Options{})
	metric := h.Metric
	unknown := `intake_events_total{stream="unknown",outcome="invalid"}`
	regexAccepted := `intake_events_total{stream="/^example\\.click\\..+$/",outcome="accepted"}`
	regexInvalid := `intake_events_total{stream="/^example\\.click\\..+$/",outcome="invalid"}`
	u0, a0, i0 := metric(unknown), metric(regexAccepted), metric(regexInvalid)
	body := "[" + strings.Join([]string{
		click("INJECTED.stream"),
		click(`INJECTED\n{stream=\"x\"} 1`),
		click("example.click.INJECTED"),
		click("example.click.INJECTED2", `"count":0`),
	}, ",") + "]"
	if r := h.Post("/v1/events", []byte(body)); r.Code != 207 {
		t.Fatalf("got %d %s", r.Code, r.Body)
	}
	if d := metric(unknown) - u0; d != 2 {
		t.Errorf("stream=unknown grew by %v, want 2", d)
	}
	if d := metric(regexAccepted) - a0; d != 1 {
		t.Errorf("the /regex/ stream's accepted count grew by %v, want 1", d)
	}
	if d := metric(regexInvalid) - i0; d != 1 {
		t.Errorf("the /regex/ stream's invalid count grew by %v, want 1", d)
	}
	if m := string(h.Get("/metrics").Body); strings.Contains(m, "INJECTED") {
		t.Errorf("a client's stream name became a metric label")
	}
}

// --max-conns-per-ip and --max-connections: a connection over either is answered at once with
// 429 or 503, naming the flag, and closed; a closed connection gives its place back.
func TestConnectionLimits(t *testing.T) {
	f := func(limits func(*edge.Config), wantCode int, wantFlag string) {
		t.Helper()
		h := edgetest.Start(t, edgetest.Options{Edge: limits})
		addr := strings.TrimPrefix(h.URL, "http://")
		var held []net.Conn
		for range 2 {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			held = append(held, c)
		}
		post := hostileCase{req: postEvents(click("example.click"))}
		resps, closed := exchange(t, addr, post)
		if len(resps) != 1 || resps[0].code != wantCode || !strings.Contains(resps[0].message(), wantFlag) || !closed {
			t.Fatalf("a third connection: got %v (closed %v), want %d naming %s", resps, closed, wantCode, wantFlag)
		}
		held[0].Close()
		// The edge notices the close when it next reads the connection: at once, it is waiting.
		deadline := time.Now().Add(5 * time.Second)
		for {
			resps, _ = exchange(t, addr, post)
			if len(resps) == 1 && resps[0].code == 201 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after a close, a new connection still gets %v", resps)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	f(func(c *edge.Config) { c.MaxConnsPerIP = 2 }, 429, "(--max-conns-per-ip)")
	f(func(c *edge.Config) { c.MaxConnections = 2 }, 503, "(--max-connections)")
}

// A body over --max-body-bytes is answered 413 before the edge has read it; the client, still
// sending, must still get that answer rather than a reset connection (the edge reads and drops the
// rest before it closes).
func TestOversizeBodyAnswerReachesTheClient(t *testing.T) {
	h := edgetest.Start(t, edgetest.Options{Edge: func(c *edge.Config) { c.MaxBodyBytes = 64 << 10 }})
	for _, size := range []int{65 << 10, 256 << 10, 1 << 20, 3 << 20} {
		body := bytes.Repeat([]byte(" "), size)
		for i := range 10 {
			req, _ := http.NewRequest("POST", h.URL+"/v1/events", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Close = true
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%d-byte body, try %d: %v", size, i, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 413 || !strings.Contains(string(b), "larger than 65536 bytes") {
				t.Fatalf("%d-byte body, try %d: got %d %s", size, i, resp.StatusCode, b)
			}
		}
	}
}
