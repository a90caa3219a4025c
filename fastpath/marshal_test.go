package fastpath

import (
	"encoding/json"
	"testing"

	"github.com/valyala/fastjson"
)

// fastjson's MarshalTo wrote "\x00" for a string it had unescaped (strconv quoting): events whose
// strings held control characters reached Kafka as invalid JSON once anything had read them.
func TestAppendJSONWritesJSONEscapes(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		var p fastjson.Parser
		v, err := p.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		walk(v) // read everything first, as validation does
		got := string(AppendJSON(nil, v))
		if got != want {
			t.Fatalf("AppendJSON(%s):\n got %s\nwant %s", in, got, want)
		}
		if !json.Valid([]byte(got)) {
			t.Fatalf("not JSON: %s", got)
		}
		var a, b any
		json.Unmarshal([]byte(in), &a)
		json.Unmarshal([]byte(got), &b)
		if ja, _ := json.Marshal(a); string(ja) != func() string { jb, _ := json.Marshal(b); return string(jb) }() {
			t.Fatalf("value changed: %s -> %s", in, got)
		}
	}
	f(`{"a":"\u0000\u0001\u0007\u000b\u001f"}`, `{"a":"\u0000\u0001\u0007\u000b\u001f"}`)
	f(`{"a":"line\nbreak\ttab\r\"quote\" back\\slash \/ é € 😀"}`, `{"a":"line\nbreak\ttab\r\"quote\" back\\slash / é € 😀"}`)
	f(`{"k\u0000ey":[1,-2.5e10,true,false,null,{"x":"\ud83d\ude00"}]}`, `{"k\u0000ey":[1,-2.5e10,true,false,null,{"x":"😀"}]}`)
	f(`{"n":12345678901234567890123,"f":1.0}`, `{"n":12345678901234567890123,"f":1.0}`)
	f(`[]`, `[]`)
	f(`{}`, `{}`)
}

func walk(v *fastjson.Value) {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		o.Visit(func(_ []byte, c *fastjson.Value) { walk(c) })
	case fastjson.TypeArray:
		for _, c := range v.GetArray() {
			walk(c)
		}
	}
}

func TestAppendJSONStringRoundTrips(t *testing.T) {
	f := func(s string) {
		t.Helper()
		b := AppendJSONString([]byte("x"), s)[1:]
		var got string
		if err := json.Unmarshal(b, &got); err != nil || got != s {
			t.Fatalf("%q -> %s -> %q (%v)", s, b, got, err)
		}
	}
	f("")
	f("plain")
	f(`"`)
	f(`\`)
	f("a\"b\\c\nd\re\tf\x00g\x1fh\x7f é 😀 \u2028")
	for c := 0; c < 128; c++ {
		f(string(rune(c)))
		f("ab" + string(rune(c)) + "cd" + string(rune(c)))
	}
}

func TestAppendJSNumber(t *testing.T) {
	f := func(v float64, want string) {
		t.Helper()
		if got := string(AppendJSNumber(nil, v)); got != want {
			t.Fatalf("%v: got %s, want %s", v, got, want)
		}
	}
	f(0, "0")
	f(1, "1")
	f(-2.5, "-2.5")
	f(1e21, "1e+21")
	f(1.8446744073709552e19, "18446744073709552000")
	f(1e-7, "1e-7")
	f(0.000001, "0.000001")
}
