package bench

import (
	"bufio"
	"bytes"
	stdgzip "compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fastjson"

	"intake.dev/intake/edge"
	"intake.dev/intake/fastpath"
)

// The per-event stages, each alone on one goroutine, in the order an event meets them. Every case
// reports ns/event (CPU time), events/s, allocs/event; bytes are the event's (or the body's).

// BenchmarkDecode is reading a POST /v1/events request off a buffered connection (fasthttp's
// Request.Read: headers and body) and decoding its body as the edge does before parsing: gunzip
// for Content-Encoding: gzip (klauspost's reader, pooled and reset, into a reused buffer: the
// edge's approach) and the UTF-8 check. The edge's JSON pre-scan (unexported) is only in
// BenchmarkEdge. Baselines: the same with the standard library's gzip, and net/http reading the
// request.
func BenchmarkDecode(b *testing.B) { runCases(b, decodeCases()) }

func decodeCases() []benchCase {
	e := revisionCreate
	return []benchCase{
		{name: e.name + "-x1/plain", fn: func(b *testing.B) { benchDecode(b, e, 1, decodeFasthttp, false) }},
		{name: e.name + "-x100/plain", fn: func(b *testing.B) { benchDecode(b, e, 100, decodeFasthttp, false) }},
		{name: e.name + "-x100/net-http", baseline: true, fn: func(b *testing.B) { benchDecode(b, e, 100, decodeNetHTTP, false) }},
		{name: e.name + "-x100/gzip", fn: func(b *testing.B) { benchDecode(b, e, 100, decodeFasthttp, true) }},
		{name: e.name + "-x100/gzip-stdlib", baseline: true, fn: func(b *testing.B) { benchDecode(b, e, 100, decodeStdGzip, true) }},
	}
}

const (
	decodeFasthttp = iota
	decodeNetHTTP
	decodeStdGzip
)

func benchDecode(b *testing.B, e *eventCase, n, how int, gz bool) {
	body := e.array(b, n)
	if n == 1 {
		body = e.bytes(b)
	}
	plain := body
	if gz {
		body = gzipped(b, body)
	}
	wire := httpRequest(body, e.contentType, gz)

	var (
		src  bytes.Reader
		br   = bufio.NewReaderSize(nil, 4096)
		req  = fasthttp.Request{KeepBodyBuffer: true} // reused, as fasthttp's server reuses each connection's
		out  []byte
		sgz  stdGunzip
		nbuf bytes.Buffer
	)
	op := func() {
		src.Reset(wire)
		br.Reset(&src)
		var got []byte
		switch how {
		case decodeNetHTTP:
			r, err := http.ReadRequest(br)
			if err != nil {
				b.Fatal(err)
			}
			nbuf.Reset()
			if _, err := nbuf.ReadFrom(r.Body); err != nil {
				b.Fatal(err)
			}
			got = nbuf.Bytes()
		default:
			req.Reset()
			if err := req.Read(br); err != nil {
				b.Fatal(err)
			}
			got = req.Body()
			if gz {
				var err error
				if how == decodeStdGzip {
					out, err = sgz.gunzip(out[:0], got)
				} else {
					out, err = edge.Gunzip(out[:0], got, 1<<30)
				}
				if err != nil {
					b.Fatal(err)
				}
				got = out
			}
		}
		if !utf8.Valid(got) {
			b.Fatal("not UTF-8")
		}
	}
	op()
	if !bytes.Equal(out, plain) && gz || !gz && how != decodeNetHTTP && !bytes.Equal(req.Body(), plain) {
		b.Fatal("BUG: the decoded body differs from what was sent")
	}
	warm(b, 100, 0, op)
	b.ReportAllocs()
	b.SetBytes(int64(len(wire)))
	m := startMeter(0)
	ops := 0
	for b.Loop() {
		op()
		ops++
	}
	m.report(b, ops*n)
}

// httpRequest is the bytes of a POST /v1/events request as a client writes them.
func httpRequest(body []byte, contentType string, gz bool) []byte {
	var w bytes.Buffer
	w.WriteString("POST /v1/events HTTP/1.1\r\nHost: intake.bench\r\nUser-Agent: bench\r\nContent-Type: " + contentType + "\r\n")
	if gz {
		w.WriteString("Content-Encoding: gzip\r\n")
	}
	w.WriteString("X-Request-Id: 5f1c5b2e-0000-4000-8000-000000000001\r\n")
	w.WriteString("Content-Length: " + itoa(len(body)) + "\r\n\r\n")
	w.Write(body)
	return w.Bytes()
}

func itoa(n int) string { return string(fasthttp.AppendUint(nil, n)) }

func gzipped(tb testing.TB, b []byte) []byte {
	var w bytes.Buffer
	zw := gzip.NewWriter(&w)
	if _, err := zw.Write(b); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return w.Bytes()
}

// stdGunzip is the edge's approach (one reader reset per body) with the standard library's
// compress/gzip.
type stdGunzip struct {
	zr  *stdgzip.Reader
	src bytes.Reader
}

func (g *stdGunzip) gunzip(dst, body []byte) ([]byte, error) {
	g.src.Reset(body)
	var err error
	if g.zr == nil {
		g.zr, err = stdgzip.NewReader(&g.src)
	} else {
		err = g.zr.Reset(&g.src)
	}
	if err != nil {
		return dst, err
	}
	return readAllInto(dst, g.zr)
}

func readAllInto(dst []byte, r io.Reader) ([]byte, error) {
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		n, err := r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}

// BenchmarkParse is parsing one event with a pooled fastjson parser, as the edge does; baseline:
// encoding/json into an any.
func BenchmarkParse(b *testing.B) { runCases(b, parseCases()) }

func parseCases() []benchCase {
	var cases []benchCase
	for _, e := range eventCases {
		cases = append(cases,
			benchCase{name: e.name + "/fastjson", fn: func(b *testing.B) {
				ev := e.bytes(b)
				var pool fastjson.ParserPool
				perEvent(b, len(ev), 100, func() {
					p := pool.Get()
					if _, err := p.ParseBytes(ev); err != nil {
						b.Fatal(err)
					}
					pool.Put(p)
				})
			}},
			benchCase{name: e.name + "/encoding-json", baseline: true, fn: func(b *testing.B) {
				ev := e.bytes(b)
				perEvent(b, len(ev), 100, func() {
					var v any
					if err := json.Unmarshal(ev, &v); err != nil {
						b.Fatal(err)
					}
				})
			}},
			// The pass over the bytes before the parse (DESIGN.md "One pass over the bytes"):
			// CheckJSON's UTF-8, grammar and limits, as the edge runs it. Measured beside the parse
			// as the prototype of a scan that could do the parse's reading too.
			benchCase{name: e.name + "/prescan", fn: func(b *testing.B) {
				ev := e.bytes(b)
				lim := fastpath.JSONLimits{MaxDepth: 64, MaxStringBytes: 1 << 20, MaxKeyBytes: 1024, MaxMembers: 10000}
				perEvent(b, len(ev), 100, func() {
					if fastpath.CheckJSON(ev, lim) != "" {
						b.Fatal("the event does not pass the pre-scan")
					}
				})
			}},
			// The edge's reading (DESIGN.md "One pass over the bytes"): the checks of prescan,
			// the structure and fastjson's tree in one pass.
			benchCase{name: e.name + "/onepass", fn: func(b *testing.B) {
				ev := e.bytes(b)
				lim := fastpath.JSONLimits{MaxDepth: 64, MaxStringBytes: 1 << 20, MaxKeyBytes: 1024, MaxMembers: 10000}
				var p fastpath.Parser
				perEvent(b, len(ev), 100, func() {
					if _, _, ok := p.Parse(ev, lim); !ok {
						b.Fatal("the event does not pass")
					}
				})
			}},
			// The floor of any pass: copying the bytes.
			benchCase{name: e.name + "/copy", baseline: true, fn: func(b *testing.B) {
				ev := e.bytes(b)
				dst := make([]byte, len(ev))
				perEvent(b, len(ev), 100, func() { copy(dst, ev) })
			}},
		)
	}
	return cases
}

// perEvent measures op, one event per call, after warming it up.
func perEvent(b *testing.B, bytes, warmups int, op func()) {
	warm(b, warmups, 0, op)
	b.ReportAllocs()
	b.SetBytes(int64(bytes))
	m := startMeter(0)
	n := 0
	for b.Loop() {
		op()
		n++
	}
	m.report(b, n)
}

// BenchmarkProcess is fastpath.Process on a parsed event: the producer contract (duplicate keys,
// stream, schema, title), enrichment (meta.id, meta.dt, dt, meta.request_id, headers), defaults,
// validation, key, topic and serialization into the record's bytes, for one single-event request
// (Request acquired, started and released per event). "novalidate" has the compiled no-op
// (fastpath.AcceptAll through schemacache's Config.ValidatorFor): everything but validation;
// "compiled" is the whole per-event work with the real validator. Events are parsed ahead, 1024
// at a time, outside the measurement (Process fills them in place).
func BenchmarkProcess(b *testing.B) { runCases(b, processCases()) }

func processCases() []benchCase {
	var cases []benchCase
	for _, e := range eventCases {
		cases = append(cases,
			benchCase{name: e.name + "/novalidate", fn: func(b *testing.B) { benchProcess(b, e, false, 0) }},
			benchCase{name: e.name + "/compiled", fn: func(b *testing.B) { benchProcess(b, e, true, 0) }},
		)
	}
	// Data-quality rules on the stream (see revisionCreateRules), beside compiled with none.
	for _, n := range []int{1, 10, 100} {
		cases = append(cases, benchCase{name: fmt.Sprintf("revision-create/rules-x%d", n),
			fn: func(b *testing.B) { benchProcess(b, revisionCreate, true, n) }})
	}
	return cases
}

// ruledLookup is a snapshot whose streams carry quality rules.
type ruledLookup struct {
	fastpath.Lookup
	streams map[string]*fastpath.Stream
}

func (l *ruledLookup) Stream(name []byte) *fastpath.Stream {
	if st := l.streams[string(name)]; st != nil {
		return st
	}
	return l.Lookup.Stream(name)
}

// revisionCreateRules are n quality rules for mediawiki.revision-create, plausibility checks of
// the kinds an analyst writes, cycling through the operators; each with its own thresholds.
// On the example event some hold, some do not apply, and one in ten is violated (counted).
func revisionCreateRules(n int) string {
	templates := []string{
		`"if": {"page_namespace": {"equals": 0}}, "then": {"performer.user_edit_count": {"greater_than_or_equals": %d}}`,
		`"if": {"performer.user_is_bot": true}, "then": {"performer.user_groups": {"contains": "bot%d"}}`,
		`"if": {"rev_content_model": "wikitext"}, "then": {"rev_slots.main.rev_slot_size": {"less_than": %d}}`,
		`"then": {"rev_len": {"less_than_or_equals": %d}}`,
		`"if": {"rev_is_revert": true}, "then": {"rev_parent_id": {"exists": true}, "page_id": {"not_equals": %d}}`,
		`"then": {"database": {"matches": "^[a-z_]+$|^x%d$"}}`,
		`"then": {"rev_content_format": {"in": ["text/x-wiki", "text/css", "text/javascript", "application/json", "x%d"]}}`,
		`"then": {"any": [{"page_is_redirect": false}, {"rev_len": {"less_than": %d}}]}`,
		`"if": {"performer.user_groups": {"contains_any": ["sysop", "bureaucrat"]}}, "then": {"performer.user_edit_count": {"greater_than": %d}}`,
		`"if": {"meta.domain": {"not_in": ["canary"]}}, "then": {"performer.user_edit_count": {"greater_than": %d}}`, // violated
	}
	var rules []string
	for i := range n {
		t := templates[i%len(templates)]
		rules = append(rules, fmt.Sprintf(`{"name": "rule_%d", `, i)+fmt.Sprintf(t, 1000000+i)+`}`)
	}
	return "[" + strings.Join(rules, ",") + "]"
}

func benchProcess(b *testing.B, e *eventCase, validate bool, rules int) {
	c := cache(b, validate)
	var lookup fastpath.Lookup = c.Current()
	if rules > 0 {
		st := *c.Current().Stream([]byte("mediawiki.revision-create"))
		var errs []fastpath.RuleError
		st.Rules, errs = fastpath.CompileRules(st.Name, fastjson.MustParse(revisionCreateRules(rules)), fastpath.CompileOptions{})
		if len(errs) > 0 || len(st.Rules) != rules {
			b.Fatalf("%d rules compiled, errors %v", len(st.Rules), errs)
		}
		lookup = &ruledLookup{Lookup: c.Current(), streams: map[string]*fastpath.Stream{st.Name: &st}}
	}
	o := fastpath.DefaultOptions()
	const chunk = 1024
	body := e.array(b, chunk)
	var p fastjson.Parser
	var evs []*fastjson.Value
	i := 0
	reparse := func() {
		v, err := p.ParseBytes(body)
		if err != nil {
			b.Fatal(err)
		}
		evs, i = v.GetArray(), 0
	}
	hdr := requestHeaders()
	rid := hdr.Peek("X-Request-Id")
	var r fastpath.Result
	raw := e.bytes(b) // every event's bytes as received: the edge hands them to Process
	op := func() {
		req := fastpath.AcquireRequest()
		req.Start(time.Now(), rid, hdr)
		req.Raw = raw
		fastpath.Process(lookup, &o, evs[i], req, &r)
		if r.Outcome != fastpath.Accepted {
			b.Fatalf("not accepted: %s", r.Errors.Text())
		}
		fastpath.ReleaseRequest(req)
		i++
	}
	// Twice: fastjson's value cache grows while the first parse runs, and the values that Process
	// grew (Set) in the first chunk are not all the ones the second parse reuses.
	for range 2 {
		reparse()
		for i < len(evs) {
			op()
		}
	}
	reparse()
	b.ReportAllocs()
	b.SetBytes(int64(len(e.bytes(b))))
	m := startMeter(0)
	n := 0
	for b.Loop() {
		if i == len(evs) {
			m.pause(b, reparse)
		}
		op()
		n++
	}
	m.report(b, n)
}

// BenchmarkValidate is validation alone of the event as Process hands it over (enriched, defaults
// filled): the compiled program schemacache builds, beside kaptinlin/jsonschema (the reference
// and fallback, configured as schemacache configures it) validating the same bytes.
func BenchmarkValidate(b *testing.B) { runCases(b, validateCases()) }

func validateCases() []benchCase {
	var cases []benchCase
	for _, e := range eventCases {
		cases = append(cases,
			benchCase{name: e.name + "/compiled", fn: func(b *testing.B) {
				rec := e.record(b)
				s := eventSchema(b, e)
				prog, ok := s.Validator().(*fastpath.Program)
				if !ok {
					b.Fatalf("%s is validated by the fallback, not the compiled program", s.URI)
				}
				var p fastjson.Parser
				v, err := p.ParseBytes(rec.value)
				if err != nil {
					b.Fatal(err)
				}
				var errs fastpath.Errors
				perEvent(b, len(rec.value), 100, func() {
					if !prog.Validate(v, &errs) {
						b.Fatal(errs.Text())
					}
				})
			}},
			benchCase{name: e.name + "/kaptinlin", baseline: true, fn: func(b *testing.B) {
				rec := e.record(b)
				ref, err := cache(b, true).ReferenceValidator(eventSchema(b, e).URI)
				if err != nil {
					b.Fatal(err)
				}
				var p fastjson.Parser
				v, err := p.ParseBytes(rec.value)
				if err != nil {
					b.Fatal(err)
				}
				var errs fastpath.Errors
				perEvent(b, len(rec.value), 10, func() {
					if !ref.Validate(v, &errs) {
						b.Fatal(errs.Text())
					}
				})
			}},
		)
	}
	return cases
}

func eventSchema(b *testing.B, e *eventCase) *fastpath.Schema {
	uri := fastjson.GetString(e.bytes(b), "$schema")
	s, err := cache(b, true).LoadSchema(uri)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkSerialize is writing the processed event back to JSON, the last step of Process:
// fastpath.AppendJSON into a reused buffer; baseline: encoding/json Marshal of the decoded any.
func BenchmarkSerialize(b *testing.B) { runCases(b, serializeCases()) }

func serializeCases() []benchCase {
	var cases []benchCase
	for _, e := range eventCases {
		cases = append(cases,
			benchCase{name: e.name + "/AppendJSON", fn: func(b *testing.B) {
				rec := e.record(b)
				var p fastjson.Parser
				v, err := p.ParseBytes(rec.value)
				if err != nil {
					b.Fatal(err)
				}
				var buf []byte
				perEvent(b, len(rec.value), 100, func() { buf = fastpath.AppendJSON(buf[:0], v) })
			}},
			// The edge's way (DESIGN.md "One pass over the bytes"): the bytes as received with
			// what Process added spliced in.
			benchCase{name: e.name + "/splice", fn: func(b *testing.B) {
				raw := e.bytes(b)
				v := e.processedTree(b)
				var buf []byte
				perEvent(b, len(raw), 100, func() {
					var ok bool
					if buf, ok = fastpath.AppendSpliced(buf[:0], raw, nil, v); !ok {
						b.Fatal("AppendSpliced refused the event")
					}
				})
			}},
			benchCase{name: e.name + "/encoding-json", baseline: true, fn: func(b *testing.B) {
				rec := e.record(b)
				var v any
				if err := json.Unmarshal(rec.value, &v); err != nil {
					b.Fatal(err)
				}
				perEvent(b, len(rec.value), 100, func() {
					if _, err := json.Marshal(v); err != nil {
						b.Fatal(err)
					}
				})
			}},
		)
	}
	return cases
}
