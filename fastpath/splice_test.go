package fastpath

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/valyala/fastjson"
)

// sameJSON reports whether a and b are the same JSON value (numbers compared as written).
func sameJSON(t testing.TB, a, b []byte) bool {
	t.Helper()
	decode := func(x []byte) any {
		d := json.NewDecoder(bytes.NewReader(x))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, x)
		}
		return v
	}
	return reflect.DeepEqual(decode(a), decode(b))
}

// addMembers adds members to some objects of v as Process does (set if missing, appended), some
// of them objects that get members of their own; rng picks which.
func addMembers(v *fastjson.Value, rng *rand.Rand, a *fastjson.Arena) int {
	var objects []*fastjson.Value
	var walk func(v *fastjson.Value)
	walk = func(v *fastjson.Value) {
		switch v.Type() {
		case fastjson.TypeObject:
			objects = append(objects, v)
			o, _ := v.Object()
			o.Visit(func(_ []byte, c *fastjson.Value) { walk(c) })
		case fastjson.TypeArray:
			items, _ := v.Array()
			for _, c := range items {
				walk(c)
			}
		}
	}
	walk(v)
	added := 0
	for i, obj := range objects {
		if rng.IntN(3) != 0 {
			continue
		}
		o, _ := obj.Object()
		key := "added_" + strconv.Itoa(i) + "_\"é\\"
		if o.Get(key) != nil {
			continue
		}
		switch rng.IntN(3) {
		case 0:
			o.Set(key, a.NewString("a \"quoted\" value\n with é and \u2028"))
		case 1:
			o.Set(key, a.NewNumberString("12.5e3"))
		default:
			inner := a.NewObject()
			o.Set(key, inner)
			inner.Set("client_ip", a.NewString("192.0.2.1"))
		}
		added++
	}
	return added
}

// spliceCase checks AppendSpliced against AppendJSON on raw (compact) after members were added.
func spliceCase(t testing.TB, raw []byte, seed uint64) {
	t.Helper()
	var p fastjson.Parser
	v, err := p.ParseBytes(raw)
	if err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	var a fastjson.Arena
	addMembers(v, rand.New(rand.NewPCG(seed, 1)), &a)
	want := AppendJSON(nil, v)
	got, ok := AppendSpliced([]byte("prefix"), raw, nil, v)
	if !ok {
		t.Fatalf("AppendSpliced refused an event of its own bytes:\n%s", raw)
	}
	if !bytes.HasPrefix(got, []byte("prefix")) {
		t.Fatalf("AppendSpliced did not append: %s", got)
	}
	got = got[len("prefix"):]
	if !sameJSON(t, got, want) {
		t.Fatalf("spliced value differs from AppendJSON's\nraw:     %s\nspliced: %s\ntree:    %s", raw, got, want)
	}
	if sp, problem := CheckJSONSpans(got, JSONLimits{}, []Span{}); problem != "" || len(sp) != 1 || sp[0].Loose {
		t.Fatalf("spliced value is not compact JSON (%q, %+v): %s", problem, sp, got)
	}

	// The same event read by Parser, the same members added: the splice from the positions the
	// tree keeps writes the same bytes.
	var pp Parser
	pv, spans, pok := pp.Parse(raw, JSONLimits{})
	if !pok || len(spans) != 1 {
		return // not an event Parser reads (the caller's fuzz input): the walking splice is the edge's
	}
	addMembers(pv, rand.New(rand.NewPCG(seed, 1)), &a)
	parsed := pp.Copy()[spans[0].Start:spans[0].End]
	at, ok := appendSplicedAt([]byte("prefix"), raw, parsed, pv)
	if !ok {
		if bytes.Contains(raw, []byte(`"":`)) {
			return // an empty key has no position: the walking splice writes such events
		}
		t.Fatalf("the splice from positions refused an event Parser read:\n%s", raw)
	}
	if !bytes.Equal(at[len("prefix"):], got) {
		t.Fatalf("the splice from positions differs from the walking one\nraw:    %s\nat:     %s\nwalked: %s", raw, at[len("prefix"):], got)
	}
}

// Every real example event, compacted with its escapes as written, then given members as
// Process gives them: the spliced value is AppendJSON's value.
func TestSpliceRealExamples(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(realExamples, "*", "*.json"))
	if len(files) == 0 {
		t.Skip("no real examples (../shared/data)")
	}
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var evs []json.RawMessage
		if err := json.Unmarshal(data, &evs); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for i, ev := range evs {
			var c bytes.Buffer
			if err := json.Compact(&c, ev); err != nil {
				t.Fatal(err)
			}
			for seed := range uint64(4) {
				spliceCase(t, c.Bytes(), seed*1000+uint64(i))
			}
			n++
		}
	}
	if n < 395 {
		t.Fatalf("%d real examples, want at least 395", n)
	}
	t.Logf("%d real examples, 4 sets of added members each", n)
}

func TestSpliceShapes(t *testing.T) {
	for _, raw := range []string{
		`{}`,
		`{"a":{}}`,
		`{"a":[]}`,
		`{"a":[{},{"b":[[],[{}]]}],"c":"x\"}{][,","d":-1.5e-3,"e":true,"f":null}`,
		`{"k\"ey":{"n\u00e9st":{"deep":{"er":[1,2,{"x":"\\"}]}}}}`,
		`{"s":"` + strings.Repeat("é\\\"", 20) + `"}`,
	} {
		for seed := range uint64(20) {
			spliceCase(t, []byte(raw), seed)
		}
	}
}

// AppendSpliced refuses bytes that are not the tree's, and appends nothing then.
func TestSpliceRefusesAnotherShape(t *testing.T) {
	var p fastjson.Parser
	for _, c := range [][2]string{
		{`{"a":1}`, `{"a":{}}`},
		{`{"a":[1,2]}`, `{"a":[1]}`},
		{`{"a":[1]}`, `{"a":[1,2]}`},
		{`{"a":"x"}`, `{"a":"x","b":1}`},
		{`{"a":"x"}`, `["a"]`},
		{`{"a":"x"}`, `{"a":"x"} `},
	} {
		v, err := p.Parse(c[0])
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := AppendSpliced([]byte("p"), []byte(c[1]), nil, v); ok || string(got) != "p" {
			t.Errorf("AppendSpliced(%s over the tree of %s) = %q, %v; want a refusal", c[1], c[0], got, ok)
		}
	}
}

// Spans: each event of a batch, whitespace between events allowed, whitespace inside one marks
// it loose (AppendJSON writes it compact), scalars get no bytes.
func TestCheckJSONSpans(t *testing.T) {
	body := []byte(`[ {"a":1}, {"b": 2},7,{"c":[{"d":"x y"}]} ,[1]]`)
	spans, problem := CheckJSONSpans(body, JSONLimits{}, nil)
	if problem != "" {
		t.Fatal(problem)
	}
	want := []string{`{"a":1}`, "", "", `{"c":[{"d":"x y"}]}`, ""}
	if len(spans) != len(want) {
		t.Fatalf("%d spans, want %d: %+v", len(spans), len(want), spans)
	}
	for i, w := range want {
		if got := string(spans[i].Bytes(body)); got != w {
			t.Errorf("span %d = %q, want %q (%+v)", i, got, w, spans[i])
		}
	}
	if !spans[1].Loose {
		t.Errorf("span 1 (whitespace inside) is not loose")
	}
	one := []byte(`{"a":{"b":[1]}}`)
	spans, _ = CheckJSONSpans(one, JSONLimits{}, spans)
	if len(spans) != 1 || string(spans[0].Bytes(one)) != string(one) {
		t.Fatalf("one event: %+v", spans)
	}
}

// FuzzSplice: for any body CheckJSON passes whose root is a compact object, the spliced value of
// the event after added members is AppendJSON's.
func FuzzSplice(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[{"b":{}}],"c":"\u00e9\""}`, `{"meta":{"stream":"s"},"x":[1,{"y":null}]}`} {
		f.Add([]byte(s), uint64(1))
	}
	f.Fuzz(func(t *testing.T, b []byte, seed uint64) {
		spans, problem := CheckJSONSpans(b, JSONLimits{MaxDepth: 64}, nil)
		if problem != "" || len(spans) != 1 {
			return
		}
		raw := spans[0].Bytes(b)
		if raw == nil || len(raw) != len(b) {
			return
		}
		var p fastjson.Parser
		if _, err := p.ParseBytes(raw); err != nil {
			return
		}
		if _, _, _, dup := duplicateKey(mustParse(t, raw), nil, nil); dup {
			return // refused before Process
		}
		spliceCase(t, raw, seed)
	})
}

func mustParse(t *testing.T, b []byte) *fastjson.Value {
	var p fastjson.Parser
	v, err := p.ParseBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
