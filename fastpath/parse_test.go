package fastpath

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/valyala/fastjson"
)

// twoPass is the reading Parser stands for: CheckJSONSpans, then fastjson.
func twoPass(t testing.TB, body []byte, lim JSONLimits) (*fastjson.Value, []Span, bool) {
	spans, problem := CheckJSONSpans(body, lim, nil)
	if problem != "" {
		return nil, nil, false
	}
	var p fastjson.Parser
	v, err := p.ParseBytes(body)
	if err != nil {
		return nil, nil, false
	}
	if typ := v.Type(); typ != fastjson.TypeObject && typ != fastjson.TypeArray {
		return nil, nil, false
	}
	return v, spans, true
}

// sameTree compares two trees value by value, as fastjson holds them (strings raw, numbers as
// text), without reading them through fastjson's methods (which unescape in place). a is
// Parser's: an object's string holds where it lies (the splice tests hold those positions). Where
// fastjson holds a string or an object's keys raw, Parser's may be read already when there was no
// escape to read (the same text); an escaped one Parser holds raw too.
func sameTree(a, b *fastjson.Value) bool {
	x, y := (*fastjsonValue)(unsafePointer(a)), (*fastjsonValue)(unsafePointer(b))
	xt := x.t
	if xt == fastjson.TypeString && y.t == fastjsonRawString && !strings.Contains(y.s, `\`) {
		xt = fastjsonRawString
	}
	xKeysRead := x.o.keysUnescaped
	if xKeysRead && !y.o.keysUnescaped {
		for _, kv := range y.o.kvs {
			if strings.Contains(kv.k, `\`) {
				return false
			}
		}
		xKeysRead = false
	}
	// An object's string is unused by fastjson; Parser keeps the object's bytes there.
	if xt != y.t || x.t != fastjson.TypeObject && x.s != y.s || len(x.a) != len(y.a) || len(x.o.kvs) != len(y.o.kvs) || xKeysRead != y.o.keysUnescaped {
		return false
	}
	for i := range x.a {
		if !sameTree(x.a[i], y.a[i]) {
			return false
		}
	}
	for i := range x.o.kvs {
		if x.o.kvs[i].k != y.o.kvs[i].k || !sameTree(x.o.kvs[i].v, y.o.kvs[i].v) {
			return false
		}
	}
	return true
}

// checkParse holds Parser to the two-pass reading on body: the same verdict (Parser may only
// leave to the two passes what they refuse, or what nests deeper than it reads), the same tree
// and the same spans.
func checkParse(t testing.TB, p *Parser, body []byte, lim JSONLimits) {
	t.Helper()
	v, spans, ok := p.Parse(body, lim)
	want, wantSpans, wantOK := twoPass(t, body, lim)
	switch {
	case ok && !wantOK:
		t.Fatalf("Parser took a body the two passes refuse: %q", body)
	case !ok && wantOK && depthOf(body) < parseMaxDepth:
		t.Fatalf("Parser refused a body the two passes take: %q", body)
	case !ok || !wantOK:
		return
	}
	if !sameTree(v, want) {
		t.Fatalf("trees differ for %q:\n%s\n%s", body, AppendJSON(nil, v), AppendJSON(nil, want))
	}
	// An event said to have no key twice has none, by the tree's walk.
	events := []*fastjson.Value{v}
	if a, err := v.Array(); err == nil {
		events = a
	}
	for i, ev := range events {
		if i < len(spans) && spans[i].KeysUnique {
			if _, k, _, dup := duplicateKey(ev, nil, nil); dup {
				t.Fatalf("event %d has the key %q twice, but its span says its keys are unique: %q", i, k, body)
			}
		}
	}
	if a, err := want.Array(); err == nil && len(a) == 0 {
		return // no event: CheckJSONSpans keeps an empty span the edge never reads
	}
	if len(spans) != len(wantSpans) {
		t.Fatalf("%d spans, want %d, for %q", len(spans), len(wantSpans), body)
	}
	for i := range spans {
		if got, w := spans[i].Bytes(body), wantSpans[i].Bytes(body); !bytes.Equal(got, w) || spans[i].Loose != wantSpans[i].Loose && w != nil {
			t.Fatalf("span %d: %+v %q, want %+v %q, for %q", i, spans[i], got, wantSpans[i], w, body)
		}
	}
}

func depthOf(b []byte) int {
	d, most := 0, 0
	for _, c := range b {
		switch c {
		case '{', '[':
			d++
			most = max(most, d)
		case '}', ']':
			d--
		}
	}
	return most
}

func TestParserBuildsFastjsonTrees(t *testing.T) {
	var p Parser
	lim := JSONLimits{MaxDepth: 20, MaxStringBytes: 64, MaxKeyBytes: 16, MaxMembers: 8}
	for _, body := range []string{
		`{}`, `[]`, `[{}]`, ` [ {"a" : 1 } , { } ] `, `{"a":[1,-2.5e3,true,false,null,"x\"y\\z\u00e9"]}`,
		`{"k\u0061":{"n":{"m":[[],[{}]]}}}`, `[1,2]`, `["a",{"b":"c"}]`, `{"a":1,}`, `{"a":1`, `{"a" 1}`,
		`[1,]`, `[,1]`, `{"a":01}`, `{"a":1.}`, `{"a":tru}`, `{"a":truex}`, `{"a":nul}`, `{"a":NaN}`,
		`{"a":"` + strings.Repeat("x", 65) + `"}`, `{"` + strings.Repeat("k", 17) + `":1}`,
		`{"a":[1,2,3,4,5,6,7,8,9]}`, `{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9}`,
		strings.Repeat("[", 21) + strings.Repeat("]", 21), `{"a":"\ud800"}`, "{\"a\":\"\xff\"}",
		"{\"a\":\"tab\there\"}", `{"a":1e400}`, `{"a":1} x`, `{"a":1}{}`, `"x"`, `12`, ``, ` `,
		`{"a":{"b":1} }`, "{\n\"a\": 1\n}", `[{"a":1}, 7, [1], {"b":[2, 3]}]`,
		`{"a":1,"a":2}`, `[{"a":1},{"b":{"c":1,"c":2}}]`, `{"a":1,"\u0061":2}`, `{"x":[{"k":1,"k":1}]}`,
		// Objects about maxPairwiseKeys large: a duplicate among the first keys, past them, across.
		manyKeys(24, 0, 23), manyKeys(24, -1, -1), manyKeys(25, 0, 24), manyKeys(30, 25, 28),
		manyKeys(30, 3, 29), manyKeys(30, -1, -1), `{"o":` + manyKeys(40, 1, 2) + `}`,
	} {
		checkParse(t, &p, []byte(body), lim)
		checkParse(t, &p, []byte(body), JSONLimits{})
	}
	// A duplicate key is found by the one pass itself, however large the object and wherever the
	// pair lies; an object without one is vouched for.
	for _, c := range []struct {
		n, i, j int
	}{{24, 0, 23}, {24, 5, 6}, {25, 0, 24}, {30, 25, 28}, {30, 3, 29}, {24, -1, -1}, {30, -1, -1}} {
		_, spans, ok := p.Parse([]byte(manyKeys(c.n, c.i, c.j)), JSONLimits{})
		if !ok || len(spans) != 1 || spans[0].KeysUnique != (c.i < 0) {
			t.Fatalf("%d keys, key %d named as key %d: ok %v, spans %+v", c.n, c.j, c.i, ok, spans)
		}
	}
	// A string value with an escape is held raw until read, as fastjson holds it; one without is
	// read already, and so are an object's keys when none has an escape.
	v, _, ok := p.Parse([]byte(`{"a":"x\ny","b":"xy","c":{"d\u0065":1}}`), JSONLimits{})
	if !ok || (*fastjsonValue)(unsafePointer(v.Get("a"))).t != fastjsonRawString || string(v.GetStringBytes("a")) != "x\ny" {
		t.Fatalf("a string value with an escape is not fastjson's raw string")
	}
	if (*fastjsonValue)(unsafePointer(v.Get("b"))).t != fastjson.TypeString || string(v.GetStringBytes("b")) != "xy" {
		t.Fatalf("a string value without an escape is not read")
	}
	if !(*fastjsonValue)(unsafePointer(v)).o.keysUnescaped || (*fastjsonValue)(unsafePointer(v.Get("c"))).o.keysUnescaped {
		t.Fatalf("keys read: the event's (none escaped) %v, want true; c's (one escaped) %v, want false",
			(*fastjsonValue)(unsafePointer(v)).o.keysUnescaped, (*fastjsonValue)(unsafePointer(v.Get("c"))).o.keysUnescaped)
	}
	if v.GetInt("c", "de") != 1 {
		t.Fatalf("an escaped key is not read: %s", AppendJSON(nil, v))
	}
}

// Every real example, as one event and in a batch with the others of its file, compact and
// indented.
func TestParserRealExamples(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(realExamples, "*", "*.json"))
	if len(files) == 0 {
		t.Skip("no real examples (../shared/data)")
	}
	var p Parser
	lim := JSONLimits{MaxDepth: 64, MaxStringBytes: 1 << 20, MaxKeyBytes: 1024, MaxMembers: 10000}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		checkParse(t, &p, data, lim) // indented, as in the file
		var c bytes.Buffer
		if err := json.Compact(&c, data); err != nil {
			t.Fatal(err)
		}
		checkParse(t, &p, c.Bytes(), lim)
		var evs []json.RawMessage
		if err := json.Unmarshal(c.Bytes(), &evs); err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			checkParse(t, &p, ev, lim)
			// An event with no escape at all has plain keys: the reading vouches for them, and
			// Process skips its walk.
			if _, spans, ok := p.Parse(ev, lim); !ok || !spans[0].KeysUnique && bytes.IndexByte(ev, '\\') < 0 {
				t.Fatalf("%s: a real event's keys are not vouched for: %s", f, ev)
			}
		}
	}
}

// A warm Parser does not allocate.
func TestParserDoesNotAllocate(t *testing.T) {
	var p Parser
	body := []byte(`[{"a":[1,{"b":"c"}],"d":{"e":null}},{"f":"` + strings.Repeat("é", 40) + `"}]`)
	if _, _, ok := p.Parse(body, JSONLimits{}); !ok {
		t.Fatal("refused")
	}
	if n := testing.AllocsPerRun(100, func() { p.Parse(body, JSONLimits{}) }); n != 0 {
		t.Fatalf("Parse allocates %.1f times", n)
	}
}

func FuzzParser(f *testing.F) {
	for _, s := range []string{`{"a":[1,{"b":"c\u00e9"}]}`, `[{"a":1}, {"b": [true, null]}]`, `{"a":1e5,"b":-0.5}`, "[{\"x\":\"\xe2\x82\xac\"}]"} {
		f.Add([]byte(s), uint8(0))
	}
	var p Parser
	f.Fuzz(func(t *testing.T, b []byte, l uint8) {
		lim := JSONLimits{}
		if l&1 != 0 {
			lim = JSONLimits{MaxDepth: 6, MaxStringBytes: 12, MaxKeyBytes: 6, MaxMembers: 4}
		}
		checkParse(t, &p, b, lim)
	})
}

// manyKeys is an object of n members named k0, k1, ..., but member j named as member i (no
// duplicate when i < 0).
func manyKeys(n, i, j int) string {
	var b strings.Builder
	b.WriteString("{")
	for m := range n {
		if m > 0 {
			b.WriteString(",")
		}
		name := m
		if m == j && i >= 0 {
			name = i
		}
		fmt.Fprintf(&b, `"k%d":%d`, name, m)
	}
	b.WriteString("}")
	return b.String()
}
